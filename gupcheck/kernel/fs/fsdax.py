"""ext4 with ``-o dax`` on persistent memory (FS-DAX), as its operation tables.

fs/ext4/file.c ``ext4_dax_vm_ops = { .fault = ext4_dax_fault, .huge_fault =
ext4_dax_huge_fault, .page_mkwrite = ext4_dax_fault, .pfn_mkwrite = ext4_dax_fault }``;
fs/ext4/inode.c ``ext4_dax_aops = { .writepages = ext4_dax_writepages, .dirty_folio =
noop_dirty_folio }``: the xarray's DAX entries, not the struct pages, track dirt.  The
machinery of pmem blocks as pages, ``ext4_break_layouts`` and layout leases is :mod:`..dax`.

Simplification: no scenario writes back a dirty DAX page (``dax_writeback_mapping_range``
flushes CPU caches; there is no bio), so the table keeps ext4's writeback steps.
"""

from __future__ import annotations

from ..actor import Ctx, Move, Outcome, Stage
from ..dax import allocate, owner
from ..fault import vm_fault_sigbus
from ..fsops import AddressSpaceOps, FileOps, FileSystem, VmOps
from ..locks import INVALIDATE_LOCK, can_read
from ..state import KState, Pte, replace
from ..vma import Backing
from .ext4 import EXT4_WRITEPAGES, ext4_invalidate_folio


def ext4_dax_write_fault(c: Ctx, k: KState, page: int, ret: str, fail: str,
                         fail_stage: str | None) -> Outcome:
    """fs/ext4/file.c ``ext4_dax_huge_fault`` for a write (also ``->pfn_mkwrite`` of a
    read-only DAX PTE): ``filemap_invalidate_lock_shared``, ``dax_iomap_fault`` ->
    ``ext4_iomap_begin`` (a hole gets a newly allocated, zeroed block) -> ``dax_insert_entry``
    (the xarray entry tagged dirty) -> ``vmf_insert_mixed_mkwrite``: the PTE is writable and
    dirty; ``filemap_invalidate_unlock_shared``.  No struct page is locked or dirtied and the
    PTE takes no page reference.  One step: it runs entirely under the shared lock."""
    blocked = can_read(INVALIDATE_LOCK, k)
    if blocked:
        return blocked
    alloc = ""
    if k.cache[page] is None:
        block = next((b for b, o in enumerate(k.dax_owner) if o is None), None)
        if block is None:  # ENOSPC: VM_FAULT_SIGBUS
            return vm_fault_sigbus(c, k, "ext4_dax_huge_fault: ext4_iomap_begin: -ENOSPC, "
                                   "VM_FAULT_SIGBUS", fail, fail_stage)
        k = allocate(k, block, owner(page), page)
        k = replace(k, cache=k.cache[:page] + (block,) + k.cache[page + 1:])
        alloc = f"ext4_iomap_begin allocates zeroed pmem block {block}, "
    k = k.with_pte(page, Pte(writable=True, dirty=True))
    return [Move(f"ext4_dax_huge_fault: filemap_invalidate_lock_shared, dax_iomap_fault: "
                 f"{alloc}dax_insert_entry, vmf_insert_mixed_mkwrite(page {page}) "
                 "writable+dirty, filemap_invalidate_unlock_shared", c.goto(k, ret))]


def noop_dirty_folio(c: Ctx, k: KState, fid: int, who: str, pte_transfer: bool) -> KState:
    """noop_dirty_folio: PG_dirty only (the xarray entry tracks dirt)."""
    return k.with_folio_at(fid, replace(k.folio_at(fid), dirty=True))


FSDAX = FileSystem(
    name="fsdax",
    vm_ops=VmOps(fault="dax_iomap_fault", write_fault=ext4_dax_write_fault,
                 drops_mmap_lock=False, map_pages=False),
    a_ops=AddressSpaceOps(dirty_folio=noop_dirty_folio, writepages=EXT4_WRITEPAGES,
                          release_folio="ext4_release_folio",
                          invalidate_folio=ext4_invalidate_folio),
    f_ops=FileOps(fsync="ext4_sync_file", setattr="ext4_setattr", punch_hole="ext4_punch_hole",
                  free_truncated="ext4_truncate: free the blocks",
                  free_punched="ext4_ext_remove_space: free the blocks"),
    backing=Backing.DAX, page_cache_over_disk=False, dax=True,
    private_mappings=False)

STAGES: dict[str, Stage] = {}
