"""``gupcheck``: check page-pinning designs against kernel scenarios, and run classic demos.

Exit codes: :data:`gupcheck.cli.exitcodes.DESCRIPTIONS` (``gupcheck --help`` prints them).
"""

from __future__ import annotations

import enum
import errno as errno_names
import json
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from gupcheck import __version__
from gupcheck.classic import DEMOS
from gupcheck.designs import DESIGNS, SUMMARIES
from gupcheck.engine import Limits, Result, Verdict, check
from gupcheck.engine.limits import interruptible
from gupcheck.engine.replay import replay
from gupcheck.kernel.config import KernelConfig
from gupcheck.kernel.fs import DESCRIPTIONS as FS_DESCRIPTIONS
from gupcheck.kernel.properties import PROPERTIES
from gupcheck.kernel.system import KernelModel, Scenario
from gupcheck.lab import (
    REFUSED,
    VARIANT_MAX_STATES,
    Cell,
    Refusable,
    RefusalProbe,
    needs_refusal_search,
    run_matrix,
    run_variants,
)
from gupcheck.reports.html import matrix_page, trace_page
from gupcheck.reports.json import result_to_dict, scenario_source
from gupcheck.reports.kernel import heading, render_kernel
from gupcheck.reports.matrix import SHORT, cell_text, fit_tables, to_json, to_markdown
from gupcheck.reports.progress import ProgressDisplay
from gupcheck.reports.text import render
from gupcheck.scenarios import ScenarioError, resolve_source
from gupcheck.scenarios.variants import split_name

from . import exitcodes
from . import search_options as opts
from .common import check_outputs as _outputs
from .common import describe_os_error, fail, seconds, usage_error
from .common import load_scenarios as _scenarios
from .common import write_report as _write
from .conform import conform_command
from .design_search import designs_app
from .designs import DesignError, is_design_module, load_design
from .kernel_build import kernel_app
from .trace_file import REPLAYABLE, TraceFileError, labels_of, load_trace, recorded_scenario

app = typer.Typer(
    name="gupcheck",
    help=("Model-check Linux page-pinning designs (get_user_pages / pin_user_pages against "
          "writeback, truncate, reclaim and fork).\n\n"
          f"Exit codes: {exitcodes.summary()}; matrix: 0 every cell complete, 3 some "
          "incomplete (a limit was hit, or Ctrl-C), 5 some error.\n\n"
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
    version: Annotated[bool | None, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None,
) -> None:
    """gupcheck command line."""


@app.command("demos")
def demos() -> None:
    """List the classic demo models.

    Example: gupcheck demos
    """
    table = Table("name", "what it shows", box=None)
    for name, (_, doc) in DEMOS.items():
        table.add_row(name, doc)
    Console().print(table)


MaxMemory = Annotated[int | None, typer.Option(
    min=1, help="Stop when the process uses this many MiB (exit 3; with --checkpoint, a final "
    "checkpoint to --resume from).")]
FrontierMemory = Annotated[int | None, typer.Option(
    min=0, help="BFS: MiB of a level's states kept live; beyond, blocks of states are "
    "compressed, then spilled to a temporary file (default 1024, or a quarter of "
    "--max-memory).")]
# the options `demo` and `check` share
StrategyOption = Annotated[Strategy, typer.Option(help="Search strategy.")]
MaxStates = Annotated[int | None, typer.Option(
    min=1, help="Stop after this many distinct states.")]
MaxSeconds = Annotated[float | None, typer.Option(
    parser=seconds, help="Stop after this many seconds (0 or more).")]
Walks = Annotated[int | None, typer.Option(
    min=1, help="Walks (strategy random or swarm; default 1000).")]
Seed = Annotated[int | None, typer.Option(
    help="Seed for random walks (strategy random or swarm; default 0).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _memory(max_memory: int | None, frontier_memory: int | None) -> dict[str, int | None]:
    """The Limits fields of --max-memory and --frontier-memory (MiB)."""
    return {"max_memory_bytes": max_memory * 2**20 if max_memory else None,
            "frontier_memory_bytes": None if frontier_memory is None else frontier_memory * 2**20}


@app.command("demo")
@opts.with_search_options
def demo(
    name: Annotated[str, typer.Argument(help="A demo model; `gupcheck demos` lists them.")],
    strategy: StrategyOption = Strategy.bfs,
    exact: Annotated[bool, typer.Option(
        help="Store whole states, not 64-bit fingerprints.")] = False,
    max_states: MaxStates = None,
    max_depth: Annotated[int | None, typer.Option(
        min=0, help="Depth bound (BFS level, DFS path, walk length).")] = None,
    max_seconds: MaxSeconds = None,
    max_memory: MaxMemory = None,
    frontier_memory: FrontierMemory = None,
    walks: Walks = None,
    seed: Seed = None,
    liveness: Annotated[bool, typer.Option(help="Also check liveness properties (BFS).")] = True,
    as_json: AsJson = False,
    search_opts: opts.SearchOptions = opts.SearchOptions(),  # --checkpoint ... --reduce
) -> None:
    """Check one of the classic demo models and print the verdict and trace.

    Example: gupcheck demo philosophers --strategy bfs
    """
    if name not in DEMOS:
        raise usage_error(f"unknown demo {name!r}; choose one of: {', '.join(DEMOS)}")
    model = DEMOS[name][0]()
    limits = Limits(max_states=max_states, max_depth=max_depth, max_seconds=max_seconds,
                    **_memory(max_memory, frontier_memory))
    options = search_opts.engine_options(strategy.value, exact=exact, liveness=liveness,
                                         walks=walks, seed=seed)
    opts.warn_workers(search_opts.workers)
    with ProgressDisplay(name, enabled=None if not as_json else False) as progress, \
            opts.checkpoint_errors(), interruptible():
        result = check(model, options=options, limits=limits, progress=progress)
    if as_json:
        sys.stdout.write(json.dumps(result_to_dict(result), ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render(result) + "\n")
    raise typer.Exit(exitcodes.BY_VERDICT[result.verdict])


ScenarioDirs = Annotated[list[Path] | None, typer.Option(
    "--scenario-dir", help="Also load the *.toml scenarios in this folder (repeatable).")]


def _scenario(name: str, dirs: list[Path] | None) -> Scenario:
    return _scenario_source(name, dirs)[0]


def _scenario_source(name: str, dirs: list[Path] | None) -> tuple[Scenario, Path | None]:
    """The scenario and the file it was read from (None for a shipped one)."""
    try:
        return resolve_source(name, dirs or ())
    except ScenarioError as err:
        raise usage_error(str(err)) from None
    except KeyError:
        names = ", ".join(_scenarios(dirs))
        raise usage_error(f"unknown scenario {name!r}; choose one of: {names} "
                          "(or give the path of a .toml file)") from None


def _unknown_property(name: str) -> str:
    """Why ``--property name`` is refused: the matrix's short names and the two checks made
    on every search, which `gupcheck list` shows beside the properties, get their own word."""
    long = {short.split()[0]: full for full, short in SHORT.items()}.get(name, name)
    choose = f"choose from: {', '.join(PROPERTIES)}"
    if long in ("deadlock", "wait-for-cycle"):
        return f"{name!r} is checked on every search, not chosen with --property; {choose}"
    if long in PROPERTIES:
        return f"{name!r} is the matrix's short name: give --property {long}"
    return f"unknown property {name!r}; {choose}"


def _design(spec: str, max_seconds: float | None = None) -> KernelConfig:
    """A shipped design by name, or the design module at this path (its code runs: the user
    named it on the command line; its import counts against ``max_seconds``)."""
    try:
        return load_design(spec, max_seconds)
    except DesignError as err:
        raise fail(str(err), err.code) from None


def _trace_design(path: Path, given: str | None, recorded: str, module: str | None,
                  verb: str) -> str:
    """The design to rebuild a saved trace's model with: ``--design`` if given, else the one
    the trace names if it is shipped.  A design module named in a file is never imported (its
    code would run): only one whose path is on the command line."""
    if given is None and recorded not in DESIGNS:
        source = f" (from the design module {module})" if module else ""
        raise usage_error(f"{path}: the trace was made with design {recorded!r}{source}; give "
                          f"--design NAME or --design FILE.py to {verb} it (gupcheck runs a "
                          "design module only when its path is given on the command line)")
    return given or recorded


def _design_source(spec: str, cfg: KernelConfig) -> dict[str, str | None]:
    """How a trace records its design: the design's name, and the module it came from."""
    return {"design": cfg.name,
            "design_file": str(Path(spec).resolve()) if is_design_module(spec) else None}


def _with_variant(sc: Scenario, variant: str | None) -> Scenario:
    """``sc``'s variant (``check --variant``); unknown or inapplicable: a usage error."""
    from gupcheck.scenarios.variants import apply

    if variant is None:
        return sc
    try:
        return apply(sc, variant)
    except (KeyError, ValueError) as err:
        raise usage_error(str(err.args[0])) from None


@app.command("list")
def list_things(scenario_dir: ScenarioDirs = None) -> None:
    """List the designs, scenarios, filesystems and properties (with the matrix's short names).

    Example: gupcheck list
    """
    scenarios = _scenarios(scenario_dir)  # a bad folder is an error before any output
    console = Console(highlight=False)
    table = Table("design", "what it is", box=None, title="Designs")
    for name in DESIGNS:
        table.add_row(name, design_summary(name))
    console.print(table)
    table = Table("scenario", "what it does", box=None, title="Scenarios")
    for sc in scenarios.values():
        table.add_row(sc.name, Text(sc.description))  # a user's text: never rich markup
    console.print(table)
    table = Table("filesystem", "what it is (a scenario's `filesystem =`)", box=None,
                  title="Filesystems")
    for fs_name, what in FS_DESCRIPTIONS.items():
        table.add_row(fs_name, what)
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
    """A design's first docstring paragraph, whole (``SUMMARIES``)."""
    return SUMMARIES[name]


@app.command("check")
@opts.with_search_options
def check_scenario(
    scenario: Annotated[str, typer.Argument(
        help="A scenario name (`gupcheck list`) or the path of a scenario .toml file.")],
    design: Annotated[str, typer.Option(
        help="The design (kernel) to check it under: a name from `gupcheck list`, or the path of a "
        "design module (.py defining DESIGN; its code runs).")] = "linux-6.12",
    prop: Annotated[list[str] | None, typer.Option(
        "--property", help="Check only this property (repeatable).")] = None,
    strategy: StrategyOption = Strategy.bfs,
    max_states: MaxStates = None,
    max_seconds: MaxSeconds = None,
    max_memory: MaxMemory = None,
    frontier_memory: FrontierMemory = None,
    walks: Walks = None,
    seed: Seed = None,
    as_json: AsJson = False,
    trace_out: Annotated[Path | None, typer.Option(
        help="Also write the result and its trace as JSON, for `gupcheck replay`.")] = None,
    html: Annotated[Path | None, typer.Option(
        "--html", help="Also write the trace as a self-contained HTML page: one lane per actor, "
        "step through it and see the state.")] = None,
    variant: Annotated[str | None, typer.Option(
        help="Check the scenario's variant (+fsync, +msync, +dio-read, +writeback, +reclaim, "
        "+page; docs/matrix-variants.md).")] = None,
    scenario_dir: ScenarioDirs = None,
    search_opts: opts.SearchOptions = opts.SearchOptions(),  # --checkpoint ... --reduce
) -> None:
    """Check one scenario under one design; print the verdict and the shortest trace.

    Exit codes: 0 holds, 1 violated/deadlock/starves, 2 usage error, 3 incomplete (a limit was
    hit, or Ctrl-C: the counts so far, and a final checkpoint if asked for), 4 the design
    refuses the scenario's request (with its errno), 5 the model failed, 7 the --resume
    checkpoint is unusable (another model, design, scenario or search; corrupt), 9 the scenario
    does not apply to this kernel (it lacks io_uring, say), 10 an output file cannot be
    written, 11 the design module failed to import.

    Example: gupcheck check dio-vs-reclaim --design linux-6.1 --property dirty-has-backing

    Example: gupcheck check dio-vs-reclaim --design linux-6.1 --html f1.html
    """
    _outputs(trace_out=trace_out, html=html)
    # a variant's name works as a scenario name too (dio-vs-reclaim+fsync, as traces record it)
    base, parts = (scenario, []) if Path(scenario).suffix == ".toml" else split_name(scenario)
    sc, sc_file = _scenario_source(base, scenario_dir)
    _outputs(sc_file, Path(design) if is_design_module(design) else None,
             trace_out=trace_out, html=html, checkpoint=search_opts.checkpoint)
    for part in [*parts, *([variant] if variant is not None else [])]:
        sc = _with_variant(sc, part)
    source = scenario_source(sc_file)
    bad = [p for p in prop or () if p not in PROPERTIES]
    if bad:
        raise usage_error(_unknown_property(bad[0]))
    options = search_opts.engine_options(strategy.value, walks=walks, seed=seed)
    cfg = _design(design, max_seconds)
    source |= _design_source(design, cfg)
    limits = Limits(max_states=max_states, max_seconds=max_seconds,
                    **_memory(max_memory, frontier_memory))
    opts.warn_workers(search_opts.workers)
    model = KernelModel(sc, cfg, prop or None)
    # one search: the properties and, first, whether the request is refused (lab.Refusable)
    with ProgressDisplay(model.name, enabled=None if not as_json else False) as progress, \
            opts.checkpoint_errors(), interruptible():
        result = check(Refusable(sc, cfg, prop or None), options=options, limits=limits,
                       progress=progress)
    refusal = _refusal(result, sc, cfg, limits, strategy.value, as_json)
    if refusal is not None and refusal.message.startswith("n/a: "):
        _emit_not_applicable(refusal, sc, cfg, as_json, trace_out, source)
        raise typer.Exit(exitcodes.NOT_APPLICABLE)
    if refusal is not None:
        _emit_refused(refusal, sc, cfg, as_json, trace_out, source)
        if html:
            _write(html, trace_page(refusal, KernelModel(sc, cfg), verdict="refused"))
        raise typer.Exit(exitcodes.REFUSED)
    data = {"scenario": sc.name, "errno": None, **source,
            "properties": list(model.properties), **result_to_dict(result)}
    if as_json:  # printed first: a file that cannot be written loses nothing
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render_kernel(result, model) + "\n")
    sys.stdout.flush()
    if trace_out:
        _write(trace_out, json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    if html:
        _write(html, trace_page(result, model))
    raise typer.Exit(exitcodes.BY_VERDICT[result.verdict])


@app.command("replay")
def replay_trace(
    trace_file: Annotated[Path, typer.Argument(
        help="A trace written by `gupcheck check --trace-out` (or its --json output).")],
    design: Annotated[str | None, typer.Option(
        help="Replay under another design (default: the trace's): a name, or the path of a design "
        "module (.py; its code runs).")] = None,
    scenario_dir: ScenarioDirs = None,
) -> None:
    """Re-execute a saved trace against the current model: is the recorded verdict reproduced?

    The same property must fail at the end (the same errno for a refusal, the same lasso for
    starvation, the same deadlock or model failure). A user's scenario is read from the file the
    trace recorded, which must be unchanged (its sha256 is recorded). A design module is run
    only when given here with --design, never because the trace names it.

    Exit codes: when reproduced, the code `check` gave (1 violated/deadlock/starves, 4
    refused, 5 model error, 9 not applicable); 6 not reproduced (the report says at which
    step); 2 a file that is not a replayable gupcheck trace, or its scenario file missing or
    changed; 10 the trace cannot be read; 11 the design module failed to import.

    Example: gupcheck check dio-vs-reclaim --design linux-6.1 --trace-out f1.json;
    gupcheck replay f1.json
    """
    try:
        tf = load_trace(trace_file)
        recorded = recorded_scenario(tf, trace_file)
    except TraceFileError as err:
        raise fail(str(err), err.code) from None
    base, parts = split_name(tf.scenario)  # a variant's name: dio-vs-reclaim+fsync
    if recorded is not None:
        sc = recorded
    else:  # a shipped scenario, or one of --scenario-dir: by name, never a path the file names
        known = _scenarios(scenario_dir)
        if base not in known:
            raise usage_error(f"{trace_file}: unknown scenario {tf.scenario!r}; give the folder "
                              "of your scenarios with --scenario-dir")
        sc = known[base]
    for part in parts:
        sc = _with_variant(sc, part)
    spec = _trace_design(trace_file, design, tf.design, tf.design_file, "replay")
    cfg = _design(spec)
    labels, init_index = labels_of(tf), tf.init_index or 0
    kwargs: dict[str, Any] = {}
    if tf.verdict in ("refused", "n/a"):
        model: KernelModel = RefusalProbe(sc, cfg, ())
        prop: str | None = REFUSED
        kwargs["why"] = tf.errno if tf.verdict == "refused" else f"n/a: {tf.why}"
    else:
        try:
            model = KernelModel(sc, cfg, tf.properties)
        except ValueError as err:
            raise usage_error(f"{trace_file}: {err}") from None
        prop = tf.property
        if tf.verdict == "error":
            kwargs["error"] = tf.message
        if tf.verdict == "starves":
            kwargs.update(loop_start=tf.loop_start, stutters=bool(tf.stutters))
    done = replay(model, init_index, labels, prop, **kwargs)
    steps = len(done.trace) if done.trace else 0
    sys.stdout.write(
        f"replay of {sc.name} under {cfg.name} ({tf.verdict}, {len(labels)} steps, written by "
        f"gupcheck {tf.gupcheck_version}): "
        f"{'REPRODUCED' if done.reproduced else 'NOT REPRODUCED'}"
        f"\n  {done.message}\n  {steps} of {len(labels)} steps replayed\n")
    raise typer.Exit(REPLAYABLE[tf.verdict] if done.reproduced else exitcodes.NOT_REPRODUCED)


def _refusal(result: Result, sc: Scenario, cfg: KernelConfig, limits: Limits, strategy: str,
             as_json: bool) -> Result | None:
    """The result showing the design refusing the scenario's request, if it does.

    Usually the check's own search answered (lab.needs_refusal_search); after an early
    counterexample, a search for the refusal alone follows, shown and bounded by what is left
    of the limits, as in a matrix cell any reachable refusal makes the verdict "refused".  A
    refusal found by dfs or a random walk is re-shortened by a breadth-first search to its
    depth, so that the refusal trace is the shortest whatever the strategy."""
    refused = result.verdict is Verdict.VIOLATED and result.property == REFUSED
    if refused and (strategy == "bfs" or result.trace is None):
        return result
    if not refused and not needs_refusal_search(result):
        return None
    left = None if limits.max_seconds is None else max(
        limits.max_seconds - result.stats.seconds, 0.0)
    bounds = replace(limits, max_seconds=left,
                     max_depth=len(result.trace) if refused and result.trace else None)
    with ProgressDisplay(f"{sc.name} [{cfg.name}]: " + (
            "the shortest refusal" if refused else "is the request refused later?"),
            enabled=None if not as_json else False) as progress, interruptible():
        probe = check(RefusalProbe(sc, cfg, ()), limits=bounds, liveness=False,
                      progress=progress)
    if probe.verdict is Verdict.VIOLATED and probe.property == REFUSED:
        return probe
    return result if refused else None


def _emit_refused(probe: Result, sc: Scenario, cfg: KernelConfig, as_json: bool,
                  trace_out: Path | None = None, source: dict[str, Any] | None = None) -> None:
    errno = probe.message
    data = {"scenario": sc.name, "design": cfg.name, "errno": errno, **(source or {}),
            **result_to_dict(probe), "verdict": "refused", "verdict_text": "refused",
            "property": None}
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    else:
        labels = probe.trace.labels() if probe.trace else []
        sys.stdout.write(
            f"Scenario {sc.name} under {cfg.name}: {sc.description}\n"
            f"⊘ {sc.name} [{cfg.name}]: REFUSED — the design refuses the scenario's request "
            f"with -{errno}\n  (safe, but it breaks this application)\n"
            + "".join(f"  {i + 1:>3}  {lab}\n" for i, lab in enumerate(labels)))
    sys.stdout.flush()
    if trace_out:
        _write(trace_out, json.dumps(data, ensure_ascii=False, indent=1) + "\n")


def _emit_not_applicable(probe: Result, sc: Scenario, cfg: KernelConfig, as_json: bool,
                         trace_out: Path | None = None,
                         source: dict[str, Any] | None = None) -> None:
    why = probe.message.removeprefix("n/a: ")
    data = {"scenario": sc.name, "design": cfg.name, "errno": None, **(source or {}),
            **result_to_dict(probe), "verdict": "n/a", "verdict_text": "n/a", "property": None,
            "why": why}
    if as_json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(f"Scenario {sc.name} under {cfg.name}: {sc.description}\n"
                         f"∅ {sc.name} [{cfg.name}]: NOT APPLICABLE — {why}\n")
    sys.stdout.flush()
    if trace_out:
        _write(trace_out, json.dumps(data, ensure_ascii=False, indent=1) + "\n")


class Format(str, enum.Enum):
    table = "table"
    markdown = "markdown"
    json = "json"
    html = "html"


@app.command("matrix")
def matrix(
    designs: Annotated[str | None, typer.Option(
        help="Comma-separated designs (default: all): names, or paths of design modules (.py; "
        "their code runs).")] = None,
    scenarios: Annotated[str | None, typer.Option(
        help="Comma-separated scenarios (default: all).")] = None,
    fmt: Annotated[Format, typer.Option(
        "--format", help="Output format; html is one self-contained page with every "
        "counterexample.")] = Format.table,
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout.")] = None,
    max_states: Annotated[int, typer.Option(
        min=1, help="Per-run state limit (the cell is incomplete beyond it).")] = 2_000_000,
    max_seconds: Annotated[float, typer.Option(
        parser=seconds, help="Per-run time limit in seconds (0 or more).")] = 600.0,
    workers: Annotated[int, typer.Option(
        min=1, help="Processes computing cells (default: every core).")] = os.cpu_count() or 1,
    scenario_dir: ScenarioDirs = None,
    reduce: opts.ReduceOpt = None,
    variants: Annotated[bool, typer.Option(
        "--variants", help="Also check each cell's scenario variants (+fsync, +writeback, +page, "
        "...) and mark verdicts that flip as FRAGILE (docs/matrix-variants.md).")] = False,
    variant_max_states: Annotated[int, typer.Option(
        min=1, help="Per-variant state limit (the variant is incomplete beyond it).",
    )] = VARIANT_MAX_STATES,
) -> None:
    """Check every design against every scenario and print the verdict matrix.

    Each failing cell names the properties it breaks and the length of each shortest
    counterexample; `gupcheck check SCENARIO --design DESIGN --property NAME` prints the trace.
    An incomplete cell names the limit that stopped it ("incomplete: max-states"). Ctrl-C
    prints the cells finished so far and marks the others "not run".

    Exit codes: 0 every cell complete (violations are results here, not failures), 3 some
    cell incomplete or not run (a limit was hit, or Ctrl-C; with --variants, a variant too),
    5 some cell's model failed (error), 2 usage error.

    Example: gupcheck matrix --format markdown --out docs/matrix.md

    Example: gupcheck matrix --designs linux-6.1,linux-6.12 --format html --out matrix.html
    """
    _outputs(out=out)
    known = _scenarios(scenario_dir)
    scs = [s.strip() for s in scenarios.split(",")] if scenarios is not None else list(known)
    for name in scs:
        if name not in known:
            raise usage_error(f"unknown scenario {name!r}; choose one of: {', '.join(known)}")
        if scs.count(name) > 1:
            raise usage_error(f"--scenarios: the scenario {name!r} is named twice")
    cfgs = [_design(d.strip(), max_seconds) for d in designs.split(",")] if designs is not None \
        else list(DESIGNS.values())
    ds = [cfg.name for cfg in cfgs]
    if len(set(ds)) < len(ds):
        twice = next(d for d in ds if ds.count(d) > 1)
        raise usage_error(f"--designs: the design {twice!r} is named twice (a design module's "
                          "DESIGN must not reuse a shipped design's name)")
    partial = {"por", "por-check", "local"} & set(opts.reductions(reduce))
    if partial:
        name = "local" if partial == {"local"} else "por"
        raise usage_error(f"--reduce {name}: a matrix cell searches on past its first "
                          "counterexample (one per property), which partial-order reduction "
                          "does not support; check a cell with `gupcheck check SCENARIO "
                          f"--design DESIGN --reduce {name}`")
    limits = Limits(max_states=max_states, max_seconds=max_seconds)
    err = Console(stderr=True, highlight=False)
    show = fmt is not Format.json and sys.stderr.isatty()

    def progress(cell: Cell) -> None:
        if show:
            err.print(f"  {cell.scenario} × {cell.design}: {cell_text(cell)}", markup=False)

    opts.warn_workers(workers)
    with interruptible():  # Ctrl-C: the finished cells are printed, the rest marked
        cells = run_matrix([known[s] for s in scs], cfgs, limits, progress, workers=workers,
                           reduce=opts.reductions(reduce))
        if variants:
            cells = _check_variants(cells, known, limits, err if show else None, workers,
                                    opts.reductions(reduce), variant_max_states)
    if fmt is Format.json:
        text = json.dumps(to_json(cells), ensure_ascii=False, indent=1) + "\n"
    elif fmt is Format.markdown:
        text = to_markdown(cells, ds, variant_max_states)
    elif fmt is Format.html:
        text = matrix_page(cells, ds, known, dict(zip(ds, cfgs, strict=True)))
    else:
        text = _matrix_table(cells, ds, to_terminal=out is None)
    if out:
        _write(out, text, print_on_failure=True)  # hours of cells are not lost to a full disk
    else:
        sys.stdout.write(text)
    # a variant past its bound is a limit hit too: no claim either way (exit 3)
    raise typer.Exit(exitcodes.matrix_exit(
        [c.verdict for c in cells] + [v.verdict for c in cells for _, v in c.variants]))


def _matrix_table(cells: list[Cell], ds: list[str], *, to_terminal: bool) -> str:
    """The terminal matrix: fitted to the terminal's width (or $COLUMNS) when printed there,
    one wide table in a file or a pipe."""
    fit = to_terminal and (sys.stdout.isatty() or "COLUMNS" in os.environ)
    width = Console().width if fit else max(120, 30 + 28 * len(ds))
    console = Console(highlight=False, width=width)
    with console.capture() as cap:
        for table in fit_tables(cells, ds, width if fit else None):
            console.print(table)
    return cap.get()


@app.command("explore")
def explore(
    scenario: Annotated[str | None, typer.Argument(
        help="A scenario name or the path of a .toml file (default: the --trace's).")] = None,
    design: Annotated[str | None, typer.Option(
        help="The design (default: the --trace's, else linux-6.12).")] = None,
    trace: Annotated[Path | None, typer.Option(
        "--trace", help="Start from a trace written by `gupcheck check --trace-out` (or --json): "
        "its first state, the whole counterexample as the path.")] = None,
    port: Annotated[int, typer.Option(
        min=0, max=65535, help="Port on 127.0.0.1 (0: any free one).")] = 0,
    scenario_dir: ScenarioDirs = None,
) -> None:
    """Explore a scenario by hand in a local web page: the state in kernel terms, every enabled
    step with its kernel function, back/forward, the properties at each state.

    Serves on 127.0.0.1 only and prints the URL; Ctrl-C stops it. Exit codes: 0 stopped,
    2 usage error (unknown names, a file that is not a trace, a port in use), 5 the model failed.

    Example: gupcheck explore dio-vs-reclaim --design linux-6.1

    Example: gupcheck explore --trace f1.json   (written by gupcheck check ... --trace-out f1.json)
    """
    from gupcheck.engine import ModelError
    from gupcheck.explore import ExploreError, Explorer, read_trace, serve

    try:
        saved = read_trace(trace) if trace else None
    except ExploreError as err:
        raise usage_error(str(err)) from None
    if scenario is None and saved is None:
        raise usage_error("give a SCENARIO, or --trace FILE to start from a saved trace")
    recorded = None
    if scenario is None and trace is not None:  # a user's scenario: the file the trace names
        try:
            recorded = recorded_scenario(load_trace(trace), trace)
        except TraceFileError as err:
            raise fail(str(err), err.code) from None
    sc = recorded or _scenario(scenario or saved.scenario, scenario_dir)  # type: ignore[union-attr]
    name = _trace_design(trace, design, saved.design, None, "explore") \
        if saved and trace else design or "linux-6.12"
    model = KernelModel(sc, _design(name))
    kw = {"title": f"{sc.name} under {name}", "heading": heading(model)}
    try:
        ex = Explorer.from_trace(model, saved, **kw) if saved else Explorer(model, **kw)
    except ModelError as err:
        Console(stderr=True).print(f"gupcheck: the model failed: {err.message}", markup=False,
                                   highlight=False)
        raise typer.Exit(exitcodes.MODEL_ERROR) from None
    try:
        server = serve(ex, port)
    except OSError as exc:
        raise usage_error(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    sys.stdout.write(f"gupcheck explore: {sc.name} under {name} at {server.url} "
                     "(Ctrl-C stops it)\n")
    if ex.notice:
        sys.stdout.write(f"  {ex.notice}\n")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _check_variants(cells: list[Cell], known: dict[str, Scenario], limits: Limits,
                    err: Console | None, workers: int, reduce: tuple[str, ...],
                    max_states: int) -> list[Cell]:
    """``matrix --variants``: each cell's scenario variants (gupcheck.lab.run_variants)."""

    def progress(cell: Cell) -> None:
        if err is not None and cell.variants:
            err.print(f"  variants of {cell.scenario} × {cell.design}: {cell_text(cell)}",
                      markup=False)

    return run_variants(cells, known, DESIGNS, limits, progress, workers=workers,
                        reduce=reduce, max_states=max_states)


app.command("conform")(conform_command)
app.add_typer(designs_app, name="designs")
app.add_typer(kernel_app, name="kernel")


def main() -> None:
    """The console script: the app, then stdout flushed while errors can still be reported.

    Output to a full device is one line and the I/O exit code, not Python's "Exception
    ignored" and exit 120; a reader that closed the pipe (``gupcheck list | head -1``) ends it
    silently with the I/O exit code, not the exit 1 (which reads as "violated") of rich and
    click, which on EPIPE point the standard output at /dev/null or wrap it and exit 1."""
    stdout, before = sys.stdout, _stdout_file()
    try:
        app()
    except SystemExit:
        if sys.stdout is not stdout or _stdout_file() != before:
            _io_failed("cannot write the output", BrokenPipeError(errno_names.EPIPE, ""))
        try:
            sys.stdout.flush()
        except OSError as exc:
            _io_failed("cannot write the output", exc)
        raise
    except OSError as exc:  # writing the standard output (or another file) failed
        if exc.errno == errno_names.ENAMETOOLONG:  # a path on the command line: a usage error
            sys.stderr.write(f"gupcheck: a path given is too long: {describe_os_error(exc)}\n")
            sys.exit(exitcodes.USAGE)
        where = f"cannot use {exc.filename}" if exc.filename else "cannot write the output"
        _io_failed(where, exc)


def _stdout_file() -> tuple[int, int] | None:
    """Which file descriptor 1 is (device, inode), to notice it was redirected."""
    try:
        st = os.fstat(1)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _io_failed(what: str, exc: OSError) -> NoReturn:
    if exc.errno != errno_names.EPIPE:  # the reader went away: nothing to tell it
        try:
            sys.stderr.write(f"gupcheck: {what}: {describe_os_error(exc)}\n")
            sys.stderr.flush()
        except OSError:
            pass
    # the interpreter would flush stdout again at exit and fail again: drop what is left
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(exitcodes.IO_ERROR)
