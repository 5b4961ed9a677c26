"""Liveness against oracles: networkx for components, a subset enumeration for fair cycles."""

from __future__ import annotations

import itertools

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from gupcheck.engine import Verdict, check
from gupcheck.engine.liveness import strongly_connected_components

from .graphs import GraphModel

ACTIONS = ("a", "b", "c")


@st.composite
def graphs(draw: st.DrawFn, max_nodes: int = 6) -> GraphModel:
    n = draw(st.integers(1, max_nodes))
    edges = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                                    st.sampled_from(ACTIONS)), max_size=3 * n))
    fair = frozenset(draw(st.sets(st.sampled_from(ACTIONS))))
    goal = frozenset(draw(st.sets(st.integers(0, n - 1), max_size=n)))
    trigger = draw(st.one_of(st.none(), st.frozensets(st.integers(0, n - 1), max_size=n)))
    return GraphModel(edges, fair, goal, trigger)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 9).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=25))))
def test_strongly_connected_components_agree_with_networkx(graph: tuple[int, list]) -> None:
    n, edges = graph
    adj: dict[int, list[int]] = {v: [] for v in range(n)}
    for u, v in edges:
        adj[u].append(v)
    ours = {frozenset(c) for c in strongly_connected_components(range(n), adj.__getitem__)}
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from(edges)
    assert ours == {frozenset(c) for c in nx.strongly_connected_components(g)}


def has_fair_lasso_by_enumeration(m: GraphModel) -> bool:
    """Oracle: some set S of goal-free nodes, reachable from a trigger through goal-free nodes,
    is strongly connected (a single node counts, by stuttering) and every fair action enabled
    everywhere on S is taken on an edge inside S."""
    g = nx.MultiDiGraph()
    whole = nx.DiGraph([(u, v) for u, v, _ in m.edges])
    whole.add_node(m.init)
    reach = nx.descendants(whole, m.init) | {m.init}
    bad = [v for v in reach if v not in m.goal]
    g.add_nodes_from(bad)
    for u, v, a in m.edges:
        if u in bad and v in bad:
            g.add_edge(u, v, action=a)
    sources = [m.init] if m.trigger is None else [v for v in reach if v in m.trigger]
    sources = [s for s in sources if s in bad]
    if m.trigger is None and m.init in m.goal:
        return False
    reachable = set()
    for s in sources:
        reachable |= nx.descendants(g, s) | {s}
    enabled = {v: {a for u, _, a in m.edges if u == v and a in m.fair} for v in reachable}
    for size in range(1, len(reachable) + 1):
        for subset in itertools.combinations(sorted(reachable), size):
            s = set(subset)
            if size > 1 and not nx.is_strongly_connected(g.subgraph(s)):
                continue
            taken = {d["action"] for u, v, d in g.subgraph(s).edges(data=True)}
            everywhere = set.intersection(*(enabled[v] for v in s))
            if everywhere <= taken:
                return True
    return False


@settings(max_examples=400, deadline=None)
@given(graphs())
def test_starvation_is_reported_exactly_when_a_fair_lasso_exists(m: GraphModel) -> None:
    result = check(m)
    assert result.verdict in (Verdict.HOLDS, Verdict.STARVES)
    assert (result.verdict is Verdict.STARVES) == has_fair_lasso_by_enumeration(m)
    if result.verdict is Verdict.STARVES:
        trace = result.trace
        assert trace is not None and trace.loop_start is not None
        states = [st_.state for st_ in trace.steps]
        loop = states[trace.loop_start:]
        assert all(s not in m.goal for s in loop)
        if trace.stutters:
            assert not {a for u, _, a in m.edges if u == states[-1] and a in m.fair}
        else:  # a real cycle: it returns to its start, and respects weak fairness
            assert states[-1] == states[trace.loop_start] and len(loop) > 1
            taken = {st_.action for st_ in trace.steps[trace.loop_start + 1:]}
            for a in m.fair:
                enabled_all = all(any(u == s and x == a for u, _, x in m.edges) for s in loop)
                assert not enabled_all or a in taken


def test_an_unfair_action_may_never_be_taken() -> None:
    unfair = GraphModel([(0, 1, "a")], fair=frozenset(), goal=frozenset({1}))
    fair = GraphModel([(0, 1, "a")], fair=frozenset({"a"}), goal=frozenset({1}))
    assert check(unfair).verdict is Verdict.STARVES
    assert check(fair).verdict is Verdict.HOLDS


def test_weak_fairness_does_not_help_an_intermittently_enabled_action() -> None:
    # 0 <-> 1 by fair b; the goal 2 is reachable only from 1 by fair a, which is disabled at 0
    m = GraphModel([(0, 1, "b"), (1, 0, "b"), (1, 2, "a")], fair=frozenset({"a", "b"}),
                   goal=frozenset({2}))
    result = check(m)
    assert result.verdict is Verdict.STARVES
    assert result.trace is not None and not result.trace.stutters
    assert [s.state for s in result.trace.steps] == [0, 1, 0]


def test_a_strategy_without_a_state_graph_says_liveness_was_not_checked() -> None:
    """dfs answered HOLDS for a starving model without a word (found by fuzzing the CLI)."""
    unfair = GraphModel([(0, 1, "a")], fair=frozenset(), goal=frozenset({1}))
    result = check(unfair, strategy="dfs")
    assert result.verdict is Verdict.HOLDS
    assert any(n.startswith("liveness not checked: strategy dfs") for n in result.notes)
    assert not any("liveness" in n for n in check(unfair, strategy="dfs", liveness=False).notes)
