"""Seeded random simulation: many random walks of bounded length.

For models too big to exhaust.  It finds bugs and proves nothing: a clean run is reported as
``incomplete`` with the number of walks, never as ``holds``.  The same seed gives the same walks
(``random.Random(seed)``; the model's successor order is deterministic).  Traces are the walk's
prefix up to the violation, not shortest ones.
"""

from __future__ import annotations

import random
from collections import Counter
from functools import partial
from typing import Any

from .errors import ModelError
from .fingerprint import collision_probability
from .limits import Budget, Limits, peak_rss_bytes, stopped_by
from .minimise import minimise as shorten
from .result import Result, Stats, Verdict, error_result
from .runtime import Context, Path
from .waitfor import describe_cycle, stuck_message

DEFAULT_WALK_LENGTH = 1000


def simulate(model: Any, *, walks: int = 1000, seed: int = 0, limits: Limits = Limits(),
             exact: bool = False, minimise: bool = True) -> Result:
    """``walks`` random walks; a failure's trace is shortened by :mod:`.minimise` unless
    ``minimise`` is False (then it is the walk as it happened)."""
    try:
        ctx = Context(model, exact=exact)
    except ModelError as err:
        return error_result(model, "random", exact, err)
    rng = random.Random(seed)
    length = limits.max_depth if limits.max_depth is not None else DEFAULT_WALK_LENGTH
    budget = Budget(limits)
    seen: set[Any] = set()
    coverage: Counter[str] = Counter()
    generated = 0
    deepest = 0
    done = 0
    path: Path = []
    init_index = 0

    def result(verdict: Verdict, prop: str | None, message: str, trace_path: Path | None,
               bound: str | None = None, waits: tuple[Any, ...] = ()) -> Result:
        notes = [(f"random simulation, seed {seed}: {done:,} walk(s) of at most {length:,} "
                  "steps; it finds bugs, it proves nothing")]
        if trace_path and prop and minimise and verdict is not Verdict.ERROR:
            walked = len(trace_path) - 1
            labels = [lab.text for lab, _ in trace_path[1:]]
            trace_path, replays = shorten(ctx, init_index, labels, prop)
            message, waits = explain(ctx, trace_path, prop, message, waits)
            notes.append(f"the walk's {walked}-step trace minimised to {len(trace_path) - 1} "
                         f"steps ({replays} replays): no single step can be removed, but it "
                         "is not necessarily a shortest trace")
        elif trace_path:
            notes.append("the trace is one random walk, not a shortest one")
        n = len(seen)
        return Result(
            model=ctx.name, strategy="random", exact=exact, verdict=verdict, property=prop,
            message=message, trace=ctx.trace(init_index, trace_path) if trace_path else None,
            stats=Stats(n, generated, deepest, budget.seconds(),
                        None if exact else collision_probability(n, generated), 0, 0,
                        peak_rss_bytes()),
            coverage=dict(sorted(coverage.items())),
            unfired=tuple(a for a in ctx.declared_actions if a not in coverage),
            bound=bound, waits=waits, notes=tuple(notes))

    try:
        inits = ctx.init_states()
        for done in range(walks):
            bound = budget.exceeded(len(seen))
            if bound:
                return result(Verdict.INCOMPLETE, None,
                              f"{stopped_by(bound)}; no violation in {done:,} walks", None, bound)
            init_index = rng.randrange(len(inits))
            state = inits[init_index]
            path = [(None, state)]
            for step in range(length + 1):
                seen.add(ctx.key(state))
                deepest = max(deepest, step)
                bad = ctx.violation(state, partial(list, path))
                if bad:
                    done += 1
                    return result(Verdict.VIOLATED, bad[0], bad[1], path)
                succ = ctx.successor_list(state, path)
                cycle = ctx.wait_cycle(state, partial(list, path)) if succ else None
                if cycle:
                    done += 1
                    return result(Verdict.DEADLOCK, "wait-for-cycle",
                                  "partial deadlock: " + describe_cycle(cycle), path, waits=cycle)
                if step == length:
                    break
                generated += len(succ)
                if not succ:
                    if not ctx.is_end(state, partial(list, path)):
                        done += 1
                        waits = ctx.waits(state, partial(list, path))
                        why = stuck_message(waits)
                        return result(Verdict.DEADLOCK, "deadlock", why, path, waits=waits)
                    break
                label, state = succ[rng.randrange(len(succ))]
                coverage[label.key] += 1
                path.append((label, state))
        done = walks
    except ModelError as err:
        return result(Verdict.ERROR, None, err.message, err.path or None)
    return result(Verdict.INCOMPLETE, None,
                  f"no violation found in {walks:,} random walks (not a proof)", None,
                  bound="simulation")


def explain(ctx: Context, path: Path, prop: str, message: str,
             waits: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """The failure's message and waits, as seen at the end of the shortened path."""
    state = path[-1][1]
    if prop == "wait-for-cycle":
        cycle = ctx.wait_cycle(state, partial(list, path)) or waits
        return "partial deadlock: " + describe_cycle(cycle), cycle
    if prop == "deadlock":
        now = ctx.waits(state, partial(list, path))
        return stuck_message(now), now
    invariants = [inv for inv in ctx.invariants if inv.name == prop]
    bad = ctx.violation(state, partial(list, path), invariants)
    return (bad[1] if bad else message), waits
