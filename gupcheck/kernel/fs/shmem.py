"""shmem (tmpfs, memfd), as its operation tables.

mm/shmem.c ``shmem_vm_ops = { .fault = shmem_fault, .map_pages = filemap_map_pages }`` (no
->page_mkwrite: a shared shmem mapping is not write-notify, ``vma_wants_writenotify``),
``shmem_aops = { .dirty_folio = noop_dirty_folio (5.18, 46de8b979492;
__set_page_dirty_no_writeback before: neither tags the mapping), .writepage = shmem_writepage
}``: its folios are swap-backed and never written back to a disk, so a folio holding data stays
dirty (shmem_write_end, shmem_fallocate: the scenario's cached pages start dirty) and a clean one
holds zeros; ``shmem_file_operations.fsync = noop_fsync``; ``shmem_setattr``,
``shmem_fallocate(FALLOC_FL_PUNCH_HOLE)``, ``shmem_truncate_range``.

Reclaim of shmem folios (swap) is not modelled: ``madvise_pageout`` skips a shmem page, where
the kernel's shrink_folio_list unmaps it (try_to_unmap, the mmu notifier) and, with no swap,
shmem_writepage re-dirties and keeps it.  A punch of one page of a large folio removes the
folio here, where the kernel zeroes the page inside it if the folio cannot be split (a pin:
truncate_inode_partial_folio) and DMA after the punch lands in the file.
"""

from __future__ import annotations

from ..actor import Blocked, Ctx, Move, Outcome, Stage
from ..fault import fault_dirty_shared_page
from ..fsops import AddressSpaceOps, FileOps, FileSystem, VmOps
from ..state import SUBBLOCKS, Folio, KState, Pte, replace
from ..vma import Backing


def shmem_write_fault(c: Ctx, k: KState, page: int, ret: str, fail: str,
                      fail_stage: str | None) -> Outcome:
    """shmem_fault + finish_fault: no ->page_mkwrite, no write-notify; dirty at once."""
    if k.cached(page) is None:
        k = k.add_to_cache(page, Folio(index=page, data=("Z0",) * SUBBLOCKS, refcount=1))
    f = k.folio(page)
    if f.locked is not None and f.locked != c.name:
        return Blocked(f"folio lock of page {page}", (f.locked,))
    dirtied = not f.dirty
    if k.ptes[page] is None:
        f = replace(f, mapcount=f.mapcount + 1, refcount=f.refcount + 1)
    k = k.with_folio(page, replace(f, prepared=True))
    k = shmem_dirty_folio(c, k, k.fid(page), c.name, False)
    k = k.with_pte(page, Pte(writable=True, dirty=True))
    k, unlock = fault_dirty_shared_page(c, k, ret, dirtied=dirtied)  # no ->page_mkwrite
    return [Move(f"shmem_fault, finish_fault: map page {page} writable+dirty{unlock}", k)]


def shmem_falloc_wait(c: Ctx, k: KState, page: int) -> Blocked | None:
    """shmem_fault's wait while a hole is punched over ``page`` (mm/shmem.c, 3.16 on:
    f00cdc6df7d7 "shmem: fix faulting into a hole while it's punched"): shmem_fallocate
    (PUNCH_HOLE) sets ``inode->i_private`` after inode_lock, before unmap_mapping_range, and
    clears it after shmem_truncate_range, waking the faults that slept on its
    ``shmem_falloc_waitq``; they return VM_FAULT_RETRY (or VM_FAULT_NOPAGE) and fault again.
    Trinity had shown a thread faulting into the hole could keep the punch from ever
    completing: shmem_undo_range removes what was faulted in and looks again.  The window is
    the punch's hold of the model's INVALIDATE_LOCK (i_rwsem here).  Not modelled: the
    fault sleeps holding mmap_read_lock, which the kernel drops when the fault may retry."""
    writer = k.invalidate_lock.writer
    if writer is None:
        return None
    for t in k.threads:
        local = dict(t.local)
        if local.get("twhat") != "punch" or t.stage == "tr:lock":  # queued: not yet set
            continue
        start, end = local["trange"]
        if start <= page < end:
            return Blocked(f"shmem_fault: hole punch of page {page} in progress "
                           "(shmem_falloc_waitq)", (writer,))
    return None


def shmem_dirty_folio(c: Ctx, k: KState, fid: int, who: str, pte_transfer: bool) -> KState:
    """noop_dirty_folio (__set_page_dirty_no_writeback before 5.18): no blocks to prepare,
    nothing to warn about."""
    return k.with_folio_at(fid, replace(k.folio_at(fid), dirty=True))


SHMEM = FileSystem(
    name="shmem",
    vm_ops=VmOps(fault="shmem_fault", write_fault=shmem_write_fault, write_notify=False,
                 drops_mmap_lock=False, fault_wait=shmem_falloc_wait),
    a_ops=AddressSpaceOps(dirty_folio=shmem_dirty_folio, writepages=None),
    f_ops=FileOps(fsync=None, setattr="shmem_setattr", punch_hole="shmem_fallocate(PUNCH_HOLE)",
                  free_truncated="shmem_truncate_range", free_punched="shmem_truncate_range"),
    backing=Backing.SHMEM, page_cache_over_disk=False, large_folios=True)

STAGES: dict[str, Stage] = {}
