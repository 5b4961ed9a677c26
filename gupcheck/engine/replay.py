"""Replaying a trace from its labels: does the recorded verdict still happen?

A trace is stored as the initial state's index and the label of every step.  Labels are unique
among the transitions leaving a state (the model's contract), so the list identifies one path.
Replay re-executes the model along it and checks that the recorded verdict happens again at the
end: the same invariant fails (with the same message, when one is expected — a refusal's
errno), the same deadlock or wait-for cycle, the same lasso, or the same model failure.  If a
label is no longer enabled, or the verdict does not happen, the model has changed and the
report says where; a property the model does not have is never "reproduced".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from .errors import ModelError
from .result import Result, Trace, Verdict
from .runtime import Context, Path

#: what ``prop`` may name besides the model's invariants and liveness properties
DEADLOCK, WAIT_FOR_CYCLE = "deadlock", "wait-for-cycle"


@dataclass(frozen=True, slots=True)
class Replayed:
    reproduced: bool
    message: str
    trace: Trace | None  # as far as the replay got


def replay(model: Any, init_index: int, labels: Sequence[str], prop: str | None, *,
           why: str | None = None, error: str | None = None, loop_start: int | None = None,
           stutters: bool = False) -> Replayed:
    """Follow ``labels`` from initial state ``init_index``; check the recorded verdict at the end.

    ``prop`` is an invariant's name, ``"deadlock"``, ``"wait-for-cycle"``, a liveness
    property's name, or ``None`` (the path alone).  ``why``: the message the invariant must
    give (a refused request's errno).  A liveness property's lasso (``loop_start``,
    ``stutters``) must close again — the loop returns to step ``loop_start``, or no weakly fair
    action is enabled in the last state — though the property is not re-evaluated along it.
    ``error``: the trace ends where the model failed with this message, and must again.
    """
    ctx = Context(model, exact=True)
    path: Path = []
    try:
        inits = ctx.init_states()
        if not 0 <= init_index < len(inits):
            return Replayed(False, f"the model has changed: it has {len(inits)} initial "
                            f"state(s), the trace starts from #{init_index}", None)
        path = [(None, inits[init_index])]
        for i, text in enumerate(labels, start=1):
            succ = ctx.successor_list(path[-1][1], path)
            match = [(lab, s) for lab, s in succ if lab.text == text]
            if not match:
                enabled = "; ".join(lab.text for lab, _ in succ) or "nothing"
                return Replayed(False, f"the model has changed: step {i} ({text!r}) is not "
                                f"enabled; enabled there: {enabled}", ctx.trace(init_index, path))
            path.append(match[0])
        trace = ctx.trace(init_index, path)
        if error is not None:
            return _model_error(ctx, path, error, trace)
        return _verdict(ctx, path, prop, why, loop_start, stutters, trace)
    except ModelError as err:
        if error is not None and len(path) == len(labels) + 1:
            return _same_error(err.message, error, ctx.trace(init_index, path))
        return Replayed(False, f"the model failed during replay: {err.message}", None)


def _verdict(ctx: Context, path: Path, prop: str | None, why: str | None,
             loop_start: int | None, stutters: bool, trace: Trace) -> Replayed:
    last = path[-1][1]
    if prop is None:
        return Replayed(True, "the path replays", trace)
    if prop == DEADLOCK:
        stuck = not ctx.successor_list(last, path) and not ctx.is_end(last, lambda: path)
        return Replayed(stuck, "the trace still ends in a deadlock" if stuck else
                        "the model has changed: the last state is no longer a deadlock", trace)
    if prop == WAIT_FOR_CYCLE:
        cycle = ctx.wait_cycle(last, lambda: path)
        return Replayed(cycle is not None, "the wait-for cycle is still there" if cycle else
                        "the model has changed: the wait-for cycle is gone", trace)
    inv = next((i for i in ctx.invariants if i.name == prop), None)
    if inv is not None:
        found = ctx.violation(last, lambda: path, [inv])
        if found is None:
            return Replayed(False, f"the model has changed: {prop} holds at the end of the "
                            "trace", trace)
        if why is not None and found[1] != why:
            return Replayed(False, f"the model has changed: {prop} now fails with {found[1]!r}, "
                            f"the trace recorded {why!r}", trace)
        return Replayed(True, f"{prop} is still violated: {found[1]}", trace)
    if prop in _liveness_names(ctx):
        return _lasso(ctx, path, prop, loop_start, stutters, trace)
    names = [i.name for i in ctx.invariants] + sorted(_liveness_names(ctx))
    return Replayed(False, f"{prop!r} is not a property of this model (it has: "
                    f"{', '.join([*names, DEADLOCK, WAIT_FOR_CYCLE])}): nothing to reproduce",
                    trace)


def _liveness_names(ctx: Context) -> set[str]:
    if not hasattr(ctx.model, "liveness"):
        return set()
    return {p.name for p in ctx.call("liveness()", ctx.model.liveness)}


def _lasso(ctx: Context, path: Path, prop: str, loop_start: int | None, stutters: bool,
           trace: Trace) -> Replayed:
    if loop_start is None or not 0 <= loop_start < len(path):
        return Replayed(False, f"the trace of {prop} records no loop (loop_start "
                        f"{loop_start!r} of {len(path) - 1} steps): nothing to reproduce", trace)
    last = path[-1][1]
    if stutters:
        fair = [lab.text for lab, _ in ctx.successor_list(last, path) if lab.fair]
        if fair:
            return Replayed(False, "the model has changed: the lasso's last state enables a "
                            f"weakly fair action ({fair[0]}), so the behaviour cannot stop "
                            "there", trace)
        return Replayed(True, f"{prop}: the behaviour may still stop in the last state (no "
                        "weakly fair action enabled); the property is not re-evaluated", trace)
    if ctx.key(last) != ctx.key(path[loop_start][1]):
        return Replayed(False, f"the model has changed: the loop no longer returns to step "
                        f"{loop_start}", trace)
    return Replayed(True, f"{prop}: the loop still returns to step {loop_start}; the property "
                    "is not re-evaluated along it", trace)


def _model_error(ctx: Context, path: Path, error: str, trace: Trace) -> Replayed:
    """The model must fail again in the trace's last state (its properties or its steps)."""
    last = path[-1][1]
    try:
        ctx.violation(last, lambda: path)
        ctx.successor_list(last, path)
        ctx.is_end(last, lambda: path)
        ctx.waits(last, lambda: path)
    except ModelError as err:
        return _same_error(err.message, error, trace)
    return Replayed(False, "the model has changed: it no longer fails at the end of the trace "
                    f"(the trace recorded: {error})", trace)


def _same_error(message: str, error: str, trace: Trace) -> Replayed:
    if message == error:
        return Replayed(True, f"the model still fails: {message}", trace)
    return Replayed(False, f"the model has changed: it now fails with {message!r}, the trace "
                    f"recorded {error!r}", trace)


def confirm(model: Any, result: Result) -> Result:
    """Replay every counterexample of a reduced search on the concrete, unreduced model.

    Each must reach the same property's failure again; if one does not, the reduction was
    unsound for this model (a wrong view, canonical form or footprint) and the result becomes an
    error that says so instead of a verdict nobody should trust.
    """
    checked = []
    for r in result.findings or (result,):
        if r.trace is None or r.verdict not in (Verdict.VIOLATED, Verdict.DEADLOCK):
            checked.append(r)
            continue
        again = replay(model, r.trace.init_index, r.trace.labels(), r.property)
        if not again.reproduced:
            return replace(result, verdict=Verdict.ERROR, findings=(), message=(
                f"a reduction is unsound for this model: the {r.property} counterexample found "
                f"with it does not replay on the concrete model ({again.message})"))
        checked.append(replace(r, trace=again.trace))
    return replace(result, trace=checked[0].trace,
                   findings=tuple(checked) if result.findings else ())
