"""Two threads in fsync at once: each fsync keeps its own promise (``no-lost-write``).

fsync(2) may run in several threads on one file at once (``vfs_fsync_range`` takes no
file-wide lock: ``file_write_and_wait_range`` then ``filemap_fdatawait_range``, fs/sync.c and
mm/filemap.c); each promises what had completed when *it* started.  The model once kept one
expectation for the whole file, and a second fsync crashed the model (found by the ``+fsync``
scenario variant, gupcheck/scenarios/variants.py).
"""

from __future__ import annotations

from gupcheck.designs import DESIGNS
from gupcheck.engine import Verdict, check
from gupcheck.kernel.system import ActorSpec, KernelModel, Scenario

from .helpers import end_states, reachable

TWO_SYNCERS = Scenario(
    name="two-fsyncs", description="a store, then fsync in two threads, with the flusher",
    actors=(ActorSpec("CPU0 app", (("store", 0, 0, "C1"), ("fsync",))),
            ActorSpec("CPU1 fsync", (("fsync",),)),
            ActorSpec("flusher", (("writeback_pass",),), daemon=True)),
)


def test_two_concurrent_fsyncs_are_checked_without_a_model_error() -> None:
    result = check(KernelModel(TWO_SYNCERS, DESIGNS["linux-6.12"]))
    assert result.verdict is not Verdict.ERROR, result.message
    assert result.verdict is Verdict.HOLDS  # CPU stores only: the control's verdict


def test_both_fsyncs_return_in_every_end_state() -> None:
    ends = end_states(TWO_SYNCERS, "linux-6.12")
    assert ends
    assert all(k.threads[0].results[-1] == "fsync=0" and k.threads[1].results == ("fsync=0",)
               for k in ends)


def test_each_thread_in_fsync_has_its_own_expectation() -> None:
    states = reachable(TWO_SYNCERS, "linux-6.12")
    both = [k for k in states if len(k.ghost.fsync_expect) == 2]
    assert both, "no state with both threads in fsync"
    assert all([t for t, _ in k.ghost.fsync_expect] == [0, 1] for k in both)
    # CPU1's fsync started after the store completed promises C1; one started before it does
    # not (the store's write had not completed)
    promised = {dict(k.ghost.fsync_expect)[1][0][0] for k in states
                if 1 in dict(k.ghost.fsync_expect)}
    assert {"C1", None} <= promised


def test_a_returning_fsync_leaves_the_other_threads_expectation() -> None:
    for k in reachable(TWO_SYNCERS, "linux-6.12"):
        for i in (0, 1):
            t = k.threads[i]
            in_fsync = t.stage != "" and TWO_SYNCERS.actors[i].program[t.pc] == ("fsync",)
            if t.stage == "fsync:wait" or in_fsync:
                assert i in dict(k.ghost.fsync_expect), (i, k.threads)
