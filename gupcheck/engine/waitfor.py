"""Cycles in the wait-for graph: deadlocks that leave other actors running.

A kernel deadlock rarely stops the whole machine: two tasks wait for each other's locks while the
flusher, kswapd and the devices go on.  "No transition enabled" never sees that, so every state's
declared waits form a graph ``actor -> holder`` and any cycle in it is reported (as lockdep would).
"""

from __future__ import annotations

from collections.abc import Iterable

from .model import Wait


def find_cycle(waits: Iterable[Wait]) -> tuple[Wait, ...] | None:
    """The first cycle of waits, in a deterministic order, or ``None``.

    Each element waits for something held by the actor of the next; the last waits for the first.
    """
    by_actor: dict[str, list[Wait]] = {}
    for w in waits:
        by_actor.setdefault(w.actor, []).append(w)
    done: set[str] = set()
    for start in sorted(by_actor):
        if start in done:
            continue
        # iterative DFS keeping the current path of (actor, wait taken)
        path: list[Wait] = []
        on_path: dict[str, int] = {}
        stack: list[tuple[str, int, int]] = [(start, 0, 0)]  # actor, wait idx, holder idx
        on_path[start] = 0
        while stack:
            actor, wi, hi = stack[-1]
            ws = by_actor.get(actor, [])
            if wi >= len(ws):
                stack.pop()
                done.add(actor)
                on_path.pop(actor, None)
                if path:
                    path.pop()
                continue
            w = ws[wi]
            if hi >= len(w.holders):
                stack[-1] = (actor, wi + 1, 0)
                continue
            stack[-1] = (actor, wi, hi + 1)
            nxt = w.holders[hi]
            if nxt in on_path:
                cycle = path[on_path[nxt]:] + [w]
                return tuple(cycle)
            if nxt in done or nxt not in by_actor:
                continue
            path.append(w)
            on_path[nxt] = len(path)
            stack.append((nxt, 0, 0))
    return None


def describe_cycle(cycle: tuple[Wait, ...]) -> str:
    return "; ".join(str(w) for w in cycle)
