"""The scenario's environment: what does not change while the kernel runs.

The filesystem and its operation tables, how the process maps the file, the block device and
the NIC's driver are facts of the machine the scenario runs on, not of its state: they are
kept here, once per model, where every step reads them (``Ctx.env``), rather than in each
state (:class:`~.state.KState`), and apart from the kernel release and the design being
modelled (:class:`~.config.KernelConfig`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .fsops import FileSystem


@dataclass(frozen=True, slots=True)
class Env:
    fs: FileSystem  # the file's filesystem: its operation tables
    #: the process maps the file MAP_PRIVATE rather than MAP_SHARED: a write fault copies the
    #: page (do_cow_fault / wp_page_copy) and nothing it writes reaches the file
    private: bool = False
    #: the block device needs stable pages (MD RAID parity, T10 DIF/DIX): the superblock has
    #: SB_I_STABLE_WRITES, so folio_wait_stable waits for writeback, and the device checks
    #: (or computes parity over) the data at submit time
    stable_writes: bool = False
    nic_writes: int = 0  # DMA writes the RDMA NIC makes into its registered pages
    #: the application registers its memory with IB_ACCESS_ON_DEMAND: the NIC faults pages in
    #: (ib_umem_odp_map_dma_and_lock -> hmm_range_fault) instead of pinning them, on any
    #: kernel; the odp design makes every registration so
    odp_driver: bool = False
    #: an ODP driver that skips mmu_interval_read_retry (a buggy driver, for P5's witness)
    odp_naive_driver: bool = False
