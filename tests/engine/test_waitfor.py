from __future__ import annotations

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from gupcheck.engine import Wait
from gupcheck.engine.waitfor import find_cycle

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
