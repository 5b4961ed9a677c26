"""Writeback of the file's dirty folios, one folio at a time: ``write_cache_pages``' loop as
a filesystem's ``->writepages`` runs it (ext4's ``mpage_prepare_extent_to_map``, btrfs'
``extent_write_cache_pages``), with the filesystem's own steps from its table
(:class:`~.fsops.Writepages`).

The lookup finds the tagged folios (PAGECACHE_TAG_DIRTY for background writeback, TOWRITE —
tagged at the start — for data-integrity writeback) and for each: ``folio_lock``; skip it if its
mapping changed, if it is no longer dirty, or (WB_SYNC_NONE) if it is under writeback;
WB_SYNC_ALL waits for that writeback with the folio locked.  The filesystem then looks at the
folio (``Writepages.check``: ext4's "does not have buffers attached", btrfs' fixup worker).

``folio_clear_dirty_for_io``: ``folio_mkclean`` write-protects and cleans every PTE mapping the
folio (one step per PTE here: a store through a PTE not yet cleaned can run in between) and a
dirty PTE re-dirties the folio (``folio_mark_dirty``); then PG_dirty is cleared.  The filesystem
maps the blocks for I/O (``Writepages.map_for_io``), ``folio_start_writeback``, the bio is
submitted and the folio unlocked (ext4's ``mpage_submit_folio`` -> ``ext4_bio_write_folio``,
btrfs' ``extent_writepage``).  The device reads the page later (:mod:`.device`).

Simplification: the folios to visit are those dirty when the pass starts (the tag lookup); a
folio dirtied behind the cursor waits for the next pass, as in the kernel.
"""

from __future__ import annotations

from .actor import Blocked, Ctx, Move, Outcome
from .dirty import folio_mark_dirty
from .fsops import Writepages
from .state import Bio, Folio, KState, Pte, replace


def dirty_pages(k: KState) -> tuple[int, ...]:
    return tuple(p for p, f in k.cached_folios() if f.dirty)


def writeback_begin(c: Ctx, k: KState, *, sync: bool, ret: str) -> KState:
    """Tag the dirty folios and position the thread at the first one (or at ``ret``)."""
    return _next(c, k, dirty_pages(k), sync=sync, ret=ret)


def lock_then_wait_writeback(c: Ctx, k: KState, page: int, waiting: str
                             ) -> KState | Blocked | None:
    """``folio_lock`` then ``folio_wait_writeback`` (or ``folio_wait_stable``) of a folio under
    writeback, as truncate's second pass, invalidate_inode_pages2_range and a buffered
    write's ``__filemap_get_folio(FGP_WRITEBEGIN)`` do it: the lock is a step of its own
    (the state with it taken, for the caller's step), and the wait sleeps holding it
    (Blocked, on ``waiting``).  None: the folio is not under writeback."""
    f = k.folio(page)
    if not f.writeback:
        return None
    if f.locked == c.name:
        return Blocked(waiting, k.writeback_holders(k.fid(page)))
    return k.with_folio(page, replace(f, locked=c.name))


def writeback_range(c: Ctx, k: KState, pages: tuple[int, ...], *, ret: str) -> KState:
    """filemap_write_and_wait_range over ``pages`` (data integrity), then on at ``ret``; the
    wait is the caller's (truncate_inode_pages_range waits for each folio)."""
    return _next(c, k, pages, sync=True, ret=ret)


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
        return [Move(f"{_writepages(c).lookup}: page {page} left the page cache, skip",
                     _next(c, k, todo[1:]))]
    if f.locked is not None and f.locked != c.name:
        return Blocked(f"folio lock of page {page}", (f.locked,))
    k = k.with_folio(page, replace(f, locked=c.name))
    return [_after_lock(c, k, page, f"{_writepages(c).lookup}: folio_lock(page {page})")]


def _writepages(c: Ctx) -> Writepages:
    """The filesystem's ->writepages steps (only filesystems with writeback get here)."""
    ops = c.env.fs.a_ops.writepages
    assert ops is not None, f"{c.env.fs.name} has no writeback"
    return ops


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
    verdict, k, func = _writepages(c).check(c, k, page, func)
    if verdict == "skip":
        return Move(func, _next(c, k, todo[1:]))
    if verdict == "oops":
        return Move(func, c.finish(k, "BUG"))
    pte = k.ptes[page]
    if pte is not None and pte.cow is None and (pte.writable or pte.dirty):
        return Move(func, c.goto(k, "wb:mkclean", wpte=False))
    return Move(func, c.goto(k, "wb:submit", wpte=False))


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
        k = folio_mark_dirty(c, k, k.fid(page), who=c.name, pte_transfer=True)
    if skips_pinned(c, k.folio(page)):
        k = k.with_folio(page, replace(k.folio(page), locked=None))
        return [Move(f"folio_clear_dirty_for_io: folio_maybe_dma_pinned in WB_SYNC_NONE "
                     f"writeback: keep page {page} dirty, skip it, folio_unlock",
                     _next(c, k, todo[1:]))]
    k, what = start_write(c, k, page)
    return [Move(f"{_writepages(c).submit}: {what}, folio_unlock(page {page})",
                 _next(c, k, todo[1:]))]


def start_write(c: Ctx, k: KState, page: int) -> tuple[KState, str]:
    """folio_clear_dirty_for_io (PTEs already cleaned), folio_start_writeback, buffers
    cleaned, and the write bio submitted (ext4_bio_write_folio / extent_writepage); the folio
    is unlocked.  The device reads the page (or the proposal's bounce copy) later."""
    f = k.folio(page)
    ops = _writepages(c)
    if page >= k.i_size:  # a truncate is in progress: nothing beyond EOF is written
        f, what = ops.beyond_eof(k, f)
        k = k.with_folio(page, replace(f, dirty=False, prepared=False, locked=None,
                                       reserved=False))
        return k, f"folio_clear_dirty_for_io, {what}, nothing to write"
    bounce = bounce_copy(c, f)
    k, blocks, f, extra = ops.map_for_io(c, k, page, f)
    f = replace(f, dirty=False, prepared=False, writeback=bool(blocks), locked=None,
                reserved=False)
    if not blocks:
        return k.with_folio(page, f), f"folio_clear_dirty_for_io, {extra}nothing to write"
    checksum = (bounce or f.data) if c.env.stable_writes else None  # bio_integrity_prep / RAID
    csums = (bounce or f.data) if c.env.fs.cow else None  # btrfs_csum_one_bio
    bio = Bio(id=k.next_bio, write=True, page=page, folio=k.fid(page), pending=blocks,
              owner=c.name, bounce=bounce, checksum=checksum, csums=csums,
              early=k.write_gup_holders(k.fid(page)))
    k = replace(k.with_folio(page, f), bios=k.bios + (bio,), next_bio=k.next_bio + 1)
    copy = ", from a bounce copy (page is pinned)" if bounce else ""
    return k, (f"folio_clear_dirty_for_io, {extra}folio_start_writeback, "
               f"submit_bio (write bio #{bio.id}{copy})")


def pinned_policy(c: Ctx) -> str:
    """What this filesystem's writeback does with a pinned folio (KernelConfig.writeback_pinned).

    Jan Kara's RFC (<20230209121046.25360-1-jack@suse.cz>) changes ``folio_clear_dirty_for_io``
    for callers that pass a writeback_control: in WB_SYNC_NONE writeback a pinned folio is
    cleaned of its PTEs but stays dirty and is skipped; and iomap's ``iomap_add_to_ioend``
    bounces a pinned folio's bio only on a stable-writes device (SB_I_STABLE_WRITES).  The
    skip reaches iomap writeback (XFS here) and btrfs' ``extent_write_cache_pages`` (patch 3/5
    passes its wbc), the bounce only iomap; ext4's ``mpage_submit_folio`` passes no wbc and
    keeps today's behaviour, so "skip-bounce-iomap" is "plain" there.  "skip-bounce" is this
    project's extension of skip-and-bounce to every filesystem, bouncing every data-integrity
    write of a pinned folio."""
    policy = c.cfg.writeback_pinned
    fs = c.env.fs
    if policy == "skip-bounce-iomap" and not (fs.iomap_writeback or fs.cow):
        return "plain"
    return policy


def skips_pinned(c: Ctx, f: Folio) -> bool:
    """The RFC's ``folio_clear_dirty_for_io``: in WB_SYNC_NONE writeback a pinned folio
    (whose PTEs were cleaned) keeps PG_dirty and is skipped; data-integrity writeback
    writes it."""
    return (pinned_policy(c) in ("skip-bounce", "skip-bounce-iomap") and not c.var("wsync")
            and f.maybe_dma_pinned())


def bounce_copy(c: Ctx, f: Folio) -> tuple[str, ...] | None:
    """The copy of a pinned folio's data that its write bio carries instead of the page, or
    ``None``: under "bounce" and "skip-bounce" every pinned folio's write; under
    "skip-bounce-iomap" (the RFC's ``iomap_add_to_ioend``) only in iomap writeback, on a
    stable-writes device."""
    policy = pinned_policy(c)
    if not f.maybe_dma_pinned():
        return None
    if policy in ("bounce", "skip-bounce") or (policy == "skip-bounce-iomap"
                                               and c.env.fs.iomap_writeback
                                               and c.env.stable_writes):
        return f.data
    return None


WRITEBACK_STAGES = {"wb:lock": stage_lock, "wb:waitwb": stage_waitwb,
                    "wb:mkclean": stage_mkclean, "wb:submit": stage_submit}


def background_pass(c: Ctx) -> Outcome:
    """The flusher (wb_workfn -> wb_writeback, WB_SYNC_NONE): one pass over the dirty folios.

    Disabled while nothing is dirty: a kernel thread with nothing to do takes no step.
    """
    if not c.env.fs.writeback or not dirty_pages(c.k):
        return []
    k = writeback_begin(c, c.k, sync=False, ret="finish")
    return [Move("wb_workfn: background writeback (WB_SYNC_NONE)", k)]
