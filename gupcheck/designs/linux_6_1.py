"""Debian 12's 6.1.192: ext4 warns instead of BUG (5.18); direct I/O takes FOLL_GET references.

Switches on since pin-counting: 5.18 cc5095747edf (ext4 warns "page %lu does not have buffers
attached" and drops the data instead of BUG).  ext4 still has ->writepage, so kswapd writes
dirty folios itself (gone in 6.3).  d824ec2a1546 (6.4, reclaim skips maybe-pinned
folios) was backported to 6.2.y; whether 6.1.y has it does not change any verdict here, because
6.1's direct I/O takes FOLL_GET references that ``folio_maybe_dma_pinned`` cannot see.  Not yet:
the 6.3 FOLL_PIN direct I/O, the 6.5 long-term refusal (io_uring refuses file-backed buffers
itself with -EOPNOTSUPP, after pinning).
"""

from gupcheck.kernel.config import KernelConfig

DESIGN = KernelConfig("linux-6.1", dio_foll_pin=False, ext4_warn_no_buffers=True,
                      reclaim_skips_pinned=True, pin_counting=True,
                      ext4_writepage=True,
                      iouring_file_check=True, iouring_same_file=True)
