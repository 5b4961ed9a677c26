"""Liveness under weak fairness: ``Eventually(P)`` and ``P ~> Q`` on the explicit state graph.

Semantics (TLA+'s): a behaviour may stutter — stay in a state forever — unless a weakly fair
action is enabled there; a weakly fair action that stays enabled is eventually taken.  A
counterexample to "eventually Q" is therefore a *fair lasso*: a path of ``not Q`` states from a
trigger state into a cycle of ``not Q`` states such that every weakly fair action is either
disabled somewhere on the cycle or taken on it (TLC's and SPIN's notion of a weakly fair cycle).
A terminal state, or one where only unfair actions are enabled — a user who never unpins — is a
one-state cycle by stuttering.

The search needs the graph, not a fingerprint set, so this pass stores every state, its edges and
its enabled fair actions.  It is meant for the finite, modest graphs of liveness scenarios.

Algorithm: restrict the graph to ``not Q`` states reachable (through ``not Q`` states) from a
trigger state; compute its strongly connected components (Tarjan, iterative); a component ``C``
(with its implicit stuttering, every component is a cycle) contains a fair cycle iff for every fair
action ``a``: ``a`` is disabled at some state of ``C`` or some ``a``-edge stays inside ``C``.  The
tour of all of ``C`` is then fair, and no cycle inside a component failing this test can be (the
action is enabled everywhere on it and never taken), so for weak fairness no recursive
decomposition is needed (it is for strong fairness, which gupcheck does not offer).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from .errors import ModelError
from .fingerprint import collision_probability
from .limits import Budget, Limits, peak_rss_bytes, stopped_by
from .model import Eventually, Label, LeadsTo
from .result import Result, Stats, Verdict
from .runtime import Context, Path
from .waitfor import explain_waits


class StateGraph:
    """Every reachable state with its labelled edges, as the liveness pass needs it."""

    def __init__(self) -> None:
        self.states: list[Any] = []
        self.parent: list[tuple[int, Label] | None] = []  # BFS tree, for shortest prefixes
        self.init_index: list[int] = []  # which initial state each node descends from
        self.edges: list[list[tuple[int, Label]]] = []
        self.fair_enabled: list[frozenset[str]] = []  # fair action keys enabled at each node

    def __len__(self) -> int:
        return len(self.states)


def build_graph(ctx: Context, budget: Budget) -> tuple[StateGraph, Counter[str], int, str | None]:
    """Breadth-first construction; returns the graph, coverage, transitions and a bound if hit."""
    graph = StateGraph()
    ids: dict[Any, int] = {}
    coverage: Counter[str] = Counter()
    generated = 0
    queue: deque[int] = deque()
    for i, s in enumerate(ctx.init_states()):
        generated += 1
        k = ctx.key(s)
        if k not in ids:
            ids[k] = len(graph)
            _add(graph, s, None, i)
            queue.append(ids[k])
    while queue:
        n = queue.popleft()
        edges = graph.edges[n]
        fair: set[str] = set()
        for label, t in ctx.successor_list(graph.states[n], _path_to(graph, n)):
            generated += 1
            coverage[label.key] += 1
            if label.fair:
                fair.add(label.key)
            k = ctx.key(t)
            m = ids.get(k)
            if m is None:
                m = ids[k] = len(graph)
                _add(graph, t, (n, label), graph.init_index[n])
                queue.append(m)
            edges.append((m, label))
        graph.fair_enabled[n] = frozenset(fair)
        if len(graph) % 1024 == 0:
            bound = budget.exceeded(len(graph))
            if bound:
                return graph, coverage, generated, bound
    return graph, coverage, generated, None


def _add(graph: StateGraph, state: Any, parent: tuple[int, Label] | None, init: int) -> None:
    graph.states.append(state)
    graph.parent.append(parent)
    graph.init_index.append(init)
    graph.edges.append([])
    graph.fair_enabled.append(frozenset())


def _path_to(graph: StateGraph, n: int) -> Path:
    path: Path = []
    while True:
        p = graph.parent[n]
        if p is None:
            path.append((None, graph.states[n]))
            break
        path.append((p[1], graph.states[n]))
        n = p[0]
    path.reverse()
    return path


def strongly_connected_components(nodes: Iterable[int],
                                  succ: Callable[[int], Iterable[int]]) -> list[list[int]]:
    """Tarjan's algorithm without recursion; components in reverse topological order."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        work: list[tuple[int, Any]] = [(root, iter(succ(root)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(succ(w))))
                    advanced = True
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                u = work[-1][0]
                low[u] = min(low[u], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                out.append(comp)
    return out


def fair_cycle_obligations(graph: StateGraph,
                           comp: set[int]) -> list[tuple[str, int, int | None]] | None:
    """What a fair tour of ``comp`` must do, or ``None`` if no fair cycle lies in ``comp``.

    Each obligation is ``(action, node, target)``: visit ``node`` (where the action is disabled;
    ``target`` None) or take the action's edge ``node -> target`` inside the component.
    """
    enabled_somewhere = set().union(*(graph.fair_enabled[n] for n in comp))
    obligations: list[tuple[str, int, int | None]] = []
    for action in sorted(enabled_somewhere):
        disabled_at = next((n for n in sorted(comp) if action not in graph.fair_enabled[n]), None)
        if disabled_at is not None:
            obligations.append((action, disabled_at, None))
            continue
        edge = next(((n, m) for n in sorted(comp) for m, lab in graph.edges[n]
                     if lab.key == action and m in comp), None)
        if edge is None:
            return None  # enabled everywhere in comp, never taken inside it
        obligations.append((action, edge[0], edge[1]))
    return obligations


def _bfs_path(graph: StateGraph, src: int, dst: int, allowed: set[int]) -> list[tuple[int, Label]]:
    """Shortest edge list ``[(node, label), ...]`` from ``src`` to ``dst`` inside ``allowed``."""
    if src == dst:
        return []
    prev: dict[int, tuple[int, Label]] = {}
    queue = deque([src])
    seen = {src}
    while queue:
        n = queue.popleft()
        for m, lab in graph.edges[n]:
            if m in allowed and m not in seen:
                seen.add(m)
                prev[m] = (n, lab)
                if m == dst:
                    out = []
                    while m != src:
                        p, lab2 = prev[m]
                        out.append((m, lab2))
                        m = p
                    out.reverse()
                    return out
                queue.append(m)
    raise AssertionError("no path inside a strongly connected component")


def find_fair_lasso(graph: StateGraph, sources: Sequence[int], bad: Callable[[int], bool]
                    ) -> tuple[Path, int, bool, int] | None:
    """A fair lasso through ``bad`` states starting at one of ``sources``.

    Returns ``(path, loop_start, stutters, init_index)`` with ``path`` starting at an initial
    state, or ``None`` when every fair behaviour leaves the ``bad`` states.
    """
    # states reachable from the sources through bad states, with a BFS tree for short paths
    region: dict[int, tuple[int, Label] | None] = {}
    order: list[int] = []
    queue = deque()
    for s in sources:
        if s not in region and bad(s):
            region[s] = None
            order.append(s)
            queue.append(s)
    while queue:
        n = queue.popleft()
        for m, lab in graph.edges[n]:
            if m not in region and bad(m):
                region[m] = (n, lab)
                order.append(m)
                queue.append(m)
    if not region:
        return None
    members = set(region)
    comps = strongly_connected_components(
        order, lambda n: [m for m, _ in graph.edges[n] if m in members])
    rank = {n: i for i, n in enumerate(order)}
    for comp in sorted(comps, key=lambda c: min(rank[n] for n in c)):
        cset = set(comp)
        obligations = fair_cycle_obligations(graph, cset)
        if obligations is None:
            continue
        entry = min(comp, key=rank.__getitem__)
        path, loop_start, stutters = _lasso(graph, region, entry, cset, obligations)
        root = entry
        while region[root] is not None:
            root = region[root][0]  # type: ignore[index]
        return path, loop_start, stutters, graph.init_index[root]
    return None


def _prefix(graph: StateGraph, region: dict[int, tuple[int, Label] | None], node: int) -> Path:
    """Init -> source (BFS tree of the whole graph), then source -> node (BFS tree of the
    region)."""
    tail: Path = []
    while region[node] is not None:
        p, lab = region[node]  # type: ignore[misc]
        tail.append((lab, graph.states[node]))
        node = p
    tail.reverse()
    return _path_to(graph, node) + tail


def _lasso(graph: StateGraph, region: dict[int, tuple[int, Label] | None], entry: int,
           comp: set[int], obligations: list[tuple[str, int, int | None]]
           ) -> tuple[Path, int, bool]:
    """``(path, loop_start, stutters)``: the prefix to ``entry``, then a fair way round ``comp``."""
    path = _prefix(graph, region, entry)
    loop_start = len(path) - 1
    stutter_at = _stutter_node(graph, comp, entry)
    if stutter_at is not None:
        for m, lab in _bfs_path(graph, entry, stutter_at, comp):
            path.append((lab, graph.states[m]))
        return path, len(path) - 1, True
    here = entry
    for action, node, target in obligations:
        for m, lab in _bfs_path(graph, here, node, comp):
            path.append((lab, graph.states[m]))
        here = node
        if target is not None:
            lab = next(lab for m, lab in graph.edges[node] if m == target and lab.key == action)
            path.append((lab, graph.states[target]))
            here = target
    if len(path) - 1 == loop_start:
        # every obligation was met at the entry itself: go once round the component
        here, lab = next((m, lab) for m, lab in graph.edges[entry] if m in comp)
        path.append((lab, graph.states[here]))
    for m, lab in _bfs_path(graph, here, entry, comp):
        path.append((lab, graph.states[m]))
    return path, loop_start, False


def _stutter_node(graph: StateGraph, comp: set[int], entry: int) -> int | None:
    """The closest state of ``comp`` with no fair action enabled: the behaviour may stop there."""
    if not graph.fair_enabled[entry]:
        return entry
    candidates = [n for n in comp if not graph.fair_enabled[n]]
    if not candidates:
        return None
    return min(candidates, key=lambda n: (len(_bfs_path(graph, entry, n, comp)), n))


def check_liveness(model: Any, *, limits: Limits = Limits(), safety: Result | None = None,
                   exact: bool = False) -> Result:
    """Check every liveness property of ``model``; the first that fails gives the verdict."""
    ctx = Context(model, exact=exact)
    budget = Budget(limits)
    notes = (("liveness under weak fairness of the actions declared fair; "
              "a behaviour may stop (stutter) where no fair action is enabled"),)
    try:
        graph, coverage, generated, bound = build_graph(ctx, budget)
    except ModelError as err:
        base = safety or _empty(ctx, budget)
        return replace(base, verdict=Verdict.ERROR, property=None, message=err.message,
                       trace=ctx.trace(0, err.path) if err.path else None)
    stats = Stats(len(graph), generated, safety.stats.depth if safety else 0,
                  budget.seconds() + (safety.stats.seconds if safety else 0.0),
                  None if exact else collision_probability(len(graph), generated),
                  safety.stats.visited_bytes if safety else 0,
                  safety.stats.trace_bytes if safety else 0, peak_rss_bytes())
    common: dict[str, Any] = {
        "model": ctx.name, "strategy": "bfs", "exact": exact, "stats": stats,
        "coverage": dict(sorted(coverage.items())),
        "unfired": tuple(a for a in ctx.declared_actions if a not in coverage)}
    if bound:
        return Result(verdict=Verdict.INCOMPLETE, property=None, bound=bound, trace=None,
                      message=f"{stopped_by(bound)} while building the state graph for liveness; "
                              "safety holds, liveness unknown", notes=notes, **common)
    for prop in model.liveness():
        try:
            is_bad, sources = _evaluate(prop, graph)
        except ModelError as err:
            return Result(verdict=Verdict.ERROR, property=prop.name, message=err.message,
                          trace=None, notes=notes, **common)
        found = find_fair_lasso(graph, sources, is_bad.__getitem__)
        if found:
            path, loop_start, stutters, init = found
            last = path[loop_start][1]
            waits = ctx.waits(last, lambda p=path: p)
            trace = ctx.trace(init, path, loop_start=loop_start, stutters=stutters)
            why = (f"{prop.name}: a fair behaviour never reaches the goal; "
                   + ("it stops in the last state, where no weakly fair action is enabled"
                      if stutters else f"it loops from step {loop_start} forever"))
            if waits:
                why += "; " + explain_waits(waits)
            return Result(verdict=Verdict.STARVES, property=prop.name, message=why, trace=trace,
                          waits=waits, notes=notes, **common)
    return Result(verdict=Verdict.HOLDS, property=None, trace=None, notes=notes,
                  message="every reachable state explored; every liveness property holds",
                  **common)


def _evaluate(prop: Any, graph: StateGraph) -> tuple[list[bool], list[int]]:
    """Per node: whether the goal is missed; and the trigger nodes where a lasso may start."""
    try:
        is_bad = [not prop.goal(s) for s in graph.states]
        if isinstance(prop, Eventually):
            return is_bad, [n for n in range(len(graph)) if graph.parent[n] is None]
        if isinstance(prop, LeadsTo):
            return is_bad, [n for n, s in enumerate(graph.states) if prop.trigger(s)]
    except Exception as exc:
        raise ModelError(f"liveness property {prop.name!r} raised "
                         f"{type(exc).__name__}: {exc}") from exc
    raise ModelError(f"liveness() returned {prop!r}; use Eventually or LeadsTo")


def _empty(ctx: Context, budget: Budget) -> Result:
    return Result(model=ctx.name, strategy="bfs", exact=ctx.exact, verdict=Verdict.ERROR,
                  property=None, message="", trace=None,
                  stats=Stats(0, 0, 0, budget.seconds(), None, 0, 0, peak_rss_bytes()),
                  coverage={}, unfired=())
