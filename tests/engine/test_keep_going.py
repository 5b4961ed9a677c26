"""keep_going (TLC's -continue): every failing property gets its own shortest counterexample."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gupcheck.classic import LostUpdate
from gupcheck.engine import Invariant, Label, Model, Verdict, check


class Walk(Model[tuple[int, int]]):
    """Two counters stepped independently up to 3; properties fail at different depths."""

    name = "walk"

    def init_states(self) -> list[tuple[int, int]]:
        return [(0, 0)]

    def successors(self, s: tuple[int, int]) -> Iterator[tuple[Label, tuple[int, int]]]:
        if s[0] < 3:
            yield Label("A", "step"), (s[0] + 1, s[1])
        if s[1] < 3:
            yield Label("B", "step"), (s[0], s[1] + 1)

    def is_end(self, s: tuple[int, int]) -> bool:
        return s == (3, 3)

    def invariants(self) -> list[Invariant[tuple[int, int]]]:
        return [
            Invariant("a-below-3", lambda s: "a = 3" if s[0] == 3 else None),
            Invariant("sum-below-2", lambda s: "a + b = 2" if sum(s) == 2 else None),
            Invariant("never", lambda s: None),
        ]


def test_every_failing_property_is_reported_with_a_shortest_trace() -> None:
    result = check(Walk(), keep_going=True)
    assert result.verdict is Verdict.VIOLATED
    assert [f.property for f in result.findings] == ["sum-below-2", "a-below-3"]
    assert [len(f.trace) for f in result.findings] == [2, 3]
    assert result.property == "sum-below-2"
    assert result.stats.distinct == 16  # the whole state space was explored


@pytest.mark.parametrize("prop", ["a-below-3", "sum-below-2"])
def test_each_finding_equals_the_single_property_run(prop: str) -> None:
    class Only(Walk):
        def invariants(self) -> list:
            return [i for i in super().invariants() if i.name == prop]

    alone = check(Only())
    together = next(f for f in check(Walk(), keep_going=True).findings if f.property == prop)
    assert together.trace.labels() == alone.trace.labels()


def test_keep_going_on_a_holding_model_is_holds_with_no_findings() -> None:
    class Fine(Walk):
        def invariants(self) -> list:
            return []

    result = check(Fine(), keep_going=True)
    assert (result.verdict, result.findings, result.stats.distinct) == (Verdict.HOLDS, (), 16)


def test_keep_going_explores_past_a_violation() -> None:
    stop = check(LostUpdate(2, 2))
    go = check(LostUpdate(2, 2), keep_going=True)
    assert go.stats.distinct == 559 > stop.stats.distinct
    assert go.findings[0].trace.labels() == stop.trace.labels()
