"""Each proposal as its author wrote it (issue: designs as their authors wrote them).

Every test here failed before the model was corrected: block-writeback was charged
stable-writeback and no-lost-write violations it cannot have, bounce-writeback-mkwrite was charged
no-sleep-in-atomic where the kernel sleeps nowhere, skip-and-bounce went beyond the RFC it cites,
stable-writeback flagged writers that came through ->page_mkwrite after the submit, and the 5.7
release accepted io_uring buffers on memfd.
"""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from gupcheck import lab
from gupcheck.designs import DESIGNS, PROPOSAL_BASE
from gupcheck.engine import Verdict
from gupcheck.kernel.config import KernelConfig
from gupcheck.kernel.device import dma_write_check
from gupcheck.kernel.fs.ext4 import EXT4
from gupcheck.kernel.state import Bio, Thread, initial_state, replace
from gupcheck.kernel.system import KernelModel
from gupcheck.scenarios import SCENARIOS
from tests.kernel.helpers import assert_steps_in_order, end_states, run

# --- block-writeback: Dave Chinner, <20181213005119.GD29416@dastard> -------------------------

BLOCKED_DMA = [(sc, prop) for sc in ("dio-read-into-mmap", "deferred-redirty-vs-fsync",
                                      "dio-vs-reclaim")
               for prop in ("stable-writeback", "mkwrite-before-dirty", "no-lost-write")
               if prop in SCENARIOS[sc].properties]


@pytest.mark.parametrize(("scenario", "prop"), BLOCKED_DMA)
def test_block_writeback_keeps_dma_out_of_pages_being_written(scenario: str, prop: str) -> None:
    assert run(scenario, "block-writeback", prop).verdict is Verdict.HOLDS
    # the same scenario breaks the property on the kernel the proposal is an overlay of
    assert run(scenario, "linux-6.12", prop).verdict is Verdict.VIOLATED


def test_block_writeback_pin_sets_writeback_and_the_unpin_ends_it() -> None:
    sc = SCENARIOS["dio-read-into-mmap"]
    states = lab.reachable_states(sc, DESIGNS["block-writeback"])
    pinned = [k for k in states if any(f is not None and f.pins for f in k.folios)]
    # while the direct-I/O pin is held, the page is under writeback (no write bio needed)
    assert pinned and all(k.folio_at(k.cache[0]).writeback for k in pinned
                          if k.cache[0] is not None and k.folio_at(k.cache[0]).pins)
    # and no run ends with the page still held under writeback
    assert all(not (k.cached(0) and k.cached(0).writeback) for k in end_states(sc, DESIGNS[
        "block-writeback"]))


@pytest.mark.parametrize("stable", [False, True])
def test_block_writeback_holds_mmap_writes_off_a_pinned_page_only_where_pages_are_stable(
        stable: bool) -> None:
    """Dave Chinner relied on ->page_mkwrite's wait_for_stable_page, "on the devices that
    require stable pages": on a plain device a CPU store to a page whose pin holds
    PG_writeback goes on (it used to wait, and the store, holding the folio lock, deadlocked
    with the direct-I/O read's bio_set_pages_dirty); on a stable-writes device it waits."""
    sc = dataclasses.replace(SCENARIOS["mkwrite-unpin-vs-munmap"], stable_writes=stable)
    result = lab.run_cell(sc, DESIGNS["block-writeback"])
    if stable:
        assert result.verdict == "deadlock"
    else:
        assert result.verdict == "holds", result.violated


def test_block_writeback_starves_fsync_behind_a_long_term_pin() -> None:
    """Its real cost: fsync of a registered page waits for an unpin nobody promises."""
    result = run("rdma-longterm-file", "block-writeback")
    assert result.verdict is Verdict.DEADLOCK
    assert "held by the unpin by CPU0 app (block-writeback)" in result.message  # its own dereg
    assert_steps_in_order(result, ["PG_writeback set until unpin", "fsync",
                                   "under writeback: folio_wait_writeback"])


# --- bounce-writeback-mkwrite: no ->page_mkwrite in interrupt context ------------------------

@pytest.mark.parametrize("scenario", ["dio-read-into-mmap", "dio-vs-reclaim", "munmap-while-dma"])
def test_completion_of_a_still_dirty_page_only_releases_it(scenario: str) -> None:
    result = run(scenario, "bounce-writeback-mkwrite", "no-sleep-in-atomic")
    assert result.verdict is Verdict.HOLDS


@pytest.mark.parametrize("scenario", ["vm-writev-vs-dio-invalidate", "rdma-longterm-file"])
def test_every_gup_user_that_wrote_a_page_releases_it_through_page_mkwrite(scenario: str) -> None:
    """Jerome Glisse's put_user_page(page, dirty) does the ->page_mkwrite dance wherever a GUP
    user releases a page it wrote, not only in bio_dirty_work: process_vm_writev and RDMA
    deregistration dirtied without it (a false mkwrite-before-dirty violation at
    unpin_user_pages_dirty_lock, the very call the proposal changes)."""
    result = run(scenario, "bounce-writeback-mkwrite", "mkwrite-before-dirty")
    assert result.verdict is Verdict.HOLDS, result.message
    labels = set(result.coverage)
    assert any("put_user_page(page 0, dirty): folio_lock" in a for a in labels)
    assert any("put_user_page: mmap_read_lock, ->page_mkwrite" in a for a in labels)
    assert not any("unpin_user_pages_dirty_lock" in a for a in labels)
    without = run(scenario, "bounce-writeback", "mkwrite-before-dirty")  # put_user_page(p, 1)
    assert without.verdict is Verdict.VIOLATED


# --- skip-and-bounce: Jan Kara's RFC as posted, and the extension ----------------------------

@pytest.mark.parametrize("scenario", ["dio-read-into-mmap", "deferred-redirty-vs-fsync",
                                      "dio-vs-reclaim"])
def test_rfc_as_posted_leaves_ext4_writeback_alone(scenario: str) -> None:
    sc = SCENARIOS[scenario]
    rfc = lab.run_cell(sc, DESIGNS["skip-and-bounce"])
    base = lab.run_cell(sc, PROPOSAL_BASE)
    assert rfc.outcome() == base.outcome()
    assert rfc.states == base.states


def test_rfc_as_posted_skips_pinned_folios_in_btrfs_background_writeback() -> None:
    """Patch 3/5 passes extent_write_cache_pages' wbc to clear_page_dirty_for_io, so btrfs'
    background writeback skips a pinned folio (it used to equal the base); the bounce copy is
    iomap's only, so btrfs' data-integrity writeback writes the live page."""
    sc = SCENARIOS["enospc-after-dma"]
    assert sc.filesystem == "cowfs"
    rfc = lab.run_cell(sc, DESIGNS["skip-and-bounce"])
    base = lab.run_cell(sc, PROPOSAL_BASE)
    assert "stable-writeback" in base.violated and "stable-writeback" not in rfc.violated
    coverage = run("enospc-after-dma", "skip-and-bounce").coverage
    assert any("in WB_SYNC_NONE writeback: keep page 0 dirty, skip it" in a for a in coverage)
    assert not any("bounce" in a for a in coverage)


def test_extension_skips_a_pinned_folio_only_after_folio_mkclean() -> None:
    assert run("deferred-redirty-vs-fsync", "skip-and-bounce-all",
               "no-lost-write").verdict is Verdict.HOLDS
    sc, design = SCENARIOS["dio-read-into-mmap"], DESIGNS["skip-and-bounce-all"]
    model = KernelModel(sc, design, ())
    skips = [t for k in lab.reachable_states(sc, design) for label, t in model.successors(k)
             if "skip it" in label.action]
    assert skips
    for t in skips:  # the PTE is write-protected and clean, the folio kept dirty
        pte, folio = t.ptes[0], t.cached(0)
        assert pte is None or not (pte.writable or pte.dirty)
        assert folio is not None and folio.dirty and not folio.writeback


# --- stable-writeback as defined ----------------------------------------------------------------

def _under_writeback(early: tuple[int, ...], **bio: object):
    k = initial_state(1, 3, cached=True, mapped=True, fs=EXT4)
    w = Bio(id=0, write=True, page=0, folio=0, pending=(0, 1), owner="flusher", early=early,
            **bio)
    return replace(k, bios=(w,), next_bio=1, threads=(Thread(),) * 3)


def test_a_writer_that_pinned_before_the_submit_breaks_stable_writeback() -> None:
    k = dma_write_check(_under_writeback(early=(0,)), 0, 0, "DMA of read bio #1", 0)
    assert [p for p, _ in k.ghost.violations] == ["stable-writeback"]


def test_a_writer_that_came_through_page_mkwrite_after_the_submit_does_not() -> None:
    k = dma_write_check(_under_writeback(early=()), 0, 0, "DMA of read bio #1", 0)
    assert k.ghost.violations == ()


@pytest.mark.parametrize("bio", [{"checksum": ("A0", "A0")}, {"csums": ("A0", "A0")}])
def test_on_a_stable_writes_device_or_checksumming_fs_any_change_counts(bio: dict) -> None:
    k = dma_write_check(_under_writeback(early=(), **bio), 0, 0, "DMA of read bio #1", 0)
    assert [p for p, _ in k.ghost.violations] == ["stable-writeback"]


def test_shortest_stable_writeback_violation_pins_before_the_writeback_submit() -> None:
    result = run("dio-read-into-mmap", "linux-6.12", "stable-writeback")
    assert result.verdict is Verdict.VIOLATED
    assert_steps_in_order(result, ["grabs page 0", "submit_bio (write bio", "DMA of read bio"])


# --- release labels --------------------------------------------------------------------------

def test_io_uring_of_5_7_refuses_memfd_buffers() -> None:
    sc = SCENARIOS["truncate-while-pinned-memfd"]
    cell = lab.run_cell(sc, DESIGNS["pin-counting"])
    assert (cell.verdict, cell.errno) == ("refused", "EOPNOTSUPP")
    assert lab.run_cell(sc, DESIGNS["linux-6.1"]).verdict == "holds"  # accepted since 5.14


def test_each_release_is_the_one_before_plus_its_changes() -> None:
    order = ["legacy", "pin-counting", "linux-6.1", "linux-6.12"]
    changed = {
        "pin-counting": {"pin_counting", "has_io_uring", "iouring_file_check", "dio_iomap",
                         "readahead_unlocks"},
        "linux-6.1": {"ext4_warn_no_buffers", "reclaim_skips_pinned", "iouring_shmem",
                      "iouring_same_file", "vm_rw_foll_pin", "wp_reuse", "fork_copies_pinned",
                      "gup_fast_wp_seq", "anon_exclusive", "dirty_fault_unlocks",
                      "fault_fill_locked", "odp_hmm", "btrfs_dio_iomap",
                      "dio_invalidate_fallback"},
        "linux-6.12": {"dio_foll_pin", "longterm_file_refusal", "ext4_writepage",
                       "iouring_file_check", "iouring_same_file", "cow_fixup_worker",
                       "ext4_punch_flush_unlocked", "longterm_unlockable", "fault_vma_lock"},
    }
    for before, after in itertools.pairwise(order):
        a, b = dataclasses.asdict(DESIGNS[before]), dataclasses.asdict(DESIGNS[after])
        diff = {f for f in a if f != "name" and a[f] != b[f]}
        assert diff == changed[after], after


def test_a_typo_in_a_string_switch_is_refused() -> None:
    with pytest.raises(ValueError, match="writeback_pinned='blok'; choose one of"):
        dataclasses.replace(KernelConfig("x", False, False, False, False), writeback_pinned="blok")


# --- a rule relaxed on purpose is not a bug found ----------------------------------------------

def test_a_relaxed_rule_is_shown_beside_a_verdict_the_other_properties_decide() -> None:
    sc = SCENARIOS["dio-beyond-eof"]
    cell = lab.run_cell(sc, DESIGNS["bounce-writeback"])
    assert cell.relaxed == ("mkwrite-before-dirty",)
    assert "mkwrite-before-dirty" not in cell.violated
    assert cell.verdict == ("holds" if not cell.violated else "violated")
    from gupcheck.reports.matrix import cell_text
    assert "(relaxed: P2a@" in cell_text(cell)
    # the base kernel, which does not relax it, is charged with it
    assert "mkwrite-before-dirty" in lab.run_cell(sc, PROPOSAL_BASE).violated
