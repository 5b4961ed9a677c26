"""A broken model is reported with its own names and the trace that led there."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gupcheck.engine import Invariant, Label, Model, Verdict, check

STEP = Label("CPU0", "step")


class Counter(Model[tuple[int, ...]]):
    name = "counter"

    def init_states(self) -> list:
        return [(0,)]

    def successors(self, s: tuple[int, ...]) -> Iterator[tuple[Label, object]]:
        if s[0] < 3:
            yield STEP, (s[0] + 1,)

    def is_end(self, s: tuple[int, ...]) -> bool:
        return s[0] == 3


class ListState(Counter):
    def successors(self, s):  # type: ignore[override]
        if s[0] < 3:
            yield STEP, ([s[0] + 1] if s[0] == 1 else (s[0] + 1,))


class RaisingStep(Counter):
    def successors(self, s):  # type: ignore[override]
        if s[0] == 2:
            raise KeyError("page 7")
        yield from super().successors(s)


class RaisingInvariant(Counter):
    def invariants(self) -> list:
        return [Invariant("refcount-positive", lambda s: 1 // (s[0] - 2) and None)]


class UnencodableState(Counter):
    def successors(self, s):  # type: ignore[override]
        if s[0] < 3:
            yield STEP, (s[0] + 1, object() if s[0] == 1 else None)


#: walks are the random strategy's option (an exhaustive search refuses them)
WALKS = {"bfs": None, "dfs": None, "random": 5}


@pytest.mark.parametrize("strategy", ["bfs", "dfs", "random"])
def test_unhashable_state_is_an_error_with_its_trace(strategy: str) -> None:
    result = check(ListState(), strategy=strategy, walks=WALKS[strategy])
    assert result.verdict is Verdict.ERROR
    assert "not hashable" in result.message
    assert result.trace is not None and result.trace.labels() == ["CPU0: step", "CPU0: step"]


@pytest.mark.parametrize("strategy", ["bfs", "dfs", "random"])
def test_raising_transition_is_an_error_naming_the_step_function(strategy: str) -> None:
    result = check(RaisingStep(), strategy=strategy, walks=WALKS[strategy])
    assert result.verdict is Verdict.ERROR
    assert "successors() raised KeyError: 'page 7'" in result.message
    assert result.trace is not None and result.trace.steps[-1].state == (2,)


@pytest.mark.parametrize("strategy", ["bfs", "dfs", "random"])
def test_raising_property_is_an_error_naming_the_property(strategy: str) -> None:
    result = check(RaisingInvariant(), strategy=strategy, walks=WALKS[strategy])
    assert result.verdict is Verdict.ERROR
    assert "invariant 'refcount-positive' raised ZeroDivisionError" in result.message
    assert result.trace is not None and result.trace.steps[-1].state == (2,)


def test_state_that_cannot_be_serialised_is_an_error() -> None:
    result = check(UnencodableState())
    assert result.verdict is Verdict.ERROR
    assert "cannot be serialised canonically" in result.message


def test_a_model_with_no_initial_state_is_an_error() -> None:
    class Empty(Counter):
        def init_states(self) -> list:
            return []

    result = check(Empty())
    assert result.verdict is Verdict.ERROR
    assert "no state" in result.message


def test_a_legitimate_end_is_not_a_deadlock_but_other_stuck_states_are() -> None:
    assert check(Counter()).verdict is Verdict.HOLDS

    class NoEnd(Counter):
        def is_end(self, s: tuple[int, ...]) -> bool:
            return False

    result = check(NoEnd())
    assert result.verdict is Verdict.DEADLOCK
    assert result.trace is not None and len(result.trace) == 3


class StuckThenRaising(Model[tuple[int, ...]]):
    """Level 1 holds (1,), which is stuck, then (2,), whose successors raise."""

    name = "stuck-then-raising"

    def init_states(self) -> list:
        return [(0,)]

    def successors(self, s: tuple[int, ...]) -> Iterator[tuple[Label, object]]:
        if s == (0,):
            yield STEP, (1,)
            yield Label("CPU1", "step"), (2,)
        elif s == (2,):
            raise KeyError("page 7")


@pytest.mark.parametrize("strategy", ["bfs", "dfs"])
def test_a_stuck_state_is_judged_before_a_later_state_of_its_level_raises(
        strategy: str) -> None:
    result = check(StuckThenRaising(), strategy=strategy)
    assert result.verdict is Verdict.DEADLOCK
    assert result.trace is not None and result.trace.steps[-1].state == (1,)

    class EndThenRaising(StuckThenRaising):
        def is_end(self, s: tuple[int, ...]) -> bool:
            return s == (1,)

    # (1,) a legitimate end: the raising state is reported, with its own trace
    result = check(EndThenRaising(), strategy=strategy)
    assert result.verdict is Verdict.ERROR
    assert "successors() raised KeyError: 'page 7'" in result.message
    assert result.trace is not None and result.trace.steps[-1].state == (2,)
