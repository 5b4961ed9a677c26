"""The design laboratory: every design against every scenario, each verdict from the checker.

A cell is computed in two kinds of run, each an exhaustive breadth-first search:

1. the scenario with no property but a probe that notices the design *refusing* the scenario's
   request (a pin, a registration): such a cell is ``refused`` with the errno — safe, but it breaks
   that application, which is what the 2018 thread feared.  The same run finds deadlocks and
   measures the state space;
2. one run per property, so that a cell reports every property the design breaks there, each
   with its own shortest counterexample, not only the first one found.

Nothing is written down: every verdict comes from running the checker.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from gupcheck.engine import Invariant, Limits, Result, Verdict, check
from gupcheck.kernel.config import KernelConfig
from gupcheck.kernel.properties import LIVENESS
from gupcheck.kernel.state import KState
from gupcheck.kernel.system import KernelModel, Scenario


@dataclass(frozen=True)
class Cell:
    scenario: str
    design: str
    verdict: str  # holds, violated, deadlock, starves, refused, incomplete, error
    errno: str | None  # for refused
    violated: tuple[str, ...]  # every property that fails, in the scenario's order
    results: dict[str, Result] = field(compare=False)  # property (or "") -> its run
    states: int = 0
    same_as_base: bool = False  # a proposal whose verdicts here equal proposal-base's

    def outcome(self) -> tuple[str, str | None, tuple[str, ...]]:
        """What a reader compares between two cells: verdict, errno, properties broken."""
        return self.verdict, self.errno, self.violated

    @property
    def first(self) -> Result | None:
        """The result that explains the cell: the first violated property, or the base run."""
        if self.violated:
            return self.results[self.violated[0]]
        return self.results.get("")


class RefusalProbe(KernelModel):
    """The scenario with its properties replaced by one: "the request was not refused"."""

    def invariants(self) -> list[Invariant[KState]]:
        return [Invariant("request-refused", lambda k: k.ghost.refused)]


def run_cell(scenario: Scenario, design: KernelConfig, limits: Limits = Limits()) -> Cell:
    base = check(RefusalProbe(scenario, design, ()), limits=limits, liveness=False)
    results: dict[str, Result] = {"": base}
    name = (scenario.name, design.name)
    if base.verdict is Verdict.VIOLATED:  # the probe fired: refused
        return Cell(*name, "refused", base.message, (), results, base.stats.distinct)
    if base.verdict is not Verdict.HOLDS:
        return Cell(*name, base.verdict.value, None, (), results, base.stats.distinct)
    violated = []
    worst = Verdict.HOLDS
    for prop in scenario.properties:
        r = check(KernelModel(scenario, design, [prop]), limits=limits,
                  liveness=prop in LIVENESS)
        results[prop] = r
        if r.verdict in (Verdict.VIOLATED, Verdict.STARVES):
            violated.append(prop)
        elif r.verdict is not Verdict.HOLDS and worst is Verdict.HOLDS:
            worst = r.verdict
    safety = [p for p in violated if results[p].verdict is Verdict.VIOLATED]
    verdict = "violated" if safety else "starves" if violated else worst.value
    return Cell(*name, verdict, None, tuple(violated), results, base.stats.distinct)


def run_matrix(scenarios: Sequence[Scenario], designs: Sequence[KernelConfig],
               limits: Limits = Limits(), progress: object = None) -> list[Cell]:
    """Every cell; a proposal's cell is compared with proposal-base's (computed if needed)."""
    from gupcheck.designs import PROPOSAL_BASE, PROPOSALS

    cells = []
    for sc in scenarios:
        base: Cell | None = None
        for d in designs:
            cell = run_cell(sc, d, limits)
            if d.name in PROPOSALS:
                if base is None:
                    base = run_cell(sc, PROPOSAL_BASE, limits)
                cell = replace(cell, same_as_base=cell.outcome() == base.outcome())
            cells.append(cell)
            if callable(progress):
                progress(cell)
    return cells


def by_scenario(cells: Iterable[Cell]) -> dict[str, dict[str, Cell]]:
    out: dict[str, dict[str, Cell]] = {}
    for c in cells:
        out.setdefault(c.scenario, {})[c.design] = c
    return out
