"""Page reclaim of one file folio: shrink_folio_list as it really is (mm/vmscan.c).

``madvise(MADV_PAGEOUT)`` (``reclaim_pages``) and kswapd both end up here.  madvise reaches the
folio through the caller's page tables, under ``mmap_read_lock`` (mm/madvise.c:
``madvise_need_mmap_write`` is 0 for MADV_PAGEOUT, and ``madvise_cold_or_pageout_pte_range``
calls ``reclaim_pages`` inside the page-table walk): a page it does not map is skipped
(``pte_none``), and a ``munmap`` waits for it.  kswapd finds the folio on the LRU, holding no
mmap_lock.  Under the folio lock (``folio_trylock``, after ``folio_isolate_lru`` took a
reference):

1. a folio under writeback is kept;
2. ``try_to_unmap``: each PTE is cleared, its dirty bit moved to the folio (``try_to_unmap_one``
   -> ``folio_mark_dirty``);
3. since 6.4 (d824ec2a1546) a ``folio_maybe_dma_pinned`` folio is activated here, *after* the
   unmap — FOLL_GET references are not seen;
4. a dirty file folio is activated — except that kswapd, before 6.3, writes it itself if
   nothing else references it (``is_page_cache_freeable``): ``pageout`` -> ``ext4_writepage``
   (folio_clear_dirty_for_io, folio_start_writeback, the bio; its "page %lu does not have
   buffers attached" warning since 5.18, BUG on ``page_buffers()``
   before) and puts it back.  "Only kswapd can writeback filesystem folios"
   and only once it met them dirty before (PG_reclaim, PGDAT_DIRTY): the model assumes it has.
   ext4 has had no ``->writepage`` since 6.3, so ``pageout`` returns PAGE_ACTIVATE;
5. ``filemap_release_folio`` -> ``try_to_free_buffers``: fails on busy (dirty) buffers, never
   looks at references or pins, and strips the buffers of a clean folio;
6. ``__remove_mapping``: ``folio_ref_freeze(folio, 2)`` (page cache + isolation) fails on any
   extra reference; the folio is put back — **in the page cache, without buffers** (F1).
"""

from __future__ import annotations

from .actor import Blocked, Ctx, Move, Outcome
from .blocks import BH_DELAY
from .dirty import buffers_busy
from .fs.ext4 import NO_BUFFERS_BUG, NO_BUFFERS_WARNING
from .locks import down_read, up_read
from .rmap import clear_pte
from .state import KState, replace
from .writeback import start_write

MADVISE = "madvise_pageout"


def shrink(c: Ctx) -> Outcome:
    """("madvise_pageout", page) or ("kswapd_reclaim", page): isolate and trylock."""
    page = c.op[1]
    k: KState | Blocked = c.k
    unlock = ""
    if c.op[0] == MADVISE:
        k = down_read(c.k, c.name)  # madvise_lock
        if isinstance(k, Blocked):
            return k
        unlock = ", mmap_read_unlock"
        if not k.has_vma(page):  # madvise_walk_vmas: a range with no VMA
            return [Move(f"madvise(MADV_PAGEOUT): mmap_read_lock, no VMA at page {page}: "
                         f"-ENOMEM{unlock}", _finish(c, k, "madvise=-ENOMEM"))]
        if not k.maps_cache(page):  # the walk meets no PTE of the page-cache folio
            why = ("not mapped (pte_none)" if k.ptes[page] is None else
                   "maps a private copy (anonymous: swap, not modelled)")
            return [Move(f"madvise(MADV_PAGEOUT): mmap_read_lock, page {page} {why}, "
                         f"skip{unlock}", _finish(c, k, "skipped"))]
    f = k.cached(page)
    if f is None or f.isolated or c.env.fs.a_ops.release_folio is None:  # shmem: swap
        if c.op[0] == "kswapd_reclaim":
            return []  # nothing to reclaim: kswapd takes no step
        return [Move(f"madvise(MADV_PAGEOUT): page {page} not on the LRU{unlock}",
                     _finish(c, k, "skipped"))]
    if f.locked is not None:
        return [Move(f"shrink_folio_list: folio_trylock(page {page}) fails, keep{unlock}",
                     _finish(c, k, "kept"))]
    if f.writeback:
        return [Move(f"shrink_folio_list: page {page} under writeback, keep{unlock}",
                     _finish(c, k, "kept"))]
    k = k.with_folio(page, replace(f, isolated=True, refcount=f.refcount + 1, locked=c.name))
    nxt = "rc:unmap" if k.maps_cache(page) else "rc:release"
    return [Move(("madvise(MADV_PAGEOUT): mmap_read_lock, " if unlock else "")
                 + f"shrink_folio_list: folio_isolate_lru, folio_trylock(page {page})",
                 c.goto(k, nxt))]


def _finish(c: Ctx, k: KState, result: str) -> KState:
    """Reclaim of the page is over; madvise returns, dropping mmap_lock."""
    if c.op[0] == MADVISE:
        k = up_read(k, c.name)
    return c.finish(k, result)


def stage_unmap(c: Ctx) -> Outcome:
    page = c.op[1]
    k = c.k
    # unmapped since the folio was isolated: the rmap walk finds no PTE.  A truncate or hole
    # punch (unmap_mapping_range, no mmap_lock) can zap it under either; a munmap only under
    # kswapd (madvise holds mmap_read_lock from before it isolates the folio until it returns).
    # A MAP_PRIVATE write fault's wp_page_copy (no folio lock) can replace it by a private copy
    if not k.maps_cache(page):
        return [Move(f"try_to_unmap: page {page} is no longer mapped", c.goto(k, "rc:release"))]
    k, dirty = clear_pte(c, k, page, who=c.name)
    return [Move(f"try_to_unmap_one: clear the pte of page {page}"
                 + (", pte dirty -> folio_mark_dirty" if dirty else ""), c.goto(k, "rc:release"))]


def _putback(c: Ctx, k: KState, page: int, func: str, result: str) -> Move:
    f = k.folio(page)
    k = k.with_folio(page, replace(f, isolated=False, refcount=f.refcount - 1, locked=None))
    return Move(func, _finish(c, k, result))


def stage_release(c: Ctx) -> Outcome:
    page = c.op[1]
    k = c.k
    f = k.folio(page)
    if c.cfg.reclaim_skips_pinned and f.maybe_dma_pinned():
        return [_putback(c, k, page, "shrink_folio_list: folio_maybe_dma_pinned -> activate_locked",
                         "kept")]
    if (f.dirty and c.op[0] == "kswapd_reclaim" and c.cfg.ext4_writepage
            and c.env.fs.a_ops.writepage == "ext4_writepage"):
        return [_pageout(c, k, page)]
    if f.dirty:
        return [_putback(c, k, page, "shrink_folio_list: dirty file folio -> activate_locked",
                         "kept")]
    if f.buffers is not None:
        if buffers_busy(f.buffers):
            return [_putback(c, k, page, "filemap_release_folio: try_to_free_buffers fails "
                             "(busy buffers), keep", "kept")]
        k = k.with_folio(page, replace(f, buffers=None, refcount=f.refcount - 1))
        return [Move(f"filemap_release_folio: try_to_free_buffers strips the buffers of "
                     f"page {page}", c.goto(k, "rc:remove"))]
    return stage_remove(c)


def _pageout(c: Ctx, k: KState, page: int) -> Move:
    """pageout -> ext4_writepage (before 6.3), kswapd only.

    pageout() first asks is_page_cache_freeable(): referenced only by the isolation, the page
    cache and the buffers; any other reference (a GUP user's) and it returns PAGE_KEEP without
    writing (docs/kernel-rules.md Rule 2 (b)).  ext4_writepage allocates no blocks ("We cannot
    do block allocation or other extent handling in this function"): a delayed buffer makes
    it redirty the page and, with PF_MEMALLOC (kswapd), return; shrink_folio_list keeps the
    folio, still dirty.  Its buffers stay as they were, so the model leaves the folio as is."""
    f = k.folio(page)
    if f.refcount - (f.buffers is not None) != 2:
        return _putback(c, k, page, f"pageout: is_page_cache_freeable fails (refcount "
                        f"{f.refcount}), PAGE_KEEP", "kept")
    if f.buffers is None:
        if not c.cfg.ext4_warn_no_buffers:  # page_buffers() of a page without buffers
            k = k.event(NO_BUFFERS_BUG).violate(
                "dirty-has-backing", f"kswapd's pageout met dirty page {page} without buffers: "
                f"{NO_BUFFERS_BUG}")
            return Move("pageout: ext4_writepage: no buffers: BUG(), the kernel oopses",
                        _finish(c, k.with_ghost(crashed=True), "BUG"))
        msg = NO_BUFFERS_WARNING.replace("ext4_writepages: page 0", f"ext4_writepage: page {page}")
        k = k.event(msg).violate(
            "dirty-has-backing", f"kswapd's pageout met dirty page {page} without buffers: "
            f"\"{msg}\"; the folio is cleaned and its data dropped")
        k = k.with_folio(page, replace(f, dirty=False, prepared=False))
        return _putback(c, k, page, "pageout: ext4_writepage: no buffers: ext4_warning, "
                        "ClearPageDirty, keep", "kept")
    if any(b.startswith(BH_DELAY) for b in f.buffers):
        return _putback(c, k, page, "pageout: folio_clear_dirty_for_io, ext4_writepage: a "
                        "delayed buffer needs block allocation: redirty_page_for_writepage, "
                        "PF_MEMALLOC: return, keep", "kept")
    k, what = start_write(c, k, page)
    return _putback(c, k, page, f"pageout: ext4_writepage: {what}, folio_putback_lru", "pageout")


def stage_remove(c: Ctx) -> Outcome:
    page = c.op[1]
    k = c.k
    f = k.folio(page)
    if f.refcount == 2:
        return [Move(f"__remove_mapping: folio_ref_freeze(page {page}, 2), page freed",
                     _finish(c, k.with_folio(page, None), "reclaimed"))]
    return [_putback(c, k, page, f"__remove_mapping: folio_ref_freeze(page {page}, 2) fails "
                     f"(refcount {f.refcount}), folio_putback_lru", "kept")]


RECLAIM_STAGES = {"rc:unmap": stage_unmap, "rc:release": stage_release, "rc:remove": stage_remove}
