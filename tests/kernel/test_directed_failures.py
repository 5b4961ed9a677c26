"""The failures of docs/failures.md, each driven through the model to its reported symptom.

Each test asserts the property and the ordered kernel steps that make the failure (not an exact
trace length, which changes whenever a step is refined), and the fixed kernel is proved clean
with its full state space explored.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from gupcheck.designs import DESIGNS
from gupcheck.engine import Verdict, check
from gupcheck.kernel.fs.ext4 import EXT4_DIRTY_FOLIO_WARN
from gupcheck.kernel.system import KernelModel
from gupcheck.scenarios import SCENARIOS
from gupcheck.scenarios.loader import parse

from .helpers import assert_steps_in_order, reachable, run

ALL_KERNELS = ("legacy", "pin-counting", "linux-6.1", "linux-6.12")


@pytest.mark.parametrize("design", ALL_KERNELS)
def test_control_cpu_stores_keep_every_property(design: str) -> None:
    result = run("control-cpu-mmap-write", design)
    assert result.verdict is Verdict.HOLDS
    assert result.stats.distinct > 50
    assert result.unfired == ()


@pytest.mark.parametrize("design", ["legacy", "pin-counting", "linux-6.1"])
def test_f1_reclaim_strips_buffers_under_a_foll_get_dio_then_ext4_warns(design: str) -> None:
    """F1 (Jan Kara, Jan 2018): the stripper is try_to_free_buffers in shrink_folio_list."""
    result = run("dio-vs-reclaim", design, "dirty-has-backing")
    assert result.verdict is Verdict.VIOLATED
    assert result.property == "dirty-has-backing"
    assert_steps_in_order(result, [
        "grabs page 0 (FOLL_GET)",
        "mpage_submit_folio",  # writeback cleans the page: buffers clean, folio clean
        "folio_end_writeback",
        "try_to_free_buffers strips the buffers",
        "folio_ref_freeze(page 0, 2) fails",  # the GUP reference keeps it in the page cache
        "set_page_dirty_lock",  # the direct I/O dirties a page without buffers
    ])
    assert EXT4_DIRTY_FOLIO_WARN in result.trace.steps[-1].state.ghost.events


def test_f1_is_closed_in_6_12_by_pinning_dio_and_skipping_pinned_folios_in_reclaim() -> None:
    result = run("dio-vs-reclaim", "linux-6.12", "dirty-has-backing")
    assert result.verdict is Verdict.HOLDS
    assert "kswapd: shrink_folio_list: folio_maybe_dma_pinned -> activate_locked" in result.coverage


@pytest.mark.parametrize("design", ALL_KERNELS)
def test_f2_writeback_cleans_the_page_and_dio_redirties_it_without_page_mkwrite(
        design: str) -> None:
    result = run("dio-read-into-mmap", design, "mkwrite-before-dirty")
    assert result.verdict is Verdict.VIOLATED
    assert_steps_in_order(result, [
        "ext4_page_mkwrite",  # GUP's slow path write-faults the page: the fs is told once
        "follow_page_mask grabs page 0",
        "folio_mkclean",
        "mpage_submit_folio: folio_clear_dirty_for_io",
        "set_page_dirty_lock",  # dirtied again; no ->page_mkwrite this time
    ])


@pytest.mark.parametrize("design", ["linux-6.1", "linux-6.12"])
def test_dma_into_a_page_under_writeback_breaks_stable_writeback(design: str) -> None:
    result = run("dio-read-into-mmap", design, "stable-writeback")
    assert result.verdict is Verdict.VIOLATED
    assert_steps_in_order(result, ["submit_bio (read bio", "submit_bio (write bio",
                                   "DMA of read bio"])


@pytest.mark.parametrize("design", ["linux-6.1", "linux-6.12"])
def test_fsync_right_after_a_dio_read_can_miss_the_deferred_redirty(design: str) -> None:
    """read() returns before bio_dirty_work re-dirties the page (bio_check_pages_dirty in
    block/bio.c defers it to process context)."""
    result = run("deferred-redirty-vs-fsync", design)
    assert result.verdict is Verdict.VIOLATED
    assert result.property == "no-lost-write"
    assert_steps_in_order(result, [
        "mpage_submit_folio",  # background writeback cleans the page during the DMA
        "DMA of read bio",
        "wake the waiting read()",
        "read() returns",
        "fsync -> vfs_fsync_range",
        "fsync returns 0",
    ])
    labels = result.trace.labels()
    assert not any("bio_dirty_fn" in lab for lab in labels)
    assert result.trace.steps[-1].state.disk != ("B1", "B1")


def test_legacy_pin_accounting_is_vacuous_and_holds_on_6_12() -> None:
    assert run("dio-vs-reclaim", "linux-6.12", "pin-accounting").verdict is Verdict.HOLDS
    assert run("dio-vs-reclaim", "legacy", "pin-accounting").verdict is Verdict.HOLDS


@pytest.mark.parametrize("prop", ["mkwrite-before-dirty", "stable-writeback", "no-lost-write"])
def test_f5_a_longterm_rdma_pin_of_a_shared_ext4_file_breaks_o1_and_o2_on_6_1(prop: str) -> None:
    result = run("rdma-longterm-file", "linux-6.1", prop)
    assert result.verdict is Verdict.VIOLATED
    assert_steps_in_order(result, ["grabs page 0 (FOLL_PIN)", "registered",
                                   "mpage_submit_folio"])
    if prop == "no-lost-write":  # the NIC's write landed on a page writeback had cleaned
        assert_steps_in_order(result, ["folio_end_writeback", "RDMA write N1", "fsync returns 0"])
    if prop == "mkwrite-before-dirty":
        assert_steps_in_order(result, ["unpin_user_pages_dirty_lock: folio_lock, folio_mark_dirty"])


def test_f5_6_12_refuses_the_registration_with_efault() -> None:
    result = run("rdma-longterm-file", "linux-6.12")
    assert result.verdict is Verdict.HOLDS
    assert any("check_vma_flags refuses (-EFAULT)" in k for k in result.coverage)
    assert not any("RDMA write" in k for k in result.coverage)


def test_odp_devices_fault_through_page_mkwrite_and_keep_every_property() -> None:
    result = run("odp-device-file", "odp")
    assert result.verdict is Verdict.HOLDS
    assert any("mmu_interval_read_retry ok" in k for k in result.coverage)
    assert any("invalidated meanwhile, retry" in k for k in result.coverage)


def test_an_odp_device_cannot_fault_in_a_page_munmap_removed() -> None:
    """hmm_range_fault finds no VMA after munmap (-EFAULT): the NIC's access fails; it never
    faults the file's page back in nor writes it."""
    sc = parse("""
name = "odp-after-munmap"
description = "ODP registration, munmap, the NIC tries to write"
nic_writes = 1
[[actor]]
name = "CPU0 app"
program = [ { op = "rdma_reg_mr", page = 0 }, { op = "munmap", page = 0 } ]
""", "<t>")
    gone = [k for k in reachable(sc, "odp") if k.unmapped]
    assert any(k.nic_writes == 0 for k in gone), "munmap never came before the NIC's write"
    assert all(k.ptes[0] is None and not k.nic_mapped for k in gone)


def test_an_odp_driver_that_skips_the_retry_writes_through_a_stale_device_pte() -> None:
    result = run("odp-naive-driver", "odp", "no-lost-write")
    assert result.verdict is Verdict.VIOLATED
    assert_steps_in_order(result, [
        "mmu_interval_read_begin, mmap_read_lock, hmm_range_fault",
        "folio_mkclean",  # the invalidation the driver misses
        "skips mmu_interval_read_retry, program the device PTE",
        "RDMA write N1",
        "fsync returns 0",
    ])
    assert result.trace.steps[-1].fields["NIC device ptes"] == "page 0 (stale)"


def test_io_uring_registration_of_a_shared_file_is_refused_differently_by_6_1_and_6_12() -> None:
    from gupcheck.designs import DESIGNS
    from gupcheck.lab import run_cell
    from gupcheck.scenarios import SCENARIOS

    sc = SCENARIOS["iouring-fixed-file-buffer"]
    old, new = run_cell(sc, DESIGNS["linux-6.1"]), run_cell(sc, DESIGNS["linux-6.12"])
    assert (old.verdict, old.errno) == ("refused", "EOPNOTSUPP")
    assert (new.verdict, new.errno) == ("refused", "EFAULT")
    # 6.1 pinned first: the page was write-faulted (and dirtied) before the refusal
    assert_steps_in_order(old.results[""], ["ext4_page_mkwrite", "FOLL_PIN",
                                            "file-backed buffer refused (-EOPNOTSUPP)"])
    assert new.results[""].trace.labels() == [
        ("CPU0 app: io_sqe_buffer_register: pin_user_pages_fast: check_vma_flags refuses "
         "(-EFAULT)")]


def test_a_stable_writes_device_fails_the_torn_write_and_fsync_reports_eio() -> None:
    result = run("stable-writes-raid", "linux-6.12", "stable-writeback")
    assert result.verdict is Verdict.VIOLATED
    full = run("stable-writes-raid", "linux-6.12", "pin-accounting")
    assert full.verdict is Verdict.HOLDS
    assert any("-EIO (checksum mismatch), mapping_set_error" in k for k in full.coverage)
    assert any("fsync returns -EIO (errseq)" in k for k in full.coverage)


@pytest.mark.parametrize("design", ["linux-6.1", "linux-6.12"])
def test_f4_invalidation_orphans_or_fails_but_never_leaves_a_page_without_buffers(
        design: str) -> None:
    """invalidate_complete_folio2 (mm/truncate.c) removes the clean folio it strips, so a
    faithful model does not reproduce the ext4 warning through this path."""
    assert run("vm-writev-vs-dio-invalidate", design, "dirty-has-backing").verdict is Verdict.HOLDS


def test_f9_enospc_after_dma_on_a_copy_on_write_filesystem_up_to_6_1() -> None:
    result = run("enospc-after-dma", "linux-6.1", "no-enospc-after-dma")
    assert result.verdict is Verdict.VIOLATED
    assert_steps_in_order(result, [
        "btrfs_page_mkwrite: folio_lock, btrfs_delalloc_reserve_space",  # reserved once
        "extent_writepage",  # writeback uses the reservation
        "set_page_dirty_lock",  # the DIO dirties again: no reservation
        "another file's write allocates the last free block",
        "btrfs_writepage_cow_fixup: queue btrfs_writepage_fixup_worker, -EAGAIN",
        "btrfs_writepage_fixup_worker: btrfs_delalloc_reserve_space fails (-ENOSPC)",
    ])


def test_up_to_6_1_fsync_returns_before_the_btrfs_fixup_worker_reserves() -> None:
    """__extent_writepage_io: btrfs_writepage_cow_fixup queues the fixup worker and returns
    -EAGAIN; the folio is redirtied and skipped ("Fixup worker will requeue"), so msync
    returns 0 with the direct read's data only in the page cache (6.1 fs/btrfs; on 4.20,
    whose direct read dirties only after the DMA, this is the shortest lost write)."""
    result = run("dio-read-into-mmap-btrfs", "legacy", "no-lost-write")
    assert result.verdict is Verdict.VIOLATED
    assert_steps_in_order(result, [
        "set_page_dirty_lock",
        "btrfs_writepage_cow_fixup: queue btrfs_writepage_fixup_worker, -EAGAIN",
        "msync returns 0"])
    assert not any("btrfs_writepage_fixup_worker:" in lab for lab in result.trace.labels())


def test_the_btrfs_fixup_worker_reserves_late_and_a_second_writeback_skips_the_queued_folio(
) -> None:
    model = KernelModel(SCENARIOS["dio-read-into-mmap-btrfs"], DESIGNS["linux-6.1"])
    cover = check(model, keep_going=True).coverage
    assert any("btrfs_writepage_fixup_worker: btrfs_delalloc_reserve_space, lock_page" in lab
               for lab in cover)
    assert any("btrfs_writepage_cow_fixup: PageChecked: -EAGAIN" in lab for lab in cover)


def test_a_buffered_write_clears_pg_checked_so_the_queued_fixup_reserves_nothing() -> None:
    """btrfs_dirty_pages clears PG_checked (6.1 fs/btrfs/file.c): a fixup queued before a
    buffered write of the folio (a direct write's fallback) finds nothing to do.  The model's
    fixup used to reserve again and, on a full filesystem, drop the buffered write's data."""
    sc = parse("""
name = "fixup-vs-buffered"
description = "a queued btrfs fixup, then a direct write that falls back to a buffered one"
filesystem = "cowfs"
free_blocks = 2
[[actor]]
name = "CPU0 app"
program = [ { op = "dio_read", page = 0, value = "B1" },
            { op = "dio_write", page = 0, value = "C1" }, { op = "fsync" } ]
[[actor]]
name = "flusher"
daemon = true
program = [ { op = "writeback_pass" } ]
""", "<test>")
    model = KernelModel(sc, DESIGNS["linux-6.1"], ("no-enospc-after-dma",))
    result = check(model, keep_going=True)
    assert result.verdict is Verdict.HOLDS, result.message
    assert any("btrfs_writepage_fixup_worker: page 0 not PageChecked" in lab
               for lab in result.coverage)


def test_6_12_refuses_the_unnotified_dirty_page_with_euclean_and_fsync_reports_it() -> None:
    result = run("enospc-after-dma", "linux-6.12", "no-enospc-after-dma")
    assert result.verdict is Verdict.HOLDS
    assert any("marked dirty without notifying the fs: -EUCLEAN" in k for k in result.coverage)
    assert any("fsync returns -EUCLEAN" in k for k in result.coverage)


def test_cpu_stores_on_a_copy_on_write_filesystem_keep_every_property() -> None:
    """btrfs_page_mkwrite reserves space every time and waits for writeback: no GUP, no
    violation (the control scenario on the COW filesystem)."""
    from gupcheck.designs import DESIGNS
    from gupcheck.engine import check
    from gupcheck.kernel.system import KernelModel
    from gupcheck.scenarios import SCENARIOS

    control = replace(SCENARIOS["control-cpu-mmap-write"], name="control-cowfs",
                      filesystem="cowfs", free_blocks=1)
    for design in ("linux-6.1", "linux-6.12"):
        result = check(KernelModel(control, DESIGNS[design]))
        assert result.verdict is Verdict.HOLDS, result.message
        assert any("btrfs_delalloc_reserve_space" in k for k in result.coverage)


def test_a_naive_odp_driver_writes_a_folio_truncate_freed() -> None:
    """A device PTE programmed after the truncate's invalidation maps the folio's pfn; ODP
    holds no reference, so truncate freed the folio and the RDMA write lands in free memory
    (the model failed with an assertion here)."""
    sc = parse("""
name = "odp-naive-truncate"
description = "a naive ODP driver against truncate"
nic_writes = 1
nic_driver = "odp-naive"
[[actor]]
name = "CPU0 app"
program = [ { op = "rdma_reg_mr", page = 0 }, { op = "truncate" } ]
""", "<t>")
    result = check(KernelModel(sc, DESIGNS["odp"], ("no-stray-dma",)))
    assert result.verdict is Verdict.VIOLATED
    assert_steps_in_order(result, ["hmm_range_fault done, mmap_read_unlock",
                                   "filemap_remove_folio(page 0): freed",
                                   "skips mmu_interval_read_retry, program the device PTE",
                                   "RDMA write N1 into freed folio"])


@pytest.mark.parametrize("mapping, pages, program, verdict", [
    ("private", 1, '{ op = "rdma_reg_mr", page = 0 }, { op = "rdma_dereg_mr", page = 0 }',
     Verdict.HOLDS),
    ("shared", 2, ('{ op = "rdma_reg_mr", page = 0 }, { op = "rdma_reg_mr", page = 1 }, '
                   '{ op = "punch_hole", page = 1 }'), Verdict.VIOLATED),
])
def test_odp_device_faults_on_private_copies_and_on_two_pages(
        mapping: str, pages: int, program: str, verdict: Verdict) -> None:
    """hmm_range_fault leaves a writable PTE alone (the model copied a private page again and
    again, and took the anonymous copy for a folio truncate had removed: a false no-stray-dma);
    a device fault's steps name their page (with two registered pages, replaying the
    counterexample met two transitions with one label: an engine error)."""
    sc = parse(f'name = "odp-t"\ndescription = "t"\nnic_writes = 2\nnic_driver = "odp-naive"\n'
               f'mapping = "{mapping}"\npages = {pages}\n[[actor]]\nname = "CPU0 app"\n'
               f'program = [ {program} ]\n', "<t>")
    result = check(KernelModel(sc, DESIGNS["odp"], ("no-stray-dma", "pin-accounting")))
    assert result.verdict is verdict, result.message
