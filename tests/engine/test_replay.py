from __future__ import annotations

from gupcheck.classic import BrokenMutex, Philosophers
from gupcheck.engine import check
from gupcheck.engine.replay import replay


def test_a_counterexample_replays_from_its_labels() -> None:
    result = check(BrokenMutex())
    done = replay(BrokenMutex(), 0, result.trace.labels(), result.property)
    assert done.reproduced and "still violated" in done.message
    assert len(done.trace) == len(result.trace)


def test_a_label_that_is_no_longer_enabled_is_reported_with_what_is() -> None:
    labels = check(BrokenMutex()).trace.labels()
    done = replay(BrokenMutex(), 0, [labels[0], "P0: lock = 0"], "mutual-exclusion")
    assert not done.reproduced
    assert "step 2 ('P0: lock = 0') is not enabled" in done.message
    assert "P1: await lock == 0" in done.message


def test_a_path_that_no_longer_breaks_the_property_is_not_reproduced() -> None:
    labels = check(BrokenMutex()).trace.labels()[:3]
    done = replay(BrokenMutex(), 0, labels, "mutual-exclusion")
    assert not done.reproduced and "holds at the end" in done.message


def test_deadlocks_and_wait_cycles_replay() -> None:
    dead = check(Philosophers(3))
    assert replay(Philosophers(3), 0, dead.trace.labels(), "deadlock").reproduced
    cyc = check(Philosophers(3, clock=True))
    assert replay(Philosophers(3, clock=True), 0, cyc.trace.labels(), "wait-for-cycle").reproduced
    assert not replay(Philosophers(3), 0, dead.trace.labels()[:2], "deadlock").reproduced
