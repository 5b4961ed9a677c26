"""ext4 writeback of the file's dirty folios, one folio at a time.

fs/ext4/inode.c ``ext4_writepages`` -> ``ext4_do_writepages``: ``mpage_prepare_extent_to_map``
looks the tagged folios up (PAGECACHE_TAG_DIRTY for background writeback, TOWRITE — tagged at
the start — for data-integrity writeback) and for each: ``folio_lock``; skip it if its mapping
changed, if it is no longer dirty, or (WB_SYNC_NONE) if it is under writeback; WB_SYNC_ALL waits
for that writeback with the folio locked.  A dirty folio without buffers gets
``ext4_warning_inode(inode, "page %lu does not have buffers attached")``, is cleaned and
skipped — its data is dropped (since 5.18, cc5095747edf; before, the kernel BUGs on
``page_buffers()``).

``mpage_submit_folio`` -> ``folio_clear_dirty_for_io``: ``folio_mkclean`` write-protects and
cleans every PTE mapping the folio (one step per PTE here: a store through a PTE not yet cleaned
can run in between) and a dirty PTE re-dirties the folio (``folio_mark_dirty``); then PG_dirty is
cleared.  ``ext4_bio_write_folio``: ``folio_start_writeback``, buffers cleaned, bio submitted,
folio unlocked.  The device reads the page later (:mod:`.device`).

Simplification: the folios to visit are those dirty when the pass starts (the tag lookup); a
folio dirtied behind the cursor waits for the next pass, as in the kernel.
"""

from __future__ import annotations

from .actor import Blocked, Ctx, Move, Outcome
from .blocks import BH_DELAY, allocate_for_io, new_buffers
from .dirty import folio_mark_dirty, mark_buffers_clean
from .state import SUBBLOCKS, Bio, KState, Pte, replace

NO_BUFFERS_WARNING = "EXT4-fs warning: ext4_writepages: page 0 does not have buffers attached"
NO_BUFFERS_BUG = "kernel BUG at fs/ext4/inode.c: page_buffers() of a page without buffers"


def dirty_pages(k: KState) -> tuple[int, ...]:
    return tuple(p for p, f in k.cached_folios() if f.dirty)


def writeback_begin(c: Ctx, k: KState, *, sync: bool, ret: str) -> KState:
    """Tag the dirty folios and position the thread at the first one (or at ``ret``)."""
    return _next(c, k, dirty_pages(k), sync=sync, ret=ret)


def _next(c: Ctx, k: KState, todo: tuple[int, ...], *, sync: bool | None = None,
          ret: str | None = None) -> KState:
    sync = c.var("wsync") if sync is None else sync
    ret = c.var("wret") if ret is None else ret
    if todo:
        return c.goto(k, "wb:lock", wtodo=todo, wsync=sync, wret=ret)
    if ret == "finish":
        return c.finish(k)
    return c.goto(k, ret, wtodo=(), wsync=sync, wret=ret)


def stage_lock(c: Ctx) -> Outcome:
    """mpage_prepare_extent_to_map: folio_lock and the checks made under it."""
    k, todo = c.k, c.var("wtodo")
    page = todo[0]
    f = k.cached(page)
    if f is None:
        return [Move(f"{_lookup(k)}: page {page} left the page cache, skip",
                     _next(c, k, todo[1:]))]
    if f.locked is not None and f.locked != c.name:
        return Blocked(f"folio lock of page {page}", (f.locked,))
    k = k.with_folio(page, replace(f, locked=c.name))
    return [_after_lock(c, k, page, f"{_lookup(k)}: folio_lock(page {page})")]


def _lookup(k: KState) -> str:
    """The function that looks up and locks the tagged folios, by filesystem."""
    return "extent_write_cache_pages" if k.fs == "cowfs" else "mpage_prepare_extent_to_map"


def _after_lock(c: Ctx, k: KState, page: int, func: str) -> Move:
    f = k.folio(page)
    todo = c.var("wtodo")
    unlocked = k.with_folio(page, replace(f, locked=None))
    if not f.mapping or not f.dirty:
        return Move(func + ", not dirty: skip", _next(c, unlocked, todo[1:]))
    if f.writeback:
        if not c.var("wsync"):
            return Move(func + ", under writeback (WB_SYNC_NONE): skip",
                        _next(c, unlocked, todo[1:]))
        return Move(func + ", under writeback: folio_wait_writeback", c.goto(k, "wb:waitwb"))
    if k.fs == "cowfs":
        from .cowfs import cow_writeback_check

        k, func, write = cow_writeback_check(c, k, page, func)
        if not write:
            return Move(func, _next(c, k, todo[1:]))
    elif f.buffers is None:
        return _no_buffers(c, k, page, func)
    pte = k.ptes[page]
    if pte is not None and pte.cow is None and (pte.writable or pte.dirty):
        return Move(func, c.goto(k, "wb:mkclean", wpte=False))
    return Move(func, c.goto(k, "wb:submit", wpte=False))


def _no_buffers(c: Ctx, k: KState, page: int, func: str) -> Move:
    f = k.folio(page)
    if c.cfg.ext4_warn_no_buffers:
        msg = NO_BUFFERS_WARNING.replace("page 0", f"page {page}")
        k = k.event(msg).violate(
            "dirty-has-backing",
            f"writeback met dirty page {page} without buffers: \"{msg}\"; the folio is cleaned "
            "and its data dropped")
        k = k.with_folio(page, replace(f, locked=None, dirty=False, prepared=False))
        return Move(func + ", no buffers: ext4_warning, folio_clear_dirty, skip",
                    _next(c, k, c.var("wtodo")[1:]))
    k = k.event(NO_BUFFERS_BUG).violate(
        "dirty-has-backing", f"writeback met dirty page {page} without buffers: {NO_BUFFERS_BUG}")
    k = k.with_ghost(crashed=True)
    return Move(func + ", no buffers: BUG(), the kernel oopses", c.finish(k, "BUG"))


def stage_waitwb(c: Ctx) -> Outcome:
    page = c.var("wtodo")[0]
    if c.k.folio(page).writeback:
        return Blocked(f"folio_wait_writeback: writeback of page {page}",
                       c.k.writeback_holders(c.k.fid(page)))
    return [_after_lock(c, c.k, page, f"folio_wait_writeback(page {page}) returns")]


def stage_mkclean(c: Ctx) -> Outcome:
    """folio_mkclean -> page_vma_mkclean_one: ptep_clear_flush, pte_wrprotect, pte_mkclean."""
    page = c.var("wtodo")[0]
    pte = c.k.ptes[page]
    if pte is None or pte.cow is not None:  # unmapped meanwhile (truncate's zap takes no
        # folio lock) or replaced by a private copy: nothing to clean
        return stage_submit(c)
    k = c.k.with_pte(page, Pte(writable=False, dirty=False)).mmu_notifier_invalidate(page)
    return [Move(f"folio_mkclean: write-protect and clean the pte of page {page}",
                 c.goto(k, "wb:submit", wpte=pte.dirty))]


def stage_submit(c: Ctx) -> Outcome:
    """mpage_submit_folio: folio_clear_dirty_for_io, then ext4_bio_write_folio."""
    todo = c.var("wtodo")
    page = todo[0]
    k = c.k
    if c.var("wpte"):  # the PTE was dirty: folio_mark_dirty, a legal dirtying
        k = folio_mark_dirty(k, k.fid(page), who=c.name, pte_transfer=True)
    if (pinned_policy(c) == "skip-bounce" and not c.var("wsync")
            and k.folio(page).maybe_dma_pinned()):
        k = k.with_folio(page, replace(k.folio(page), locked=None))
        return [Move(f"folio_clear_dirty_for_io: folio_maybe_dma_pinned in WB_SYNC_NONE "
                     f"writeback: keep page {page} dirty, skip it, folio_unlock",
                     _next(c, k, todo[1:]))]
    k, what = start_write(c, k, page)
    submit = "extent_writepage" if k.fs == "cowfs" else "mpage_submit_folio"
    return [Move(f"{submit}: {what}, folio_unlock(page {page})", _next(c, k, todo[1:]))]


def start_write(c: Ctx, k: KState, page: int) -> tuple[KState, str]:
    """folio_clear_dirty_for_io (PTEs already cleaned), folio_start_writeback, buffers
    cleaned, and the write bio submitted (ext4_bio_write_folio / extent_writepage); the folio
    is unlocked.  The device reads the page (or the proposal's bounce copy) later."""
    f = k.folio(page)
    if page >= k.i_size:  # a truncate is in progress: nothing beyond EOF is written
        if k.fs == "ext4":  # ext4_bio_write_folio: folio_zero_segment beyond i_size
            f = replace(f, data=("Z0",) * SUBBLOCKS,
                        buffers=mark_buffers_clean(f.buffers) if f.buffers else None)
        k = k.with_folio(page, replace(f, dirty=False, prepared=False, locked=None,
                                       reserved=False))
        what = ("ext4_bio_write_folio: beyond i_size, folio_zero_segment" if k.fs == "ext4"
                else "extent_writepage: beyond i_size, folio_invalidate")
        return k, f"folio_clear_dirty_for_io, {what}, nothing to write"
    bounce = (f.data if pinned_policy(c) in ("bounce", "skip-bounce")
              and f.maybe_dma_pinned() else None)
    blocks: tuple[int, ...] = tuple(range(SUBBLOCKS))
    extra = ""
    if k.fs == "ext4" and f.buffers is not None:  # ext4_map_blocks for the delalloc buffers
        k, blocks, skipped = allocate_for_io(k, page, f.buffers)
        extra = "ext4_map_blocks allocates the delalloc blocks, " if any(
            b.startswith(BH_DELAY) for b in f.buffers) else ""
        if skipped:
            k = k.violate("dirty-has-backing",
                          f"writeback met dirty buffer(s) {list(skipped)} of page {page} neither "
                          "mapped nor reserved: ext4_bio_write_folio clears their dirty bit (\"A "
                          "hole?\") and their data is never written")
            extra += f"dirty hole(s) {list(skipped)} skipped, "
    f = replace(f, dirty=False, prepared=False, writeback=bool(blocks), locked=None,
                reserved=False,
                buffers=new_buffers(k, page) if k.fs == "ext4" else None)  # all clean now
    if not blocks:
        return k.with_folio(page, f), f"folio_clear_dirty_for_io, {extra}nothing to write"
    checksum = (bounce or f.data) if c.cfg.stable_writes else None  # bio_integrity_prep / RAID
    csums = (bounce or f.data) if k.fs == "cowfs" else None  # btrfs_csum_one_bio
    bio = Bio(id=k.next_bio, write=True, page=page, folio=k.fid(page), pending=blocks,
              owner=c.name, bounce=bounce, checksum=checksum, csums=csums,
              early=k.write_gup_holders(k.fid(page)))
    k = replace(k.with_folio(page, f), bios=k.bios + (bio,), next_bio=k.next_bio + 1)
    copy = ", from a bounce copy (page is pinned)" if bounce else ""
    return k, (f"folio_clear_dirty_for_io, {extra}folio_start_writeback, "
               f"submit_bio (write bio #{bio.id}{copy})")


def pinned_policy(c: Ctx) -> str:
    """What this filesystem's writeback does with a pinned folio (KernelConfig.writeback_pinned).

    Jan Kara's RFC (<20230209121046.25360-1-jack@suse.cz>) converts only iomap writeback: ext4's
    ``mpage_submit_folio`` and the COW filesystem's ``extent_writepage`` call
    ``folio_clear_dirty_for_io`` without a writeback_control and keep today's behaviour, so
    "skip-bounce-iomap" is "plain" on every filesystem modelled here (none writes back through
    iomap); "skip-bounce" is this project's extension of the rule to them."""
    policy = c.cfg.writeback_pinned
    if policy == "skip-bounce-iomap":
        return "plain"
    return policy


WRITEBACK_STAGES = {"wb:lock": stage_lock, "wb:waitwb": stage_waitwb,
                    "wb:mkclean": stage_mkclean, "wb:submit": stage_submit}


def background_pass(c: Ctx) -> Outcome:
    """The flusher (wb_workfn -> wb_writeback, WB_SYNC_NONE): one pass over the dirty folios.

    Disabled while nothing is dirty: a kernel thread with nothing to do takes no step.
    """
    if c.k.fs == "shmem" or not dirty_pages(c.k):  # shmem has no writeback
        return []
    k = writeback_begin(c, c.k, sync=False, ret="finish")
    return [Move("wb_workfn: background writeback (WB_SYNC_NONE)", k)]
