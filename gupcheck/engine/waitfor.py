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
    """Walk the cycle: each actor, what it waits for, which actor of the cycle holds that, and
    back to the first ("A waits for X, held by B; B waits for Y, held by A: back to A").

    Holders outside the cycle are named too ("held by B (and C)"): the wait is on all of them.
    """
    parts = []
    for w, nxt in zip(cycle, cycle[1:] + cycle[:1], strict=True):
        others = [h for h in w.holders if h != nxt.actor]
        also = f" (and {', '.join(others)})" if others else ""
        parts.append(f"{w.actor} waits for {w.on}, held by {nxt.actor}{also}")
    return "; ".join(parts) + f": back to {cycle[0].actor}"


def explain_waits(waits: Iterable[Wait]) -> str:
    """Who waits for whom, as chains a reader can follow: a wait-for cycle first (walked as by
    :func:`describe_cycle`), then each chain of waits from an actor nobody waits for, holder by
    holder, to one that declares no wait.

    Generic: it uses only :class:`Wait`'s actor, what it waits on and the holders, so the model
    says what a lock or a flag is, and this says how the waits connect.
    """
    waits = list(waits)
    by_actor: dict[str, list[Wait]] = {}
    for w in waits:
        by_actor.setdefault(w.actor, []).append(w)
    told: set[Wait] = set()
    parts: list[str] = []
    cycle = find_cycle(waits)
    if cycle:
        parts.append("a wait-for cycle: " + describe_cycle(cycle))
        told.update(cycle)
    held = {h for w in waits for h in w.holders}
    # chains start at an actor nobody waits for, then at any actor whose waits are not told yet
    starts = [a for a in by_actor if a not in held] + list(by_actor)
    for start in starts:
        while not all(w in told for w in by_actor[start]):  # one chain per wait of the actor
            parts.append(_chain(start, by_actor, told))
    return "; ".join(parts)


def _chain(start: str, by_actor: dict[str, list[Wait]], told: set[Wait]) -> str:
    """One chain of waits from ``start``: each untold wait, then its first holder that waits in
    turn (the others named), until an actor that declares no wait or one already told."""
    steps: list[str] = []
    actor: str | None = start
    while actor is not None:
        pending = [w for w in by_actor.get(actor, ()) if w not in told]
        if not pending:
            break
        w = pending[0]
        told.add(w)
        held = f", held by {_and(w.holders)}" if w.holders else ", held by no one it names"
        nxt = next((h for h in w.holders if h in by_actor), None)
        idle = [h for h in w.holders if h not in by_actor]
        if nxt is None and idle:
            held += (f", which {'names' if len(idle) == 1 else 'name'} nothing "
                     f"{'it waits' if len(idle) == 1 else 'they wait'} for")
        steps.append(f"{w.actor} waits for {w.on}{held}")
        actor = nxt
    return "; ".join(steps)


def _and(names: tuple[str, ...]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def stuck_message(waits: Iterable[Wait]) -> str:
    """A global deadlock's message: nothing can move, and who waits for whom."""
    why = "no transition is enabled and this is not an end state"
    text = explain_waits(waits)
    return f"{why}: {text}" if text else why
