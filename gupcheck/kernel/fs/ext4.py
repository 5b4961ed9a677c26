"""ext4 (delayed allocation, data=ordered), as its operation tables.

fs/ext4/file.c ``ext4_file_vm_ops = { .fault = filemap_fault, .page_mkwrite =
ext4_page_mkwrite }``; fs/ext4/inode.c ``ext4_da_aops = { .dirty_folio = ext4_dirty_folio,
.writepages = ext4_writepages, .release_folio = ext4_release_folio (try_to_free_buffers),
.writepage = ext4_writepage (until 6.3) }``; ``ext4_file_operations.fsync = ext4_sync_file``,
``ext4_file_inode_operations.setattr = ext4_setattr``, ``.fallocate = ext4_fallocate`` ->
``ext4_punch_hole``.

``ext4_page_mkwrite``: ``sb_start_pagefault``, ``filemap_invalidate_lock_shared``,
``folio_lock``; buffers are attached and mapped (``block_page_mkwrite`` with
``ext4_da_get_block_prep``: a hole is reserved for delayed allocation), the folio is marked
dirty (``block_commit_write`` / ``folio_mark_dirty``), and ``folio_wait_stable`` waits for
writeback on a stable-writes device; it returns with the folio locked (VM_FAULT_LOCKED).

``ext4_dirty_folio``: ``WARN_ON_ONCE(!folio_test_locked(folio) && !folio_test_dirty(folio))``,
``WARN_ON_ONCE(!folio_buffers(folio))``, then fs/buffer.c ``block_dirty_folio``: every attached
buffer dirty, PG_dirty set.  It never allocates blocks: a folio dirtied without buffers has
nothing to write its data to.

Writeback (``ext4_do_writepages``): ``mpage_prepare_extent_to_map`` looks up and locks the
folios; a dirty folio without buffers gets ``ext4_warning_inode(inode, "page %lu does not have
buffers attached")``, is cleaned and skipped — its data is dropped (since 5.18, cc5095747edf;
before, the kernel BUGs on ``page_buffers()``); ``mpage_map_and_submit_extent`` ->
``ext4_map_blocks`` allocates the delalloc blocks; ``mpage_submit_folio`` ->
``ext4_bio_write_folio`` zeroes what lies beyond i_size and skips a dirty buffer that is
neither mapped nor reserved ("A hole?").  The block bookkeeping is :mod:`..blocks`.
"""

from __future__ import annotations

from ..actor import Ctx, Outcome, Stage
from ..blocks import BH_DELAY, allocate_for_io, da_reserve, new_buffers, release_reservations
from ..dirty import mark_buffers_clean, mark_buffers_dirty, require_mkwrite
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

NO_BUFFERS_WARNING = "EXT4-fs warning: ext4_writepages: page 0 does not have buffers attached"
NO_BUFFERS_BUG = "kernel BUG at fs/ext4/inode.c: page_buffers() of a page without buffers"
EXT4_DIRTY_FOLIO_WARN = ("WARNING at fs/ext4/inode.c ext4_dirty_folio (ext4_set_page_dirty before "
                         "5.18): WARN_ON_ONCE(!folio_buffers(folio))")


# --- vm_operations_struct -------------------------------------------------------------------

def ext4_write_fault(c: Ctx, k: KState, page: int, ret: str, fail: str,
                     fail_stage: str | None) -> Outcome:
    """filemap_fault if the page is not cached, then ext4_page_mkwrite (stage fault:mkwrite)."""
    return mkwrite_fault(c, k, page, ret, fail, fail_stage, stage="fault:mkwrite",
                         page_mkwrite=ext4_page_mkwrite)


def ext4_page_mkwrite(c: Ctx) -> Outcome:
    """filemap_invalidate_lock_shared, folio_lock, then block_page_mkwrite: buffers attached,
    the holes reserved (ext4_da_get_block_prep), block_commit_write -> folio_mark_dirty."""
    return locked_mkwrite(c, name="ext4_page_mkwrite", nopage="folio->mapping changed",
                          prepare=_block_page_mkwrite)


def _block_page_mkwrite(c: Ctx, k: KState, page: int,
                        f: Folio) -> tuple[KState, Folio, str] | str:
    attach = f.buffers is None
    bufs = new_buffers(k, page) if attach else f.buffers
    reserved = da_reserve(k, bufs)  # block_page_mkwrite -> ext4_da_get_block_prep
    if reserved is None:
        return "ext4_da_get_block_prep: ext4_da_reserve_space fails (-ENOSPC)"
    k, bufs = reserved
    delay = bufs != (f.buffers or new_buffers(k, page))
    f = replace(f, buffers=bufs, refcount=f.refcount + attach)  # folio_attach_private
    return k, f, ("filemap_invalidate_lock_shared, folio_lock, "
                  + ("attach buffers, " if attach else "")
                  + ("ext4_da_get_block_prep reserves the holes (delalloc), " if delay else "")
                  + "block_commit_write -> ")


# --- address_space_operations ---------------------------------------------------------------

def ext4_dirty_folio(c: Ctx, k: KState, fid: int, who: str, pte_transfer: bool) -> KState:
    """block_dirty_folio: every buffer dirty, mapped, reserved or not; none to dirty is a
    WARN (and dirty-has-backing)."""
    k = require_mkwrite(k, fid, who, pte_transfer, "(Dave Chinner: ->page_mkwrite must run on "
                        "every clean->dirty transition)")
    f = k.folio_at(fid)
    if f.buffers is None:
        k = k.event(EXT4_DIRTY_FOLIO_WARN).violate(
            "dirty-has-backing",
            f"{who} dirtied page {f.index}, which has no buffers: {EXT4_DIRTY_FOLIO_WARN}")
        return k.with_folio_at(fid, replace(f, dirty=True))
    return k.with_folio_at(fid, replace(f, dirty=True, buffers=mark_buffers_dirty(f.buffers)))


def no_buffers_check(c: Ctx, k: KState, page: int, func: str) -> WritepageVerdict:
    """mpage_prepare_extent_to_map on a dirty folio without buffers: the warning (5.18) or
    BUG (before)."""
    f = k.folio(page)
    if f.buffers is not None:
        return "write", k, func
    if c.cfg.ext4_warn_no_buffers:
        msg = NO_BUFFERS_WARNING.replace("page 0", f"page {page}")
        k = k.event(msg).violate(
            "dirty-has-backing",
            f"writeback met dirty page {page} without buffers: \"{msg}\"; the folio is cleaned "
            "and its data dropped")
        k = k.with_folio(page, replace(f, locked=None, dirty=False, prepared=False))
        return "skip", k, func + ", no buffers: ext4_warning, folio_clear_dirty, skip"
    k = k.event(NO_BUFFERS_BUG).violate(
        "dirty-has-backing", f"writeback met dirty page {page} without buffers: {NO_BUFFERS_BUG}")
    return "oops", k.with_ghost(crashed=True), func + ", no buffers: BUG(), the kernel oopses"


def ext4_map_for_io(c: Ctx, k: KState, page: int,
                    f: Folio) -> tuple[KState, tuple[int, ...], Folio, str]:
    """mpage_map_and_submit_extent -> ext4_map_blocks for the delalloc buffers; the buffers
    are clean once the bio is built."""
    blocks: tuple[int, ...] = tuple(range(SUBBLOCKS))
    extra = ""
    if f.buffers is not None:
        k, blocks, skipped = allocate_for_io(k, page, f.buffers)
        extra = "ext4_map_blocks allocates the delalloc blocks, " if any(
            b.startswith(BH_DELAY) for b in f.buffers) else ""
        if skipped:
            k = k.violate("dirty-has-backing",
                          f"writeback met dirty buffer(s) {list(skipped)} of page {page} neither "
                          "mapped nor reserved: ext4_bio_write_folio clears their dirty bit (\"A "
                          "hole?\") and their data is never written")
            extra += f"dirty hole(s) {list(skipped)} skipped, "
    return k, blocks, replace(f, buffers=new_buffers(k, page)), extra


def ext4_beyond_eof(k: KState, f: Folio) -> tuple[Folio, str]:
    """ext4_bio_write_folio: folio_zero_segment beyond i_size."""
    f = replace(f, data=("Z0",) * SUBBLOCKS,
                buffers=mark_buffers_clean(f.buffers) if f.buffers else None)
    return f, "ext4_bio_write_folio: beyond i_size, folio_zero_segment"


def ext4_da_write_begin(c: Ctx, k: KState, page: int, f: Folio) -> tuple[KState, Folio, str] | str:
    """ext4_da_write_begin: buffers, and the holes reserved (ext4_da_get_block_prep)."""
    func = "ext4_buffered_write_iter -> generic_perform_write: ext4_da_write_begin"
    attach = f.buffers is None
    reserved = da_reserve(k, new_buffers(k, page) if attach else f.buffers)
    if reserved is None:
        return func + ": ext4_da_get_block_prep fails (-ENOSPC)"
    k, bufs = reserved
    return k, replace(f, buffers=bufs, refcount=f.refcount + attach), func


def ext4_invalidate_folio(k: KState, f: Folio) -> KState:
    """ext4_invalidate_folio -> ext4_da_release_space for the folio's reserved buffers."""
    return release_reservations(k, f.buffers)


def ext4_prepare_dirty(k: KState, fid: int, page: int) -> tuple[KState, Folio] | tuple[str, str]:
    """ext4_page_mkwrite's part that prepares the folio: buffers and delalloc reservations."""
    f = k.folio_at(fid)
    reserved = da_reserve(k, f.buffers or new_buffers(k, page))
    if reserved is None:
        return "ext4_da_reserve_space", "blocks"
    k, bufs = reserved
    return k, replace(f, buffers=bufs, refcount=f.refcount + (f.buffers is None))


EXT4_WRITEPAGES = Writepages(lookup="mpage_prepare_extent_to_map", submit="mpage_submit_folio",
                             check=no_buffers_check, map_for_io=ext4_map_for_io,
                             beyond_eof=ext4_beyond_eof)

EXT4 = FileSystem(
    name="ext4",
    vm_ops=VmOps(fault="filemap_fault", write_fault=ext4_write_fault,
                 fault_lock="ext4_filemap_fault: down_read(i_mmap_sem)"),
    a_ops=AddressSpaceOps(dirty_folio=ext4_dirty_folio, writepages=EXT4_WRITEPAGES,
                          writepage="ext4_writepage", release_folio="try_to_free_buffers",
                          write_begin=ext4_da_write_begin,
                          invalidate_folio=ext4_invalidate_folio),
    f_ops=FileOps(fsync="ext4_sync_file", setattr="ext4_setattr", punch_hole="ext4_punch_hole",
                  free_truncated="ext4_truncate: free the blocks",
                  free_punched="ext4_ext_remove_space: free the blocks",
                  punch_flush_unlocked="ext4_punch_hole: mapping_tagged(PAGECACHE_TAG_DIRTY), "
                  "filemap_write_and_wait_range",
                  dio_alloc="ext4_iomap_begin -> ext4_iomap_alloc",
                  dio_end_io="ext4_dio_write_end_io -> ext4_convert_unwritten_extents"),
    backing=Backing.EXT4, block_map=True, buffer_heads=True, prepare_dirty=ext4_prepare_dirty)

STAGES: dict[str, Stage] = {"fault:mkwrite": ext4_page_mkwrite}
