"""DFS, random simulation and the limits: same verdicts, honest about what they prove."""

from __future__ import annotations

from gupcheck.classic import BrokenMutex, LostUpdate, Peterson, Philosophers, TicketLock
from gupcheck.engine import Limits, Verdict, check


def test_dfs_reaches_the_same_verdicts_and_counts_as_bfs() -> None:
    for model in (Peterson(), BrokenMutex(), Philosophers(3), Philosophers(3, clock=True),
                  LostUpdate(2, 1)):
        b, d = check(model), check(model, strategy="dfs")
        assert (d.verdict, d.property) == (b.verdict, b.property)
    assert check(Peterson(), strategy="dfs").stats.distinct == 20


def test_dfs_counterexample_replays_and_is_marked_not_shortest() -> None:
    result = check(LostUpdate(2, 2), strategy="dfs")
    assert result.verdict is Verdict.VIOLATED
    assert any("not necessarily a shortest" in n for n in result.notes)
    assert result.trace is not None and result.trace.steps[-1].state[0] != 4


def test_depth_bounded_dfs_that_cuts_paths_is_incomplete_not_holds() -> None:
    result = check(Peterson(), strategy="dfs", limits=Limits(max_depth=3))
    assert result.verdict is Verdict.INCOMPLETE
    assert result.bound == "max-depth (3)"


def test_depth_bounded_dfs_reexplores_states_reached_shallower() -> None:
    # the violation is at depth 4; a deep first visit must not hide it
    result = check(BrokenMutex(), strategy="dfs", limits=Limits(max_depth=4))
    assert result.verdict is Verdict.VIOLATED


def test_random_simulation_finds_bugs_but_never_claims_a_proof() -> None:
    found = check(BrokenMutex(), strategy="random", walks=200, seed=7)
    assert found.verdict is Verdict.VIOLATED
    clean = check(Peterson(), strategy="random", walks=50, seed=7,
                  limits=Limits(max_depth=30))
    assert clean.verdict is Verdict.INCOMPLETE
    assert clean.bound == "simulation"
    assert any("proves nothing" in n for n in clean.notes)


def test_random_simulation_is_reproducible_from_its_seed() -> None:
    a = check(LostUpdate(3, 2), strategy="random", walks=100, seed=3)
    b = check(LostUpdate(3, 2), strategy="random", walks=100, seed=3)
    assert a.trace is not None and b.trace is not None
    assert a.trace.labels() == b.trace.labels()


def test_max_states_ends_the_run_as_incomplete_with_the_counts_so_far() -> None:
    result = check(LostUpdate(3, 3), limits=Limits(max_states=5000))
    assert result.verdict is Verdict.INCOMPLETE
    assert result.bound == "max-states (5,000)"
    assert result.stats.distinct >= 5000 and result.stats.generated > result.stats.distinct


def test_max_depth_in_bfs_is_incomplete_never_a_deadlock() -> None:
    result = check(Peterson(), limits=Limits(max_depth=2))
    assert result.verdict is Verdict.INCOMPLETE
    assert result.bound == "max-depth (2)"


def test_max_seconds_ends_the_run_as_incomplete() -> None:
    result = check(LostUpdate(3, 3), limits=Limits(max_seconds=0.0))
    assert result.verdict is Verdict.INCOMPLETE
    assert result.bound is not None and result.bound.startswith("max-seconds")


def test_a_violation_found_before_a_limit_is_reported() -> None:
    result = check(BrokenMutex(), limits=Limits(max_states=9))
    assert result.verdict is Verdict.VIOLATED


def test_a_limit_is_never_reported_as_liveness_success() -> None:
    result = check(TicketLock(fair_release=False), limits=Limits(max_states=10))
    assert result.verdict is Verdict.INCOMPLETE


def test_same_model_gives_the_same_counts_and_trace_every_run() -> None:
    runs = [check(LostUpdate(3, 2)) for _ in range(2)]
    assert runs[0].stats.distinct == runs[1].stats.distinct
    assert runs[0].stats.generated == runs[1].stats.generated
    assert runs[0].trace is not None and runs[1].trace is not None
    assert runs[0].trace.labels() == runs[1].trace.labels()


def test_coverage_counts_every_action_and_lists_unfired_ones() -> None:
    result = check(Peterson())
    assert set(result.coverage) == {f"P{i}: {s}" for i in (0, 1) for s in (
        "flag[i] = 1", "turn = j", "await flag[j] == 0 || turn == i", "flag[i] = 0")}
    assert sum(result.coverage.values()) == result.stats.generated - 1  # minus the initial state
    assert result.unfired == ()
