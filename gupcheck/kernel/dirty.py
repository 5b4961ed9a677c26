"""Marking a folio dirty: folio_mark_dirty and ext4's ->dirty_folio.

mm/page-writeback.c ``folio_mark_dirty``: with a mapping, call ``mapping->a_ops->dirty_folio``;
without one (the folio was truncated), ``noop_dirty_folio`` just sets PG_dirty.
fs/ext4/inode.c ``ext4_dirty_folio``: ``WARN_ON_ONCE(!folio_test_locked(folio) &&
!folio_test_dirty(folio))``, ``WARN_ON_ONCE(!folio_buffers(folio))``, then
fs/buffer.c ``block_dirty_folio``: mark every attached buffer dirty and set PG_dirty.  It never
allocates blocks: a folio dirtied without buffers has nothing to write its data to.

The ghost checks here are properties P2a and P2b:

* ``mkwrite-before-dirty``: a folio with a mapping goes clean -> dirty only if ``->page_mkwrite``
  ran since it was last cleaned (``prepared``).  The transfer of a PTE dirty bit (by
  ``folio_clear_dirty_for_io`` or ``try_to_unmap_one``) is exempt: such a PTE was made writable
  by ``->page_mkwrite``.
* ``dirty-has-backing``: ``->dirty_folio`` never runs on a folio without buffers.
"""

from __future__ import annotations

from .state import KState, replace


def mark_buffers_dirty(bufs: tuple[str, ...]) -> tuple[str, ...]:
    """mark_buffer_dirty on each buffer_head of the folio."""
    return tuple(b if b.endswith(",dirty") else b + ",dirty" for b in bufs)


def buffers_busy(bufs: tuple[str, ...] | None) -> bool:
    """fs/buffer.c ``drop_buffers`` -> ``buffer_busy``: a dirty buffer_head keeps
    ``try_to_free_buffers`` (``filemap_release_folio``) from stripping the folio."""
    return bufs is not None and any(b.endswith(",dirty") for b in bufs)


def mark_buffers_clean(bufs: tuple[str, ...]) -> tuple[str, ...]:
    """clear_buffer_dirty on each buffer_head of the folio."""
    return tuple(b.removesuffix(",dirty") for b in bufs)

EXT4_DIRTY_FOLIO_WARN = ("WARNING at fs/ext4/inode.c ext4_dirty_folio (ext4_set_page_dirty before "
                         "5.18): WARN_ON_ONCE(!folio_buffers(folio))")


def folio_mark_dirty(k: KState, fid: int, *, who: str, pte_transfer: bool = False) -> KState:
    """mm/page-writeback.c folio_mark_dirty(): ->dirty_folio, or noop_dirty_folio if truncated.

    ``fid`` is the folio's id: a GUP user may dirty a folio that truncate orphaned meanwhile.
    """
    f = k.folio_at(fid)
    page = f.index
    if not f.mapping:
        return k.with_folio_at(fid, replace(f, dirty=True))  # noop_dirty_folio
    if k.fs == "fsdax":  # ext4_dax_aops: noop_dirty_folio; the xarray entry tracks dirt
        return k.with_folio_at(fid, replace(f, dirty=True))
    if k.fs == "shmem":  # shmem_dirty_folio (filemap_dirty_folio): no blocks to prepare
        return k.with_folio_at(fid, replace(f, dirty=True))
    if k.fs == "cowfs":  # btrfs_dirty_folio: no buffer_heads; the reservation is checked later
        if not f.dirty and not f.prepared and not pte_transfer:
            k = k.violate("mkwrite-before-dirty", f"{who} marked page {page} dirty without "
                          "->page_mkwrite since writeback cleaned it (no space reserved)")
        return k.with_folio_at(fid, replace(k.folio_at(fid), dirty=True))
    if not f.dirty and not f.prepared and not pte_transfer:
        k = k.violate(
            "mkwrite-before-dirty",
            f"{who} marked page {page} dirty without ->page_mkwrite since writeback cleaned it "
            "(Dave Chinner: ->page_mkwrite must run on every clean->dirty transition)")
    return ext4_dirty_folio(k, fid, who=who)


def ext4_dirty_folio(k: KState, fid: int, *, who: str) -> KState:
    f = k.folio_at(fid)
    if f.buffers is None:
        k = k.event(EXT4_DIRTY_FOLIO_WARN).violate(
            "dirty-has-backing",
            f"{who} dirtied page {f.index}, which has no buffers: {EXT4_DIRTY_FOLIO_WARN}")
        return k.with_folio_at(fid, replace(f, dirty=True))
    # block_dirty_folio: every buffer dirty, mapped, reserved or not
    return k.with_folio_at(fid, replace(f, dirty=True, buffers=mark_buffers_dirty(f.buffers)))
