"""A copy-on-write filesystem (btrfs-like): every clean -> dirty transition needs new space.

A COW filesystem never overwrites a block in place: each writeback allocates a new extent, so
``->page_mkwrite`` (``btrfs_page_mkwrite``) reserves space (``btrfs_delalloc_reserve_space``;
ENOSPC -> VM_FAULT_SIGBUS, -EFAULT for GUP) every time a clean page is dirtied, and waits for
writeback (``folio_wait_writeback``), so CPU writers are stable (btrfs_page_mkwrite).  The old
extent is freed once the new one is written.

A folio found dirty at writeback without a reservation was dirtied "without notifying the fs"
(a GUP user's ``set_page_dirty`` after writeback cleaned it):

* up to 6.1 ``btrfs_writepage_fixup_worker`` reserves space late and writes it — and if the
  filesystem is full meanwhile the reservation fails: ENOSPC *after* the DMA, the data the
  device wrote is dropped and the error reaches fsync (F9, Dave Chinner's "Think ENOSPC");
* 6.12 refuses it: "is marked dirty without notifying the fs", writeback fails with -EUCLEAN,
  the data is dropped and ``mapping_set_error`` hands the error to fsync/msync.
"""

from __future__ import annotations

from .actor import Blocked, Ctx, Move, Outcome
from .dirty import folio_mark_dirty
from .state import KState, Pte, replace

UNNOTIFIED = "BTRFS: page is marked dirty without notifying the fs"


def cow_write_fault(c: Ctx, k: KState, page: int, ret: str, fail: str,
                    fail_stage: str | None) -> Outcome:
    """btrfs_page_mkwrite: folio_lock, folio_wait_writeback, reserve space, dirty; map the
    PTE writable+dirty (one step: the reservation and the dirtying are under the folio lock)."""
    f = k.folio(page)
    if f.locked is not None and f.locked != c.name:
        return Blocked(f"folio lock of page {page}", (f.locked,))
    if f.writeback:
        return Blocked(f"btrfs_page_mkwrite: folio_wait_writeback(page {page})",
                       k.writeback_holders(k.fid(page)))
    func = "btrfs_page_mkwrite: folio_lock, "
    if not f.reserved:
        if k.free_blocks == 0:
            from .fault import vm_fault_sigbus  # fault.py imports this module

            return vm_fault_sigbus(c, k, func + "btrfs_delalloc_reserve_space fails (-ENOSPC), "
                                   "VM_FAULT_SIGBUS", fail, fail_stage)
        k = replace(k, free_blocks=k.free_blocks - 1)
        f = replace(f, reserved=True)
        func += "btrfs_delalloc_reserve_space, "
    if k.ptes[page] is None:
        f = replace(f, mapcount=f.mapcount + 1, refcount=f.refcount + 1)
    k = k.with_folio(page, replace(f, prepared=True))
    k = folio_mark_dirty(k, k.fid(page), who=c.name).with_pte(page, Pte(writable=True, dirty=True))
    return [Move(func + "folio_mark_dirty; map the pte writable+dirty, folio_unlock",
                 c.goto(k, ret))]


def cow_writeback_check(c: Ctx, k: KState, page: int, func: str) -> tuple[KState, str, bool]:
    """extent_writepage on a dirty folio: (state, label, write it?)."""
    f = k.folio(page)
    if f.reserved:
        return k, func, True
    if c.cfg.cow_fixup_worker:  # btrfs_writepage_fixup_worker: reserve late
        if k.free_blocks > 0:
            k = k.with_folio(page, replace(f, reserved=True))
            k = replace(k, free_blocks=k.free_blocks - 1)
            return k, func + ", btrfs_writepage_fixup_worker reserves late", True
        k = k.violate("no-enospc-after-dma",
                      f"page {page} was dirtied without a reservation (by a GUP user, after the "
                      "DMA) and the late reservation in btrfs_writepage_fixup_worker fails: "
                      "ENOSPC after the data was acknowledged; it is dropped")
        return _drop(k, page, "ENOSPC"), func + ", btrfs_writepage_fixup_worker: -ENOSPC, data " \
            "dropped, mapping_set_error", False
    k = k.event(UNNOTIFIED)
    return _drop(k, page, "EUCLEAN"), func + f", {UNNOTIFIED}: -EUCLEAN, data dropped, " \
        "mapping_set_error", False


def _drop(k: KState, page: int, errno: str) -> KState:
    f = k.folio(page)
    k = k.with_folio(page, replace(f, dirty=False, prepared=False, locked=None))
    return replace(k, wb_err=k.wb_err + 1, wb_errno=errno)


def fill_fs(c: Ctx) -> Outcome:
    """("fill_fs",): another file takes the last free space (a nearly full filesystem)."""
    k = c.k
    if k.free_blocks == 0:
        return [Move("another file's write: no space left (-ENOSPC)", c.finish(k, "write=-ENOSPC"))]
    return [Move("another file's write allocates the last free block",
                 c.finish(replace(k, free_blocks=k.free_blocks - 1), "write=ok"))]
