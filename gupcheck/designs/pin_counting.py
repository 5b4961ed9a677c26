"""v5.7: FOLL_PIN accounting with GUP_PIN_COUNTING_BIAS, no filesystem policy.

Overlay on legacy (4.20). 5.1: 6b4c9f446981, a page-cache miss in filemap_fault drops
mmap_read_lock for the read-ahead I/O. 5.5: b1b4705d54ab, ext4 direct I/O through iomap (a
read's pages are dirtied at submit by ``bio_set_pages_dirty``). 3faa52c03f44 "mm/gup: track
FOLL_PIN pages" (5.7): a pin adds 1024 to the refcount so that ``page_maybe_dma_pinned`` can see
it; ``unpin_user_pages_dirty_lock`` replaces ``set_page_dirty_lock`` + ``put_page``. io_uring
(5.1) registers buffers but refuses every file-backed VMA except hugetlbfs with -EOPNOTSUPP
(``io_sqe_buffer_register``: shmem and memfd included until 5.14). Nothing consults the pin
count yet, direct I/O still takes FOLL_GET references, and ext4 still BUGs on a dirty page
without buffers.
"""

from dataclasses import replace

from .legacy import DESIGN as LEGACY

DESIGN = replace(LEGACY, name="pin-counting", pin_counting=True, dio_iomap=True,
                 has_io_uring=True, iouring_file_check=True, readahead_unlocks=True)
