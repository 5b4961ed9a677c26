"""The properties of gupcheck.kernel.properties mean what they say: no-lost-write keeps one
promise per sync call, pin-accounting compares every trace a pin leaves, crash-consistent asks
"if the power failed now" in every state."""

from __future__ import annotations

from gupcheck.designs import DESIGNS
from gupcheck.engine import Verdict, check
from gupcheck.kernel.fs.cowfs import COWFS
from gupcheck.kernel.fs.ext4 import EXT4
from gupcheck.kernel.fs.shmem import SHMEM
from gupcheck.kernel.properties import DATA_READERS, PROPERTIES, WRITE_READERS, invariants
from gupcheck.kernel.state import initial_state, replace
from gupcheck.kernel.system import ActorSpec, KernelModel, Scenario
from gupcheck.scenarios import SCENARIOS
from gupcheck.scenarios.loader import parse

from .helpers import assert_steps_in_order, end_states, reachable

#: two threads each store to the same block, then each runs a data-integrity sync of its own
TWO_SYNCERS = Scenario(
    "two-syncers", "fsync in one thread, msync(MS_SYNC) in another, each after its own store",
    (ActorSpec("CPU0 app", (("store", 0, 0, "C1"), ("fsync",))),
     ActorSpec("CPU1 app", (("store", 0, 0, "C2"), ("msync",)))),
    properties=("no-lost-write", "crash-consistent"))

#: ... and one of them after an O_DIRECT read whose re-dirtying is deferred (a real lost write)
SYNCER_BESIDE_LOST_WRITE = Scenario(
    "dio-fsync-beside-msync", "an O_DIRECT read then fsync, and an msync in another thread",
    (ActorSpec("CPU0 app", (("dio_read", 0, "B1"), ("fsync",))),
     ActorSpec("CPU1 app", (("msync",),)),
     ActorSpec("flusher", (("writeback_pass",),), daemon=True)),
    properties=("no-lost-write",))


# --- no-lost-write: one promise per sync ---------------------------------------------------

def test_two_concurrent_syncs_each_keep_their_own_promise() -> None:
    """fsync in CPU0 and msync in CPU1 overlap: CPU1's store starts during CPU0's fsync, so
    CPU0 does not promise it and CPU1 does.  With one global promise, the second sync replaced
    the first's (CPU0 was held to C2, which it never covered) and the first to return erased
    the second's (the model failed on an assertion): the verdict was wrong either way."""
    result = check(KernelModel(TWO_SYNCERS, DESIGNS["linux-6.12"]))
    assert result.verdict is Verdict.HOLDS, result.message
    both = [k for k in reachable(TWO_SYNCERS, "linux-6.12") if len(k.ghost.fsync_expect) == 2]
    assert both, "the two syncs never overlap"
    assert any(dict(k.ghost.fsync_expect)[0][0][0] is None
               and dict(k.ghost.fsync_expect)[1][0][0] == "C2" for k in both)


def test_a_real_lost_write_is_still_found_beside_another_sync() -> None:
    """The deferred re-dirtying lost write (deferred-redirty-vs-fsync) with an msync running
    in another thread: CPU0's fsync still breaks its own promise."""
    result = check(KernelModel(SYNCER_BESIDE_LOST_WRITE, DESIGNS["linux-6.12"]))
    assert result.verdict is Verdict.VIOLATED
    assert "fsync returned 0" in result.message
    assert_steps_in_order(result, ("DMA of read bio", "fsync returns 0"))


def test_a_write_unpromises_its_blocks_for_every_sync_in_progress() -> None:
    k = initial_state(1, 4, cached=True, mapped=True, fs=EXT4)
    k = k.sync_started(0).sync_started(2)
    assert dict(k.ghost.fsync_expect) == {0: (("A0", "A0"),), 2: (("A0", "A0"),)}
    k = k.write_started(0, (1,), "C1")
    assert dict(k.ghost.fsync_expect) == {0: (("A0", None),), 2: (("A0", None),)}
    k = k.sync_returned(0, durable=True)
    assert [t for t, _ in k.ghost.fsync_expect] == [2]


def test_a_failed_write_takes_back_no_promise_unless_a_later_write_followed_it() -> None:
    k = initial_state(1, 4, cached=True, mapped=True, fs=EXT4)
    k = k.instant_write(0, (0, 1), "C1")
    assert k.promised(0, 0) == "C1"
    failed = k.write_started(0, (0, 1), "C2", me=1)
    assert failed.promised(0, 0) is None  # in flight
    assert failed.write_abandoned({(0, 0, 1), (0, 1, 1)}).promised(0, 0) == "C1"
    followed = failed.write_started(0, (0,), "C3", me=2)  # starts while C2 is in flight
    followed = followed.write_abandoned({(0, 0, 1), (0, 1, 1)})
    assert followed.promised(0, 0) is None and followed.promised(0, 1) == "C1"


def test_a_direct_write_that_fails_does_not_hide_an_earlier_lost_write() -> None:
    """The read's data is lost by writeback (deferred re-dirtying) and a later direct write of
    the page fails with -ENOSPC: fsync still owes the read's data.  The failed write used to
    leave its start counted, so no fsync promised the block any more (a false holds)."""
    sc = parse("""
name = "fail-after"
description = "an O_DIRECT read, a direct write that fails (-ENOSPC), then fsync"
filesystem = "cowfs"
free_blocks = 1
properties = ["no-lost-write"]
[[actor]]
name = "CPU0 app"
program = [ { op = "dio_read", page = 0, value = "B1" }, { op = "fill_fs" },
            { op = "fill_fs" }, { op = "dio_write", page = 0, value = "C2" },
            { op = "fsync" } ]
[[actor]]
name = "flusher"
daemon = true
program = [ { op = "writeback_pass" } ]
""", "<test>")
    result = check(KernelModel(sc, DESIGNS["linux-6.12"]))
    assert result.verdict is Verdict.VIOLATED
    assert_steps_in_order(result, ("DMA of read bio", "write() returns -ENOSPC", "fsync returns 0"))


def test_a_hole_punch_of_another_page_keeps_the_reads_write() -> None:
    """A truncate or punch used to cancel the completion of every direct read running across
    it, on any page; it overlaps only the read of its own pages (write_started)."""
    sc = parse("""
name = "punch-other"
description = "an O_DIRECT read of page 0 while another thread punches page 1"
pages = 2
properties = ["no-lost-write"]
[[actor]]
name = "CPU0 app"
program = [ { op = "dio_read", page = 0, value = "B1" } ]
[[actor]]
name = "CPU1 punch"
program = [ { op = "punch_hole", page = 1 } ]
""", "<test>")
    ends = [k for k in end_states(sc, "linux-6.12") if k.threads[0].results == ("read=ok",)]
    assert ends and all(k.ghost.last_write[0] == ("B1", "B1") for k in ends)


def test_the_view_drops_the_promises_only_when_no_property_reads_them() -> None:
    state = next(k for k in reachable(TWO_SYNCERS, "linux-6.12")
                 if len(k.ghost.fsync_expect) == 2)
    cfg = DESIGNS["linux-6.12"]
    unread = KernelModel(TWO_SYNCERS, cfg, ("dirty-has-backing",)).view_state(state).ghost
    assert unread.fsync_expect == () and unread.crash_legal == ()
    for prop in WRITE_READERS:
        kept = KernelModel(TWO_SYNCERS, cfg, (prop,)).view_state(state).ghost
        assert kept.fsync_expect == state.ghost.fsync_expect
    kept = KernelModel(TWO_SYNCERS, cfg, ("crash-consistent",)).view_state(state).ghost
    assert kept.crash_legal == state.ghost.crash_legal


# --- crash-consistent -------------------------------------------------------------------

def test_crash_consistent_is_a_listed_data_reading_property() -> None:
    assert "crash-consistent" in PROPERTIES
    assert "crash-consistent" in DATA_READERS and "crash-consistent" in WRITE_READERS


def _crash(k, on_disk=True):  # type: ignore[no-untyped-def]
    (inv,) = invariants(("crash-consistent",), pin_counting=True, on_disk=on_disk)
    return inv.check(k)


def test_a_returned_fsync_makes_its_blocks_durable_and_later_writes_may_replace_them() -> None:
    k = initial_state(1, 2, cached=True, mapped=True, fs=EXT4)
    assert _crash(k) is None  # the file was synced before the scenario
    k = k.instant_write(0, (0,), "C1")
    k = replace(k, disk=("C1", "A0"))  # writeback put C1 on disk: a legal crash image
    assert _crash(k) is None
    k = k.sync_started(0).sync_returned(0, durable=True)
    assert k.ghost.crash_legal[0][0] == ("C1", frozenset())
    assert "holding A0 on disk, not C1" in _crash(replace(k, disk=("A0", "A0")))
    k = k.instant_write(0, (0,), "C2")  # a later write may reach the disk, or not yet
    assert _crash(k) is None and _crash(replace(k, disk=("C2", "A0"))) is None
    assert "holding A0" in _crash(replace(k, disk=("A0", "A0")))


def test_an_fsync_that_fails_makes_nothing_durable() -> None:
    k = initial_state(1, 2, cached=True, mapped=True, fs=EXT4).instant_write(0, (0,), "C1")
    k = k.sync_started(0).sync_returned(0, durable=False)
    assert k.ghost.crash_legal[0][0] == ("A0", frozenset({"C1"}))


def test_a_block_that_does_not_match_its_checksum_is_unreadable_after_a_crash() -> None:
    k = initial_state(1, 2, cached=True, mapped=True, fs=COWFS)
    assert _crash(k) is None
    torn = replace(k.instant_write(0, (0,), "B1"), disk=("B1", "A0"))  # csum still A0's
    assert "under the checksum of A0" in _crash(torn)


def test_crash_consistency_does_not_apply_without_a_disk() -> None:
    k = initial_state(1, 2, cached=True, mapped=True, fs=SHMEM)
    assert not SHMEM.page_cache_over_disk
    assert _crash(replace(k, disk=("X9", "X9")), on_disk=False) is None
    assert _crash(replace(k, disk=("X9", "X9")), on_disk=True) is not None  # it would apply


def test_deferred_redirty_loses_the_write_across_a_power_failure() -> None:
    """linux-6.12: fsync returns 0 before bio_dirty_work re-dirties the page the DMA filled
    (deferred-redirty-vs-fsync): from then on a power failure loses B1."""
    result = check(KernelModel(SCENARIOS["deferred-redirty-vs-fsync"], DESIGNS["linux-6.12"],
                               ("crash-consistent",)))
    assert result.verdict is Verdict.VIOLATED
    assert "a power failure now leaves page 0" in result.message
    assert_steps_in_order(result, ("submit_bio (write bio", "transfers page 0 block",
                                   "DMA of read bio", "fsync returns 0"))


def test_the_view_keeps_only_the_pin_counters_difference_for_pin_accounting() -> None:
    k = initial_state(1, 2, cached=True, mapped=True, fs=EXT4).with_ghost(pins_acquired=5,
                                                                 pins_released=3)
    sc, cfg = TWO_SYNCERS, DESIGNS["linux-6.12"]
    kept = KernelModel(sc, cfg, ("pin-accounting",)).view_state(k).ghost
    assert (kept.pins_acquired, kept.pins_released) == (2, 0)
    dropped = KernelModel(sc, cfg, ("no-lost-write",)).view_state(k).ghost
    assert (dropped.pins_acquired, dropped.pins_released) == (0, 0)


# --- a truncate discards what it cuts off: no sync promises it ---------------------------------

#: an fsync beside a truncate, found by `gupcheck matrix --variants` (+fsync): the fsync may
#: start after i_size_write(0) and return before truncate_inode_pages_range
FSYNC_BESIDE_TRUNCATE = Scenario(
    "fsync-beside-truncate", "a store, then a truncate to zero; an fsync in another thread",
    (ActorSpec("CPU0 app", (("store", 0, 0, "C1"), ("truncate",))),
     ActorSpec("CPU1 fsync", (("fsync",),))),
    properties=("no-lost-write", "crash-consistent"))


def test_a_page_a_truncate_cut_off_is_not_promised_by_a_sync_beside_it() -> None:
    result = check(KernelModel(FSYNC_BESIDE_TRUNCATE, DESIGNS["linux-6.12"]))
    assert result.verdict is Verdict.HOLDS, result.message


def test_reading_back_a_truncated_or_punched_block_gives_zeros() -> None:
    k = initial_state(2, 1, cached=True, mapped=True, fs=EXT4)
    assert k.read_back(1, 0) == "A0"
    assert replace(k, i_size=1).read_back(1, 0) == "Z0"  # beyond EOF
    assert replace(k, holes=frozenset({2})).read_back(1, 0) == "Z0"  # an ext4 hole
    assert replace(k, holes=frozenset({2})).read_back(1, 1) == "A0"


#: ... and beside a hole punch, whose zeros reach the disk only when the blocks are freed
FSYNC_BESIDE_PUNCH = Scenario(
    "fsync-beside-punch", "a store, then a hole punch of the page; an fsync in another thread",
    (ActorSpec("CPU0 app", (("store", 0, 0, "C1"), ("punch_hole", 0))),
     ActorSpec("CPU1 fsync", (("fsync",),))),
    properties=("no-lost-write", "crash-consistent"))


def test_a_sync_beside_a_hole_punch_in_progress_promises_neither_old_data_nor_zeros() -> None:
    result = check(KernelModel(FSYNC_BESIDE_PUNCH, DESIGNS["linux-6.12"]))
    assert result.verdict is Verdict.HOLDS, result.message
