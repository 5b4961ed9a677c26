"""Random-simulation counterexamples are shortened to 1-minimal traces that still fail."""

from __future__ import annotations

from gupcheck.classic import BrokenMutex, LostUpdate, Philosophers
from gupcheck.engine import Verdict, check
from gupcheck.engine.minimise import replay_path
from gupcheck.engine.runtime import Context


def _random(model: object, minimise: bool = True, seed: int = 3):
    from gupcheck.engine.simulate import simulate

    return simulate(model, walks=200, seed=seed, minimise=minimise)


def test_the_mutex_walk_shrinks_to_the_shortest_trace() -> None:
    raw = _random(BrokenMutex(), minimise=False)
    small = _random(BrokenMutex())
    assert raw.verdict is small.verdict is Verdict.VIOLATED
    shortest = check(BrokenMutex())
    assert len(small.trace.labels()) == len(shortest.trace.labels()) == 4
    assert len(raw.trace.labels()) >= 4
    assert any("minimised" in n for n in small.notes)


def test_a_lost_update_walk_shrinks_and_no_single_step_can_go() -> None:
    model = LostUpdate(3, 2)
    raw, small = _random(model, minimise=False), _random(LostUpdate(3, 2))
    assert raw.verdict is small.verdict is Verdict.VIOLATED
    assert small.property == raw.property
    labels = small.trace.labels()
    assert len(labels) < len(raw.trace.labels())
    assert len(labels) >= len(check(LostUpdate(3, 2)).trace.labels())
    ctx = Context(LostUpdate(3, 2), exact=True)
    assert replay_path(ctx, 0, labels, small.property) is not None
    for i in range(len(labels)):  # 1-minimal
        assert replay_path(ctx, 0, labels[:i] + labels[i + 1:], small.property) is None


def test_a_deadlock_found_at_random_is_shortened_too() -> None:
    small = _random(Philosophers(3), seed=1)
    assert small.verdict is Verdict.DEADLOCK
    assert len(small.trace.labels()) == len(check(Philosophers(3)).trace.labels())
