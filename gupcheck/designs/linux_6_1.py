"""Debian 12's 6.1.192: ext4 warns instead of BUG (5.18); direct I/O takes FOLL_GET references.

Overlay on pin-counting (5.7):

* 5.8: process_vm_readv/writev pin with ``pin_user_pages_remote`` (FOLL_PIN); 89b15332af7c
  (a shared write fault drops mmap_read_lock before balance_dirty_pages);
* 5.9: 09854ba94c6a "mm: do_wp_page() simplification" (reuse only by refcount) and 70e806e4e645
  (fork copies maybe-pinned anonymous pages);
* 5.11: 57efa1fe5957 (GUP-fast backs off while fork copies page tables);
* 5.14: io_uring accepts shmem/memfd buffers;
* 5.15: 730633f0b7f9 (filemap_fault and the read-ahead take invalidate_lock to add a page to
  the page cache);
* 5.18: cc5095747edf (ext4 warns "page %lu does not have buffers attached" and drops the data
  instead of BUG);
* 5.19: 6c287605fd56 (PG_anon_exclusive);
* 6.1: io_pin_pages refuses a buffer spanning different files with -EINVAL;
* 6.1.y: d824ec2a1546 "mm: do not reclaim private data from pinned page" (6.4), backported as
  4de10ff707c3 — it cannot see 6.1's direct I/O, whose FOLL_GET references are no pins.

Not yet: FOLL_PIN direct I/O and the long-term refusal (6.5); ext4 still has ->writepage (6.3).
"""

from dataclasses import replace

from .pin_counting import DESIGN as PIN_COUNTING

DESIGN = replace(PIN_COUNTING, name="linux-6.1", ext4_warn_no_buffers=True,
                 dirty_fault_unlocks=True, fault_fill_locked=True,
                 reclaim_skips_pinned=True, iouring_shmem=True, iouring_same_file=True,
                 vm_rw_foll_pin=True, wp_reuse="refcount", fork_copies_pinned=True,
                 gup_fast_wp_seq=True, anon_exclusive=True, odp_hmm=True,
                 btrfs_dio_iomap=True, dio_invalidate_fallback=True)
