"""XFS (buffered I/O through iomap, delayed allocation), as its operation tables.

fs/xfs/xfs_file.c ``xfs_file_vm_ops = { .fault = xfs_filemap_fault, .page_mkwrite =
xfs_filemap_page_mkwrite }``; fs/xfs/xfs_aops.c ``xfs_address_space_operations = {
.dirty_folio = filemap_dirty_folio (6.1) / iomap_dirty_folio (6.6+), .writepages =
xfs_vm_writepages, .release_folio = iomap_release_folio }`` — no ``->writepage`` since 5.x
(21b4ee7029c9 "xfs: drop ->writepage completely"), so kswapd's ``pageout()`` never writes an
XFS folio; ``xfs_file_fsync``; ``xfs_vn_setattr`` -> ``xfs_setattr_size``;
``xfs_file_fallocate(FALLOC_FL_PUNCH_HOLE)`` -> ``xfs_free_file_space``.

No buffer_heads: a folio carries at most the iomap per-folio state (``struct iomap_page`` in
6.1, ``iomap_folio_state`` in 6.12: uptodate, and from 6.6 dirty, bits per block), which says
nothing about where the blocks are; writeback maps them afresh every time
(``xfs_map_blocks``).  So nothing an XFS folio loses — reclaim's ``iomap_release_folio``
frees that state — can make writeback fail, and nothing warns about a folio dirtied without
``->page_mkwrite`` either (``filemap_dirty_folio`` / ``iomap_dirty_folio`` never look).  What
such a folio's data meets at writeback is the file's extent map:

* an allocated block is overwritten in place;
* a delalloc block (reserved by ``->page_mkwrite`` or write(2)) is allocated by
  ``xfs_bmapi_convert_delalloc`` and written;
* a hole (a sparse file, a punched range) is ``IOMAP_HOLE``: ``iomap_writepage_map`` skips it
  — no bio, no warning, no error, PG_dirty already cleared — and the data is lost when the
  clean folio is dropped.  XFS never allocates in writeback for a hole.

``iomap_page_mkwrite`` (fs/iomap/buffered-io.c, 6.1 and 6.12), called by
``__xfs_filemap_fault`` between ``sb_start_pagefault`` and ``XFS_MMAPLOCK_SHARED`` (the
mapping's invalidate_lock, shared, since 5.15) and their release: ``folio_lock``,
``folio_mkwrite_check_truncate`` (-> VM_FAULT_NOPAGE), ``iomap_iter`` with
``xfs_buffered_write_iomap_begin`` (a hole gets a delalloc reservation,
``xfs_bmapi_reserve_delalloc``; -ENOSPC, after one retry without speculative preallocation, is
VM_FAULT_SIGBUS), ``folio_mark_dirty``, ``folio_wait_stable``, VM_FAULT_LOCKED.

The model's page of two blocks stands for a folio of several blocks; a folio's delalloc
reservation is :attr:`~..state.Folio.reserved` (XFS keeps it in the inode's extent tree; a
page here is its own extent), the file's holes are ``KState.holes`` as for ext4.
Not modelled: reflink/CoW-fork extents, unwritten extents, speculative preallocation.
"""

from __future__ import annotations

from ..actor import Ctx, Outcome, Stage
from ..blocks import block_of, page_holes
from ..config import KernelConfig
from ..dirty import require_mkwrite
from ..fault import locked_mkwrite, mkwrite_fault
from ..fsops import (
    AddressSpaceOps,
    FileOps,
    FileSystem,
    VmOps,
    Writepages,
    WritepageVerdict,
)
from ..state import SUBBLOCKS, Folio, KState, replace
from ..vma import Backing


def xfs_reserve_delalloc(k: KState, page: int, f: Folio) -> tuple[KState, Folio] | None:
    """xfs_buffered_write_iomap_begin over the page: its holes get a delalloc reservation
    (xfs_bmapi_reserve_delalloc -> xfs_mod_fdblocks); an allocated or already reserved range
    needs none.  None on ENOSPC."""
    need = 0 if f.reserved else len(page_holes(k, page))
    if need == 0:
        return k, f
    if need > k.free_blocks:
        return None
    return replace(k, free_blocks=k.free_blocks - need), replace(f, reserved=True)


# --- vm_operations_struct -------------------------------------------------------------------

def xfs_write_fault(c: Ctx, k: KState, page: int, ret: str, fail: str,
                    fail_stage: str | None) -> Outcome:
    """xfs_filemap_fault -> filemap_fault if the page is not cached, then
    __xfs_filemap_fault(write) -> iomap_page_mkwrite (stage fault:xfs_mkwrite)."""
    return mkwrite_fault(c, k, page, ret, fail, fail_stage, stage="fault:xfs_mkwrite",
                         page_mkwrite=xfs_page_mkwrite)


def xfs_page_mkwrite(c: Ctx) -> Outcome:
    """XFS_MMAPLOCK_SHARED, iomap_page_mkwrite: folio_lock, folio_mkwrite_check_truncate, the
    delalloc reservation of the page's holes, folio_mark_dirty (folio_wait_stable follows in
    fault:install)."""
    return locked_mkwrite(c, name="iomap_page_mkwrite",
                          nopage="folio_mkwrite_check_truncate fails", prepare=_iomap_mkwrite)


def _iomap_mkwrite(c: Ctx, k: KState, page: int, f: Folio) -> tuple[KState, Folio, str] | str:
    reserved = xfs_reserve_delalloc(k, page, f)
    if reserved is None:
        return "xfs_buffered_write_iomap_begin: xfs_bmapi_reserve_delalloc fails (-ENOSPC)"
    k, f2 = reserved
    return k, f2, ("__xfs_filemap_fault: XFS_MMAPLOCK_SHARED, folio_lock, "
                   + ("xfs_bmapi_reserve_delalloc reserves the holes, "
                      if f2.reserved and not f.reserved else ""))


# --- address_space_operations ---------------------------------------------------------------

def xfs_dirty_folio(c: Ctx, k: KState, fid: int, who: str, pte_transfer: bool) -> KState:
    """filemap_dirty_folio (6.1) / iomap_dirty_folio (6.6+: every block of the per-folio state
    dirty): PG_dirty, nothing checked, nothing reserved."""
    k = require_mkwrite(k, fid, who, pte_transfer, "(no delalloc reservation for a hole)")
    return k.with_folio_at(fid, replace(k.folio_at(fid), dirty=True))


def xfs_writepage_check(c: Ctx, k: KState, page: int, func: str) -> WritepageVerdict:
    """Nothing in the folio can be missing: the blocks are mapped at submit."""
    return "write", k, func


def xfs_map_blocks(c: Ctx, k: KState, page: int,
                   f: Folio) -> tuple[KState, tuple[int, ...], Folio, str]:
    """iomap_writepage_map -> xfs_map_blocks for each block: allocated -> IOMAP_MAPPED;
    delalloc -> xfs_bmapi_convert_delalloc allocates it; a hole -> IOMAP_HOLE, skipped."""
    holes = page_holes(k, page)
    if not holes:
        return k, tuple(range(SUBBLOCKS)), f, ""
    if f.reserved:  # the delalloc extent is converted: real blocks, written
        k = replace(k, holes=k.holes - {block_of(page, b) for b in holes})
        return k, tuple(range(SUBBLOCKS)), f, "xfs_bmapi_convert_delalloc allocates, "
    k = k.violate("dirty-has-backing",
                  f"writeback met dirty page {page} over a hole with no delalloc reservation "
                  f"(block(s) {list(holes)}): xfs_map_blocks returns IOMAP_HOLE and "
                  "iomap_writepage_map skips them silently; their data is never written")
    written = tuple(b for b in range(SUBBLOCKS) if b not in holes)
    return k, written, f, f"IOMAP_HOLE: block(s) {list(holes)} skipped, "


def xfs_beyond_eof(k: KState, f: Folio) -> tuple[Folio, str]:
    """iomap_writepage_handle_eof (iomap_do_writepage in 6.1): a folio wholly beyond i_size
    is cleaned and not written ("truncate will finish things off")."""
    return f, "iomap_writepage_handle_eof: beyond i_size, skip"


def xfs_write_begin(c: Ctx, k: KState, page: int, f: Folio) -> tuple[KState, Folio, str] | str:
    """xfs_file_buffered_write -> iomap_file_buffered_write: iomap_write_begin with
    xfs_buffered_write_iomap_begin (delalloc for the holes)."""
    func = "xfs_file_buffered_write -> iomap_file_buffered_write: iomap_write_begin"
    reserved = xfs_reserve_delalloc(k, page, f)
    if reserved is None:
        return func + ": xfs_bmapi_reserve_delalloc fails (-ENOSPC)"
    k, f = reserved
    return k, f, func


def xfs_invalidate_folio(k: KState, f: Folio) -> KState:
    """iomap_invalidate_folio; xfs_itruncate_extents / xfs_bmap_punch_delalloc_range give the
    folio's delalloc reservation back."""
    if not f.reserved:
        return k
    return replace(k, free_blocks=k.free_blocks + len(page_holes(k, f.index)))


def xfs_prepare_dirty(k: KState, fid: int, page: int) -> tuple[KState, Folio] | tuple[str, str]:
    """iomap_page_mkwrite's reservation: delalloc for the page's holes."""
    reserved = xfs_reserve_delalloc(k, page, k.folio_at(fid))
    if reserved is None:
        return "xfs_bmapi_reserve_delalloc", "blocks"
    return reserved


def xfs_iomap_dio(cfg: KernelConfig) -> bool:
    """xfs_file_dio_aio_read: ``iomap_dio_rw(iocb, to, &xfs_iomap_ops, NULL)`` since 4.10
    (Christoph Hellwig's "iomap: implement direct I/O"), on every kernel modelled."""
    return True


XFS = FileSystem(
    name="xfs",
    vm_ops=VmOps(fault="xfs_filemap_fault", write_fault=xfs_write_fault,
                 fault_lock="__xfs_filemap_fault: xfs_ilock(XFS_MMAPLOCK_SHARED)"),
    a_ops=AddressSpaceOps(
        dirty_folio=xfs_dirty_folio,
        writepages=Writepages(lookup="xfs_vm_writepages -> iomap_writepages",
                              submit="iomap_writepage_map", check=xfs_writepage_check,
                              map_for_io=xfs_map_blocks, beyond_eof=xfs_beyond_eof),
        release_folio="iomap_release_folio", write_begin=xfs_write_begin,
        invalidate_folio=xfs_invalidate_folio),
    f_ops=FileOps(fsync="xfs_file_fsync", setattr="xfs_vn_setattr -> xfs_setattr_size",
                  punch_hole="xfs_file_fallocate(PUNCH_HOLE)",
                  free_truncated="xfs_itruncate_extents: free the blocks",
                  free_punched="xfs_free_file_space: free the blocks",
                  punch_flush="xfs_flush_unmap_range",
                  dio_alloc="xfs_direct_write_iomap_begin -> xfs_iomap_write_direct",
                  dio_end_io="xfs_dio_write_end_io -> xfs_iomap_write_unwritten"),
    backing=Backing.EXT4, block_map=True, iomap_writeback=True, prepare_dirty=xfs_prepare_dirty,
    iomap_dio=xfs_iomap_dio)

STAGES: dict[str, Stage] = {"fault:xfs_mkwrite": xfs_page_mkwrite}
