"""``gupcheck``: check page-pinning designs against kernel scenarios, and run classic demos.

Exit codes: 0 holds, 1 violated/deadlock/starves, 2 usage error, 3 incomplete, 5 model error.
"""

from __future__ import annotations

import enum
import json
import sys
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from gupcheck import __version__
from gupcheck.classic import DEMOS
from gupcheck.engine import Limits, check
from gupcheck.reports.json import result_to_dict
from gupcheck.reports.progress import ProgressDisplay
from gupcheck.kernel.config import DESIGN_DOCS, KERNELS
from gupcheck.kernel.properties import PROPERTIES
from gupcheck.kernel.system import KernelModel
from gupcheck.reports.kernel import render_kernel
from gupcheck.reports.text import render
from gupcheck.scenarios import SCENARIOS

from . import exitcodes

app = typer.Typer(
    name="gupcheck",
    help=("Model-check Linux page-pinning designs (get_user_pages / pin_user_pages against "
          "writeback, truncate, reclaim and fork).\n\n"
          "Exit codes: 0 holds, 1 violated/deadlock/starves, 2 usage error, 3 incomplete "
          "(a limit was hit), 5 the model failed."),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


class Strategy(str, enum.Enum):
    bfs = "bfs"
    dfs = "dfs"
    random = "random"


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
def demo(
    name: Annotated[str, typer.Argument(help="A demo model; `gupcheck demos` lists them.")],
    strategy: Annotated[Strategy, typer.Option(help="Search strategy.")] = Strategy.bfs,
    exact: Annotated[bool, typer.Option(help="Store whole states, not 64-bit fingerprints.")] = False,
    max_states: Annotated[Optional[int], typer.Option(min=1, help="Stop after this many distinct states.")] = None,  # noqa: UP007,E501
    max_depth: Annotated[Optional[int], typer.Option(min=0, help="Depth bound (BFS level, DFS path, walk length).")] = None,  # noqa: UP007,E501
    max_seconds: Annotated[Optional[float], typer.Option(min=0, help="Stop after this many seconds.")] = None,  # noqa: UP007,E501
    max_memory: Annotated[Optional[int], typer.Option(min=1, help="Stop when the process uses this many MiB.")] = None,  # noqa: UP007,E501
    walks: Annotated[int, typer.Option(min=1, help="Random walks (strategy random).")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed for random walks.")] = 0,
    liveness: Annotated[bool, typer.Option(help="Also check liveness properties (BFS).")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Check one of the classic demo models and print the verdict and trace.

    Example: gupcheck demo philosophers --strategy bfs
    """
    if name not in DEMOS:
        raise usage_error(f"unknown demo {name!r}; choose one of: {', '.join(DEMOS)}")
    model = DEMOS[name][0]()
    limits = Limits(max_states=max_states, max_depth=max_depth, max_seconds=max_seconds,
                    max_memory_bytes=max_memory * 2**20 if max_memory else None)
    with ProgressDisplay(name, enabled=None if not as_json else False) as progress:
        result = check(model, strategy=strategy.value, exact=exact, limits=limits,
                       liveness=liveness, walks=walks, seed=seed, progress=progress)
    if as_json:
        sys.stdout.write(json.dumps(result_to_dict(result), ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render(result) + "\n")
    raise typer.Exit(exitcodes.BY_VERDICT[result.verdict])


@app.command("list")
def list_things() -> None:
    """List the designs (kernels), scenarios and properties.

    Example: gupcheck list
    """
    console = Console(highlight=False)
    table = Table("design", "what it is", box=None, title="Designs (kernel releases)")
    for cfg in KERNELS.values():
        table.add_row(cfg.name, DESIGN_DOCS.get(cfg.name, ""))
    console.print(table)
    table = Table("scenario", "what it does", box=None, title="Scenarios")
    for sc in SCENARIOS.values():
        table.add_row(sc.name, sc.description)
    console.print(table)
    table = Table("property", "objective", "what it says", box=None, title="Properties")
    for p in PROPERTIES.values():
        table.add_row(p.name, p.objective, p.summary)
    console.print(table)


@app.command("check")
def check_scenario(
    scenario: Annotated[str, typer.Argument(help="A scenario; `gupcheck list` lists them.")],
    design: Annotated[str, typer.Option(help="The kernel (design) to check it under.")] = "linux-6.12",
    prop: Annotated[Optional[list[str]], typer.Option("--property", help="Check only this property (repeatable).")] = None,  # noqa: UP007,E501
    strategy: Annotated[Strategy, typer.Option(help="Search strategy.")] = Strategy.bfs,
    max_states: Annotated[Optional[int], typer.Option(min=1, help="Stop after this many distinct states.")] = None,  # noqa: UP007,E501
    max_seconds: Annotated[Optional[float], typer.Option(min=0, help="Stop after this many seconds.")] = None,  # noqa: UP007,E501
    walks: Annotated[int, typer.Option(min=1, help="Random walks (strategy random).")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed for random walks.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Check one scenario under one kernel design; print the verdict and the shortest trace.

    Example: gupcheck check dio-vs-reclaim --design linux-6.1 --property dirty-has-backing
    """
    if scenario not in SCENARIOS:
        raise usage_error(f"unknown scenario {scenario!r}; choose one of: {', '.join(SCENARIOS)}")
    if design not in KERNELS:
        raise usage_error(f"unknown design {design!r}; choose one of: {', '.join(KERNELS)}")
    bad = [p for p in prop or () if p not in PROPERTIES]
    if bad:
        raise usage_error(f"unknown property {bad[0]!r}; choose from: {', '.join(PROPERTIES)}")
    model = KernelModel(SCENARIOS[scenario], KERNELS[design], prop or None)
    limits = Limits(max_states=max_states, max_seconds=max_seconds)
    with ProgressDisplay(model.name, enabled=None if not as_json else False) as progress:
        result = check(model, strategy=strategy.value, limits=limits, walks=walks, seed=seed,
                       progress=progress)
    if as_json:
        data = {"scenario": scenario, "design": design, "errno": None, **result_to_dict(result)}
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(render_kernel(result, model) + "\n")
    raise typer.Exit(exitcodes.BY_VERDICT[result.verdict])


def main() -> None:
    app()
