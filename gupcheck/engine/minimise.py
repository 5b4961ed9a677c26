"""Shortening a counterexample found by random simulation.

Breadth-first traces are already shortest; a random walk's trace is whatever the walk did,
usually hundreds of irrelevant steps.  Like SPIN's iterative shortening and Hypothesis's
shrinking, this deletes steps and keeps a deletion whenever the remaining labels still replay
(each label enabled in turn — labels are unique among a state's transitions, so a label list
is a path) and still reach the same failure, possibly earlier.  Chunks are tried first, halving
their size (Zeller's ddmin), then single steps, until nothing more can be removed: the result is
1-minimal (no single step can go) but not necessarily a shortest trace.

Failures checked: an invariant by name, ``"deadlock"`` (stuck, not an end state) and
``"wait-for-cycle"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .runtime import Context, Path


def minimise(ctx: Context, init_index: int, labels: Sequence[str], prop: str,
             max_replays: int = 20_000) -> tuple[Path, int]:
    """The shortest path this search finds that still fails ``prop``; also the replays used."""
    best = replay_path(ctx, init_index, list(labels), prop)
    assert best is not None, "the trace to minimise does not reproduce its failure"
    replays = 1
    current = [lab.text for lab, _ in best[1:]]  # type: ignore[union-attr]
    chunk = max(1, len(current) // 2)
    while chunk >= 1 and replays < max_replays:
        i, removed = 0, False
        while i < len(current) and replays < max_replays:
            candidate = current[:i] + current[i + chunk:]
            replays += 1
            path = replay_path(ctx, init_index, candidate, prop)
            if path is not None:
                best, current, removed = path, [lab.text for lab, _ in path[1:]], True
            else:
                i += chunk
        if not removed:
            chunk //= 2
    return best, replays


def replay_path(ctx: Context, init_index: int, labels: list[str], prop: str) -> Path | None:
    """Follow ``labels``; the path up to the first state where ``prop`` fails, or None."""
    path: Path = [(None, ctx.init_states()[init_index])]
    if _fails(ctx, path, prop):
        return path
    for text in labels:
        succ = ctx.successor_list(path[-1][1], path)
        step = next(((lab, s) for lab, s in succ if lab.text == text), None)
        if step is None:
            return None
        path.append(step)
        if _fails(ctx, path, prop):
            return path
    return None


def _fails(ctx: Context, path: Path, prop: str) -> bool:
    state: Any = path[-1][1]
    if prop == "deadlock":
        return (not ctx.successor_list(state, path)
                and not ctx.is_end(state, lambda: list(path)))
    if prop == "wait-for-cycle":
        return ctx.wait_cycle(state, lambda: list(path)) is not None
    invariants = [inv for inv in ctx.invariants if inv.name == prop]
    return ctx.violation(state, lambda: list(path), invariants) is not None
