"""Debian 13's 6.12.118: FOLL_PIN direct I/O (6.3), reclaim skips pinned folios (6.4), and
writable long-term pins of shared file mappings refused with -EFAULT (6.5).

6.3: block direct I/O pins user pages (``iov_iter_extract_pages``, BIO_PAGE_PINNED); ext4 loses
``->writepage``.  6.4: d824ec2a1546 "mm: do not reclaim private data from pinned page".  6.5:
Lorenzo Stoakes' ``writable_file_mapping_allowed`` in ``check_vma_flags``; io_uring drops its own
file-backed check.  Short-term FOLL_PIN writes (direct I/O) racing writeback remain unsolved.
"""

from gupcheck.kernel.config import KernelConfig

DESIGN = KernelConfig("linux-6.12", dio_foll_pin=True, ext4_warn_no_buffers=True,
                      reclaim_skips_pinned=True, pin_counting=True, longterm_file_refusal=True,
                          cow_fixup_worker=False)
