"""Every cell of the shipped matrix, checked against its own run.

The matrix is computed once (one exhaustive run per cell, as ``gupcheck matrix`` does) and every
verdict comes from that run.  A holding cell must hold with its whole state space explored.  For
a failing cell, each property it breaks must come with a counterexample whose steps contain, in
order, the kernel steps that *make* that failure (:data:`EXPECTED`, per scenario and property,
with per-design :data:`OVERRIDES` where designs genuinely take another path).  The fragments are
function names and short phrases, not whole labels or trace lengths, so refining a step does not
break them.  Refused and not-applicable cells are checked against the errno the kernel returns
(:data:`REFUSED`, :data:`NOT_APPLICABLE`).  A failing pair or a refused cell without an entry
fails, so a new finding has to be explained here.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from gupcheck.designs import DESIGNS
from gupcheck.engine import Verdict
from gupcheck.kernel.properties import LIVENESS
from gupcheck.lab import Cell, run_matrix
from gupcheck.scenarios import SCENARIOS

from .kernel.helpers import assert_steps_in_order

Steps = tuple[str, ...]

# the designs whose writeback bounces a pinned page (skip-and-bounce, Jan Kara's RFC as posted,
# bounces only in iomap writeback, which no modelled filesystem uses: it takes the base's paths)
BOUNCE = ("bounce-writeback", "bounce-writeback-mkwrite", "skip-and-bounce-all")
DEADLOCKS = ("deadlock", "wait-for-cycle")

# --- what makes each failure --------------------------------------------------------------

# stable-writeback (O1), direct I/O: the page is pinned and the read bio submitted, writeback
# starts a write bio over it, and the device's DMA lands while that bio is in flight.
DIO_DMA_UNDER_WRITEBACK = ("grabs page 0", "submit_bio (read bio", "submit_bio (write bio",
                           "DMA of read bio")
# mkwrite-before-dirty (O2), direct I/O: writeback cleans the pinned page, then the direct I/O
# path dirties it again without ->page_mkwrite.
DIO_REDIRTY_WITHOUT_MKWRITE = ("grabs page 0", "folio_clear_dirty_for_io",
                               "bio_set_pages_dirty: set_page_dirty_lock")
# ... on 4.20 (fs/direct-io.c, KernelConfig.dio_iomap off): a synchronous read is dirtied only
# after the DMA, by the reading task's dio_bio_complete, before read() returns
LEGACY_REDIRTY_WITHOUT_MKWRITE = ("grabs page 0", "folio_clear_dirty_for_io",
                                  "dio_bio_complete: set_page_dirty_lock")
# no-lost-write, direct I/O: the write bio transfers the page before the DMA lands in it, and
# fsync/msync returns 0 before the deferred redirty.
DIO_LOST_WRITE = ("submit_bio (write bio", "transfers page 0 block", "DMA of read bio",
                  "filemap_fdatawait_range")
# ... under a bounce design: the disk gets the stale bounce copy.
DIO_LOST_WRITE_BOUNCE = ("from a bounce copy", "DMA of read bio", "transfers bounce copy",
                         "filemap_fdatawait_range")

# Long-term pins (RDMA memory registration, io_uring fixed buffers): "page 0 registered" is
# ib_umem_get's or io_sqe_buffer_register's.
NIC_WRITE_UNDER_WRITEBACK = ("page 0 registered", "folio_start_writeback", "RDMA write")
NIC_REDIRTY_WITHOUT_MKWRITE = ("page 0 registered", "folio_clear_dirty_for_io",
                               "ib_umem_release: ")
NIC_LOST_WRITE = ("page 0 registered", "folio_clear_dirty_for_io", "RDMA write",
                  "filemap_fdatawait_range")
# block-writeback: the write pin holds PG_writeback until an unpin that the fsync-ing owner
# would do after the fsync
FSYNC_BEHIND_LONGTERM_PIN = ("PG_writeback set until unpin", "page 0 registered",
                             "file_write_and_wait_range",
                             "under writeback: folio_wait_writeback")
# ... and truncate or hole punch, which wait for writeback under filemap_invalidate_lock
TRUNCATE_BEHIND_LONGTERM_PIN = ("PG_writeback set until unpin", "page 0 registered",
                                "filemap_invalidate_lock", "unmap_mapping_range")
# An ODP driver that skips mmu_interval_read_retry maps a page writeback has just cleaned.
ODP_STALE_DEVICE_PTE = ("hmm_range_fault", "folio_clear_dirty_for_io",
                        "skips mmu_interval_read_retry", "RDMA write")

# put_user_page's ->page_mkwrite (bounce-writeback-mkwrite) runs from bio_dirty_work under the
# folio lock and needs filemap_invalidate_lock_shared, which truncate holds while it waits for
# the folio lock.
MKWRITE_UNPIN_VS_TRUNCATE = ("submit_bio (read bio", "ext4_setattr: filemap_invalidate_lock",
                             "queue on bio_dirty_list",
                             "put_user_page(page 0, dirty): folio_lock")
XFS_MKWRITE_UNPIN_VS_TRUNCATE = tuple(f.replace("ext4_setattr", "xfs_setattr_size")
                                      for f in MKWRITE_UNPIN_VS_TRUNCATE)
# ... or mmap_read_lock, withheld from it by a queued munmap (writer preference) while a fault
# holding mmap_read_lock (the VMA lock from 6.7, which the munmap then waits for too) waits for
# the folio lock.
MKWRITE_UNPIN_VS_MUNMAP = ("do_user_addr_fault(page 0)",
                           "mmap_write_lock: queued behind the readers",
                           "queue on bio_dirty_list", "put_user_page(page 0, dirty): folio_lock")


def _dio(scenario: str) -> dict[tuple[str, str], Steps]:
    """The four direct-I/O-into-a-file-mapping findings every such scenario shares."""
    return {(scenario, "stable-writeback"): DIO_DMA_UNDER_WRITEBACK,
            (scenario, "mkwrite-before-dirty"): DIO_REDIRTY_WITHOUT_MKWRITE,
            (scenario, "no-lost-write"): DIO_LOST_WRITE}


def _longterm(scenario: str) -> dict[tuple[str, str], Steps]:
    """The findings of a long-term pin of a shared file page that a NIC writes."""
    return {(scenario, "stable-writeback"): NIC_WRITE_UNDER_WRITEBACK,
            (scenario, "mkwrite-before-dirty"): NIC_REDIRTY_WITHOUT_MKWRITE,
            (scenario, "no-lost-write"): NIC_LOST_WRITE,
            (scenario, "deadlock"): FSYNC_BEHIND_LONGTERM_PIN,
            (scenario, "writeback-progress"): FSYNC_BEHIND_LONGTERM_PIN}


#: (scenario, property) -> the step fragments, in order, of its counterexample under any design
EXPECTED: dict[tuple[str, str], Steps] = {
    **_dio("dio-read-into-mmap"),
    **_dio("dio-read-into-mmap-btrfs"),
    **_dio("dio-vs-reclaim"),
    **_dio("munmap-while-dma"),
    **_dio("stable-writes-raid"),
    **_dio("enospc-after-dma"),
    # XFS: the same direct-I/O findings (block layer and iomap code, not the filesystem's)
    **_dio("dio-read-into-mmap-xfs"),
    **_dio("dio-vs-reclaim-xfs"),
    **_dio("munmap-while-dma-xfs"),
    **_dio("enospc-delalloc-xfs"),
    ("dio-unpin-vs-truncate-xfs", "stable-writeback"): DIO_DMA_UNDER_WRITEBACK,
    ("dio-unpin-vs-truncate-xfs", "mkwrite-before-dirty"): DIO_REDIRTY_WITHOUT_MKWRITE,
    ("dio-unpin-vs-truncate", "stable-writeback"): DIO_DMA_UNDER_WRITEBACK,
    ("dio-unpin-vs-truncate", "mkwrite-before-dirty"): DIO_REDIRTY_WITHOUT_MKWRITE,
    ("deferred-redirty-vs-fsync", "no-lost-write"): DIO_LOST_WRITE,
    # FS-DAX before 6.15: with no VMA left, ext4_break_layouts finds no busy page and truncate
    # frees the block the direct read's DMA still targets
    ("dax-truncate-unmapped", "no-stray-dma"): (
        "grabs page 0", "submit_bio (read bio", "detach the VMA", "mapping_mapped() is false",
        "free pmem blocks 0", "DMA of read bio"),
    # F1, the 2018 crash: reclaim strips the buffers of the clean pinned page, then the direct
    # I/O path dirties it -> the ext4 warning (the property's message, see MESSAGES)
    ("dio-vs-reclaim", "dirty-has-backing"): (
        "folio_clear_dirty_for_io", "try_to_free_buffers",
        "bio_set_pages_dirty: set_page_dirty_lock"),
    # the read fails part-way (-EFAULT) and returns before its bio is released: msync cleans
    # the page, then bio_dirty_work dirties it without ->page_mkwrite
    ("dio-beyond-eof", "mkwrite-before-dirty"): (
        "read() returns -EFAULT", "folio_clear_dirty_for_io", "bio_dirty_fn: set_page_dirty_lock"),
    # F9: re-dirtied after the DMA without a reservation, the filesystem fills meanwhile, and
    # the late reservation of btrfs_writepage_fixup_worker fails
    ("enospc-after-dma", "no-enospc-after-dma"): (
        "folio_clear_dirty_for_io", "bio_set_pages_dirty: set_page_dirty_lock",
        "allocates the last free block",
        "btrfs_writepage_fixup_worker: btrfs_delalloc_reserve_space fails"),
    ("dio-unpin-vs-truncate", "deadlock"): MKWRITE_UNPIN_VS_TRUNCATE,
    ("dio-unpin-vs-truncate-xfs", "deadlock"): XFS_MKWRITE_UNPIN_VS_TRUNCATE,
    ("dio-unpin-vs-truncate-xfs", "wait-for-cycle"): XFS_MKWRITE_UNPIN_VS_TRUNCATE,
    ("dio-unpin-vs-truncate-xfs", "writeback-progress"): XFS_MKWRITE_UNPIN_VS_TRUNCATE,
    ("dio-unpin-vs-truncate", "wait-for-cycle"): MKWRITE_UNPIN_VS_TRUNCATE,
    ("dio-unpin-vs-truncate", "writeback-progress"): MKWRITE_UNPIN_VS_TRUNCATE,
    ("mkwrite-unpin-vs-munmap", "deadlock"): MKWRITE_UNPIN_VS_MUNMAP,
    ("mkwrite-unpin-vs-munmap", "wait-for-cycle"): MKWRITE_UNPIN_VS_MUNMAP,
    **_longterm("rdma-longterm-file"),
    **{(sc, prop): TRUNCATE_BEHIND_LONGTERM_PIN for sc in (
        "truncate-while-pinned", "punch-hole-while-pinned")
       for prop in ("deadlock", "writeback-progress")},
    # 6.1's ext4_punch_hole writes the registered page (dirtied by the registration's write
    # fault) back before it takes its locks, and the NIC writes while the bio is in flight
    ("punch-hole-while-pinned", "stable-writeback"): (
        "page 0 registered", "filemap_write_and_wait_range (page 0), before inode_lock",
        "folio_start_writeback", "RDMA write"),
    # an ODP driver that skips mmu_interval_read_retry maps a page writeback has just cleaned
    ("odp-naive-driver", "stable-writeback"): ODP_STALE_DEVICE_PTE,
    ("odp-naive-driver", "no-lost-write"): (*ODP_STALE_DEVICE_PTE, "filemap_fdatawait_range"),
    ("iouring-fixed-file-buffer", "stable-writeback"): (
        "page 0 registered", "folio_start_writeback", "READ_FIXED writes"),
    # the fixed buffer is unpinned without dirtying, so the device's data is never written
    ("iouring-fixed-file-buffer", "no-lost-write"): (
        "folio_clear_dirty_for_io", "READ_FIXED writes", "unpin_user_page(page 0) (not dirtied)",
        "filemap_fdatawait_range"),
    # process_vm_writev writes through its pin while writeback has the page ...
    ("vm-writev-vs-dio-invalidate", "stable-writeback"): (
        "grabs page 0", "folio_start_writeback", "process_vm_rw_pages: copy V1"),
    # ... and dirties it after the cleaning, without ->page_mkwrite ...
    ("vm-writev-vs-dio-invalidate", "mkwrite-before-dirty"): (
        "process_vm_rw_pages: copy V1", "folio_clear_dirty_for_io",
        "process_vm_rw_core: unpin_user_pages_dirty_lock"),
    # F8: fork shares the pinned anonymous page copy-on-write; the parent's write copies it
    # a direct read into a MAP_PRIVATE page across fork (FOLL_GET before 6.5): fork shares the
    # private copy, the parent's store copies it, the DMA lands in the child's page
    ("dio-private-fork", "cow-isolation"): (
        "grabs page 0 (FOLL_GET)", "private copy of file page 0: share it",
        "do_wp_page: wp_page_copy (", "DMA of read bio"),
    ("fork-after-pin", "cow-isolation"): (
        "io_sqe_buffer_register: pin_user_pages", "_pte: page share it",
        "wp_page_copy"),
    ("fork-after-pin-thp", "cow-isolation"): (
        "io_sqe_buffer_register: pin_user_pages", "_pte: page share it",
        "wp_page_copy"),
    # GUP-fast pins between copy_present_pte's pinned check and the write-protect
    ("gup-fast-vs-fork", "cow-isolation"): (
        "_pte: page share it", "_user_pages_fast (FOLL_", "write-protect the page",
        "wp_page_copy"),
    ("ro-pin-then-parent-write", "cow-isolation"): (
        "share it copy-on-write", "_user_pages (FOLL_", "wp_page_copy"),
    # CVE-2020-29374: the child's vmsplice reference survives its munmap; the parent reuses the
    # page (mapcount 1) and the child reads the parent's later write
    ("vmsplice-fork-leak", "cow-isolation"): (
        "share it copy-on-write", "vmsplice: get_user_pages_fast", "child munmap",
        "reuse the page (mapcount 1)", "child reads the pipe: P1"),
}


def _each(designs: Iterable[str], table: dict[tuple[str, str], Steps]
          ) -> dict[tuple[str, str, str], Steps]:
    return {(sc, prop, d): steps for (sc, prop), steps in table.items() for d in designs}


XFS_DIO = ("dio-read-into-mmap-xfs", "dio-vs-reclaim-xfs", "munmap-while-dma-xfs",
           "enospc-delalloc-xfs")
DIO_LOST_WRITE_IN = ("dio-read-into-mmap", "dio-read-into-mmap-btrfs", "dio-vs-reclaim",
                     "munmap-while-dma", "stable-writes-raid", "enospc-after-dma",
                     "deferred-redirty-vs-fsync", *XFS_DIO)

#: (scenario, property, design) -> the fragments where that design takes another path
OVERRIDES: dict[tuple[str, str, str], Steps] = {
    # the RFC skips a pinned folio in btrfs' background writeback; fsync's data-integrity
    # writeback writes and cleans it, and bio_dirty_work re-dirties it without ->page_mkwrite
    ("enospc-after-dma", "mkwrite-before-dirty", "skip-and-bounce"): (
        "grabs page 0", "folio_clear_dirty_for_io", "bio_dirty_fn: set_page_dirty_lock"),
    **_each(BOUNCE, {(sc, "no-lost-write"): DIO_LOST_WRITE_BOUNCE for sc in DIO_LOST_WRITE_IN}),
    # a page that data-integrity writeback bounced and cleaned while it was pinned: the
    # direct-I/O completion re-dirties it in bio_dirty_work, without ->page_mkwrite
    **_each(["skip-and-bounce-all"], {(sc, "mkwrite-before-dirty"): (
        "grabs page 0", "from a bounce copy", "bio_dirty_fn: set_page_dirty_lock") for sc in (
        "dio-read-into-mmap", "dio-vs-reclaim", "munmap-while-dma", "stable-writes-raid",
        "enospc-after-dma", *XFS_DIO)}),
    # skip-and-bounce, the RFC as posted, applies to XFS (iomap writeback): fsync's
    # data-integrity writeback writes the pinned page from the live page (no stable-writes
    # device: no bounce) and cleans it, and bio_dirty_work re-dirties it without ->page_mkwrite
    **_each(["skip-and-bounce"], {(sc, "mkwrite-before-dirty"): (
        "grabs page 0", "WB_SYNC_ALL", "folio_clear_dirty_for_io",
        "bio_dirty_fn: set_page_dirty_lock") for sc in XFS_DIO}),
    # ... or, on btrfs, the read's own bio_set_pages_dirty after the bounce
    ("dio-read-into-mmap-btrfs", "mkwrite-before-dirty", "skip-and-bounce-all"): (
        "grabs page 0", "from a bounce copy", "bio_set_pages_dirty: set_page_dirty_lock"),
    # before 5.8 process_vm_rw_core takes FOLL_GET references and uses set_page_dirty_lock
    **_each(["legacy", "pin-counting"], {("vm-writev-vs-dio-invalidate", "mkwrite-before-dirty"): (
        "process_vm_rw_pages: copy V1", "folio_clear_dirty_for_io",
        "process_vm_rw_core: set_page_dirty_lock")}),
    # 4.20 (fs/direct-io.c: ext4 until 5.5, btrfs until 5.9; XFS always iomap): the
    # synchronous read's own task re-dirties the cleaned page in dio_bio_complete
    **_each(["legacy"], {(sc, "mkwrite-before-dirty"): LEGACY_REDIRTY_WITHOUT_MKWRITE for sc in (
        "dio-read-into-mmap", "dio-vs-reclaim", "munmap-while-dma", "stable-writes-raid",
        "dio-unpin-vs-truncate")}),
    **_each(["legacy", "pin-counting"], {
        (sc, "mkwrite-before-dirty"): LEGACY_REDIRTY_WITHOUT_MKWRITE
        for sc in ("dio-read-into-mmap-btrfs", "enospc-after-dma")}),
    ("dio-vs-reclaim", "dirty-has-backing", "legacy"): (
        "folio_clear_dirty_for_io", "try_to_free_buffers", "dio_bio_complete: set_page_dirty_lock"),
    **_each(["legacy", "pin-counting"], {("enospc-after-dma", "no-enospc-after-dma"): (
        "folio_clear_dirty_for_io", "dio_bio_complete: set_page_dirty_lock",
        "allocates the last free block",
        "btrfs_writepage_fixup_worker: btrfs_delalloc_reserve_space fails")}),
    # ->page_mkwrite at unpin reserves space only after the DMA, with the page's old extent
    # still held by the bounce write: ENOSPC for data the device already wrote
    ("enospc-after-dma", "no-enospc-after-dma", "bounce-writeback-mkwrite"): (
        "btrfs_page_mkwrite", "DMA of read bio", "put_user_page(page 0, dirty): folio_lock",
        "btrfs_delalloc_reserve_space fails (-ENOSPC)"),
    # block-writeback: another thread's fault sleeps in folio_wait_stable under the folio lock,
    # behind PG_writeback held for the direct-I/O pin, whose bio_set_pages_dirty needs that lock
    ("mkwrite-unpin-vs-munmap", "deadlock", "block-writeback"): (
        "PG_writeback set until unpin", "CPU1 app: ext4_page_mkwrite"),
    # ... and truncate sleeps in folio_wait_writeback holding the folio lock, which the
    # pinning read's bio_set_pages_dirty needs before it can submit and ever unpin
    **{(sc, prop, "block-writeback"): (
        "PG_writeback set until unpin",
        "truncate_inode_pages_range: folio_lock(page 0), under writeback: folio_wait_writeback")
       for sc in ("dio-unpin-vs-truncate", "dio-unpin-vs-truncate-xfs")
       for prop in ("deadlock", "writeback-progress")},
    # ... and on btrfs, data-integrity writeback waits for the pin with the folio locked
    ("dio-read-into-mmap-btrfs", "deadlock", "block-writeback"): (
        "PG_writeback set until unpin",
        "folio_lock(page 0), under writeback: folio_wait_writeback"),
}

# crash-consistent: a write that fsync lost is lost across a power failure too, with the same
# shortest counterexample (its last step is the fsync returning 0 without the data on disk) ...
EXPECTED.update({(sc, "crash-consistent"): steps for (sc, prop), steps in list(EXPECTED.items())
                 if prop == "no-lost-write"})
OVERRIDES.update({(sc, "crash-consistent", d): steps
                  for (sc, prop, d), steps in list(OVERRIDES.items()) if prop == "no-lost-write"})
# ... except on btrfs, where a power failure already leaves a block that fails its checksum once
# writeback transfers the block the DMA changed after btrfs computed the checksum at submit
# (a bounce design transfers the copy it checksummed: the lost write comes first there)
BTRFS_TORN_BLOCK = ("submit_bio (write bio", "DMA of read bio", "transfers page 0 block")
OVERRIDES.update(_each([d for d in DESIGNS if d not in BOUNCE], {
    (sc, "crash-consistent"): BTRFS_TORN_BLOCK
    for sc in ("dio-read-into-mmap-btrfs", "enospc-after-dma")}))

#: (scenario, property) -> a fragment of the property's own message
MESSAGES: dict[tuple[str, str], str] = {
    ("dio-vs-reclaim", "dirty-has-backing"): "WARN_ON_ONCE(!folio_buffers(folio))",
    ("enospc-after-dma", "no-enospc-after-dma"): "ENOSPC",
    ("deferred-redirty-vs-fsync", "crash-consistent"): "a power failure now leaves page 0",
}

# --- refusals: expected kernel behaviour, asserted against the run ------------------------

_LONGTERM_DAX = {("dax-truncate-longterm", d): "EOPNOTSUPP" for d in (
    "legacy", "pin-counting", "linux-6.1", "linux-6.12", *BOUNCE, "skip-and-bounce",
    "block-writeback")}

#: (scenario, design) -> the errno the design's kernel returns for the scenario's request
REFUSED: dict[tuple[str, str], str] = {
    # FOLL_LONGTERM of FS-DAX memory: -EOPNOTSUPP; a layout lease breaks it with -ETXTBSY
    **_LONGTERM_DAX,
    ("dax-truncate-longterm", "layout-lease"): "ETXTBSY",
    # io_uring fixed buffers of file-backed memory: -EOPNOTSUPP (5.7 to 6.1), then -EFAULT
    # from check_vma_flags (6.5) for a shared mapping of a dirty-tracked file
    ("iouring-fixed-file-buffer", "pin-counting"): "EOPNOTSUPP",
    ("iouring-fixed-file-buffer", "linux-6.1"): "EOPNOTSUPP",
    ("iouring-fixed-file-buffer", "linux-6.12"): "EFAULT",
    ("iouring-private-truncate", "pin-counting"): "EOPNOTSUPP",
    # io_uring before 5.14 accepts no shmem/memfd buffer (only hugetlbfs)
    ("truncate-while-pinned-memfd", "pin-counting"): "EOPNOTSUPP",
    ("iouring-private-truncate", "linux-6.1"): "EOPNOTSUPP",
    # 6.5's check_vma_flags: no FOLL_LONGTERM|FOLL_WRITE pin of a shared ext4 mapping
    ("punch-hole-while-pinned", "linux-6.12"): "EFAULT",
    ("rdma-longterm-file", "linux-6.12"): "EFAULT",
    ("truncate-while-pinned", "linux-6.12"): "EFAULT",
}

#: (scenario, design) -> why the scenario does not apply to that kernel
NOT_APPLICABLE: dict[tuple[str, str], str] = {
    ("iouring-fixed-file-buffer", "legacy"): "io_uring appeared in 5.1",
    ("fork-after-pin", "legacy"): "io_uring appeared in 5.1",
    ("fork-after-pin-thp", "legacy"): "io_uring appeared in 5.1",
    ("fork-child-writes", "legacy"): "io_uring appeared in 5.1",
    ("iouring-private-truncate", "legacy"): "io_uring appeared in 5.1",
    ("truncate-while-pinned-memfd", "legacy"): "io_uring appeared in 5.1",
    **{(sc, d): "ODP is modelled as of 5.10" for sc in ("odp-device-file", "odp-naive-driver")
       for d in ("legacy", "pin-counting")},
}

CELLS = [(sc, d) for sc in SCENARIOS for d in DESIGNS]


@pytest.fixture(scope="module")
def matrix() -> dict[tuple[str, str], Cell]:
    """The whole shipped matrix, computed once for this module."""
    cells = run_matrix(list(SCENARIOS.values()), list(DESIGNS.values()), workers=2)
    return {(c.scenario, c.design): c for c in cells}


def expected_steps(scenario: str, prop: str, design: str) -> Steps | None:
    return OVERRIDES.get((scenario, prop, design), EXPECTED.get((scenario, prop)))


def _broken_verdict(prop: str) -> Verdict:
    if prop in LIVENESS:
        return Verdict.STARVES
    return Verdict.DEADLOCK if prop in DEADLOCKS else Verdict.VIOLATED


def _check_holds(cell: Cell, where: str) -> list[str]:
    """Every property holds but those the design relaxes on purpose, whose counterexamples are
    checked like a failing cell's; returns what is wrong with those."""
    run = cell.results[""]
    assert run.verdict is Verdict.HOLDS or {f.property for f in run.findings} <= set(
        cell.relaxed), f"{where}: the run is {run.verdict.value}: {run.message}"
    assert run.bound is None and run.approximate is None, f"{where}: not exhaustive"
    assert cell.states > 0 and cell.states == run.stats.distinct, f"{where}: {cell.states} states"
    for prop, r in cell.results.items():  # the liveness runs too
        assert prop in ("", *cell.relaxed) or r.verdict is Verdict.HOLDS, \
            f"{where}: {prop or 'run'} is {r.verdict.value}"
    assert cell.violated == () and cell.errno is None, where
    return _check_traces(cell, cell.relaxed)


def _check_failure(cell: Cell, where: str) -> list[str]:
    """Each broken property's counterexample has its steps in order; returns what is wrong."""
    assert cell.verdict in ("violated", "deadlock", "starves"), f"{where}: {cell.verdict}"
    assert cell.violated, f"{where} is {cell.verdict} but breaks no property"
    return _check_traces(cell, (*cell.violated, *cell.relaxed))


def _check_traces(cell: Cell, props: Iterable[str]) -> list[str]:
    """Each property's counterexample has its steps in order; returns what is wrong."""
    problems = []
    for prop in props:
        r = cell.results[prop]
        if r.verdict is not _broken_verdict(prop):
            problems.append(f"{prop}: result is {r.verdict.value}")
            continue
        if r.trace is None:
            problems.append(f"{prop}: no trace")
            continue
        if prop in LIVENESS and not (r.trace.stutters or r.trace.loop_start is not None):
            problems.append(f"{prop}: a starvation trace that is neither a lasso nor a stutter")
        steps = expected_steps(cell.scenario, prop, cell.design)
        if steps is None:
            problems.append(f"{prop}: no EXPECTED entry for ({cell.scenario!r}, {prop!r})")
            continue
        try:
            assert_steps_in_order(r, steps)
        except AssertionError as e:
            problems.append(f"{prop}: {e}")
        msg = MESSAGES.get((cell.scenario, prop))
        if msg and msg not in r.message:
            problems.append(f"{prop}: message {r.message!r} lacks {msg!r}")
    return problems


@pytest.mark.parametrize(("scenario", "design"), CELLS, ids=[f"{s}|{d}" for s, d in CELLS])
def test_cell(matrix: dict[tuple[str, str], Cell], scenario: str, design: str) -> None:
    cell = matrix[scenario, design]
    where = f"{scenario} under {design} ({cell.verdict})"
    key = (scenario, design)
    if key in REFUSED or cell.verdict == "refused":
        assert key in REFUSED, f"{where}: refused with {cell.errno}, which REFUSED lacks"
        assert (cell.verdict, cell.errno) == ("refused", REFUSED[key]), \
            f"{where}: expected refused: {REFUSED[key]}, the run gives {cell.verdict}: {cell.errno}"
        assert cell.violated == (), where
    elif key in NOT_APPLICABLE or cell.verdict == "n/a":
        assert key in NOT_APPLICABLE, f"{where}: n/a ({cell.errno}), which NOT_APPLICABLE lacks"
        assert cell.verdict == "n/a" and NOT_APPLICABLE[key] in (cell.errno or ""), \
            f"{where}: expected n/a ({NOT_APPLICABLE[key]}), the run gives {cell.errno}"
    elif cell.verdict == "holds":
        problems = _check_holds(cell, where)
        assert not problems, f"{where}:\n" + "\n".join(problems)
    else:
        problems = _check_failure(cell, where)
        assert not problems, f"{where}:\n" + "\n".join(problems)


def test_every_failing_pair_has_an_entry(matrix: dict[tuple[str, str], Cell]) -> None:
    """A new failing (scenario, property) must be explained by an EXPECTED entry."""
    missing = sorted({(c.scenario, p) for c in matrix.values() for p in (*c.violated, *c.relaxed)
                      if expected_steps(c.scenario, p, c.design) is None})
    assert not missing, "EXPECTED lacks:\n" + "\n".join(map(repr, missing))


def test_every_refused_or_inapplicable_cell_has_an_entry(
        matrix: dict[tuple[str, str], Cell]) -> None:
    missing = sorted(f"{k}: {c.verdict} {c.errno}" for k, c in matrix.items()
                     if (c.verdict == "refused" and k not in REFUSED)
                     or (c.verdict == "n/a" and k not in NOT_APPLICABLE))
    assert not missing, "REFUSED / NOT_APPLICABLE lack:\n" + "\n".join(missing)


def test_the_tables_name_real_scenarios_designs_and_properties() -> None:
    """A misspelt key would silently never apply."""
    bad = []
    for sc, prop in [*EXPECTED, *MESSAGES, *((s, p) for s, p, _ in OVERRIDES)]:
        if sc not in SCENARIOS or prop not in (*SCENARIOS[sc].properties, *DEADLOCKS):
            bad.append((sc, prop))
    for sc, _, d in OVERRIDES:
        if d not in DESIGNS:
            bad.append((sc, d))
    for sc, d in [*REFUSED, *NOT_APPLICABLE]:
        if sc not in SCENARIOS or d not in DESIGNS:
            bad.append((sc, d))
    assert not bad, bad
