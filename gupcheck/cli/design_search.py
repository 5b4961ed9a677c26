"""``gupcheck designs search``: search the combinations of the proposal mechanisms
(gupcheck/designspace.py) against the scenarios, class by class."""

from __future__ import annotations

import enum
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gupcheck.designspace import AXES, AXIS_BY_NAME, CLASSES, analyse, search
from gupcheck.engine import Limits
from gupcheck.engine.limits import interruptible
from gupcheck.lab import VARIANT_MAX_STATES

from . import exitcodes
from . import search_options as opts
from .common import check_outputs, load_scenarios, seconds, usage_error, write_report

designs_app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                          help="Work with designs: search the space of proposal mechanisms.")


@designs_app.callback()
def _designs() -> None:
    """Designs: `gupcheck designs search` combines the proposal mechanisms over proposal-base
    and reports, per scenario class, the minimal combinations under which every property
    holds (docs/design-space.md)."""


class SearchFormat(str, enum.Enum):
    table = "table"
    markdown = "markdown"
    json = "json"


def _names(option: str, given: str | None, valid: list[str]) -> list[str] | None:
    """A comma-separated list checked against ``valid``; an unknown name is a usage error
    naming the valid ones."""
    if given is None:
        return None
    names = [n.strip() for n in given.split(",") if n.strip()]
    for n in names:
        if n not in valid:
            raise usage_error(f"{option}: unknown name {n!r}; choose from: {', '.join(valid)}")
    if not names:
        raise usage_error(f"{option}: give at least one of: {', '.join(valid)}")
    return names


@designs_app.command("search")
def search_command(
    classes: Annotated[str | None, typer.Option(
        help=f"Comma-separated scenario classes (default: all): {', '.join(CLASSES)}.")] = None,
    axes: Annotated[str | None, typer.Option(
        help="Comma-separated axes to search, the others at proposal-base's value (default: "
        f"all): {', '.join(AXIS_BY_NAME)}.")] = None,
    scenarios: Annotated[str | None, typer.Option(
        help="Comma-separated scenarios (default: all).")] = None,
    fmt: Annotated[SearchFormat, typer.Option(
        "--format", help="Output format.")] = SearchFormat.table,
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
    max_states: Annotated[int, typer.Option(min=1, help="Per-run state limit.")] = 2_000_000,
    max_seconds: Annotated[float, typer.Option(
        parser=seconds, help="Per-run time limit in seconds (0 or more).")] = 600.0,
    workers: Annotated[int, typer.Option(
        min=1, help="Processes computing runs (default: every core).")] = os.cpu_count() or 1,
    variants: Annotated[bool, typer.Option(
        "--variants", help="Also check each scenario's variants (+fsync, +writeback, +page, ...) "
        "as members of its class.")] = False,
    variant_max_states: Annotated[int, typer.Option(
        min=1, help="Per-variant state limit.")] = VARIANT_MAX_STATES,
    costs: Annotated[bool, typer.Option(
        "--costs", help="Put the measured wall time, workers and load average into the Markdown "
        "(not deterministic).")] = False,
    scenario_dir: Annotated[list[Path] | None, typer.Option(
        "--scenario-dir",
        help="Also load the *.toml scenarios in this folder (repeatable).")] = None,
) -> None:
    """Search the combinations of the proposal mechanisms over proposal-base.

    Per scenario class, prints the minimal combinations under which every property holds or,
    where none does, the combinations that violate the fewest properties, with a command that
    prints each counterexample. Exit codes: 0 every run complete, 3 some incomplete (a limit,
    or Ctrl-C), 5 some run's model failed, 2 usage error.

    Example: gupcheck designs search --classes ext4-short-term --axes writeback,unpin-mkwrite

    Example: gupcheck designs search --format markdown --out docs/design-space.md
    """
    from gupcheck.scenarios.variants import MATRIX_VARIANTS

    check_outputs(out=out)
    known = load_scenarios(scenario_dir)
    chosen_classes = _names("--classes", classes, list(CLASSES))
    chosen_axes = _names("--axes", axes, list(AXIS_BY_NAME))
    scs = _names("--scenarios", scenarios, list(known)) or list(known)
    axis_list = tuple(a for a in AXES if chosen_axes is None or a.name in chosen_axes)
    limits = Limits(max_states=max_states, max_seconds=max_seconds)
    err = Console(stderr=True, highlight=False)
    show = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show:
            err.print(f"\r  {done}/{total} runs", end="", markup=False)

    opts.warn_workers(workers)
    start = time.monotonic()
    with interruptible():
        result = search([known[s] for s in scs], axis_list, chosen_classes, limits, workers,
                        MATRIX_VARIANTS if variants else None, variant_max_states, progress)
    elapsed = time.monotonic() - start
    if show:
        err.print("", markup=False)
    if not result.classes:
        raise usage_error("no scenario of the chosen ones belongs to the chosen classes")
    reports = [analyse(cs) for cs in result.classes]
    from gupcheck.reports import designspace as render

    if fmt is SearchFormat.json:
        text = json.dumps(render.to_json(result, reports), ensure_ascii=False, indent=1) + "\n"
    elif fmt is SearchFormat.markdown:
        given = [("--classes", classes), ("--axes", axes), ("--scenarios", scenarios)]
        command = " ".join(["gupcheck designs search",
                            *(f"{o} {shlex.quote(v)}" for o, v in given if v),
                            *(["--variants"] if variants else []), "--format markdown",
                            *([f"--out {shlex.quote(str(out))}"] if out else [])])
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        ran = (f"{result.runs} distinct runs" if result.finished == result.runs else
               f"{result.finished} of {result.runs} distinct runs (then Ctrl-C)")
        cost = (f"{ran} in {elapsed:.0f} s wall with --workers {workers} "
                f"(load average {load:.1f} at the end, on {os.cpu_count()} cores)"
                if costs else None)
        text = render.to_markdown(result, reports, command, cost)
    else:
        text = render.to_text(result, reports)
    if out:
        write_report(out, text, print_on_failure=True)
    else:
        sys.stdout.write(text)
    verdicts = {c.verdict for cs in result.classes for c in cs.cells.values()}
    raise typer.Exit(exitcodes.matrix_exit(verdicts))
