"""The conformance table, for a terminal and as markdown (docs/conformance.md)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from .compare import AGREES, DISAGREES, summary
from .runner import Conformance

_MARK = {AGREES: "✓ agrees", DISAGREES: "✗ DISAGREES"}


def headline(c: Conformance) -> str:
    counts = summary(c.rows)
    parts = [f"{n} {s}" for s, n in counts.items()]
    booted = "cached boot" if c.cached_boot else f"booted in {c.boot_seconds:.1f} s"
    if c.machine:
        booted += f", {c.machine}"
    kmsg = (f"; kernel log: {c.run.warnings} WARNING, {c.run.bugs} BUG"
            if c.run.warnings is not None else "")
    return (f"{c.kernel.label} ({c.run.release or c.kernel.release}) against the model of "
            f"{c.design}: {', '.join(parts)} ({booted}{kmsg})")


def _status(row_status: str, mismatched: Sequence[str]) -> str:
    text = _MARK.get(row_status, row_status)
    return f"{text} ({', '.join(mismatched)})" if mismatched else text


def render_text(c: Conformance, width: int = 200) -> str:
    table = Table("probe", f"predicted ({c.design})", f"observed ({c.run.release or '?'})",
                  "agrees", title=f"gupcheck conform: {c.kernel.label}", show_lines=True)
    for r in c.rows:
        table.add_row(r.probe, r.predicted or f"— {r.note}", r.observed or "—",
                      _status(r.status, r.mismatched))
    console = Console(highlight=False, width=width, record=False)
    with console.capture() as cap:
        console.print(table)
        console.print(headline(c))
        for line in c.run.kmsg:
            console.print(f"  kernel: {line}", markup=False)
    return cap.get()


def _md(text: str) -> str:
    return text.replace("|", "\\|") or "—"


def render_markdown(c: Conformance) -> str:
    lines = [(f"### {c.kernel.label}: {c.run.release or c.kernel.release} "
              f"against `{c.design}`"), "", headline(c) + ".", "",
             "| probe/case | predicted | observed | agrees |", "|---|---|---|---|"]
    for r in c.rows:
        pred = r.predicted or f"not modelled: {r.note}"
        status = _status(r.status, r.mismatched)
        if r.unpredicted and r.status == AGREES:
            status += f" (not compared: {', '.join(r.unpredicted)})"
        lines.append(f"| {r.probe} | {_md(pred)} | {_md(r.observed)} | {_md(status)} |")
    return "\n".join(lines) + "\n"
