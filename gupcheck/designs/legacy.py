"""v4.20: get_user_pages + set_page_dirty_lock + put_page, no pin tracking; ext4 BUGs.

The code the December 2018 thread argued about: GUP users take plain references (FOLL_GET),
dirty the page with ``set_page_dirty_lock`` and drop it with ``put_page``; nothing tells a
pinned page from a referenced one; ext4 hits ``BUG_ON(!page_has_buffers())`` when writeback
meets a dirty page without buffers (fs/ext4/inode.c, until 5.18), and kswapd writes dirty file
folios through ``ext4_writepage``.  ext4 direct I/O runs through fs/direct-io.c: a synchronous
read dirties its pages in the waiting task after the DMA (``dio_bio_complete``), an AIO read at
submit (``bio_set_pages_dirty``).  No io_uring (5.1), no pin counting (5.7).  Every later
release is an overlay of this record.
"""

from gupcheck.kernel.config import KernelConfig

DESIGN = KernelConfig("legacy", dio_foll_pin=False, ext4_warn_no_buffers=False,
                      reclaim_skips_pinned=False, pin_counting=False,
                      ext4_writepage=True,
                      has_io_uring=False, iouring_shmem=False, wp_reuse="mapcount",
                      fork_copies_pinned=False, anon_exclusive=False, gup_fast_wp_seq=False,
                      vm_rw_foll_pin=False, longterm_unlockable=False,
                      dirty_fault_unlocks=False, readahead_unlocks=False,
                      fault_fill_locked=False, fault_vma_lock=False,
                      # ext4's and btrfs's direct I/O: fs/direct-io.c until 5.5 and 5.9
                      dio_iomap=False, btrfs_dio_iomap=False, odp_hmm=False,
                      dio_invalidate_fallback=False)
