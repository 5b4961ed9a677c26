"""The plain-text report of one check: verdict, why, trace (only what changed), counts, coverage.

This is the engine-level report; kernel scenarios add their own notation on top of it.
"""

from __future__ import annotations

import re
from typing import Any

from gupcheck.engine import Result, Verdict

MARK = {
    Verdict.HOLDS: "✓",
    Verdict.VIOLATED: "✗",
    Verdict.DEADLOCK: "✗",
    Verdict.STARVES: "✗",
    Verdict.INCOMPLETE: "?",
    Verdict.ERROR: "!",
}

#: why an incomplete run's counts may pass its limit: the search checks limits periodically (BFS
#: between chunks of the frontier, DFS every few thousand states), never inside a step
LIMIT_NOTE = "; limits are checked periodically, so the counts below may pass it"

ASSUMPTIONS = ("Model assumptions: each step is atomic and sequentially consistent; "
               "only the interleavings of the listed steps are explored.")


def _fmt(v: Any) -> str:
    if isinstance(v, tuple) and not hasattr(v, "_fields"):
        return "(" + ", ".join(_fmt(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    return str(v)


def render_trace(result: Result) -> list[str]:
    trace = result.trace
    if trace is None:
        return []
    lines = ["Trace" + (" (a lasso)" if trace.loop_start is not None else "") + ":"]
    last = len(trace.steps) - 1
    for step in trace.steps:
        prefix = "  "
        if trace.loop_start is not None and step.index == trace.loop_start and not trace.stutters:
            lines.append("  ── loop starts here: the steps below repeat forever ──")
        if step.label is None:
            lines.append(f"{prefix}{step.index:>3}  initial state")
            lines += [f"{prefix}       {k}: {_fmt(v)}" for k, v in step.fields.items()]
            continue
        marker = MARK[result.verdict] if step.index == last and result.verdict in (
            Verdict.VIOLATED, Verdict.DEADLOCK, Verdict.ERROR) else " "
        lines.append(f"{prefix}{step.index:>3}{marker} {step.label}")
        # only what changed, one field per line, under the step
        lines += [f"{prefix}       {k}: {_fmt(a)} → {_fmt(b)}" for k, a, b in step.changes]
    if trace.loop_start is not None:
        if trace.stutters:
            lines.append(f"  ── step {last} repeats forever (stuttering): no weakly fair action "
                         "is enabled there ──")
        else:
            lines.append(f"  ── back to step {trace.loop_start} ──")
    return lines


def coverage_by_step(coverage: dict[str, int]) -> dict[str, int]:
    """Coverage with instance numbers ("bio #3", "folio #1") merged into one line per step, so a
    reader sees which kernel functions ran, not which bios."""
    merged: dict[str, int] = {}
    for key, n in coverage.items():
        step = re.sub(r"#\d+", "#n", key)
        merged[step] = merged.get(step, 0) + n
    return dict(sorted(merged.items()))


def render(result: Result, *, coverage: bool = True, heading: str | None = None,
           explain: str | None = None, assumptions: str = ASSUMPTIONS) -> str:
    """The whole report; ``explain`` says what the violated property protects."""
    s = result.stats
    lines = [heading] if heading else []
    lines += [
        f"{MARK[result.verdict]} {result.model}: {result.verdict.value.upper()}"
        + (f" (approximate: {result.approximate})"
           if result.approximate and result.verdict is Verdict.HOLDS else "")
        + (f" — {result.property}" if result.property else ""),
        f"  {result.message}",
    ]
    if explain:
        lines.append(f"  {explain}")
    if result.bound:
        lines.append(f"  limit hit: {result.bound}" + LIMIT_NOTE)
    lines += [f"  note: {n}" for n in result.notes]
    lines.append("")
    lines += render_trace(result)
    if result.trace:
        lines.append("")
    mode = ("exact states" if result.exact else result.approximate if result.approximate
            else "64-bit fingerprints")
    lines.append(f"Search: {result.strategy}, {mode}")
    lines.append(f"  {s.distinct:,} distinct states, {s.generated:,} generated, depth {s.depth}, "
                 f"{s.seconds:.2f} s ({s.states_per_second:,.0f} distinct states/s)")
    if s.distinct:
        lines.append(
            f"  memory: visited set {s.visited_bytes / s.distinct:.1f} B/state, trace records "
            f"{s.trace_bytes / s.distinct:.1f} B/state, "
            f"peak RSS {s.peak_rss_bytes / 2**20:,.0f} MiB "
            f"({s.peak_rss_bytes / s.distinct:,.0f} B/state)")
    if s.collision_probability is not None:
        lines.append(f"  fingerprint collision probability: {s.collision_probability:.1e} "
                     "(optimistic estimate, as TLC)")
    if coverage and result.coverage:
        lines.append("Coverage (times each step fired; bio and folio numbers merged):")
        steps = coverage_by_step(result.coverage)
        width = max(len(k) for k in steps)
        for k, v in steps.items():
            lines.append(f"  {k:<{width}}  {v:>10,}")
    if result.unfired:
        lines.append("Never fired: " + ", ".join(result.unfired))
    lines.append(assumptions)
    return "\n".join(lines)
