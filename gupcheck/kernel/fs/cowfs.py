"""A copy-on-write filesystem (btrfs-like), as its operation tables.

A COW filesystem never overwrites a block in place: each writeback allocates a new extent, so
``->page_mkwrite`` (``btrfs_page_mkwrite``) reserves space (``btrfs_delalloc_reserve_space``;
ENOSPC -> VM_FAULT_SIGBUS, -EFAULT for GUP) every time a clean page is dirtied, and waits for
writeback (``folio_wait_writeback``), so CPU writers are stable.  The old extent is freed once
the new one is written, and every data block is checksummed at submit (``btrfs_csum_one_bio``).

fs/btrfs/file.c ``btrfs_file_vm_ops = { .fault = filemap_fault, .page_mkwrite =
btrfs_page_mkwrite }``; fs/btrfs/inode.c ``btrfs_aops = { .dirty_folio = btrfs_dirty_folio,
.writepages = btrfs_writepages (extent_write_cache_pages -> extent_writepage),
.release_folio = btrfs_release_folio }``; ``btrfs_sync_file``, ``btrfs_setattr``,
``btrfs_punch_hole``.

A folio found dirty at writeback without a reservation was dirtied "without notifying the fs"
(a GUP user's ``set_page_dirty`` after writeback cleaned it):

* up to 6.1 writeback leaves it dirty and queues ``btrfs_writepage_fixup_worker``, which
  later, in a worker of its own, reserves space late; the folio is written by a later
  writeback.  A data-integrity writeback meanwhile skips it and fsync returns 0 without the
  data on disk.  And if the filesystem is full meanwhile the reservation fails: ENOSPC
  *after* the DMA, the data the device wrote is dropped and the error reaches the next
  fsync (F9, Dave Chinner's "Think ENOSPC");
* Debian's 6.12.118 refuses it: "is marked dirty without notifying the fs", writeback fails
  with -EUCLEAN, the data is dropped and ``mapping_set_error`` hands the error to
  fsync/msync.
"""

from __future__ import annotations

from ..actor import Blocked, Ctx, Move, Outcome, Stage
from ..config import KernelConfig
from ..dirty import require_mkwrite
from ..fault import (
    fault_dirty_shared_page,
    fault_put,
    filemap_fill,
    mkwrite_nopage,
    mkwrite_sleeps,
    vm_fault_sigbus,
)
from ..fsops import AddressSpaceOps, FileOps, FileSystem, VmOps, Writepages, WritepageVerdict
from ..state import SUBBLOCKS, Folio, KState, Pte, replace
from ..vma import Backing

UNNOTIFIED = "BTRFS: page is marked dirty without notifying the fs"


def btrfs_write_fault(c: Ctx, k: KState, page: int, ret: str, fail: str,
                      fail_stage: str | None) -> Outcome:
    """filemap_fault if needed, then btrfs_page_mkwrite (stage fault:btrfs_mkwrite), in the
    same step unless it must sleep (:func:`~..fault.mkwrite_sleeps`)."""
    filled = filemap_fill(c, k, page)
    if isinstance(filled, Blocked):
        return filled
    k = filled
    k2 = c.goto(k, "fault:btrfs_mkwrite", fpage=page, fret=ret, ffail=fail,
                ffailstage=fail_stage)
    return mkwrite_sleeps(c, k2, page, btrfs_page_mkwrite(replace(c, k=k2)))


def btrfs_page_mkwrite(c: Ctx) -> Outcome:
    """fs/btrfs/inode.c (6.1) btrfs_page_mkwrite: lock_page; the fault's own folio truncated
    (``fref``: page->mapping) or now beyond i_size: VM_FAULT_NOPAGE; wait_on_page_writeback
    holding the folio lock; then the reservation (btrfs_delalloc_reserve_space), the
    dirtying and the PTE, writable+dirty, and unlock (one step: all under the folio lock).
    6.1 reserves before its sleeps, the model after them.  Asleep here: on the folio lock,
    or on writeback with the folio locked."""
    k, page, own = c.k, c.var("fpage"), c.var("fref")
    f = k.cached(page)
    if f is None or f.locked != c.name:  # before lock_page
        mine = f is not None and own in (None, k.cache[page])
        if mine and f.locked is not None:
            return Blocked(f"folio lock of page {page}", (f.locked,))
        if not mine or page >= k.i_size:
            return mkwrite_nopage(c, fault_put(c, k), "btrfs_page_mkwrite: lock_page, "
                                  "page->mapping changed or beyond i_size")
    if f.writeback:
        if f.locked == c.name:
            return Blocked(f"btrfs_page_mkwrite: folio_wait_writeback(page {page})",
                           k.writeback_holders(k.fid(page)))
        return mkwrite_sleeps(c, k.with_folio(page, replace(f, locked=c.name)), page, Blocked(
            f"lock_page, folio_wait_writeback(page {page})", k.writeback_holders(k.fid(page))))
    k = fault_put(c, k)
    f = replace(k.folio(page), locked=None)
    func = "btrfs_page_mkwrite: folio_lock, "
    if not f.reserved:
        if k.free_blocks == 0:
            return vm_fault_sigbus(c, k.with_folio(page, f),
                                   func + "btrfs_delalloc_reserve_space fails (-ENOSPC), "
                                   "VM_FAULT_SIGBUS", c.var("ffail"), c.var("ffailstage"))
        k = replace(k, free_blocks=k.free_blocks - 1)
        f = replace(f, reserved=True)
        func += "btrfs_delalloc_reserve_space, "
    if k.ptes[page] is None:
        f = replace(f, mapcount=f.mapcount + 1, refcount=f.refcount + 1)
    k = k.with_folio(page, replace(f, prepared=True, checked=False))  # btrfs_page_clear_checked
    k = btrfs_dirty_folio(c, k, k.fid(page), c.name, False)
    k = k.with_pte(page, Pte(writable=True, dirty=True))
    k, unlock = fault_dirty_shared_page(c, k, c.var("fret"))
    return [Move(func + "folio_mark_dirty; map the pte writable+dirty, folio_unlock" + unlock,
                 k)]


def btrfs_dirty_folio(c: Ctx, k: KState, fid: int, who: str, pte_transfer: bool) -> KState:
    """btrfs_dirty_folio: no buffer_heads; the reservation is checked at writeback."""
    k = require_mkwrite(k, fid, who, pte_transfer, "(no space reserved)")
    return k.with_folio_at(fid, replace(k.folio_at(fid), dirty=True))


def cow_writeback_check(c: Ctx, k: KState, page: int, func: str) -> WritepageVerdict:
    """extent_writepage on a dirty folio: is its space reserved (PageOrdered)?

    If not (dirtied by a GUP user after writeback cleaned it): up to 6.1
    ``btrfs_writepage_cow_fixup`` queues ``btrfs_writepage_fixup_worker`` once (PG_checked,
    get_page) and returns -EAGAIN, and ``__extent_writepage_io`` redirties the folio and skips
    it ("Fixup worker will requeue"); Debian's 6.12.118 refuses it (-EUCLEAN).  The folio was
    cleaned for I/O first (``clear_page_dirty_for_io``: its PTE write-protected), as for every
    folio."""
    f = k.folio(page)
    if f.reserved:
        return "write", k, func
    k = _mkclean(k, page)
    if c.cfg.cow_fixup_worker:
        if f.checked:
            what = "PageChecked: -EAGAIN"
        else:
            f = replace(f, checked=True, refcount=f.refcount + 1)
            k = replace(k, fixup_work=k.fixup_work + (k.fid(page),))
            what = "queue btrfs_writepage_fixup_worker, -EAGAIN"
        k = k.with_folio(page, replace(f, locked=None))
        return "skip", k, func + f", folio_clear_dirty_for_io, btrfs_writepage_cow_fixup: " \
            f"{what}, redirty_page_for_writepage, folio_unlock"
    k = k.event(UNNOTIFIED)
    return "skip", _drop(k, page, "EUCLEAN"), func + f", {UNNOTIFIED}: -EUCLEAN, data " \
        "dropped, mapping_set_error"


def btrfs_writepage_fixup_worker(c: Ctx) -> Outcome:
    """fs/btrfs/inode.c (6.1) btrfs_writepage_fixup_worker, the first queued fixup:
    btrfs_delalloc_reserve_space, lock_page; a folio truncated, cleaned or no longer
    PG_checked (``->page_mkwrite`` or a buffered write reserved meanwhile) needs nothing; else
    btrfs_set_extent_delalloc (the folio is written by the next writeback) or, if the
    reservation failed, ``mapping_set_error`` and ``clear_page_dirty_for_io``: the data is
    dropped.  Then btrfs_page_clear_checked, unlock_page, put_page.  One step: the model
    reserves when the folio lock is free, the kernel just before it takes the lock."""
    k = c.k
    fid = k.fixup_work[0]
    f = k.folio_at(fid)
    if f.locked is not None:
        return Blocked(f"btrfs_writepage_fixup_worker: lock_page(page {f.index})", (f.locked,))
    k = replace(k, fixup_work=k.fixup_work[1:])
    func = "btrfs_writepage_fixup_worker: "
    if not f.mapping or not f.dirty or not f.checked or f.reserved:
        why = ("truncated" if not f.mapping else "clean" if not f.dirty
               else "not PageChecked (->page_mkwrite or a write reserved)")
        func += f"page {f.index} {why}: nothing to do"
    elif k.free_blocks == 0:
        k = k.violate("no-enospc-after-dma",
                      f"page {f.index} was dirtied without a reservation (by a GUP user, after "
                      "the DMA) and the late reservation in btrfs_writepage_fixup_worker fails: "
                      "ENOSPC after the data was acknowledged; it is dropped")
        k = _drop(_mkclean(k, f.index), f.index, "ENOSPC")
        f = k.folio_at(fid)
        func += (f"btrfs_delalloc_reserve_space fails (-ENOSPC), lock_page(page {f.index}), "
                 "mapping_set_error, clear_page_dirty_for_io: data dropped")
    else:
        k = replace(k, free_blocks=k.free_blocks - 1)
        f = replace(f, reserved=True)
        func += (f"btrfs_delalloc_reserve_space, lock_page(page {f.index}), "
                 "btrfs_set_extent_delalloc")
    f = replace(f, checked=False, refcount=f.refcount - 1)
    k = k.with_folio_at(fid, None if f.refcount == 0 and not f.mapping else f)
    return [Move(func + ", put_page", k)]


def _mkclean(k: KState, page: int) -> KState:
    """folio_mkclean: the page's shared PTE write-protected and clean."""
    pte = k.ptes[page]
    if pte is None or pte.cow is not None or not (pte.writable or pte.dirty):
        return k
    return k.with_pte(page, Pte(writable=False, dirty=False)).mmu_notifier_invalidate(page)


def _drop(k: KState, page: int, errno: str) -> KState:
    f = k.folio(page)
    k = k.with_folio(page, replace(f, dirty=False, prepared=False, locked=None))
    return replace(k, wb_err=k.wb_err + 1, wb_errno=errno)


def cow_map_for_io(c: Ctx, k: KState, page: int,
                   f: Folio) -> tuple[KState, tuple[int, ...], Folio, str]:
    """The whole page goes to a new extent (its space was reserved)."""
    return k, tuple(range(SUBBLOCKS)), f, ""


def cow_beyond_eof(k: KState, f: Folio) -> tuple[Folio, str]:
    return f, "extent_writepage: beyond i_size, folio_invalidate"


def btrfs_write_begin(c: Ctx, k: KState, page: int, f: Folio) -> tuple[KState, Folio, str] | str:
    """btrfs_buffered_write: btrfs_check_data_free_space, prepare_one_folio; btrfs_dirty_pages
    clears PG_checked (btrfs_page_clamp_clear_checked): a fixup queued for the folio has
    nothing left to do."""
    if not f.reserved:
        if k.free_blocks == 0:
            return "btrfs_buffered_write: btrfs_check_data_free_space fails (-ENOSPC)"
        k = replace(k, free_blocks=k.free_blocks - 1)
        f = replace(f, reserved=True)
    f = replace(f, checked=False)
    return k, f, "btrfs_buffered_write: reserve, prepare_one_folio (folio_lock)"


def btrfs_invalidate_folio(k: KState, f: Folio) -> KState:
    """btrfs_invalidate_folio clears EXTENT_DELALLOC | EXTENT_DO_ACCOUNTING of a folio truncate
    removes: the space reserved for its next write is given back."""
    return replace(k, free_blocks=k.free_blocks + 1) if f.reserved else k


def btrfs_prepare_dirty(k: KState, fid: int, page: int) -> tuple[KState, Folio] | tuple[str, str]:
    """btrfs_page_mkwrite's reservation: btrfs_delalloc_reserve_space (and, as it,
    btrfs_page_clear_checked)."""
    f = replace(k.folio_at(fid), checked=False)
    if f.reserved:
        return k, f
    if k.free_blocks == 0:
        return "btrfs_delalloc_reserve_space", "space"
    return replace(k, free_blocks=k.free_blocks - 1), replace(f, reserved=True)


def btrfs_iomap_dio(cfg: KernelConfig) -> bool:
    """btrfs_direct_read: __blockdev_direct_IO until 5.9, iomap_dio_rw since (f85781fb505e)."""
    return cfg.btrfs_dio_iomap


COWFS = FileSystem(
    name="cowfs",
    vm_ops=VmOps(fault="filemap_fault", write_fault=btrfs_write_fault),
    a_ops=AddressSpaceOps(
        dirty_folio=btrfs_dirty_folio,
        writepages=Writepages(lookup="extent_write_cache_pages", submit="extent_writepage",
                              check=cow_writeback_check, map_for_io=cow_map_for_io,
                              beyond_eof=cow_beyond_eof),
        release_folio="btrfs_release_folio", write_begin=btrfs_write_begin,
        invalidate_folio=btrfs_invalidate_folio),
    f_ops=FileOps(fsync="btrfs_sync_file", setattr="btrfs_setattr", punch_hole="btrfs_punch_hole",
                  free_truncated="btrfs_truncate: free the extents",
                  free_punched="btrfs_punch_hole: drop the extents",
                  punch_flush="btrfs_wait_ordered_range",
                  dio_alloc="btrfs_dio_iomap_begin: btrfs_check_data_free_space, "
                  "btrfs_new_extent_direct",
                  dio_end_io="btrfs_finish_ordered_io (the old extent freed)"),
    backing=Backing.EXT4, cow=True, private_mappings=False, prepare_dirty=btrfs_prepare_dirty,
    iomap_dio=btrfs_iomap_dio)

STAGES: dict[str, Stage] = {"fault:btrfs_mkwrite": btrfs_page_mkwrite}
