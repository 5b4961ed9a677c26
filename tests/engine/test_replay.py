"""Replay reproduces the recorded verdict, or says why not: never a bare "the path replays"."""

from __future__ import annotations

from collections.abc import Iterator

from gupcheck.classic import DEMOS, BrokenMutex, Philosophers
from gupcheck.engine import Eventually, Label, Model, Verdict, check
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


class Spinner(Model[int]):
    """A fair spin between two states that never reaches 2: ``reaches-two`` starves in a loop."""

    name = "spinner"

    def init_states(self) -> list[int]:
        return [0]

    def successors(self, s: int) -> Iterator[tuple[Label, int]]:
        yield Label("P", f"spin {s}", fair=True), 1 - s

    def liveness(self) -> list[Eventually[int]]:
        return [Eventually("reaches-two", lambda s: s == 2)]


class ShortSpinner(Spinner):
    """The same, but state 1 now falls into a new state 3 instead of looping back."""

    def successors(self, s: int) -> Iterator[tuple[Label, int]]:
        yield Label("P", f"spin {s}", fair=True), 3 if s == 1 else 1 - s if s < 2 else s


class Failing(Model[int]):
    name = "failing"

    def __init__(self, what: str = "page 7") -> None:
        self.what = what

    def init_states(self) -> list[int]:
        return [0]

    def successors(self, s: int) -> Iterator[tuple[Label, int]]:
        if s == 2:
            raise KeyError(self.what)
        yield Label("P", "step"), s + 1


def test_a_property_the_model_does_not_have_is_not_reproduced() -> None:
    # it used to print REPRODUCED: "not an invariant of this model; the path replays"
    labels = check(BrokenMutex()).trace.labels()
    done = replay(BrokenMutex(), 0, labels, "no-such-property")
    assert not done.reproduced
    assert "'no-such-property' is not a property of this model" in done.message
    assert "mutual-exclusion" in done.message


def test_an_invariant_failing_with_another_message_is_not_reproduced() -> None:
    result = check(BrokenMutex())
    labels, prop = result.trace.labels(), result.property
    assert replay(BrokenMutex(), 0, labels, prop, why=result.message).reproduced
    done = replay(BrokenMutex(), 0, labels, prop, why="EFAULT")
    assert not done.reproduced and "the trace recorded 'EFAULT'" in done.message


def test_a_lasso_must_still_close() -> None:
    result = check(Spinner())
    assert result.verdict is Verdict.STARVES and result.trace.loop_start is not None
    labels, start = result.trace.labels(), result.trace.loop_start
    done = replay(Spinner(), 0, labels, "reaches-two", loop_start=start)
    assert done.reproduced and f"returns to step {start}" in done.message
    assert not replay(Spinner(), 0, labels, "reaches-two").reproduced  # no loop recorded
    moved = replay(ShortSpinner(), 0, labels, "reaches-two", loop_start=start)
    assert not moved.reproduced


def test_a_stuttering_lasso_needs_no_fair_action_at_its_end() -> None:
    unfair = DEMOS["ticket-lock-unfair"][0]
    result = check(unfair())
    assert result.verdict is Verdict.STARVES and result.trace.stutters
    labels = result.trace.labels()
    done = replay(unfair(), 0, labels, result.property,
                  loop_start=result.trace.loop_start, stutters=True)
    assert done.reproduced and "may still stop" in done.message


def test_a_model_error_replays_as_the_same_error_only() -> None:
    result = check(Failing())
    assert result.verdict is Verdict.ERROR
    labels = result.trace.labels()
    done = replay(Failing(), 0, labels, None, error=result.message)
    assert done.reproduced and "page 7" in done.message
    other = replay(Failing("page 8"), 0, labels, None, error=result.message)
    assert not other.reproduced and "now fails with" in other.message
    assert not replay(Failing(), 0, labels[:1], None, error=result.message).reproduced
