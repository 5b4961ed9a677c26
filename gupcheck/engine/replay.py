"""Replaying a trace from its labels: does the counterexample still happen?

A trace is stored as the initial state's index and the label of every step.  Labels are unique
among the transitions leaving a state (the model's contract), so the list identifies one path.
Replay re-executes the model along it and checks that the same property still fails at the end;
if a label is no longer enabled, or the property now holds, the model has changed and the
report says where.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ModelError
from .result import Trace
from .runtime import Context, Path


@dataclass(frozen=True, slots=True)
class Replayed:
    reproduced: bool
    message: str
    trace: Trace | None  # as far as the replay got


def replay(model: Any, init_index: int, labels: Sequence[str], prop: str | None) -> Replayed:
    """Follow ``labels`` from initial state ``init_index``; check ``prop`` fails at the end.

    ``prop`` is an invariant's name, ``"deadlock"``, ``"wait-for-cycle"``, or ``None`` (the path
    alone).  A liveness property's lasso is replayed as a path: its loop is not re-verified.
    """
    ctx = Context(model, exact=True)
    try:
        inits = ctx.init_states()
        if not 0 <= init_index < len(inits):
            return Replayed(False, f"the model has changed: it has {len(inits)} initial "
                            f"state(s), the trace starts from #{init_index}", None)
        path: Path = [(None, inits[init_index])]
        for i, text in enumerate(labels, start=1):
            succ = ctx.successor_list(path[-1][1], path)
            match = [(lab, s) for lab, s in succ if lab.text == text]
            if not match:
                enabled = "; ".join(lab.text for lab, _ in succ) or "nothing"
                return Replayed(False, f"the model has changed: step {i} ({text!r}) is not "
                                f"enabled; enabled there: {enabled}", ctx.trace(init_index, path))
            path.append(match[0])
        trace = ctx.trace(init_index, path)
        last = path[-1][1]
        return _verdict(ctx, last, path, prop, trace)
    except ModelError as err:
        return Replayed(False, f"the model failed during replay: {err.message}", None)


def _verdict(ctx: Context, last: Any, path: Path, prop: str | None, trace: Trace) -> Replayed:
    if prop is None:
        return Replayed(True, "the path replays", trace)
    if prop == "deadlock":
        stuck = not ctx.successor_list(last, path) and not ctx.is_end(last, lambda: path)
        return Replayed(stuck, "the trace still ends in a deadlock" if stuck else
                        "the model has changed: the last state is no longer a deadlock", trace)
    if prop == "wait-for-cycle":
        cycle = ctx.wait_cycle(last, lambda: path)
        return Replayed(cycle is not None, "the wait-for cycle is still there" if cycle else
                        "the model has changed: the wait-for cycle is gone", trace)
    inv = next((i for i in ctx.invariants if i.name == prop), None)
    if inv is None:
        return Replayed(True, f"{prop} is not an invariant of this model; the path replays",
                        trace)
    why = inv.check(last)
    if why is None:
        return Replayed(False, f"the model has changed: {prop} holds at the end of the trace",
                        trace)
    return Replayed(True, f"{prop} is still violated: {why}", trace)
