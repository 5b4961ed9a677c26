"""Truncate to zero, regrow, munmap and loads: what happens to a pinned page cache page.

The filesystem's ``->setattr`` (ext4: fs/ext4/inode.c ``ext4_setattr``) with a smaller size:
``filemap_invalidate_lock`` (exclusive: ``->page_mkwrite`` takes it shared), ``i_size_write``,
then ``truncate_pagecache`` -> ``unmap_mapping_range`` (one pass zapping the PTEs; a dirty PTE
bit moves to the folio) and ``truncate_inode_pages_range``: each folio is locked, waited on if
under writeback, unmapped if a fault mapped it again meanwhile, its buffers invalidated, its
dirty bit cancelled, and removed from the page cache
(``filemap_remove_folio``: ``folio->mapping = NULL``).  Truncate never waits for pins: a pinned
folio lives on as an *orphan*; DMA into it is harmless and lost, and the unpin's
``folio_mark_dirty`` finds no mapping and calls ``noop_dirty_folio`` (F6 is not a violation for
page-cache files; FS-DAX is another matter).  The filesystem then frees the blocks
(``ext4_truncate``); the names of each filesystem's functions are in its table (:mod:`.fs`).
"""

from __future__ import annotations

from functools import partial

from .actor import Blocked, Ctx, Move, Outcome
from .blocks import cow_free_range, free_range
from .dax import DAX_STAGES
from .locks import (
    INVALIDATE_LOCK,
    down_write,
    down_write_queue,
    up_write,
    write_acquired_then,
    write_lock_then,
)
from .rmap import clear_pte
from .state import SUBBLOCKS, KState, replace
from .writeback import dirty_pages, lock_then_wait_writeback, writeback_range


def truncate(c: Ctx) -> Outcome:
    """("truncate",): ftruncate(fd, 0)."""
    return _begin(c, 0, len(c.k.cache), "truncate")


def punch_hole(c: Ctx) -> Outcome:
    """("punch_hole", page): fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) of one page.

    fs/ext4/extents.c ``ext4_punch_hole`` (ext4/inode.c before 6.9): ``inode_lock``,
    ``filemap_invalidate_lock``, ``ext4_break_layouts`` (DAX), ``truncate_pagecache_range``
    (unmap the range, then ``truncate_inode_pages_range`` over it), ``ext4_ext_remove_space``
    frees the blocks; i_size is unchanged and the range reads as zeros.  shmem:
    ``shmem_fallocate`` -> ``shmem_truncate_range``.  Pins are not waited for (page cache).

    Before 6.14 (6.1.192 still, not 6.12.y) ext4 first writes the range back, holding no lock,
    if any page of the file is dirty (``mapping_tagged(mapping, PAGECACHE_TAG_DIRTY)``), and
    waits for that writeback: ``filemap_write_and_wait_range``.  Its error return (AS_EIO) is
    not modelled.
    """
    page, k = c.op[1], c.k
    flush = c.env.fs.f_ops.punch_flush_unlocked
    if flush and c.cfg.ext4_punch_flush_unlocked and dirty_pages(k):
        todo = tuple(p for p in dirty_pages(k) if p == page)
        k = writeback_range(c, k, todo, ret="tr:flushed")
        return [Move(f"{flush} (page {page}{'' if todo else ': not dirty, nothing to write'}), "
                     "before inode_lock", k)]
    return _begin(c, page, page + 1, "punch")


def stage_flushed(c: Ctx) -> Outcome:
    """The wait of the unlocked flush (``filemap_fdatawait_range`` over the punched page), then
    the locked part of the punch."""
    page, k = c.op[1], c.k
    f = k.cached(page)
    if f is not None and f.writeback:
        return Blocked(f"filemap_fdatawait_range: writeback of page {page}",
                       k.writeback_holders(k.fid(page)))
    return _begin(c, page, page + 1, "punch")


def _begin(c: Ctx, start: int, end: int, what: str) -> Outcome:
    """filemap_invalidate_lock: taken at once, or queued behind a ->page_mkwrite (from then on
    new faults wait behind the truncate: writer preference) and taken in ``tr:lock``."""
    k = down_write_queue(c.k, c.name, INVALIDATE_LOCK)
    if k.invalidate_lock.writer != c.name:
        return [Move(f"{_entry(c, what, start)}: filemap_invalidate_lock: queued behind the "
                     "readers", c.goto(k, "tr:lock", trange=(start, end), twhat=what))]
    return _locked(c, k, start, end, what)


def stage_lock(c: Ctx) -> Outcome:
    """A queued filemap_invalidate_lock: taken once the readers have drained."""
    k = down_write(c.k, c.name, INVALIDATE_LOCK)
    if isinstance(k, Blocked):
        return k
    if c.var("tnext") == "tr:daxbreak":  # ext4_wait_dax_page took it again
        return [Move("filemap_invalidate_lock acquired, ext4_break_layouts again",
                     c.goto(k, "tr:daxbreak", tnext=None))]
    start, end = c.var("trange")
    return _locked(c, k, start, end, c.var("twhat"))


def _entry(c: Ctx, what: str, start: int) -> str:
    """The filesystem's ->setattr or ->fallocate(PUNCH_HOLE), by its name."""
    f_ops = c.env.fs.f_ops
    return f_ops.setattr if what == "truncate" else f"{f_ops.punch_hole} (page {start})"


def _locked(c: Ctx, k: KState, start: int, end: int, what: str) -> Outcome:
    # the range reads as zeros from now on: a write of zeros, in flight until the blocks are
    # freed (a sync starting meanwhile promises neither the old data nor the zeros)
    blocks = range(SUBBLOCKS)
    starts = tuple(k.start_numbers(p, blocks) for p in range(start, end))
    for p in range(start, end):
        k = k.write_started(p, blocks, "Z0", me=c.me)
    dax = c.env.fs.dax
    if what == "truncate" and dax:  # i_size_write after ext4_break_layouts
        func = f"{c.env.fs.f_ops.setattr}: filemap_invalidate_lock"
    elif what == "truncate":
        k = replace(k, i_size=0)
        func = f"{_entry(c, what, start)}: filemap_invalidate_lock, truncate_setsize: " \
            "i_size_write(0)"
    else:
        func = f"{c.env.fs.f_ops.punch_hole}: filemap_invalidate_lock (page {start})"
    nxt = "tr:daxbreak" if dax else "tr:unmap"
    k = c.goto(k, nxt, trange=(start, end), twhat=what, tstarts=starts)
    dirty = tuple(p for p in dirty_pages(k) if start <= p < end)
    flush = c.env.fs.f_ops.punch_flush
    if what == "punch" and flush and dirty:
        k = writeback_range(c, k, dirty, ret=nxt)
        func += f", {flush}: filemap_write_and_wait_range"
    return [Move(func, k)]


def stage_unmap(c: Ctx) -> Outcome:
    """unmap_mapping_range -> zap_pte_range: one pass over the range, one PTE per step.

    mm/truncate.c ``truncate_pagecache`` passes ``even_cows`` (a MAP_PRIVATE copy is zapped
    too) and ``truncate_pagecache_range`` (the punch) does not: a punched range keeps the
    process's private copies (mm/memory.c ``should_zap_page``).  One pass, as the kernel's:
    a fault that maps the page again behind the cursor is undone when the folio is removed
    (``truncate_cleanup_folio``).
    """
    k = c.k
    start, end = c.var("trange")
    cows = c.var("twhat") == "truncate"
    page = next((p for p in range(c.var("tcur", start), end)
                 if k.ptes[p] is not None and (cows or k.ptes[p].cow is None)), None)
    if page is None:
        return _pages(c, c.forget(k, "tcur"))
    k, dirty = clear_pte(c, k, page, who=c.name)
    return [Move(f"unmap_mapping_range: zap_pte_range(page {page})"
                 + (", pte dirty -> folio_mark_dirty" if dirty else ""),
                 c.goto(k, "tr:unmap", tcur=page + 1))]


def stage_pages(c: Ctx) -> Outcome:
    """The next folio of truncate_inode_pages_range."""
    return _pages(c, c.k)


def _pages(c: Ctx, k: KState) -> Outcome:
    """truncate_inode_pages_range, one folio per step.

    A folio under writeback is skipped by the first pass (``find_lock_entries``) and waited
    for by the second: ``folio_lock``, then ``folio_wait_writeback`` holding the lock (6.1
    mm/truncate.c), a step of its own.

    ``truncate_pagecache``'s second unmap_mapping_range is for a private copy that
    ``do_cow_fault`` maps after the first pass, having checked i_size before it; the model's
    private write fault checks i_size and maps its copy in one step, so it has nothing to do."""
    start, end = c.var("trange")
    cached = [(p, f) for p, f in k.cached_folios() if start <= p < end]
    if not cached:
        return _free_blocks(c, k)
    # a folio it locked to wait for its writeback first (a lower one may have come meanwhile)
    page, f = next(((p, f) for p, f in cached if f.locked == c.name), cached[0])
    if f.locked is not None and f.locked != c.name:
        return Blocked(f"folio lock of page {page}", (f.locked,))
    held = lock_then_wait_writeback(
        c, k, page, f"folio_wait_writeback: writeback of page {page} (folio locked)")
    if isinstance(held, Blocked):
        return held
    if held is not None:
        return [Move(f"truncate_inode_pages_range: folio_lock(page {page}), under writeback: "
                     "folio_wait_writeback", c.goto(held, "tr:pages"))]
    if f.locked == c.name:  # folio_unlock after the removal
        k = k.with_folio(page, replace(f, locked=None))
    pte = k.ptes[page]
    unmap, dirty = pte is not None and pte.cow is None, False  # mapped again since the pass
    if unmap:
        k, dirty = clear_pte(c, k, page, who=c.name)
    invalidate = c.env.fs.a_ops.invalidate_folio  # ext4_da_release_space, ...
    if invalidate is not None:
        k = invalidate(k, k.folio(page))
    k, left = k.remove_from_cache(page)  # buffers invalidated, dirty cancelled
    fate = "freed" if left == 0 else f"orphaned (refcount {left})"
    return [Move("truncate_inode_pages_range: folio_lock, truncate_cleanup_folio"
                 + (f" (unmap_mapping_folio{', pte dirty' if dirty else ''})" if unmap else "")
                 + f", filemap_remove_folio(page {page}): {fate}", c.goto(k, "tr:pages"))]


def _free_blocks(c: Ctx, k: KState) -> Outcome:
    start, end = c.var("trange")
    what = c.var("twhat")
    f_ops = c.env.fs.f_ops
    func = f_ops.free_truncated if what == "truncate" else f_ops.free_punched
    lo, hi = start * SUBBLOCKS, end * SUBBLOCKS
    k = up_write(replace(k, disk=k.disk[:lo] + ("Z0",) * (hi - lo) + k.disk[hi:]), c.name,
                 INVALIDATE_LOCK)
    if k.csum:  # a hole has no checksum items: it reads as zeros
        k = replace(k, csum=k.csum[:lo] + ("Z0",) * (hi - lo) + k.csum[hi:])
    if c.env.fs.block_map:  # the freed blocks become holes
        k = free_range(k, start, end)
    elif c.env.fs.cow:  # the file extents are dropped
        k = cow_free_range(k, start, end)
    k = k.pages_written(c.me, range(start, end), "Z0", c.var("tstarts"))
    return [Move(f"{func}, filemap_invalidate_unlock", c.finish(k, f"{what}=0"))]


def grow(c: Ctx) -> Outcome:
    """("ftruncate_grow",): the file back to its size; the truncated range reads as zeros."""
    k = c.k
    lock = k.invalidate_lock
    busy = ((lock.writer,) if lock.writer else ()) + lock.readers + lock.queued
    if busy:
        return Blocked("filemap_invalidate_lock", busy)
    k = replace(k, i_size=len(k.cache))
    return [Move(f"setattr: i_size_write({len(k.cache)} pages)", c.finish(k, "grow=0"))]


def munmap(c: Ctx) -> Outcome:
    """("munmap", page): __vm_munmap -> mmap_write_lock, unmap_region -> zap_pte_range,
    mmap_write_unlock; a GUP reference keeps the folio.  If readers hold mmap_lock (a page
    fault) the writer queues, and from then on new readers wait behind it (:mod:`.locks`)."""
    return write_lock_then(c, "munmap", "mu:wait", partial(_zap, c))


def stage_munmap_wait(c: Ctx) -> Outcome:
    return write_acquired_then(c, partial(_zap, c))


def _zap(c: Ctx, k: KState, how: str) -> Outcome:
    """do_vmi_munmap: the VMA is removed (a later fault finds none: SIGSEGV, GUP -EFAULT) and
    its PTEs zapped; munmap of a range with no VMA is not an error."""
    page = c.op[1]
    if not k.has_vma(page):
        return [Move(f"munmap(page {page}): {how}no VMA, mmap_write_unlock",
                     c.finish(up_write(k, c.name), "munmap=0"))]
    mapped = k.ptes[page] is not None
    # unmap_region notifies the range whether or not a PTE is there (a stale ODP device PTE)
    k, dirty = (clear_pte(c, k, page, who=c.name) if mapped
                else (k.mmu_notifier_invalidate(page), False))
    return [Move(f"munmap: {how}detach the VMA, "
                 + (f"zap_pte_range(page {page})" if mapped else f"no pte for page {page}")
                 + (", pte dirty -> folio_mark_dirty" if dirty else "") + ", mmap_write_unlock",
                 c.finish(up_write(k.without_vma(page), c.name), "munmap=0"))]


TRUNCATE_STAGES = {"tr:unmap": stage_unmap, "tr:pages": stage_pages, "tr:lock": stage_lock,
                   "mu:wait": stage_munmap_wait, "tr:flushed": stage_flushed, **DAX_STAGES}
