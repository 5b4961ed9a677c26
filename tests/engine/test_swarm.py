"""Swarm search: seeded walks with their own action orders, the same answer for any process
count."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gupcheck.classic import LostUpdate, Peterson, Philosophers
from gupcheck.engine import Label, Limits, Model, Verdict, check
from gupcheck.engine.minimise import replay_path
from gupcheck.engine.runtime import Context
from gupcheck.engine.swarm import run_walk

from .test_parallel import answer, counts


class Needle(Model[int]):
    """A bug ``depth`` consecutive ``up`` steps away; every other step goes back to 0.

    A uniformly random walk needs ``2**depth`` tries; a walk whose action order puts ``up``
    first and follows it strongly finds it at once: what swarm's per-walk orders are for.
    """

    name = "needle"

    def __init__(self, depth: int = 14) -> None:
        self.depth = depth

    def init_states(self) -> list[int]:
        return [0]

    def successors(self, s: int) -> Iterator[tuple[Label, int]]:
        yield Label("P", "reset"), 0
        yield Label("P", "up"), s + 1
        yield Label("Q", "noise"), 0

    def invariants(self) -> tuple:
        from gupcheck.engine import Invariant

        return (Invariant("below", lambda s: None if s < self.depth else f"reached {s}"),)


class BreaksLate(Model[int]):
    """``successors`` raises at 5: a swarm run reports the model error with its path."""

    name = "breaks-late"

    def init_states(self) -> list[int]:
        return [0]

    def successors(self, s: int) -> Iterator[tuple[Label, int]]:
        if s == 5:
            raise RuntimeError("boom")
        yield Label("P", "step"), s + 1


def test_the_answer_depends_on_the_seed_only_not_on_the_process_count() -> None:
    model = Needle(10)
    one = check(model, strategy="swarm", walks=400, seed=3, limits=Limits(max_depth=40))
    assert one.verdict is Verdict.VIOLATED
    walk = int(one.notes[1].split()[1].rstrip("'s"))
    assert walk > 0  # not simply the first walk: the batching has to keep it deterministic
    for workers in (2, 3):
        many = check(model, strategy="swarm", walks=400, seed=3, workers=workers,
                     limits=Limits(max_depth=40))
        assert answer(many) == answer(one)
        assert counts(many) == counts(one)
    other = check(model, strategy="swarm", walks=400, seed=4, limits=Limits(max_depth=40))
    assert other.notes[1] != one.notes[1]  # another seed, other walks


def test_more_workers_than_walks_start_one_process_per_walk() -> None:
    """Processes beyond the walks would only idle: 5 walks take 5, whatever is asked, with
    the same answer as one process."""
    model = Needle(10)
    one = check(model, strategy="swarm", walks=5, seed=3, limits=Limits(max_depth=40))
    many = check(model, strategy="swarm", walks=5, seed=3, workers=500,
                 limits=Limits(max_depth=40))
    assert answer(many) == answer(one) and counts(many) == counts(one)


def test_walks_have_their_own_action_orders() -> None:
    ctx = Context(Needle(1000), exact=False)
    runs = [run_walk(ctx, [0], i, 0, 60) for i in range(40)]
    deepest = [max(k for k in range(1000) if ctx.key(k) in set(w.keys)) for w in runs]
    assert len(set(deepest)) > 5  # walks differ in how hard they push "up"
    assert run_walk(ctx, [0], 7, 0, 60).keys == runs[7].keys  # and each is reproducible


def test_swarm_finds_a_needle_that_uniform_random_walks_miss() -> None:
    model, limits = Needle(14), Limits(max_depth=40)
    swarm = check(model, strategy="swarm", walks=200, seed=0, limits=limits)
    rand = check(model, strategy="random", walks=200, seed=0, limits=limits)
    assert swarm.verdict is Verdict.VIOLATED and rand.verdict is Verdict.INCOMPLETE


def test_a_counterexample_is_minimised_and_replays() -> None:
    r = check(Needle(10), strategy="swarm", walks=400, seed=3, limits=Limits(max_depth=40))
    assert "minimised to" in r.notes[1]
    labels = r.trace.labels()
    assert labels == ["P: up"] * 10  # 1-minimal here is the shortest
    ctx = Context(Needle(10), exact=False)
    assert replay_path(ctx, r.trace.init_index, labels, "below") is not None


def test_deadlocks_and_violations_of_classic_models_are_found() -> None:
    r = check(Philosophers(4), strategy="swarm", walks=50, workers=2)
    assert (r.verdict, r.property) == (Verdict.DEADLOCK, "deadlock") and r.waits
    r = check(LostUpdate(2, 2), strategy="swarm", walks=50, workers=2)
    assert (r.verdict, r.property) == (Verdict.VIOLATED, "no-lost-update")
    assert r.strategy == "swarm"


def test_finding_nothing_is_incomplete_never_a_proof() -> None:
    r = check(Peterson(), strategy="swarm", walks=20, workers=2, limits=Limits(max_depth=50))
    assert r.verdict is Verdict.INCOMPLETE and r.bound == "swarm"
    assert "proves nothing" in r.notes[0] and "20 walk(s)" in r.notes[0]
    assert r.stats.distinct == check(Peterson()).stats.distinct  # small: every state seen


def test_a_state_limit_stops_between_batches() -> None:
    r = check(Needle(10**6), strategy="swarm", walks=10_000, limits=Limits(max_states=50,
                                                                           max_depth=100))
    assert r.verdict is Verdict.INCOMPLETE and "max-states" in r.bound


def test_a_model_error_is_reported_with_its_path() -> None:
    r = check(BreaksLate(), strategy="swarm", walks=5, workers=2)
    assert r.verdict is Verdict.ERROR and "boom" in r.message
    assert r.trace is not None and len(r.trace.labels()) == 5


def test_swarm_refuses_bfs_only_options() -> None:
    with pytest.raises(ValueError):
        check(Peterson(), strategy="swarm", bitstate=2**20)
    with pytest.raises(ValueError, match="parallel"):
        check(Peterson(), strategy="random", workers=2)
