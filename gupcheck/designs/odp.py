"""odp: no long-term pins for devices; they fault pages in and follow the mmu notifiers.

On-demand paging / HMM (Jérôme Glisse; pin_user_pages.rst CASE 3, "the ideal"): the device
registers an mmu interval notifier instead of pinning, faults pages in through the CPU's write
fault path (``hmm_range_fault`` with FAULT_FLAG_WRITE, so ``->page_mkwrite`` runs), checks
``mmu_interval_read_retry`` under its lock before programming a device PTE, and drops its
mappings (waiting for DMA in flight) when ``folio_mkclean``, reclaim or truncate invalidate the
range.  ODP replaces the pins of devices that can fault (RDMA ODP, GPUs); other GUP users
(direct I/O, io_uring, vmsplice) still pin, so their cells equal the base.
"""

from dataclasses import replace

from .proposal_base import DESIGN as BASE

DESIGN = replace(BASE, name="odp", odp=True)
