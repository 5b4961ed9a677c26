"""What a check returns: a verdict, the property, the counts, coverage and a trace.

Everything here is plain data (frozen dataclasses and tuples), so a result can be printed,
turned into JSON, compared between runs, or shipped from a worker process.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from .model import Wait


class Verdict(enum.StrEnum):
    HOLDS = "holds"  # every reachable state explored, no property violated
    VIOLATED = "violated"  # an invariant fails; the trace ends in the bad state
    DEADLOCK = "deadlock"  # no transition enabled and not an end, or a wait-for cycle
    STARVES = "starves"  # a liveness property fails on a fair lasso
    INCOMPLETE = "incomplete"  # a limit was hit, or the strategy cannot prove anything
    ERROR = "error"  # the model itself failed (raised, returned an unusable state)


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a trace: the transition taken and the state it reached.

    Step 0 is the initial state and has no label.  ``changes`` lists ``(field, old, new)``.
    """

    index: int
    label: str | None
    actor: str | None
    action: str | None
    choice: tuple[Any, ...]
    state: Any
    changes: tuple[tuple[str, Any, Any], ...]
    fields: dict[str, Any] = field(default_factory=dict, compare=False)  # the model's view


@dataclass(frozen=True, slots=True)
class Trace:
    """A path from an initial state.

    For a liveness counterexample (a lasso) ``loop_start`` is the index of the step the cycle
    returns to; ``stutters`` means the behaviour stays in the last state forever (no weakly fair
    action is enabled there), which is how "blocked on a pin nobody releases" looks.
    """

    init_index: int
    steps: tuple[Step, ...]
    loop_start: int | None = None
    stutters: bool = False

    def labels(self) -> list[str]:
        return [s.label for s in self.steps[1:] if s.label is not None]

    def __len__(self) -> int:
        """Number of transitions (the initial state is not one)."""
        return len(self.steps) - 1


@dataclass(frozen=True, slots=True)
class Stats:
    distinct: int  # distinct states found (stored)
    generated: int  # transitions generated, i.e. states looked up in the visited set
    depth: int  # BFS: levels fully or partly expanded; DFS/simulation: deepest path
    seconds: float
    collision_probability: float | None  # None in exact mode
    visited_bytes: int  # the visited set
    trace_bytes: int  # parent records for rebuilding traces
    peak_rss_bytes: int  # the whole process, at its peak
    # BFS: the most states its current and next frontiers held at once, and the most bytes
    # they took (live states estimated; encoded blocks, in memory or spilled to a temporary
    # file, exactly; engine/frontier.py)
    frontier_states: int = 0
    frontier_bytes: int = 0

    @property
    def states_per_second(self) -> float:
        return self.distinct / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Result:
    model: str
    strategy: str
    exact: bool
    verdict: Verdict
    property: str | None  # the violated property, or the deadlock kind
    message: str  # why: the property's own words, the blocked actors, the bound hit
    trace: Trace | None
    stats: Stats
    coverage: dict[str, int]  # action key -> times fired
    unfired: tuple[str, ...]  # declared actions that never fired
    bound: str | None = None  # which limit ended an incomplete run
    waits: tuple[Wait, ...] = ()  # blocked actors at the end of a deadlock/starvation trace
    notes: tuple[str, ...] = field(default=())  # what a reader must know (not a proof, ...)
    # keep_going runs: the first counterexample of every property that failed, in the order
    # found (the result itself is the first of them)
    findings: tuple[Result, ...] = ()
    # set when the search may have skipped states though it ran to its end (bitstate hashing):
    # what it was and its estimated coverage; a "holds" is then not a proof
    approximate: str | None = None

    @property
    def verdict_text(self) -> str:
        """The verdict as reports print it: ``holds (approximate: bitstate, ...)`` if so.

        Only "holds" is qualified: a violation or deadlock found by an approximate search is real
        (its trace is replayed from the initial state), while its absence proves nothing.
        """
        if self.approximate and self.verdict is Verdict.HOLDS:
            return f"{self.verdict.value} (approximate: {self.approximate})"
        return self.verdict.value


def error_result(model: Any, strategy: str, exact: bool, err: Exception) -> Result:
    """A result for a model that failed before its exploration could start."""
    return Result(
        model=getattr(model, "name", type(model).__name__), strategy=strategy, exact=exact,
        verdict=Verdict.ERROR, property=None, message=str(err), trace=None,
        stats=Stats(0, 0, 0, 0.0, None, 0, 0, 0), coverage={}, unfired=(),
    )
