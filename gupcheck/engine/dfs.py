"""Depth-first search, optionally bounded in depth.

Finds violations with little memory for the frontier (one path), but its counterexamples are not
shortest.  With a depth bound a state first reached deep may later be reached by a shorter path;
each state therefore remembers the shallowest depth it was explored at and is explored again when
reached shallower, so that every state within the bound is explored (Holzmann's fix for
depth-bounded SPIN runs).  A run that pruned anything at the bound is ``incomplete``.
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from typing import Any

from .errors import ModelError
from .fingerprint import collision_probability
from .limits import Budget, Limits, peak_rss_bytes, stopped_by
from .result import Result, Stats, Verdict, error_result
from .runtime import Context, Path
from .waitfor import describe_cycle, stuck_message

_CHECK_EVERY = 4096


def dfs(model: Any, *, exact: bool = False, limits: Limits = Limits(),
        progress: Any = None, reduce: frozenset[str] = frozenset()) -> Result:
    try:
        ctx = Context(model, exact=exact, reduce=reduce)
    except ModelError as err:
        return error_result(model, "dfs", exact, err)
    budget = Budget(limits)
    seen: dict[Any, int] = {}
    coverage: Counter[str] = Counter()
    generated = 0
    deepest = 0
    pruned = False
    path: Path = []

    def result(verdict: Verdict, prop: str | None, message: str, trace_path: Path | None,
               init_index: int = 0, bound: str | None = None,
               waits: tuple[Any, ...] = ()) -> Result:
        n = len(seen)
        notes = ("depth-first: the trace is not necessarily a shortest one",) if trace_path else ()
        return Result(
            model=ctx.name, strategy="dfs", exact=exact, verdict=verdict, property=prop,
            message=message,
            trace=ctx.trace(init_index, trace_path) if trace_path else None,
            stats=Stats(n, generated, deepest, budget.seconds(),
                        None if exact else collision_probability(n, generated),
                        _dict_bytes(seen), 0, peak_rss_bytes()),
            coverage=dict(sorted(coverage.items())),
            unfired=tuple(a for a in ctx.declared_actions if a not in coverage),
            bound=bound, waits=waits, notes=notes)

    try:
        inits = ctx.init_states()
        for init_index, s0 in enumerate(inits):
            generated += 1
            k = ctx.key(s0)
            if k in seen:
                continue
            seen[k] = 0
            path = [(None, s0)]
            found = _check(ctx, s0, partial(list, path))
            if found:
                return result(found[0], found[1], found[2], list(path), init_index,
                              waits=found[3])
            # each frame: [state, successor iterator, successors produced so far]
            stack: list[list[Any]] = [[s0, iter(ctx.successors(s0)), 0]]
            while stack:
                frame = stack[-1]
                try:
                    nxt = next(frame[1], None)
                except Exception as exc:
                    raise ctx.diagnose(frame[0], list(path), exc) from exc
                if nxt is None:
                    if frame[2] == 0 and not ctx.is_end(frame[0], partial(list, path)):
                        waits = ctx.waits(frame[0], partial(list, path))
                        why = stuck_message(waits)
                        return result(Verdict.DEADLOCK, "deadlock", why, list(path),
                                      init_index, waits=waits)
                    stack.pop()
                    path.pop()
                    continue
                frame[2] += 1
                label, t = nxt
                generated += 1
                coverage[label.key] += 1
                depth = len(stack)
                try:
                    hash(t)
                except TypeError:
                    ctx.validate(t, "a reached state", path + [(label, t)])
                k = ctx.key(t)
                prev = seen.get(k)
                if prev is not None and prev <= depth:
                    continue
                seen[k] = depth
                deepest = max(deepest, depth)
                path.append((label, t))
                found = _check(ctx, t, partial(list, path))
                if found:
                    return result(found[0], found[1], found[2], list(path), init_index,
                              waits=found[3])
                if limits.max_depth is not None and depth >= limits.max_depth:
                    if any(True for _ in ctx.successors(t)):
                        pruned = True
                    path.pop()
                else:
                    stack.append([t, iter(ctx.successors(t)), 0])
                if generated % _CHECK_EVERY == 0:
                    bound = budget.exceeded(len(seen))
                    if bound:
                        return result(Verdict.INCOMPLETE, None, _stopped(bound), None, bound=bound)
                    if progress:
                        progress(len(seen), generated, depth, len(stack), budget.seconds())
    except ModelError as err:
        res = result(Verdict.ERROR, None, err.message, None)
        return _with_error_trace(res, ctx, err)
    if pruned:
        bound = f"max-depth ({limits.max_depth})"
        return result(Verdict.INCOMPLETE, None, _stopped(bound), None, bound=bound)
    return result(Verdict.HOLDS, None, "every reachable state explored", None)


def _check(ctx: Context, state: Any,
           path: Any) -> tuple[Verdict, str, str, tuple[Any, ...]] | None:
    """``(verdict, property, why, waits)`` if ``state`` breaks an invariant or closes a wait
    cycle."""
    bad = ctx.violation(state, path)
    if bad:
        return Verdict.VIOLATED, bad[0], bad[1], ()
    cycle = ctx.wait_cycle(state, path)
    if cycle and any(True for _ in ctx.successors(state)):  # else: a global deadlock, found later
        return (Verdict.DEADLOCK, "wait-for-cycle", "partial deadlock: " + describe_cycle(cycle),
                cycle)
    return None


def _stopped(bound: str) -> str:
    return (f"{stopped_by(bound)} before every reachable state was explored; "
            "no violation in the states explored so far")


def _dict_bytes(d: dict[Any, int]) -> int:
    import sys

    return sys.getsizeof(d)


def _with_error_trace(res: Result, ctx: Context, err: ModelError) -> Result:
    from dataclasses import replace

    return replace(res, trace=ctx.trace(0, err.path) if err.path else None)
