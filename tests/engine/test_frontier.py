"""The BFS frontier kept encoded beyond a memory budget (``Limits.frontier_memory_bytes``):
the states come back equal and of the same classes, and a search gives the same verdict,
counts, coverage and traces whether its levels stay live, are encoded, or spill to disk."""

from __future__ import annotations

import msgspec
import pytest

from gupcheck.classic import LostUpdate, Peterson, Philosophers
from gupcheck.engine import Label, Limits, Model, Result, Verdict, bfs, check
from gupcheck.engine.frontier import Frontier, deep_size

from .test_por import Whole


class Part(msgspec.Struct, frozen=True):
    name: str
    tags: frozenset[str]
    data: tuple[int, ...]


def _states(n: int) -> list[tuple]:
    shared = Part("shared", frozenset({"a", "b"}), (1, 2, 3))
    return [(i, shared, Part(f"p{i}", frozenset({str(i)}), (i, -i)), None, 2.5, b"x")
            for i in range(n)]


@pytest.mark.parametrize("budget", [0, 20_000, None], ids=["spilled", "encoded", "live"])
def test_a_frontier_gives_back_equal_states_of_the_same_classes(budget: int | None) -> None:
    states = _states(1_000)
    f = Frontier(64, budget)
    f.extend(states[:10])
    f.extend(states[10:])
    assert len(f) == 1_000
    back = list(f)
    assert back == states
    assert [type(p) for s in back for p in s] == [type(p) for s in states for p in s]
    assert f.chunk(128) == states[128:192]
    assert f.chunk(960) == states[960:]  # the partial last block
    assert (f.spilled_bytes > 0) == (budget == 0)
    before = f.nbytes
    f.release(0)  # dropped only if encoded in memory
    assert f.held == (1_000 - 64 if budget == 20_000 else 1_000)
    assert (f.nbytes < before) == (budget == 20_000)
    f.close()


def test_a_live_frontier_is_not_encoded_and_an_encoded_one_is_smaller() -> None:
    states = _states(4_096)
    live, packed = Frontier(256, None), Frontier(256, 1)
    live.extend(states)
    packed.extend(states)
    assert live.chunk(0) is live._blocks[0]  # the same list: nothing decoded
    assert packed.nbytes < live.nbytes
    assert live.nbytes == int(4_096 * live.tally.state_bytes)
    packed.close()


def test_deep_size_counts_a_shared_part_once() -> None:
    part = tuple(range(300, 400))
    one, two = deep_size([(part,)]), deep_size([(part,), (part,)])
    assert 0 < two - one < deep_size([part])


def outcome(r: Result) -> tuple:
    return (r.verdict, r.property, r.message, r.stats.distinct, r.stats.generated,
            r.stats.depth, r.trace.labels() if r.trace else None, r.coverage,
            [(f.property, f.trace.labels() if f.trace else None) for f in r.findings])


def _kernel():
    from gupcheck.designs import DESIGNS
    from gupcheck.kernel.system import KernelModel
    from gupcheck.scenarios import SCENARIOS
    return KernelModel(SCENARIOS["dio-vs-reclaim"], DESIGNS["linux-6.1"])


@pytest.mark.parametrize("make,kwargs", [
    (lambda: LostUpdate(3, 2), {}),
    (lambda: Whole(3, 2), {}),
    (lambda: Whole(3, 2), {"reduce": "por"}),
    (lambda: Philosophers(4), {}),
    (lambda: Peterson(), {"exact": True}),
    (_kernel, {"keep_going": True, "liveness": False}),
], ids=["lost-update", "whole", "whole-por", "philosophers", "peterson-exact", "kernel"])
@pytest.mark.parametrize("budget", [0, 50_000], ids=["spilled", "encoded"])
def test_an_encoded_frontier_changes_no_answer(make, kwargs, budget, monkeypatch) -> None:
    monkeypatch.setattr(bfs, "CHUNK", 4)  # small blocks, so that small models fill some
    plain = check(make(), **kwargs)
    packed = check(make(), limits=Limits(frontier_memory_bytes=budget), **kwargs)
    assert outcome(packed) == outcome(plain)
    assert not any(n.startswith("frontier:") for n in plain.notes)
    if budget == 0:  # every full block encoded and spilled
        notes = [n for n in packed.notes if n.startswith("frontier:")]
        assert len(notes) == 1 and "temporary file" in notes[0]


def test_the_frontier_peak_is_reported() -> None:
    live = check(Whole(3, 2)).stats
    packed = check(Whole(3, 2), limits=Limits(frontier_memory_bytes=0)).stats
    assert live.frontier_states == packed.frontier_states > 2_048
    assert 0 < packed.frontier_bytes < live.frontier_bytes


def test_an_encoded_frontier_resumes_from_a_checkpoint(tmp_path) -> None:
    full = check(Whole(3, 2))
    path = tmp_path / "run.ckpt"
    first = check(Whole(3, 2), checkpoint=path,
                  limits=Limits(max_states=20_000, frontier_memory_bytes=0))
    assert first.verdict is Verdict.INCOMPLETE
    resumed = check(Whole(3, 2), resume=path, limits=Limits(frontier_memory_bytes=0))
    assert outcome(resumed) == outcome(full)


def test_a_memory_limit_lowers_the_frontier_budget() -> None:
    """With ``max_memory`` and no frontier budget, a quarter of it goes to the frontier; an
    explicit budget wins; without either, 1 GiB."""
    search = bfs.BfsSearch.__new__(bfs.BfsSearch)
    for limits, budget in [(Limits(max_memory_bytes=80_000), 20_000),
                           (Limits(max_memory_bytes=80_000, frontier_memory_bytes=7), 7),
                           (Limits(max_memory_bytes=1 << 40), 1 << 30), (Limits(), 1 << 30)]:
        search.limits = limits
        assert search._budget() == budget


def test_states_that_cannot_be_pickled_stay_live_and_say_so(monkeypatch) -> None:
    """A state class defined inside a function cannot be pickled: past the budget its blocks
    stay live, the answer is the same, and a note says why."""
    monkeypatch.setattr(bfs, "CHUNK", 4)

    class Local(tuple):  # not importable by name: pickle refuses it
        pass

    class Counter(Model[Local]):
        name = "local-states"

        def init_states(self) -> list[Local]:
            return [Local((0, 0))]

        def successors(self, s: Local):  # level d: the states with a + b = d
            if s[0] < 30:
                yield Label("P", "a++"), Local((s[0] + 1, s[1]))
            if s[1] < 30:
                yield Label("Q", "b++"), Local((s[0], s[1] + 1))

        def is_end(self, s: Local) -> bool:
            return s == (30, 30)

    plain = check(Counter())
    packed = check(Counter(), limits=Limits(frontier_memory_bytes=0))
    assert outcome(packed) == outcome(plain)
    assert any("cannot be pickled" in n for n in packed.notes)


def test_a_frontier_that_cannot_spill_keeps_its_blocks_in_memory(monkeypatch) -> None:
    import tempfile

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", full_disk)
    f = Frontier(64, 0)
    states = _states(300)
    f.extend(states)
    assert list(f) == states and f.spilled_bytes == 0
    assert f.tally.unwritable == "No space left on device"
