"""ext4's block mapping of a page: buffer_heads, delayed allocation, free space.

A page of an ext4 file is ``SUBBLOCKS`` blocks, each described by a buffer_head once buffers
are attached (fs/buffer.c ``create_empty_buffers``).  A block is either *allocated* on disk
(``mapped``), *reserved* for delayed allocation (``delay``: ``ext4_da_get_block_prep`` ->
``ext4_da_reserve_space`` took one block of free space but chose no block yet), or a *hole*
(neither).  Each may be ``dirty``.  Unallocated disk blocks of the file are ``KState.holes``;
``KState.free_blocks`` counts the filesystem's free blocks.

* ``->page_mkwrite`` (``ext4_page_mkwrite`` -> ``block_page_mkwrite`` with
  ``ext4_da_get_block_prep``) reserves every hole of the page: with no free space that is
  -ENOSPC -> VM_FAULT_SIGBUS (SIGBUS for a CPU store, -EFAULT for GUP: faultin_page
  turns VM_FAULT_SIGBUS into -EFAULT).
* ``block_dirty_folio`` (:func:`.dirty.mark_buffers_dirty`) marks every attached buffer dirty
  — it reserves nothing.
* Writeback (``mpage_map_and_submit_extent`` -> ``ext4_map_blocks``) allocates the reserved
  blocks — that cannot fail, the space was reserved — and writes the mapped ones;
  ``ext4_bio_write_folio`` skips a dirty buffer that is neither mapped nor reserved ("A hole? We
  can safely clear the dirty bit"): its data is not written.
* Truncate and hole punch free the allocated blocks and release the reservations of the
  folios they remove (``ext4_da_release_space`` from ``ext4_invalidate_folio``).

Unwritten extents (fallocate) are not modelled.
"""

from __future__ import annotations

from .state import BH_CLEAN, BH_DIRTY, SUBBLOCKS, KState, replace

BH_DELAY = "delay"
BH_HOLE = "hole"


def block_of(page: int, sub: int) -> int:
    return page * SUBBLOCKS + sub


def page_holes(k: KState, page: int) -> tuple[int, ...]:
    """The page's blocks that the file has no block for (``KState.holes``)."""
    return tuple(b for b in range(SUBBLOCKS) if block_of(page, b) in k.holes)


def new_buffers(k: KState, page: int) -> tuple[str, ...]:
    """create_empty_buffers + the block lookup: mapped where the file has a block, else a hole."""
    return tuple(BH_HOLE if block_of(page, b) in k.holes else BH_CLEAN for b in range(SUBBLOCKS))


def da_reserve(k: KState, bufs: tuple[str, ...]) -> tuple[KState, tuple[str, ...]] | None:
    """ext4_da_get_block_prep on each buffer: a hole is reserved (delalloc); None on ENOSPC."""
    need = sum(1 for b in bufs if b.startswith(BH_HOLE))
    if need > k.free_blocks:
        return None
    out = tuple(b.replace(BH_HOLE, BH_DELAY) for b in bufs)
    return replace(k, free_blocks=k.free_blocks - need), out


def allocate_for_io(k: KState, page: int, bufs: tuple[str, ...]
                    ) -> tuple[KState, tuple[int, ...], tuple[int, ...]]:
    """Writeback of the page's dirty buffers: reserved blocks are allocated (ext4_map_blocks);
    returns the state, the blocks the bio writes and the dirty holes it skips (data lost)."""
    write, skip = [], []
    holes = set(k.holes)
    for b, state in enumerate(bufs):
        if not state.endswith(",dirty"):
            continue
        if state.startswith(BH_DELAY):
            holes.discard(block_of(page, b))
            write.append(b)
        elif state.startswith(BH_HOLE):
            skip.append(b)
        else:
            write.append(b)
    return replace(k, holes=frozenset(holes)), tuple(write), tuple(skip)


def release_reservations(k: KState, bufs: tuple[str, ...] | None) -> KState:
    """ext4_da_release_space for the reserved buffers of a folio being invalidated."""
    if not bufs:
        return k
    n = sum(1 for b in bufs if b.startswith(BH_DELAY))
    return replace(k, free_blocks=k.free_blocks + n) if n else k


def free_range(k: KState, start: int, end: int) -> KState:
    """ext4_truncate / ext4_ext_remove_space: the allocated blocks of pages [start, end) are
    freed and become holes."""
    blocks = {block_of(p, b) for p in range(start, end) for b in range(SUBBLOCKS)}
    freed = len(blocks - k.holes)
    return replace(k, holes=k.holes | frozenset(blocks), free_blocks=k.free_blocks + freed)


def cow_extent_written(k: KState, page: int) -> KState:
    """The COW filesystem wrote the page to a new extent (its space reserved before): the old
    extent is freed (``btrfs_finish_ordered_io`` drops it), or, where the file had none (a
    hole after truncate or punch), the page is allocated now.  Space is counted in pages."""
    blocks = {block_of(page, b) for b in range(SUBBLOCKS)}
    if blocks <= k.holes:
        return replace(k, holes=k.holes - blocks)
    return replace(k, free_blocks=k.free_blocks + 1)


def cow_free_range(k: KState, start: int, end: int) -> KState:
    """btrfs_truncate / btrfs_punch_hole drop the file extents of pages [start, end): their
    space is free again (pinned until the transaction commits, which a reservation that meets
    ENOSPC forces: the model frees it at once) and the pages become holes."""
    pages = [p for p in range(start, end) if block_of(p, 0) not in k.holes]
    blocks = frozenset(block_of(p, b) for p in range(start, end) for b in range(SUBBLOCKS))
    return replace(k, holes=k.holes | blocks, free_blocks=k.free_blocks + len(pages))


__all__ = ["BH_CLEAN", "BH_DELAY", "BH_DIRTY", "BH_HOLE"]
