"""Partial-order reduction (``reduce="por"``): same verdicts, shortest traces after re-shortening,
fewer states where the footprints allow, and ``por-check`` catching wrong declarations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import pytest

from gupcheck.classic import LostUpdate, Peterson
from gupcheck.classic.lost_update import END, LOAD, STORE, StayingLostUpdate, SymmetricLostUpdate
from gupcheck.engine import Invariant, Label, Limits, Model, Verdict, Wait, check
from gupcheck.engine.fingerprint import fingerprint
from gupcheck.engine.por import PartialOrder


class Whole(LostUpdate):
    """No property: every step is invisible, the reduction is at its strongest."""

    def invariants(self) -> list[Invariant[tuple[int, ...]]]:
        return []


class WholeAnyExit(SymmetricLostUpdate):
    def invariants(self) -> list[Invariant[tuple[int, ...]]]:
        return []


class FinalCounter(LostUpdate):
    """``counter != value`` once every process has finished: one property per final value."""

    def __init__(self, processes: int, increments: int, value: int) -> None:
        super().__init__(processes, increments)
        self.value = value

    def invariants(self) -> list[Invariant[tuple[int, ...]]]:
        def final(s: tuple[int, ...]) -> str | None:
            done = min(s[1::3]) >= END
            return f"counter = {self.value}" if done and s[0] == self.value else None

        return [Invariant("final-counter", final, reads=self._reads)]


class FinalCounterStay(StayingLostUpdate):
    """The same, on the symmetric model whose finished processes stay (SPIN can write it)."""

    def __init__(self, processes: int, increments: int, value: int) -> None:
        super().__init__(processes, increments)
        self.value = value

    invariants = FinalCounter.invariants


class WholeStay(StayingLostUpdate):
    def invariants(self) -> list[Invariant[tuple[int, ...]]]:
        return []


def answer(r) -> tuple:
    return (r.verdict, r.property, r.trace.labels() if r.trace else None)


@pytest.mark.parametrize("n,k", [(2, 1), (2, 2), (3, 1)])
def test_lost_update_keeps_its_shortest_counterexample(n: int, k: int) -> None:
    plain, por = check(LostUpdate(n, k)), check(LostUpdate(n, k), reduce="por")
    assert answer(por) == answer(plain)
    assert any("re-shortened" in note for note in por.notes)


@pytest.mark.parametrize("n,k", [(2, 2), (3, 1), (3, 2)])
def test_every_final_counter_is_found_or_refuted_as_without_it(n: int, k: int) -> None:
    """Each value the counter can end with is reached with the reduction too, and no other:
    the reduction keeps what the visible objects can show."""
    for value in range(n * k + 2):
        plain = check(FinalCounter(n, k, value))
        por = check(FinalCounter(n, k, value), reduce="por")
        assert (por.verdict, len(por.trace) if por.trace else None) == (
            plain.verdict, len(plain.trace) if plain.trace else None), value


@pytest.mark.parametrize("model", [Whole(3, 2), Whole(4, 1), WholeAnyExit(3, 1)],
                         ids=lambda m: m.name)
def test_the_whole_space_shrinks_and_keeps_every_end(model: LostUpdate) -> None:
    plain, por = check(model), check(model, reduce="por")
    assert (por.verdict, por.property) == (plain.verdict, plain.property)
    assert por.stats.distinct < plain.stats.distinct
    note = next(n for n in por.notes if n.startswith("reduction por:"))
    assert "ample set" in note


def test_whole_lost_update_3x2_explores_the_counted_states() -> None:
    """A regression figure (benchmarks/reductions.py prints it): 46,953 states without the
    reduction, 6,768 with it (6,787 while the first qualifying actor in actor order formed
    the ample set, 8,490 while every running process's footprint kept ``counter`` and
    ``pids`` to its end)."""
    assert check(Whole(3, 2)).stats.distinct == 46_953
    assert check(Whole(3, 2), reduce="por").stats.distinct == 6_768


@pytest.mark.parametrize("n,k,spin", [(2, 2, 226), (3, 1, 289), (4, 1, 2_557), (3, 2, 6_768),
                                      (3, 3, 70_530)])
def test_por_stores_exactly_spins_states(n: int, k: int, spin: int) -> None:
    """SPIN 6.5.2's partial-order reduction alone (``spin -o1 -o3``, ``pan`` without
    ``-DNOREDUCE``, DFS) stores ``spin`` states of ``benchmarks/promela/lost_update.pml``
    (measured with benchmarks/spin_runner.py).  Taking, among the actors whose steps qualify
    as an ample set, one whose steps touch no shared object first, as SPIN reduces only on
    statements without global references, stores the same states (at 4x2: 290,216, see
    docs/scaling.md); taking the first in actor order stored 290 at 3x1 and 2,625 at 4x1."""
    assert check(Whole(n, k), reduce="por").stats.distinct == spin


def test_the_shared_objects_are_those_several_actors_name_initially() -> None:
    """What orders the ample candidates: the counter every process reads and writes, not a
    process's own ``done`` flag nor the pid list only the highest live process may touch."""
    model = Whole(3, 1)
    por = PartialOrder(model, [], has_waits=False, key=fingerprint, stored=lambda _: False,
                       check=False, inits=model.init_states)
    assert por.shared_objects() == {"counter"}


def test_por_check_accepts_the_declared_footprints() -> None:
    for model in (LostUpdate(3, 1), SymmetricLostUpdate(2, 2), Whole(3, 1), Whole(3, 2),
                  WholeStay(2, 2)):
        assert check(model, reduce="por-check").verdict is not Verdict.ERROR


def forget_footprint(model: LostUpdate, pc: int) -> LostUpdate:
    """``model`` with the step at ``pc`` declaring no reads or writes in every process."""
    for p in range(model.n):
        lab = model._labels[p, pc]
        model._labels[p, pc] = Label(lab.actor, lab.action)
    return model


def undeclared_read() -> LostUpdate:
    """``tmp = counter`` claims to read nothing: it looks independent of the other stores."""
    return forget_footprint(Whole(2, 1), LOAD)


def undeclared_write() -> LostUpdate:
    """``counter = tmp`` claims to write nothing (nor may any future step)."""
    model = forget_footprint(Whole(2, 1), STORE)
    model._future = [(f[0], frozenset()) for f in model._future]
    return model


@pytest.mark.parametrize("model,words", [(undeclared_read(), "do not commute"),
                                         (undeclared_write(), "changes counter")],
                         ids=["read", "write"])
def test_por_check_catches_an_undeclared_footprint(model: LostUpdate, words: str) -> None:
    r = check(model, reduce="por-check")
    assert r.verdict is Verdict.ERROR and "por-check" in r.message and words in r.message


def test_an_undeclared_read_changes_the_answer_without_the_check() -> None:
    """Why the check exists: with a load declared as reading nothing, the reduction wrongly
    concludes that some final counter values cannot happen."""
    plain = {check(FinalCounter(2, 1, v)).verdict for v in (1, 2)}
    assert plain == {Verdict.VIOLATED}
    wrong = {check(forget_footprint(FinalCounter(2, 1, v), LOAD), reduce="por").verdict
             for v in (1, 2)}
    assert wrong != plain


def test_a_model_without_footprints_is_searched_unreduced() -> None:
    plain, por = check(Peterson()), check(Peterson(), reduce="por")
    assert por.stats.distinct == plain.stats.distinct
    assert "reduction por: no effect, the model declares no footprints()" in por.notes


class Cycle(Model[tuple[int, int]]):
    """Two counters mod 3 with disjoint footprints: every state lies on a cycle, so the
    cycle proviso must expand some states fully or the other counter's values are lost."""

    name = "two-cycles"
    _a = Label("A", "a++", writes=frozenset({"a"}))
    _b = Label("B", "b++", writes=frozenset({"b"}))

    def init_states(self) -> list[tuple[int, int]]:
        return [(0, 0)]

    def successors(self, s: tuple[int, int]) -> Iterator[tuple[Label, tuple[int, int]]]:
        yield self._a, ((s[0] + 1) % 3, s[1])
        yield self._b, (s[0], (s[1] + 1) % 3)

    def footprints(self, s: tuple[int, int]) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
        return {"A": (frozenset(), frozenset({"a"})), "B": (frozenset(), frozenset({"b"}))}

    def invariants(self) -> list[Invariant[tuple[int, int]]]:
        return [Invariant("b-below-2", lambda s: "b = 2" if s[1] == 2 else None,
                          reads=frozenset({"b"}))]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_the_cycle_proviso_keeps_a_postponed_actor_alive(workers: int) -> None:
    """``a++`` is always ample (independent, invisible); without the proviso the search would
    cycle through ``a`` forever and never take ``b++``.  Over workers the proviso's question
    goes to the owner of each successor's fingerprint."""
    r = check(Cycle(), reduce="por", workers=workers)
    assert r.verdict is Verdict.VIOLATED and r.trace.labels() == ["B: b++", "B: b++"]


def test_por_refuses_the_searches_it_does_not_support() -> None:
    with pytest.raises(ValueError, match="bfs strategy"):
        check(Whole(2, 1), reduce="por", strategy="dfs")
    with pytest.raises(ValueError, match="without keep_going"):
        check(Whole(2, 1), reduce="por", keep_going=True)
    with pytest.raises(ValueError, match="por-check verifies the model's footprints in one"):
        check(Whole(2, 1), reduce="por-check", workers=2)


@pytest.mark.parametrize("model", [Whole(3, 2), WholeStay(3, 2), WholeAnyExit(3, 1)],
                         ids=lambda m: m.name)
@pytest.mark.parametrize("reduce", ["por", "por,symmetry"])
def test_workers_store_what_one_process_stores(model: LostUpdate, reduce: str) -> None:
    """The cycle proviso over workers gets the answers one process would give itself, so the
    same ample sets are chosen: the same states, transitions, coverage and counts of ample
    sets, for any number of workers."""
    def seen(workers: int) -> tuple:
        r = check(model, reduce=reduce, workers=workers)
        return (r.verdict, r.stats.distinct, r.stats.generated, r.coverage,
                [n for n in r.notes if n.startswith("reduction por")])

    one = seen(1)
    assert one[1] < check(model).stats.distinct
    assert seen(2) == one and seen(3) == one


# --- combined with symmetry -------------------------------------------------------------------

@pytest.mark.parametrize("n,k", [(2, 2), (3, 1), (3, 2)])
def test_with_symmetry_every_final_counter_is_found_or_refuted_as_without_either(
        n: int, k: int) -> None:
    """Ample sets chosen at concrete states, the proviso on canonical keys: the same reachable
    final values with the same shortest traces (re-shortened under symmetry alone)."""
    for value in range(n * k + 2):
        plain = check(FinalCounterStay(n, k, value))
        both = check(FinalCounterStay(n, k, value), reduce=("por", "symmetry"))
        assert (both.verdict, len(both.trace) if both.trace else None) == (
            plain.verdict, len(plain.trace) if plain.trace else None), value


def test_symmetry_and_por_together_store_fewer_states_than_either() -> None:
    counts = {red: check(WholeStay(3, 2), reduce=red).stats.distinct
              for red in ((), ("symmetry",), ("por",), ("por", "symmetry"))}
    assert counts[()] == 42_595  # SPIN's "states, stored" for lost_update_stay.pml, N=3 K=2
    assert counts[("por", "symmetry")] < min(counts[("symmetry",)], counts[("por",)])
    assert counts[("symmetry",)] < counts[()] and counts[("por",)] < counts[()]


def test_symmetry_and_por_report_the_lost_update_with_a_concrete_shortest_trace() -> None:
    plain = check(SymmetricLostUpdate(3, 2))
    both = check(SymmetricLostUpdate(3, 2), reduce="por,symmetry")
    assert answer(both) == answer(plain)
    assert any("re-shortened" in n for n in both.notes)
    assert any("reduction symmetry" in n for n in both.notes)


class LocksAndCounter(Model[tuple[int, int, int, int, int]]):
    """A and B take locks x and y in opposite orders (an ABBA deadlock) while C counts to 3 on
    its own.  State: (A's pc, B's pc, x's holder, y's holder, C's count); holders 0 free,
    1 A, 2 B.  The model reports waits, so partial-order reduction needs ``waits_reads``."""

    name = "abba-and-a-counter"
    ORDER: ClassVar[dict[str, tuple[str, str]]] = {"A": ("x", "y"), "B": ("y", "x")}

    def init_states(self) -> list[tuple[int, int, int, int, int]]:
        return [(0, 0, 0, 0, 0)]

    def successors(self, s: tuple[int, int, int, int, int]) -> Iterator[tuple[Label, tuple]]:
        locks = {"x": s[2], "y": s[3]}
        for who, me in (("A", 1), ("B", 2)):
            pc = s[me - 1]
            if pc < 2 and locks[self.ORDER[who][pc]] == 0:
                lock = self.ORDER[who][pc]
                nxt = list(s)
                nxt[me - 1] = pc + 1
                nxt[2 if lock == "x" else 3] = me
                yield Label(who, f"lock {lock}", reads=frozenset({lock}),
                            writes=frozenset({lock})), tuple(nxt)
        if s[4] < 3:
            yield Label("C", "count"), (*s[:4], s[4] + 1)

    def waits(self, s: tuple[int, int, int, int, int]) -> Iterator[Wait]:
        locks = {"x": s[2], "y": s[3]}
        for who, me in (("A", 1), ("B", 2)):
            pc = s[me - 1]
            if pc < 2 and locks[self.ORDER[who][pc]] not in (0, me):
                yield Wait(who, self.ORDER[who][pc], ("AB"[locks[self.ORDER[who][pc]] - 1],))

    def is_end(self, s: tuple[int, int, int, int, int]) -> bool:
        return s[0] == 2 and s[1] == 2 and s[4] == 3

    def footprints(self, s: tuple) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
        both = frozenset({"x", "y"})
        return {"A": (both, both), "B": (both, both), "C": (frozenset(), frozenset())}


class LocksAndCounterWaitsRead(LocksAndCounter):
    waits_reads = frozenset({"x", "y"})


class SameOrder(LocksAndCounterWaitsRead):
    """Both take x then y: they wait for each other's locks but never in a cycle."""

    ORDER: ClassVar[dict[str, tuple[str, str]]] = {"A": ("x", "y"), "B": ("x", "y")}

    def successors(self, s: tuple[int, int, int, int, int]) -> Iterator[tuple[Label, tuple]]:
        yield from super().successors(s)
        for who, me in (("A", 1), ("B", 2)):  # both locks held: release them, done
            if s[me - 1] == 2 and s[2] == s[3] == me:
                yield Label(who, "unlock", reads=frozenset({"x", "y"}),
                            writes=frozenset({"x", "y"})), \
                    (*(3 if j == me - 1 else s[j] for j in range(2)), 0, 0, s[4])

    def is_end(self, s: tuple[int, int, int, int, int]) -> bool:
        return s[0] == 3 and s[1] == 3 and s[4] == 3


def test_waits_without_their_reads_switch_the_reduction_off() -> None:
    plain, por = check(LocksAndCounter()), check(LocksAndCounter(), reduce="por")
    assert por.stats.distinct == plain.stats.distinct
    assert any("reports waits" in n for n in por.notes)


def test_waits_with_their_reads_keep_the_wait_for_cycle() -> None:
    plain = check(LocksAndCounterWaitsRead())
    por = check(LocksAndCounterWaitsRead(), reduce="por")
    assert plain.verdict is Verdict.DEADLOCK and plain.property == "wait-for-cycle"
    assert answer(por) == answer(plain)


def test_waits_with_their_reads_let_the_independent_counter_be_reduced() -> None:
    plain, por = check(SameOrder()), check(SameOrder(), reduce="por")
    assert plain.verdict is Verdict.HOLDS and por.verdict is Verdict.HOLDS
    assert por.stats.distinct < plain.stats.distinct


class Graph(Model[str]):
    """A small explicit graph: ``edges[state]`` lists ``(actor, target)``; actor ``C`` is
    local (empty footprint), ``A`` and ``B`` both write ``x``, ``D`` writes ``y``, which the
    property ``no-y`` reads (when ``visible_y``)."""

    name = "graph"
    _writes: ClassVar[dict[str, frozenset[str]]] = {
        "A": frozenset({"x"}), "B": frozenset({"x"}), "C": frozenset(), "D": frozenset({"y"})}

    def __init__(self, edges: dict[str, list[tuple[str, str]]], ends: set[str],
                 visible_y: bool = False) -> None:
        self.edges, self.ends, self.visible_y = edges, ends, visible_y

    def init_states(self) -> list[str]:
        return ["init"]

    def successors(self, s: str) -> Iterator[tuple[Label, str]]:
        for actor, t in self.edges.get(s, []):
            yield Label(actor, f"to {t}", writes=self._writes[actor]), t

    def footprints(self, s: str) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
        return {a: (frozenset(), w) for a, w in self._writes.items()}

    def is_end(self, s: str) -> bool:
        return s in self.ends

    def invariants(self) -> list[Invariant[str]]:
        if not self.visible_y:
            return []
        return [Invariant("no-y", lambda s: "y set" if s in ("u", "w") else None,
                          reads=frozenset({"y"}))]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_an_ample_step_to_a_later_state_of_the_same_level_needs_no_full_expansion(
        workers: int) -> None:
    """``s`` and ``t`` are both level 1, ``t`` after ``s``; the local step ``s -> t`` leads
    to a state not yet expanded, so no cycle can close through it and ``s`` keeps its ample
    set (the depth-only proviso expanded ``s`` fully and stored ``u`` too)."""
    edges = {"init": [("A", "s"), ("B", "t")], "s": [("C", "t"), ("D", "u")],
             "t": [("D", "v")], "u": [("C", "v")]}
    model = Graph(edges, ends={"v"})
    assert check(model).stats.distinct == 5
    assert check(model, reduce="por", workers=workers).stats.distinct == 4  # init, s, t, v


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_a_cycle_within_one_level_is_still_broken_by_a_full_expansion(workers: int) -> None:
    """``s <-> t`` by local steps, both in level 1: the step from ``t`` back to ``s`` goes to
    an earlier state of the level, so ``t`` is expanded fully and ``D`` (visible) is taken."""
    edges = {"init": [("A", "s"), ("B", "t")], "s": [("C", "t"), ("D", "u")],
             "t": [("C", "s"), ("D", "w")], "u": [("C", "w")], "w": [("C", "u")]}
    model = Graph(edges, ends=set(), visible_y=True)
    plain, por = check(model), check(model, reduce="por", workers=workers)
    assert (por.verdict, por.property) == (plain.verdict, plain.property) == (
        Verdict.VIOLATED, "no-y")


@pytest.mark.parametrize("model", [Whole(3, 2), WholeAnyExit(3, 1), WholeStay(3, 2)],
                         ids=lambda m: m.name)
def test_por_reaches_the_same_end_states_as_the_unreduced_search(model: LostUpdate) -> None:
    """Every lost-update variant: the ends (every process finished) the reduced search reaches
    are exactly the unreduced search's, so any property of the final counter gets the same
    verdict either way."""
    def ends(reduce: str | None) -> set[int]:
        found: set[int] = set()

        class Ends(type(model)):  # type: ignore[misc,valid-type]
            def invariants(self) -> list[Invariant[tuple[int, ...]]]:
                def record(s: tuple[int, ...]) -> None:
                    if min(s[1::3]) >= END:
                        found.add(s[0])
                return [Invariant("record", record, reads=self._reads)]

        check(Ends(model.n, model.k), reduce=reduce)
        return found

    assert ends("por") == ends(None)


# --- local steps taken at once -------------------------------------------------------------------

AT_ONCE = "taken at once on the transitions generated (the states between them not stored): "


class LocalCounter(Model[tuple[int, int]]):
    """Actor ``C`` counts ``c`` from 0 to 2 by local steps (no footprint), which it offers as
    ``local_steps``; actor ``D`` sets ``y`` once, which the property ``no-y`` reads.  State
    ``(c, y)``."""

    name = "local-counter"

    def init_states(self) -> list[tuple[int, int]]:
        return [(0, 0)]

    def _count(self, s: tuple[int, int]) -> list[tuple[Label, tuple[int, int]]]:
        c, y = s
        return [(Label("C", f"c = {c + 1}"), (c + 1, y))] if c < 2 else []

    def successors(self, s: tuple[int, int]) -> list[tuple[Label, tuple[int, int]]]:
        out = self._count(s)
        if not s[1]:
            out.append((Label("D", "set y", reads=frozenset({"y"}), writes=frozenset({"y"})),
                        (s[0], 1)))
        return out

    def local_steps(self, s: tuple[int, int]) -> list[tuple[Label, tuple[int, int]]]:
        return self._count(s)

    def footprints(self, s: tuple[int, int]) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
        return {"C": (frozenset(), frozenset()), "D": (frozenset({"y"}), frozenset({"y"}))}

    def fields(self, s: tuple[int, int]) -> dict[str, int]:
        return {"C": s[0], "y": s[1]}

    def is_end(self, s: tuple[int, int]) -> bool:
        return s == (2, 1)

    def invariants(self) -> list[Invariant[tuple[int, int]]]:
        return [Invariant("no-y", lambda s: "y set" if s[1] else None, reads=frozenset({"y"}))]


def test_local_steps_are_taken_at_once_and_shown_in_the_trace() -> None:
    """At (0, 0) ``C`` alone is expanded (an ample set) and runs on to 2 at once: only
    (0, 0), (2, 0) and (2, 1) are stored, against all six states without the reduction; the
    counterexample still shows both of ``C``'s steps in order (the search's own trace, before
    check() re-shortens it)."""
    from gupcheck.engine.bfs import bfs

    plain = check(LocalCounter(), keep_going=True)  # the whole space
    por = bfs(LocalCounter(), reduce=frozenset({"por"}), keep_going=True)
    assert plain.verdict is por.verdict is Verdict.VIOLATED and por.property == "no-y"
    assert (por.stats.distinct, plain.stats.distinct) == (3, 6)
    assert por.trace is not None
    assert por.trace.labels() == ["C: c = 1", "C: c = 2", "D: set y"]
    assert [s.state for s in por.trace.steps] == [(0, 0), (1, 0), (2, 0), (2, 1)]
    # one local step taken at once: (1, 0) -> (2, 0)
    assert any(n.endswith(AT_ONCE + "1") for n in por.notes)
    assert check(LocalCounter(), reduce="por").trace.labels() == ["D: set y"]  # re-shortened


class VisibleCounter(LocalCounter):
    """The same with a property that reads ``C``'s count: its steps are visible."""

    def invariants(self) -> list[Invariant[tuple[int, int]]]:
        return [Invariant("c-not-1", lambda s: "c = 1" if s[0] == 1 else None,
                          reads=frozenset({"C"}))]


def test_a_visible_local_step_is_not_taken_at_once() -> None:
    plain, por = check(VisibleCounter()), check(VisibleCounter(), reduce="por")
    assert plain.verdict is por.verdict is Verdict.VIOLATED
    assert (por.property, por.trace.labels()) == (plain.property, plain.trace.labels())
    assert any(n.endswith(AT_ONCE + "0") for n in por.notes)


class ChoosyCounter(LocalCounter):
    """Mutant: ``C`` may also jump from 0 to 2, but ``local_steps`` offers only the step to 1
    as if it were ``C``'s only one."""

    def successors(self, s: tuple[int, int]) -> list[tuple[Label, tuple[int, int]]]:
        out = super().successors(s)
        if s[0] == 0:
            out.insert(1, (Label("C", "c = 2"), (2, s[1])))
        return out


class LeakyCounter(LocalCounter):
    """Mutant: ``C``'s step also sets ``y``, which its empty footprint does not say."""

    def _count(self, s: tuple[int, int]) -> list[tuple[Label, tuple[int, int]]]:
        return [(label, (c, 1)) for label, (c, _) in super()._count(s)]


@pytest.mark.parametrize(("model", "words", "where"),
                         [(ChoosyCounter(), "local_steps() offers", (0, 1)),
                          (LeakyCounter(), "changes y", (0, 0))],
                         ids=["not-the-only-step", "undeclared-write"])
def test_por_check_catches_a_wrong_local_step(model: LocalCounter, words: str,
                                              where: tuple[int, int]) -> None:
    """The error names the wrong declaration and its trace ends in the state where the step
    is offered: a successor's chain (after ``D: set y``) or an ample set's check."""
    r = check(model, reduce="por-check")
    assert r.verdict is Verdict.ERROR and words in (r.message or ""), r.message
    assert r.trace is not None and r.trace.steps[-1].state == where


def test_por_check_accepts_correct_local_steps() -> None:
    """por-check checks each step where the model takes it, not the state its successor's
    chain of local steps ends in: the correct model passes, with por's own answer."""
    por = check(LocalCounter(), reduce="por")
    for reduce in ("por-check", "por-check,view"):
        r = check(LocalCounter(), reduce=reduce)
        assert (r.verdict, r.property, r.trace.labels()) == \
            (por.verdict, por.property, por.trace.labels()), r.message


class Scribblers(Model[tuple[int, int, int]]):
    """``A`` and ``B`` each write their number into ``data`` once and mark themselves done;
    nothing reads ``data``, which the view leaves out and ``unobserved`` names.  State
    ``(a done, b done, data)``; the property reads only who is done."""

    name = "scribblers"

    def __init__(self, unobserved: bool = True) -> None:
        self.data_unobserved = unobserved

    def init_states(self) -> list[tuple[int, int, int]]:
        return [(0, 0, 0)]

    def successors(self, s: tuple[int, int, int]) -> list[tuple[Label, tuple[int, int, int]]]:
        data = frozenset({"data"})
        out = []
        if not s[0]:
            out.append((Label("A", "data = 1", writes=data), (1, s[1], 1)))
        if not s[1]:
            out.append((Label("B", "data = 2", writes=data), (s[0], 1, 2)))
        return out

    def footprints(self, s: tuple[int, int, int]) -> dict[str, tuple[frozenset[str],
                                                                   frozenset[str]]]:
        return {a: (frozenset(), frozenset({"data"})) for a in "AB"}

    def unobserved(self, obj: str) -> bool:
        return self.data_unobserved and obj == "data"

    def view(self, s: tuple[int, int, int]) -> tuple[int, int]:
        return s[:2]

    def fields(self, s: tuple[int, int, int]) -> dict[str, int]:
        return {"A": s[0], "B": s[1], "data": s[2]}

    def is_end(self, s: tuple[int, int, int]) -> bool:
        return s[:2] == (1, 1)

    def invariants(self) -> list[Invariant[tuple[int, int, int]]]:
        return [Invariant("not-a-alone", lambda s: None, reads=frozenset({"A.done"}))]


def test_steps_meeting_only_on_unobserved_values_are_independent() -> None:
    """Two writes of ``data``, which nothing reads: one order is enough (3 states under the
    view instead of 4), and por-check confirms it up to the view, where the writes commute;
    without the view the two orders leave different data and por-check says so."""
    plain = check(Scribblers(), reduce="view")
    por = check(Scribblers(), reduce="por,view")
    observed = check(Scribblers(unobserved=False), reduce="por,view")
    assert (plain.stats.distinct, por.stats.distinct, observed.stats.distinct) == (4, 3, 4)
    assert check(Scribblers(), reduce="por-check,view").verdict is Verdict.HOLDS
    concrete = check(Scribblers(), reduce="por-check")
    assert concrete.verdict is Verdict.ERROR and "do not commute" in (concrete.message or "")


def test_local_alone_takes_the_local_steps_without_ample_sets() -> None:
    """``local``: (0, 0) is expanded fully (no ample set), and each successor's counter runs
    on at once: (0, 0), (2, 0) and (2, 1) stored, as with ``por``, and over two workers."""
    for workers in (1, 2):
        r = check(LocalCounter(), reduce="local", keep_going=False, workers=workers)
        assert r.verdict is Verdict.VIOLATED and r.trace.labels() == ["D: set y"]
    whole = bfs_whole(LocalCounter(), "local")
    assert whole.stats.distinct == 3
    assert any(n == "reduction local: local steps " + AT_ONCE + "3"
               for n in whole.notes)


def bfs_whole(model: Model, reduce: str):
    from gupcheck.engine.bfs import bfs
    from gupcheck.engine.reduce import normalise

    return bfs(model, reduce=normalise(reduce), keep_going=True)


def test_local_refuses_the_searches_it_does_not_support() -> None:
    with pytest.raises(ValueError, match="local steps taken at once run with the bfs"):
        check(LocalCounter(), reduce="local", strategy="dfs")
    with pytest.raises(ValueError, match="without keep_going"):
        check(LocalCounter(), reduce="local", keep_going=True)


def test_local_on_a_model_without_local_steps_says_it_had_no_effect() -> None:
    r = check(Whole(2, 1), reduce="local")
    assert any(n.startswith("reduction local: no effect, the model offers no local_steps()")
               for n in r.notes)
    assert r.stats.distinct == check(Whole(2, 1)).stats.distinct


class LateSetter(LocalCounter):
    """``D`` may set ``y`` only once ``C`` has counted to 2 by its local steps: the
    counterexample has three steps, though the reduced search finds it on its second level."""

    def successors(self, s: tuple[int, int]) -> list[tuple[Label, tuple[int, int]]]:
        out = self._count(s)
        if s[0] == 2 and not s[1]:
            out.append((Label("D", "set y", reads=frozenset({"y"}), writes=frozenset({"y"})),
                        (s[0], 1)))
        return out


@pytest.mark.parametrize(("reduce", "workers"),
                         [("local", 1), ("local", 2), ("por", 1), ("por", 2)])
def test_a_depth_bound_counts_steps_not_the_reduced_levels(reduce: str, workers: int) -> None:
    """Below the counterexample's three steps the reduced search answers as the unreduced one
    (incomplete at the bound, saying why); at three it reports the same trace."""
    for depth, verdict in ((2, Verdict.INCOMPLETE), (3, Verdict.VIOLATED)):
        plain = check(LateSetter(), limits=Limits(max_depth=depth))
        r = check(LateSetter(), reduce=reduce, workers=workers, limits=Limits(max_depth=depth))
        assert plain.verdict is r.verdict is verdict
        assert (r.trace.labels() if r.trace else None) == \
            (plain.trace.labels() if plain.trace else None)
    assert any("beyond max-depth (2)" in n
               for n in check(LateSetter(), reduce=reduce, workers=workers,
                              limits=Limits(max_depth=2)).notes)


@pytest.mark.parametrize("workers", [2, 3, 4])
@pytest.mark.parametrize("model", [Whole(3, 2), WholeStay(3, 2), Whole(4, 1)],
                         ids=lambda m: m.name)
def test_workers_record_one_processs_parent_for_every_state(model: LostUpdate,
                                                            workers: int) -> None:
    """Traces come from the parent records: each state's (parent, ordinal) must be the one
    one process records, also where a worker holds states handed over by others, whose
    indices come before its own (the held states' copies of a successor were kept first in
    the worker's order, not the level's)."""
    from gupcheck.engine.bfs import BfsSearch, partial_order
    from gupcheck.engine.parallel import Coordinator
    from gupcheck.engine.runtime import Context

    ctx = Context(model, exact=False, reduce=frozenset({"por"}))
    one = BfsSearch(ctx, Limits(), None, True)
    one.por = partial_order(ctx, one.store.__contains__)
    one.run()
    many = Coordinator(ctx, workers, Limits(), None, True)
    try:
        many.run()
    finally:
        many.close()
    sizes = [sum(map(len, chunks)) for chunks in one.levels.parent]
    assert sizes == [sum(map(len, chunks)) for chunks in many.search.levels.parent]
    for depth, size in enumerate(sizes):
        for index in range(size):
            assert many.search.levels.choices(depth, index) == \
                one.levels.choices(depth, index), (depth, index)
