"""``gupcheck``: check page-pinning designs against kernel scenarios, and run classic demos.

Exit codes: :data:`gupcheck.cli.exitcodes.DESCRIPTIONS` (``gupcheck --help`` prints them).
"""

from __future__ import annotations

import enum
import importlib
import json
import os
import pkgutil
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

import gupcheck.designs as designs_pkg
from gupcheck import __version__
from gupcheck.classic import DEMOS
from gupcheck.designs import DESIGNS, SUMMARIES
from gupcheck.engine import Limits, Result, Verdict, check
from gupcheck.engine.replay import replay
from gupcheck.kernel.config import KernelConfig
from gupcheck.kernel.properties import PROPERTIES
from gupcheck.kernel.system import KernelModel, Scenario
from gupcheck.lab import Cell, RefusalProbe, by_scenario, run_matrix
from gupcheck.reports.html import matrix_page, trace_page
from gupcheck.reports.json import result_to_dict
from gupcheck.reports.kernel import render_kernel
from gupcheck.reports.matrix import SHORT, cell_text, to_json, to_markdown
from gupcheck.reports.progress import ProgressDisplay
from gupcheck.reports.text import render
from gupcheck.scenarios import SCENARIOS, ScenarioError, load_dir, resolve

from . import exitcodes
from . import search_options as opts
from .conform import conform_command

app = typer.Typer(
    name="gupcheck",
    help=("Model-check Linux page-pinning designs (get_user_pages / pin_user_pages against "
          "writeback, truncate, reclaim and fork).\n\n"
          f"{exitcodes.summary()}\n\n"
          "Example: gupcheck check dio-vs-reclaim --design linux-6.1 --html f1.html"),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


class Strategy(str, enum.Enum):
    bfs = "bfs"
    dfs = "dfs"
    random = "random"
    swarm = "swarm"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gupcheck {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[Optional[bool], typer.Option(  # noqa: UP007 - typer needs Optional
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None,
) -> None:
    """gupcheck command line."""


def usage_error(message: str) -> typer.Exit:
    Console(stderr=True).print(f"gupcheck: {message}", markup=False, highlight=False)
    return typer.Exit(exitcodes.USAGE)


@app.command("demos")
def demos() -> None:
    """List the classic demo models.

    Example: gupcheck demos
    """
    table = Table("name", "what it shows", box=None)
    for name, (_, doc) in DEMOS.items():
        table.add_row(name, doc)
    Console().print(table)


@app.command("demo")
@opts.with_search_options
def demo(
    name: Annotated[str, typer.Argument(help="A demo model; `gupcheck demos` lists them.")],
    strategy: Annotated[Strategy, typer.Option(help="Search strategy.")] = Strategy.bfs,
    exact: Annotated[bool, typer.Option(help="Store whole states, not 64-bit fingerprints.")] = False,
    max_states: Annotated[Optional[int], typer.Option(min=1, help="Stop after this many distinct states.")] = None,  # noqa: UP007,E501
    max_depth: Annotated[Optional[int], typer.Option(min=0, help="Depth bound (BFS level, DFS path, walk length).")] = None,  # noqa: UP007,E501
    max_seconds: Annotated[Optional[float], typer.Option(min=0, help="Stop after this many seconds.")] = None,  # noqa: UP007,E501
    max_memory: Annotated[Optional[int], typer.Option(min=1, help="Stop when the process uses this many MiB.")] = None,  # noqa: UP007,E501
    walks: Annotated[int, typer.Option(min=1, help="Walks (strategy random or swarm).")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed for random walks.")] = 0,
    liveness: Annotated[bool, typer.Option(help="Also check liveness properties (BFS).")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    search_opts: opts.SearchOptions = opts.SearchOptions(),  # --checkpoint ... --reduce
) -> None:
    """Check one of the classic demo models and print the verdict and trace.

    Example: gupcheck demo philosophers --strategy bfs
    """
    if name not in DEMOS:
        raise usage_error(f"unknown demo {name!r}; choose one of: {', '.join(DEMOS)}")
    model = DEMOS[name][0]()
    limits = Limits(max_states=max_states, max_depth=max_depth, max_seconds=max_seconds,
                    max_memory_bytes=max_memory * 2**20 if max_memory else None)
    search = search_opts.kwargs(strategy.value)
    with ProgressDisplay(name, enabled=None if not as_json else False) as progress, \
            opts.checkpoint_errors():
        result = check(model, strategy=strategy.value, exact=exact, limits=limits,
                       liveness=liveness, walks=walks, seed=seed, progress=progress, **search,
                       reduce=search_opts.reductions())
    if as_json:
        sys.stdout.write(json.dumps(result_to_dict(result), ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render(result) + "\n")
    raise typer.Exit(exitcodes.BY_VERDICT[result.verdict])


ScenarioDirs = Annotated[Optional[list[Path]], typer.Option(  # noqa: UP007
    "--scenario-dir", help="Also load the *.toml scenarios in this folder (repeatable).")]


def _scenarios(dirs: list[Path] | None) -> dict[str, Scenario]:
    known = dict(SCENARIOS)
    try:
        for d in dirs or ():
            known.update(load_dir(d))
    except ScenarioError as err:
        raise usage_error(str(err)) from None
    return known


def _scenario(name: str, dirs: list[Path] | None) -> Scenario:
    try:
        return resolve(name, dirs or ())
    except ScenarioError as err:
        raise usage_error(str(err)) from None
    except KeyError:
        names = ", ".join(_scenarios(dirs))
        raise usage_error(f"unknown scenario {name!r}; choose one of: {names} "
                          "(or give the path of a .toml file)") from None


def _design(name: str) -> KernelConfig:
    if name not in DESIGNS:
        raise usage_error(f"unknown design {name!r}; choose one of: {', '.join(DESIGNS)}")
    return DESIGNS[name]


@app.command("list")
def list_things(scenario_dir: ScenarioDirs = None) -> None:
    """List the designs, scenarios and properties (with the short names the matrix uses).

    Example: gupcheck list
    """
    console = Console(highlight=False)
    table = Table("design", "what it is", box=None, title="Designs")
    for name in DESIGNS:
        table.add_row(name, design_summary(name))
    console.print(table)
    table = Table("scenario", "what it does", box=None, title="Scenarios")
    for sc in _scenarios(scenario_dir).values():
        table.add_row(sc.name, sc.description)
    console.print(table)
    table = Table("short", "property", "objective", "what it says", box=None,
                  title="Properties (the matrix's short names: P2a@8 = P2a fails in 8 steps)")
    for p in PROPERTIES.values():
        table.add_row(SHORT.get(p.name, p.name).split()[0], p.name, p.objective, p.summary)
    for name in ("deadlock", "wait-for-cycle"):  # found by the engine, not properties
        table.add_row(SHORT[name].split()[0], name, "-", _ENGINE_FAILURES[name])
    console.print(table)


#: the failures the engine finds itself, as ``gupcheck list`` explains them
_ENGINE_FAILURES = {
    "deadlock": "no step is possible and the scenario has not finished",
    "wait-for-cycle": "actors wait for each other in a cycle while others can still move",
}


def design_summary(name: str) -> str:
    """A design's first docstring paragraph, whole: ``SUMMARIES`` keeps only its first line,
    which cuts a summary that wraps (linux-6.12's) mid-sentence."""
    for info in pkgutil.iter_modules(designs_pkg.__path__):
        mod = importlib.import_module(f"{designs_pkg.__name__}.{info.name}")
        cfg = getattr(mod, "DESIGN", None)
        if cfg is not None and cfg.name == name and mod.__doc__:
            return " ".join(mod.__doc__.strip().split("\n\n")[0].split())
    return SUMMARIES[name]


@app.command("check")
@opts.with_search_options
def check_scenario(
    scenario: Annotated[str, typer.Argument(help="A scenario name (`gupcheck list`) or the path of a scenario .toml file.")],  # noqa: E501
    design: Annotated[str, typer.Option(help="The design (kernel) to check it under.")] = "linux-6.12",
    prop: Annotated[Optional[list[str]], typer.Option("--property", help="Check only this property (repeatable).")] = None,  # noqa: UP007,E501
    strategy: Annotated[Strategy, typer.Option(help="Search strategy.")] = Strategy.bfs,
    max_states: Annotated[Optional[int], typer.Option(min=1, help="Stop after this many distinct states.")] = None,  # noqa: UP007,E501
    max_seconds: Annotated[Optional[float], typer.Option(min=0, help="Stop after this many seconds.")] = None,  # noqa: UP007,E501
    walks: Annotated[int, typer.Option(min=1, help="Walks (strategy random or swarm).")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed for random walks.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    trace_out: Annotated[Optional[Path], typer.Option(help="Also write the result and its trace as JSON, for `gupcheck replay`.")] = None,  # noqa: UP007,E501
    html: Annotated[Optional[Path], typer.Option("--html", help="Also write the trace as a self-contained HTML page: one lane per actor, step through it and see the state.")] = None,  # noqa: UP007,E501
    scenario_dir: ScenarioDirs = None,
    search_opts: opts.SearchOptions = opts.SearchOptions(),  # --checkpoint ... --reduce
) -> None:
    """Check one scenario under one design; print the verdict and the shortest trace.

    Exit codes: 0 holds, 1 violated/deadlock/starves, 2 usage error, 3 incomplete, 4 the design
    refuses the scenario's request (with its errno), 5 the model failed, 7 the --resume
    checkpoint is unusable (another model, design, scenario or search; corrupt), 9 the scenario
    does not apply to this kernel (it lacks io_uring, say).

    Example: gupcheck check dio-vs-reclaim --design linux-6.1 --property dirty-has-backing

    Example: gupcheck check dio-vs-reclaim --design linux-6.1 --html f1.html
    """
    sc = _scenario(scenario, scenario_dir)
    cfg = _design(design)
    bad = [p for p in prop or () if p not in PROPERTIES]
    if bad:
        raise usage_error(f"unknown property {bad[0]!r}; choose from: {', '.join(PROPERTIES)}")
    limits = Limits(max_states=max_states, max_seconds=max_seconds)
    search = search_opts.kwargs(strategy.value)
    probe = check(RefusalProbe(sc, cfg, ()), limits=limits, liveness=False)
    if probe.verdict is Verdict.VIOLATED and probe.message.startswith("n/a: "):
        _emit_not_applicable(probe, sc, cfg, as_json)
        raise typer.Exit(exitcodes.NOT_APPLICABLE)
    if probe.verdict is Verdict.VIOLATED:
        if html:
            _write(html, trace_page(probe, KernelModel(sc, cfg), verdict="refused"))
        _emit_refused(probe, sc, cfg, as_json)
        raise typer.Exit(exitcodes.REFUSED)
    model = KernelModel(sc, cfg, prop or None)
    with ProgressDisplay(model.name, enabled=None if not as_json else False) as progress, \
            opts.checkpoint_errors():
        result = check(model, strategy=strategy.value, limits=limits, walks=walks, seed=seed,
                       progress=progress, **search, reduce=search_opts.reductions())
    data = {"scenario": sc.name, "design": design, "errno": None,
            "properties": list(model.properties), **result_to_dict(result)}
    if trace_out:
        trace_out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n",
                             encoding="utf-8")
    if html:
        _write(html, trace_page(result, model))
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render_kernel(result, model) + "\n")
    raise typer.Exit(exitcodes.BY_VERDICT[result.verdict])


@app.command("replay")
def replay_trace(
    trace_file: Annotated[Path, typer.Argument(help="A trace written by `gupcheck check --trace-out` (or its --json output).")],  # noqa: E501
    design: Annotated[Optional[str], typer.Option(help="Replay under another design (default: the trace's).")] = None,  # noqa: UP007,E501
    scenario_dir: ScenarioDirs = None,
) -> None:
    """Re-execute a saved counterexample against the current model.

    Exit 1 if the same failure still happens, 6 if the model has changed so that it no longer
    does (the report says at which step), 2 for a file that is not a gupcheck trace.

    Example: gupcheck check dio-vs-reclaim --design linux-6.1 --trace-out f1.json; gupcheck replay f1.json
    """
    try:
        data = json.loads(trace_file.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "trace" in data and data["trace"] is None:
            raise usage_error(f"{trace_file}: the result ({data.get('verdict')}) has no trace "
                              "to replay")
        scenario, design = data["scenario"], design or data["design"]
        labels = [step["label"] for step in data["trace"][1:]]
        init_index = int(data.get("init_index") or 0)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise usage_error(f"{trace_file}: not a gupcheck trace ({type(exc).__name__}: {exc})") \
            from None
    sc = _scenario(scenario, scenario_dir)
    model = KernelModel(sc, _design(design), data.get("properties") or None)
    prop = data.get("property")
    done = replay(model, init_index, labels, prop)
    steps = len(done.trace) if done.trace else 0
    sys.stdout.write(
        f"replay of {scenario} under {design} ({len(labels)} steps, written by gupcheck "
        f"{data.get('gupcheck_version', '?')}): {'REPRODUCED' if done.reproduced else 'NOT REPRODUCED'}"
        f"\n  {done.message}\n  {steps} of {len(labels)} steps replayed\n")
    raise typer.Exit(exitcodes.FAILED if done.reproduced else exitcodes.NOT_REPRODUCED)


def _write(path: Path, text: str) -> None:
    """Write a report file; a path that cannot be written is a usage error, not a traceback."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise usage_error(f"cannot write {path}: {exc.strerror or exc}") from None


def _emit_refused(probe: Result, sc: Scenario, cfg: KernelConfig, as_json: bool) -> None:
    errno = probe.message
    if as_json:
        data = {"scenario": sc.name, "design": cfg.name, "errno": errno,
                **result_to_dict(probe), "verdict": "refused", "property": None}
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        return
    labels = probe.trace.labels() if probe.trace else []
    sys.stdout.write(
        f"Scenario {sc.name} under {cfg.name}: {sc.description}\n"
        f"⊘ {sc.name} [{cfg.name}]: REFUSED — the design refuses the scenario's request with "
        f"-{errno}\n  (safe, but it breaks this application)\n"
        + "".join(f"  {i + 1:>3}  {lab}\n" for i, lab in enumerate(labels)))


def _emit_not_applicable(probe: Result, sc: Scenario, cfg: KernelConfig, as_json: bool) -> None:
    why = probe.message.removeprefix("n/a: ")
    if as_json:
        data = {"scenario": sc.name, "design": cfg.name, "errno": None, **result_to_dict(probe),
                "verdict": "n/a", "property": None, "why": why}
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        return
    sys.stdout.write(f"Scenario {sc.name} under {cfg.name}: {sc.description}\n"
                     f"∅ {sc.name} [{cfg.name}]: NOT APPLICABLE — {why}\n")


class Format(str, enum.Enum):
    table = "table"
    markdown = "markdown"
    json = "json"
    html = "html"


@app.command("matrix")
def matrix(
    designs: Annotated[Optional[str], typer.Option(help="Comma-separated designs (default: all).")] = None,  # noqa: UP007,E501
    scenarios: Annotated[Optional[str], typer.Option(help="Comma-separated scenarios (default: all).")] = None,  # noqa: UP007,E501
    fmt: Annotated[Format, typer.Option("--format", help="Output format; html is one self-contained page with every counterexample.")] = Format.table,  # noqa: E501
    out: Annotated[Optional[Path], typer.Option(help="Write to this file instead of stdout.")] = None,  # noqa: UP007,E501
    max_states: Annotated[int, typer.Option(min=1, help="Per-run state limit (the cell is incomplete beyond it).")] = 2_000_000,  # noqa: E501
    max_seconds: Annotated[float, typer.Option(min=0, help="Per-run time limit in seconds.")] = 600.0,  # noqa: E501
    workers: Annotated[int, typer.Option(min=1, help="Processes computing cells (default: every core).")] = os.cpu_count() or 1,  # noqa: E501
    scenario_dir: ScenarioDirs = None,
    reduce: opts.ReduceOpt = None,
) -> None:
    """Check every design against every scenario and print the verdict matrix.

    Each failing cell names the properties it breaks and the length of each shortest
    counterexample; `gupcheck check SCENARIO --design DESIGN --property NAME` prints the trace.

    Example: gupcheck matrix --format markdown --out docs/matrix.md

    Example: gupcheck matrix --designs linux-6.1,linux-6.12 --format html --out matrix.html
    """
    known = _scenarios(scenario_dir)
    scs = [s.strip() for s in scenarios.split(",")] if scenarios else list(known)
    for name in scs:
        if name not in known:
            raise usage_error(f"unknown scenario {name!r}; choose one of: {', '.join(known)}")
    ds = [d.strip() for d in designs.split(",")] if designs else list(DESIGNS)
    cfgs = [_design(d) for d in ds]
    limits = Limits(max_states=max_states, max_seconds=max_seconds)
    err = Console(stderr=True, highlight=False)
    show = fmt is not Format.json and sys.stderr.isatty()

    def progress(cell: Cell) -> None:
        if show:
            err.print(f"  {cell.scenario} × {cell.design}: {cell_text(cell)}", markup=False)

    cells = run_matrix([known[s] for s in scs], cfgs, limits, progress, workers=workers,
                       reduce=opts.reductions(reduce))
    if fmt is Format.json:
        text = json.dumps(to_json(cells), ensure_ascii=False, indent=1) + "\n"
    elif fmt is Format.markdown:
        text = to_markdown(cells, ds)
    elif fmt is Format.html:
        text = matrix_page(cells, ds, known, {d: DESIGNS[d] for d in ds})
    else:
        table = Table("scenario", *ds, title="gupcheck verdict matrix", show_lines=True)
        for sc, row in by_scenario(cells).items():
            table.add_row(sc, *(cell_text(row[d]) for d in ds))
        console = Console(highlight=False, width=max(120, 30 + 28 * len(ds)))
        with console.capture() as cap:
            console.print(table)
        text = cap.get()
    if out:
        _write(out, text)
    else:
        sys.stdout.write(text)


app.command("conform")(conform_command)


def main() -> None:
    app()
