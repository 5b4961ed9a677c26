"""Marking a folio dirty: folio_mark_dirty, through the filesystem's ->dirty_folio.

mm/page-writeback.c ``folio_mark_dirty``: with a mapping, call ``mapping->a_ops->dirty_folio``;
without one (the folio was truncated), ``noop_dirty_folio`` just sets PG_dirty.  Each
filesystem's ->dirty_folio is in its module (:mod:`.fs`); the buffer_head helpers of
fs/buffer.c are here.

The ghost checks here are properties P2a and P2b:

* ``mkwrite-before-dirty``: a folio with a mapping goes clean -> dirty only if ``->page_mkwrite``
  ran since it was last cleaned (``prepared``).  The transfer of a PTE dirty bit (by
  ``folio_clear_dirty_for_io`` or ``try_to_unmap_one``) is exempt: such a PTE was made writable
  by ``->page_mkwrite``.
* ``dirty-has-backing``: ``->dirty_folio`` never runs on a folio without buffers.
"""

from __future__ import annotations

from .actor import Ctx
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


def folio_mark_dirty(c: Ctx, k: KState, fid: int, *, who: str,
                     pte_transfer: bool = False) -> KState:
    """mm/page-writeback.c folio_mark_dirty(): ``mapping->a_ops->dirty_folio`` (the table of the
    file's filesystem), or noop_dirty_folio if the folio was truncated.

    ``fid`` is the folio's id: a GUP user may dirty a folio that truncate orphaned meanwhile.
    """
    f = k.folio_at(fid)
    if not f.mapping:
        return k.with_folio_at(fid, replace(f, dirty=True))  # noop_dirty_folio
    return c.env.fs.a_ops.dirty_folio(c, k, fid, who, pte_transfer)


def require_mkwrite(k: KState, fid: int, who: str, pte_transfer: bool, why: str) -> KState:
    """mkwrite-before-dirty, for a filesystem whose ->page_mkwrite prepares every dirtying:
    a clean folio dirtied neither by a PTE's dirty bit nor after ->page_mkwrite violates it."""
    f = k.folio_at(fid)
    if f.dirty or f.prepared or pte_transfer:
        return k
    return k.violate("mkwrite-before-dirty", f"{who} marked page {f.index} dirty without "
                     f"->page_mkwrite since writeback cleaned it {why}")
