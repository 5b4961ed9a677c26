"""State-space reductions (``check(reduce=...)``) on every classic model: same answers, fewer
states.

A reduction that changed a verdict, lost a violated property, or produced a trace that does not
replay on the unreduced model would make these fail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gupcheck.classic import DEMOS, BrokenMutex, LostUpdate, Peterson, Philosophers
from gupcheck.classic.lost_update import SymmetricLostUpdate
from gupcheck.engine import Invariant, Label, Model, Verdict, check
from gupcheck.engine.reduce import normalise
from gupcheck.engine.replay import confirm, replay

SMALL_DEMOS = [name for name in DEMOS if name != "lost-update-4x2"]  # 5 million states
REDUCTIONS = [("view",), ("symmetry",), ("view", "symmetry"), ("por",), ("por", "symmetry"),
              ("por", "view")]


@pytest.mark.parametrize("reduce", REDUCTIONS, ids="+".join)
@pytest.mark.parametrize("name", SMALL_DEMOS)
def test_reductions_keep_every_classic_verdict(name: str, reduce: tuple[str, ...]) -> None:
    plain = check(DEMOS[name][0]())
    reduced = check(DEMOS[name][0](), reduce=reduce)
    assert (reduced.verdict, reduced.property) == (plain.verdict, plain.property)
    assert reduced.stats.distinct <= plain.stats.distinct
    if plain.trace is not None:
        # view and symmetry are bisimulations, and por's counterexample is re-shortened: the
        # shortest counterexample keeps its length
        assert len(reduced.trace) == len(plain.trace)
    if reduced.verdict in (Verdict.VIOLATED, Verdict.DEADLOCK):
        again = replay(DEMOS[name][0](), reduced.trace.init_index, reduced.trace.labels(),
                       reduced.property)
        assert again.reproduced, again.message
        assert [s.state for s in again.trace.steps] == [s.state for s in reduced.trace.steps]


@pytest.mark.parametrize("make,plain_states,symmetric_states", [
    (Peterson, 20, 10),  # the mirror with turn renamed
    (BrokenMutex, 9, 6),
    (lambda: Philosophers(3), 14, 6),
    (lambda: Philosophers(4), 34, 11),
])
def test_symmetry_reduces_the_symmetric_models(make, plain_states: int,
                                               symmetric_states: int) -> None:
    assert check(make()).stats.distinct == plain_states
    assert check(make(), reduce=("symmetry",)).stats.distinct == symmetric_states


def test_symmetric_lost_update_has_the_same_shortest_counterexample_with_fewer_states() -> None:
    plain = check(SymmetricLostUpdate(3, 2))
    sym = check(SymmetricLostUpdate(3, 2), reduce="symmetry")
    assert sym.verdict is plain.verdict is Verdict.VIOLATED
    assert len(sym.trace) == len(plain.trace)
    assert sym.stats.distinct * 4 < plain.stats.distinct  # 3! orderings, minus fixed points


def test_the_spin_ordered_lost_update_declares_no_symmetry() -> None:
    """SPIN removes process p only after every higher pid: the pids are not interchangeable."""
    result = check(LostUpdate(2, 1), reduce=("symmetry",))
    assert result.stats.distinct == check(LostUpdate(2, 1)).stats.distinct == 91
    assert any("no effect" in n for n in result.notes)


def test_whole_state_space_of_symmetric_lost_update_holds_alike() -> None:
    """A holding run explores everything: the counts are what the reduction saves."""

    class Whole(SymmetricLostUpdate):
        def invariants(self) -> tuple:
            return ()

    plain, sym = check(Whole(3, 1)), check(Whole(3, 1), reduce="symmetry")
    assert plain.verdict is sym.verdict is Verdict.HOLDS
    assert sym.stats.distinct < plain.stats.distinct


class _GhostCounter(Model[tuple[int, int, int]]):
    """Two processes step a shared counter to 3; a ghost field records who stepped in which
    order (nobody reads it), so without the view every interleaving is a state of its own."""

    name = "ghost-counter"

    def init_states(self) -> list[tuple[int, int, int]]:
        return [(0, 0, 0)]  # (counter, P0's steps, ghost: the history as bits, 1 = P1)

    def successors(self, s: tuple[int, int, int]) -> Iterator[tuple[Label, tuple[int, int, int]]]:
        counter, mine, ghost = s
        if counter < 3:
            yield Label("P0", "inc"), (counter + 1, mine + 1, ghost * 2)
            yield Label("P1", "inc"), (counter + 1, mine, ghost * 2 + 1)

    def is_end(self, s: tuple[int, int, int]) -> bool:
        return s[0] == 3

    def invariants(self) -> list[Invariant[tuple[int, int, int]]]:
        return [Invariant("p0-not-all", lambda s: "P0 did all" if s[1] == 3 else None)]

    def view(self, s: tuple[int, int, int]) -> tuple[int, int]:
        return s[0], s[1]


def test_view_is_used_only_when_asked_for() -> None:
    plain = check(_GhostCounter())
    viewed = check(_GhostCounter(), reduce=["view"])
    assert (plain.verdict, viewed.verdict) == (Verdict.VIOLATED, Verdict.VIOLATED)
    assert viewed.stats.distinct < plain.stats.distinct
    assert viewed.trace.steps[-1].state == (3, 3, 0)  # the concrete state, ghost included
    assert any("reduction view" in n for n in viewed.notes)


def test_unknown_or_unsupported_reductions_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown reduction"):
        check(Peterson(), reduce=("speed",))
    with pytest.raises(ValueError, match="random simulation"):
        check(Peterson(), strategy="random", reduce="view")
    assert normalise("view, symmetry") == {"view", "symmetry"}
    assert normalise(None) == frozenset()
    assert normalise("por-check") == {"por", "por-check"}
    assert normalise("por,view") == {"por", "view"}


def test_dfs_with_symmetry_finds_the_deadlock() -> None:
    result = check(Philosophers(4), strategy="dfs", reduce="symmetry")
    assert result.verdict is Verdict.DEADLOCK
    assert replay(Philosophers(4), 0, result.trace.labels(), "deadlock").reproduced


def test_a_counterexample_that_does_not_replay_becomes_an_error() -> None:
    """The safety net: confirm() replays a reduced search's trace on the concrete model."""
    real = check(BrokenMutex())
    steps = real.trace.steps[:-1]  # one step short: the property still holds there
    fake = real.__class__(**{**{f: getattr(real, f) for f in real.__dataclass_fields__},
                            "trace": real.trace.__class__(0, steps)})
    out = confirm(BrokenMutex(), fake)
    assert out.verdict is Verdict.ERROR and "unsound" in out.message
    assert confirm(BrokenMutex(), real).verdict is Verdict.VIOLATED


def test_keep_going_findings_are_confirmed_one_by_one() -> None:
    result = check(Philosophers(3), keep_going=True, reduce="symmetry")
    plain = check(Philosophers(3), keep_going=True)
    assert [f.property for f in result.findings] == [f.property for f in plain.findings]
    assert all(f.trace is not None for f in result.findings)
