"""v5.7: FOLL_PIN accounting with GUP_PIN_COUNTING_BIAS, no filesystem policy.

3faa52c03f44 "mm/gup: track FOLL_PIN pages" (5.7): a pin adds 1024 to the refcount so that
``page_maybe_dma_pinned`` can see it; ``unpin_user_pages_dirty_lock`` replaces
``set_page_dirty_lock`` + ``put_page``.  Nothing consults the pin count yet, direct I/O still
takes FOLL_GET references, and ext4 still BUGs on a dirty page without buffers.
"""

from gupcheck.kernel.config import KernelConfig

DESIGN = KernelConfig("pin-counting", dio_foll_pin=False, ext4_warn_no_buffers=False,
                      reclaim_skips_pinned=False, pin_counting=True,
                      ext4_writepage=True,
                      iouring_file_check=True, wp_reuse="mapcount",
                      fork_copies_pinned=False, anon_exclusive=False, gup_fast_wp_seq=False,
                      vm_rw_foll_pin=False)
