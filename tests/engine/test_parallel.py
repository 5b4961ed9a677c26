"""Parallel BFS: the same counts, verdicts and traces as one process, for any worker count."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gupcheck.classic import BrokenMutex, LostUpdate, Peterson, Philosophers, TicketLock
from gupcheck.designs import DESIGNS
from gupcheck.engine import Invariant, Label, Limits, Model, Result, Verdict, bfs, check, parallel
from gupcheck.engine.parallel import balance
from gupcheck.kernel.system import KernelModel
from gupcheck.scenarios import SCENARIOS

from .test_checkpoint import WholeSpace


def answer(r: Result) -> tuple:
    return (r.verdict, r.property, r.message, r.stats.depth,
            r.trace.labels() if r.trace else None, r.trace.init_index if r.trace else None,
            tuple(str(w) for w in r.waits))


def counts(r: Result) -> tuple:
    return (r.stats.distinct, r.stats.generated, r.coverage, r.unfired)


@pytest.mark.parametrize("model", [WholeSpace(3, 2), Peterson(), TicketLock(fair_release=True)],
                         ids=lambda m: m.name)
def test_complete_runs_have_the_same_counts_and_coverage(model) -> None:
    one = check(model)
    for workers in (2, 3):
        many = check(model, workers=workers)
        assert answer(many) == answer(one)
        assert counts(many) == counts(one)


def test_the_result_says_it_was_parallel() -> None:
    r = check(WholeSpace(2, 2), workers=2)
    assert "parallel: 2 worker processes" in r.notes


@pytest.mark.parametrize("model", [LostUpdate(3, 2), LostUpdate(2, 2), BrokenMutex(),
                                   Philosophers(4), Philosophers(3, clock=True),
                                   TicketLock(fair_release=False)],
                         ids=lambda m: m.name)
def test_counterexamples_are_the_single_process_ones_for_every_worker_count(model) -> None:
    one = check(model)
    results = [check(model, workers=w) for w in (2, 3, 4)]
    assert one.verdict is not Verdict.HOLDS
    for r in results:
        assert answer(r) == answer(one)
    # with whole levels expanded, the counts agree across worker counts too
    assert len({counts(r)[:2] for r in results}) == 1


def test_a_kernel_scenario_gives_the_same_verdicts_and_traces_in_parallel() -> None:
    sc = SCENARIOS["dio-vs-reclaim"]
    for design, prop in (("linux-6.1", "dirty-has-backing"), ("linux-6.12", "dirty-has-backing")):
        model = KernelModel(sc, DESIGNS[design], (prop,))
        one, two = check(model), check(model, workers=2)
        assert answer(two) == answer(one)
        if one.verdict is Verdict.HOLDS:
            assert counts(two) == counts(one)
    assert one.verdict is Verdict.HOLDS and one.stats.distinct > 1000


def test_a_state_limit_makes_the_run_incomplete() -> None:
    r = check(WholeSpace(3, 2), workers=2, limits=Limits(max_states=5_000))
    assert r.verdict is Verdict.INCOMPLETE and "max-states" in r.bound
    r = check(WholeSpace(3, 2), workers=2, limits=Limits(max_depth=5))
    assert r.verdict is Verdict.INCOMPLETE and "max-depth" in r.bound
    assert r.stats.depth == 5


def test_max_seconds_stops_the_level_in_progress_and_counts_only_finished_levels() -> None:
    """The deadline is checked by the workers between chunks, not only between levels: a
    deadline already past when the first level starts stops it at once, and the result holds
    the initial state alone (the run without the limit explores all 46,953 states)."""
    r = check(WholeSpace(3, 2), workers=2, limits=Limits(max_seconds=1e-9))
    assert r.verdict is Verdict.INCOMPLETE and "max-seconds" in r.bound
    assert (r.stats.distinct, r.stats.depth) == (1, 0)
    assert check(WholeSpace(3, 2), workers=2).stats.distinct == 46_953


class Explodes(Model[int]):
    """Raises in ``successors`` at depth 3: the report must be the single-process one."""

    name = "explodes"

    def init_states(self) -> list[int]:
        return [0]

    def successors(self, s: int) -> Iterator[tuple[Label, int]]:
        if s == 3:
            raise RuntimeError("boom")
        yield Label("P", "step"), s + 1


def test_a_model_that_raises_is_reported_as_one_process_reports_it() -> None:
    one, two = check(Explodes()), check(Explodes(), workers=2)
    assert two.verdict is Verdict.ERROR
    assert (two.message, two.trace.labels()) == (one.message, one.trace.labels())


class Unpicklable(tuple):
    def __reduce_ex__(self, protocol: object) -> object:
        raise TypeError("this state cannot be pickled")


class Grid(Model[tuple]):
    """A 40 x 40 grid whose states past column 5 cannot be pickled: the first surplus handed
    from one worker to another fails to pickle."""

    name = "grid"

    def init_states(self) -> list[tuple]:
        return [(0, 0)]

    def successors(self, s: tuple) -> Iterator[tuple[Label, tuple]]:
        x, y = s
        make = Unpicklable if x > 5 else tuple
        if x < 40:
            yield Label("X", "right"), make((x + 1, y))
        if y < 40:
            yield Label("Y", "up"), make((x, y + 1))


def test_a_worker_that_cannot_hand_over_states_makes_the_run_fall_back() -> None:
    one, two = check(Grid()), check(Grid(), workers=2)  # no worker is left waiting for a batch
    assert "parallel: 2 worker processes" not in two.notes
    assert answer(two) == answer(one) and counts(two) == counts(one)


def test_unsupported_combinations_are_refused() -> None:
    for kwargs in ({"exact": True}, {"keep_going": True}, {"bitstate": 2**20},
                   {"strategy": "dfs"}, {"checkpoint": "x"}):
        with pytest.raises(ValueError, match="parallel"):
            check(Peterson(), workers=2, **kwargs)


def test_balance_moves_only_the_surplus() -> None:
    assert balance([10, 0]) == [[0, 5], [0, 0]]
    assert balance([3, 3, 0]) == [[0, 0, 1], [0, 0, 1], [0, 0, 0]]
    assert balance([4, 4]) == [[0, 0], [0, 0]]


@given(st.lists(st.integers(0, 50), min_size=1, max_size=5))
def test_balance_evens_out_every_frontier(counts: list[int]) -> None:
    give = balance(counts)
    n, total = len(counts), sum(counts)
    after = [counts[w] - sum(give[w]) + sum(give[o][w] for o in range(n)) for w in range(n)]
    assert max(after) - min(after) <= 1 and sum(after) == total
    for w in range(n):  # nobody both hands over and receives
        assert not (sum(give[w]) and any(give[o][w] for o in range(n)))


class Fan(Model[int]):
    """0 leads to 1..6; 1 goes on to 7, which breaks the invariant; 4 has no move and is not an
    end: a deadlock at frontier index 3 of level 1, a violation whose parent is index 0."""

    name = "fan"

    def init_states(self) -> list[int]:
        return [0]

    def successors(self, s: int) -> Iterator[tuple[Label, int]]:
        if s == 0:
            for t in range(1, 7):
                yield Label("x", "go", (t,)), t
        elif s == 1:
            yield Label("x", "bad"), 7
        elif s != 4:
            yield Label("x", "stay"), s

    def is_end(self, s: int) -> bool:
        return s != 4

    def invariants(self) -> list[Invariant[int]]:
        return [Invariant("not-7", lambda s: "reached 7" if s == 7 else None)]


@pytest.mark.parametrize(("chunk", "first"), [(2, "not-7"), (8, "deadlock")])
def test_a_deadlock_and_a_violation_in_one_level_come_in_the_chunk_order(
        chunk, first, monkeypatch) -> None:
    """One process expands the frontier ``CHUNK`` states at a time, each chunk's deadlocks
    before its new states' invariants; workers report what it would meet first."""
    monkeypatch.setattr(bfs, "CHUNK", chunk)
    monkeypatch.setattr(parallel, "CHUNK", chunk)  # the workers fork with it
    one = check(Fan())
    assert one.property == first
    for workers in (2, 3):
        assert answer(check(Fan(), workers=workers)) == answer(one)


@pytest.mark.parametrize("prop", ["dirty-has-backing", "mkwrite-before-dirty"])
@pytest.mark.parametrize("reduce", ["local", "por", "por,view,symmetry"])
def test_local_steps_give_the_single_process_counts_and_traces_over_workers(
        prop: str, reduce: str) -> None:
    """``local`` (the disk's transfers taken as soon as a bio is submitted) needs no cycle
    proviso; ``por`` asks the owners its proviso's questions: two workers store what one
    process stores, and report the same counterexample (mkwrite-before-dirty fails on
    linux-6.12) and the same counts of local steps and ample sets."""
    model = KernelModel(SCENARIOS["dio-vs-reclaim"], DESIGNS["linux-6.12"], (prop,))
    plain = check(model, liveness=False)
    one = check(model, liveness=False, reduce=reduce)
    two = check(model, liveness=False, reduce=reduce, workers=2)
    assert answer(two) == answer(one) and (one.verdict, one.property) == (plain.verdict,
                                                                        plain.property)
    note = f"reduction {reduce.split(',')[0]}:"
    local = [n for n in one.notes if n.startswith(note)]
    assert local and local == [n for n in two.notes if n.startswith(note)]
    if one.verdict is Verdict.HOLDS:
        assert counts(two) == counts(one) and one.stats.distinct < plain.stats.distinct
    else:  # re-shortened: the unreduced search's shortest trace
        assert one.trace.labels() == plain.trace.labels()
