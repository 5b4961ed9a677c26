from __future__ import annotations

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from gupcheck.engine import Label, Model, Verdict, Wait, check
from gupcheck.engine.waitfor import describe_cycle, explain_waits, find_cycle, stuck_message

actors = st.sampled_from(["CPU0", "CPU1", "flusher", "kswapd", "NIC"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(actors, st.lists(actors, max_size=3)), max_size=8))
def test_a_cycle_is_found_exactly_when_the_wait_for_graph_has_one(spec: list) -> None:
    waits = [Wait(a, f"lock{i}", tuple(h)) for i, (a, h) in enumerate(spec)]
    g = nx.DiGraph()
    g.add_edges_from((w.actor, h) for w in waits for h in w.holders)
    cycle = find_cycle(waits)
    try:
        nx.find_cycle(g)
        expected = True
    except nx.NetworkXNoCycle:
        expected = False
    assert (cycle is not None) == expected
    if cycle is not None:
        # each waits for the next one's actor; the last for the first's
        for w, nxt in zip(cycle, cycle[1:] + cycle[:1], strict=True):
            assert nxt.actor in w.holders
            assert w in waits


def test_two_tasks_waiting_on_each_others_locks_form_a_cycle() -> None:
    waits = [Wait("CPU0 truncate", "folio lock", ("CPU1 unpin",)),
             Wait("CPU1 unpin", "invalidate_lock", ("CPU0 truncate",)),
             Wait("flusher", "folio lock", ("CPU1 unpin",))]
    cycle = find_cycle(waits)
    assert cycle is not None
    assert {w.actor for w in cycle} == {"CPU0 truncate", "CPU1 unpin"}


def test_a_cycle_is_described_in_cycle_order_back_to_its_first_actor() -> None:
    # listed by actor name, not in the cycle's order: A -> C -> B -> A
    waits = [Wait("A", "lock x", ("C",)), Wait("B", "lock y", ("A",)),
             Wait("C", "lock z", ("B",))]
    assert stuck_message(waits) == (
        "no transition is enabled and this is not an end state: a wait-for cycle: "
        "A waits for lock x, held by C; C waits for lock z, held by B; "
        "B waits for lock y, held by A: back to A")


def test_a_cycle_names_holders_outside_it() -> None:
    cycle = find_cycle([Wait("A", "x", ("B", "flusher")), Wait("B", "y", ("A",))])
    assert cycle is not None
    assert describe_cycle(cycle) == ("A waits for x, held by B (and flusher); "
                                     "B waits for y, held by A: back to A")


def test_a_chain_is_walked_holder_by_holder_to_one_that_waits_for_nothing() -> None:
    waits = [Wait("CPU1", "writeback of page 0", ("disk",)),
             Wait("CPU0", "folio lock of page 0", ("CPU1",))]
    assert explain_waits(waits) == (
        "CPU0 waits for folio lock of page 0, held by CPU1; "
        "CPU1 waits for writeback of page 0, held by disk, which names nothing it waits for")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(actors, st.lists(actors, max_size=3)), max_size=8))
def test_the_explanation_tells_every_wait_once(spec: list) -> None:
    waits = [Wait(a, f"lock{i}", tuple(h)) for i, (a, h) in enumerate(spec)]
    text = explain_waits(waits)
    for w in waits:
        assert text.count(f"{w.actor} waits for {w.on},") == 1, (w, text)
    if find_cycle(waits):
        assert text.startswith("a wait-for cycle: ")


class _SelfWaiter(Model[int]):
    """One actor keeps moving while another waits for a lock it holds itself (a recursive
    mutex_lock): a wait-for cycle of one wait."""

    def init_states(self) -> list[int]:
        return [0]

    def successors(self, s: int) -> list[tuple[Label, int]]:
        return [(Label("ticker", "tick"), (s + 1) % 3)]

    def waits(self, s: int) -> list[Wait]:
        return [Wait("A", "lock x", ("A",))] if s == 2 else [Wait("B", "lock y", ("C",))]


def test_a_single_wait_on_its_own_actor_is_a_partial_deadlock() -> None:
    """The checker skips find_cycle for a lone wait only when it names another actor."""
    r = check(_SelfWaiter(), liveness=False)
    assert r.verdict is Verdict.DEADLOCK
    assert r.property == "wait-for-cycle"
    assert [w.actor for w in r.waits] == ["A"]
