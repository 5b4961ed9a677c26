"""Small explicit graphs as gupcheck models, for testing the engine against oracles."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from gupcheck.engine import Eventually, Label, LeadsTo, Model

Edge = tuple[int, int, str]  # src, dst, action


class GraphModel(Model[int]):
    """States are node numbers; each edge is action ``a`` of actor ``x`` with its target as
    choice."""

    name = "graph"

    def __init__(self, edges: Sequence[Edge], fair: frozenset[str], goal: frozenset[int],
                 trigger: frozenset[int] | None = None, init: int = 0) -> None:
        self.edges = sorted(set(edges))
        self.fair = fair
        self.goal = goal
        self.trigger = trigger
        self.init = init

    def init_states(self) -> list[int]:
        return [self.init]

    def successors(self, s: int) -> Iterator[tuple[Label, int]]:
        for src, dst, action in self.edges:
            if src == s:
                yield Label("x", action, (dst,), fair=action in self.fair), dst

    def is_end(self, s: int) -> bool:
        return True

    def liveness(self) -> list:
        if self.trigger is None:
            return [Eventually("eventually goal", lambda s: s in self.goal)]
        return [LeadsTo("trigger ~> goal", lambda s: s in self.trigger,
                        lambda s: s in self.goal)]
