"""Debian 13's 6.12.118: FOLL_PIN direct I/O and the refusal of writable long-term pins of
shared file mappings (6.5); ext4 without ->writepage (6.3).

Overlay on linux-6.1:

* 6.3: ext4 loses ``->writepage``, so kswapd's pageout() no longer writes ext4 folios;
* 6.3: f04740f54594 "mm/gup: add FOLL_UNLOCKABLE": the slow path of a long-term
  pin_user_pages_fast may drop mmap_lock in a fault and retry; 6.12's io_uring registration
  is a pin_user_pages_fast (6.1's a pin_user_pages under its own mmap_read_lock);
* 6.4/6.7: a CPU page fault takes the VMA's own lock first (``lock_vma_under_rcu``), so a
  ``munmap`` or ``fork`` queued for ``mmap_write_lock`` does not hold it off;
* 6.5: a7e689dd1c06 "block: Convert bio_iov_iter_get_pages to use iov_iter_extract_pages":
  block direct I/O pins user pages (BIO_PAGE_PINNED), which reclaim's pinned check now sees;
* 6.5: Lorenzo Stoakes' ``writable_file_mapping_allowed`` in ``check_vma_flags`` (-EFAULT),
  and io_uring drops its own file-backed check ("io_uring: rsrc: delegate VMA file-backed
  check to GUP");
* btrfs no longer fixes up a folio dirtied without ``->page_mkwrite``: it refuses it with
  -EUCLEAN ("marked dirty without notifying the fs"), as Debian's 6.12.118 kernel was seen to
  do.  That is later than 6.12.0: Qu Wenruo's "btrfs: reject out-of-band dirty folios
  during writeback" (<2bbe9b35968132d387379dd486da9b21d45e1889.1731399977.git.wqu@suse.com>,
  November 2024; upstream behind ``CONFIG_BTRFS_EXPERIMENTAL``), which 6.12.118 prints (how
  it reached 6.12.y was not traced); 6.12.0 still queued ``btrfs_writepage_fixup_worker``
  as 6.1 does (``cow_fixup_worker``);
* 6.12.y stable (6.14's 43d0105e2c75): ``ext4_punch_hole`` no longer writes the range back
  before it takes its locks (data=ordered).

Short-term FOLL_PIN writes (direct I/O) racing writeback remain unsolved.
"""

from dataclasses import replace

from .linux_6_1 import DESIGN as LINUX_6_1

DESIGN = replace(LINUX_6_1, name="linux-6.12", dio_foll_pin=True, longterm_file_refusal=True,
                 ext4_writepage=False, iouring_file_check=False, iouring_same_file=False,
                 cow_fixup_worker=False, ext4_punch_flush_unlocked=False,
                 longterm_unlockable=True, fault_vma_lock=True)
