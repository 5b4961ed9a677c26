"""The design laboratory: every design against every scenario, each verdict from the checker.

A cell is one exhaustive breadth-first search that does not stop at the first counterexample
(``keep_going``, TLC's ``-continue``): it checks every safety property of the scenario at once and
reports the shortest counterexample of each one that fails, plus the first deadlock.  A probe
invariant notices the design *refusing* the scenario's request (a pin, a registration): such a
cell is ``refused`` with the errno — safe, but it breaks that application, which is what the
2018 thread feared.  Liveness properties need the state graph and get a run of their own.

Nothing is written down: every verdict comes from running the checker.
"""

from __future__ import annotations

import multiprocessing as mp
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace

from gupcheck.engine import Invariant, LeadsTo, Limits, Result, Verdict, check
from gupcheck.engine.limits import INTERRUPT, INTERRUPTED, worker_interrupts
from gupcheck.engine.liveness import check_liveness
from gupcheck.kernel.config import KernelConfig
from gupcheck.kernel.footprint import SHARED
from gupcheck.kernel.properties import LIVENESS
from gupcheck.kernel.state import KState
from gupcheck.kernel.system import KernelModel, Scenario

REFUSED = "request-refused"
NOT_RUN = "not run"  # a cell Ctrl-C stopped before it started


@dataclass(frozen=True)
class Cell:
    scenario: str
    design: str
    verdict: str  # holds, violated, deadlock, starves, refused, n/a, incomplete, error, not run
    errno: str | None  # for refused: the errno; for n/a: why the scenario does not apply
    violated: tuple[str, ...]  # every property that fails ("deadlock" too), scenario order
    results: dict[str, Result] = field(compare=False)  # property ("" = the run) -> its result
    states: int = 0
    same_as_base: bool = False  # a proposal whose verdicts here equal proposal-base's
    # incomplete and not-run cells: the limit that stopped the cell ("max-states (2,000,000)",
    # "interrupted", ...)
    bound: str | None = None
    # properties the design gives up on purpose (KernelConfig.relaxes) that fail here: shown
    # beside the verdict, which the other properties decide
    relaxed: tuple[str, ...] = ()
    # run_variants: (variant name, the variant's cell) for each variant checked
    variants: tuple[tuple[str, Cell], ...] = field(default=(), compare=False)

    def outcome(self) -> tuple[str, str | None, tuple[str, ...], tuple[str, ...]]:
        """What a reader compares between two cells: verdict, errno, properties broken and
        properties broken that the design relaxes."""
        return self.verdict, self.errno, self.violated, self.relaxed

    @property
    def first(self) -> Result | None:
        """The result that explains the cell: the first violated property, or the run."""
        if self.violated:
            return self.results[self.violated[0]]
        return self.results.get("")


class Refusable(KernelModel):
    """The scenario's properties plus, first, one more: "the request was refused".

    What ``gupcheck check`` searches, so that a refusal (``ghost.refused``, set where the
    design's GUP or registration path fails the request, e.g. ``check_vma_flags`` returning
    -EFAULT for a long-term pin of a file mapping since 6.5) or a missing feature
    (``ghost.unsupported``) is seen by the one search the user watches, with its limits,
    progress and checkpoints.  The invariant reads only those two ghost fields, which
    :meth:`KernelModel.view` always keeps, so it changes neither the states explored nor their
    order: a search that ends without meeting it (holds, a limit) proves as much about refusal
    as a separate search would have.
    """

    def invariants(self) -> list[Invariant[KState]]:
        return [Invariant(REFUSED, _refused, reads=frozenset({SHARED})), *super().invariants()]


class RefusalProbe(Refusable):
    """The scenario's safety properties and the refusal, without liveness: a matrix cell's
    safety search, and ``check``'s search for a refusal after an early counterexample."""

    def liveness(self) -> list[LeadsTo[KState]]:
        return []


def needs_refusal_search(result: Result) -> bool:
    """Whether a :class:`Refusable` search's ``result`` leaves open if the request is refused.

    ``check`` reports "refused" if any reachable state refuses the request (as a matrix cell
    does), not only if the refusal comes before the first counterexample.  A search that
    explored everything (holds; starves, whose safety part did) or stopped at a limit before
    meeting a refusal (the same states in the same order) answers that; one that stopped early
    at another counterexample, a simulation, or an approximate (bitstate) search does not."""
    if result.property == REFUSED:
        return False
    if result.verdict in (Verdict.VIOLATED, Verdict.DEADLOCK):
        return True
    if result.verdict is Verdict.HOLDS:
        return result.approximate is not None
    return result.verdict is Verdict.INCOMPLETE and result.bound == "simulation"


def _refused(k: KState) -> str | None:
    if k.ghost.unsupported:
        return f"n/a: {k.ghost.unsupported}"
    return k.ghost.refused


def run_cell(scenario: Scenario, design: KernelConfig, limits: Limits = Limits(),
             reduce: tuple[str, ...] = ()) -> Cell:
    """One cell.  ``reduce``: state-space reductions for its safety search (the engine's
    ``check(reduce=...)``); liveness runs on the unreduced graph either way."""
    safety = tuple(p for p in scenario.properties if p not in LIVENESS)
    run = check(RefusalProbe(scenario, design, safety), limits=limits, liveness=False,
                keep_going=True, reduce=reduce)
    name = (scenario.name, design.name)
    results: dict[str, Result] = {"": run}
    results.update((f.property or "", f) for f in run.findings)
    if REFUSED in results:
        why = results[REFUSED].message
        if why.startswith("n/a: "):
            return Cell(*name, "n/a", why[5:], (), results, run.stats.distinct)
        return Cell(*name, "refused", why, (), results, run.stats.distinct)
    if run.verdict in (Verdict.ERROR, Verdict.INCOMPLETE):
        return Cell(*name, run.verdict.value, None, (), results, run.stats.distinct,
                    bound=run.bound)
    for prop in scenario.properties:
        if prop in LIVENESS:  # the state graph is all it needs; safety was checked above
            results[prop] = check_liveness(KernelModel(scenario, design, [prop]), limits=limits)
    if any(results[p].verdict is Verdict.ERROR for p in scenario.properties if p in LIVENESS):
        return Cell(*name, Verdict.ERROR.value, None, (), results, run.stats.distinct)
    order = [*scenario.properties, "deadlock", "wait-for-cycle"]
    broken = [p for p in order if p in results and results[p].verdict in (
        (Verdict.STARVES,) if p in LIVENESS else (Verdict.VIOLATED, Verdict.DEADLOCK))]
    relaxed = tuple(p for p in broken if p in design.relaxes)
    broken = [p for p in broken if p not in design.relaxes]
    kinds = {results[p].verdict for p in broken}
    verdict = next((v.value for v in (Verdict.VIOLATED, Verdict.DEADLOCK, Verdict.STARVES)
                    if v in kinds), Verdict.HOLDS.value)
    stopped = next((r.bound for r in results.values() if r.verdict is Verdict.INCOMPLETE), None)
    if verdict == "holds" and any(r.verdict is Verdict.INCOMPLETE for r in results.values()):
        verdict = Verdict.INCOMPLETE.value
    return Cell(*name, verdict, None, tuple(broken), results, run.stats.distinct,
                bound=stopped if verdict == Verdict.INCOMPLETE.value else None, relaxed=relaxed)


def not_run(scenario: Scenario, design: KernelConfig) -> Cell:
    """A cell the matrix never computed because Ctrl-C stopped it first."""
    return Cell(scenario.name, design.name, NOT_RUN, None, (), {}, bound=INTERRUPTED)


def init_pool_worker(event: object) -> None:
    """A matrix worker process: Ctrl-C (or the main process's request through ``event``) ends
    the cell it is computing as incomplete ("interrupted"), quietly."""
    worker_interrupts(event)


def run_cells(jobs: Sequence[tuple[Scenario, KernelConfig, Limits]], workers: int = 1,
              reduce: tuple[str, ...] = ()) -> Iterator[Cell]:
    """Each job's cell, in the jobs' order: computed in ``workers`` forked processes, or here.

    Inside :func:`~gupcheck.engine.limits.interruptible`, Ctrl-C ends the cells being computed
    as incomplete ("interrupted") and yields the others ``not run``: the request reaches the
    workers through an event even if only this process gets the signal.
    """
    if workers > 1 and len(jobs) > 1:
        event = mp.get_context("fork").Event()
        INTERRUPT.event = event
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork"),
                                     initializer=init_pool_worker, initargs=(event,)) as pool:
                futures = [pool.submit(run_cell, sc, d, lim, reduce) for sc, d, lim in jobs]
                for (sc, d, _), fut in zip(jobs, futures, strict=True):
                    yield not_run(sc, d) if INTERRUPT.requested and fut.cancel() else fut.result()
        finally:
            INTERRUPT.event = None
    else:
        for sc, d, lim in jobs:
            yield not_run(sc, d) if INTERRUPT.requested else run_cell(sc, d, lim, reduce)


def run_matrix(scenarios: Sequence[Scenario], designs: Sequence[KernelConfig],
               limits: Limits = Limits(), progress: object = None,
               workers: int = 1, reduce: tuple[str, ...] = ()) -> list[Cell]:
    """Every cell, in scenario-major order; a proposal's cell is compared with proposal-base's.

    Cells are independent runs, so ``workers`` > 1 computes them in that many processes; the
    result is the same as with one (each cell's search is deterministic).

    Inside :func:`~gupcheck.engine.limits.interruptible`, Ctrl-C ends the cells being computed
    as incomplete ("interrupted"), marks those not started ``not run``, and returns every
    cell: the finished ones keep their verdicts.
    """
    from gupcheck.designs import PROPOSAL_BASE, PROPOSALS

    jobs: list[tuple[Scenario, KernelConfig]] = []
    for sc in scenarios:
        jobs += [(sc, d) for d in designs]
        if any(d.name in PROPOSALS for d in designs):
            jobs.append((sc, PROPOSAL_BASE))
    done = {(c.scenario, c.design): c
            for c in run_cells([(sc, d, limits) for sc, d in jobs], workers, reduce)}
    cells = []
    for sc in scenarios:
        for d in designs:
            cell = done[sc.name, d.name]
            if d.name in PROPOSALS:
                base = done[sc.name, PROPOSAL_BASE.name]
                cell = replace(cell, same_as_base=cell.outcome() == base.outcome())
            cells.append(cell)
            if callable(progress):
                progress(cell)
    return cells


def reachable_states(scenario: Scenario, design: KernelConfig) -> list[KState]:
    """Every reachable state of the scenario under the design, in breadth-first order.

    A plain search with whole states (no fingerprints, no properties): what tests and the
    conformance predictions use to read outcomes off the model's end states."""
    return explore(KernelModel(scenario, design, ()))[0]


def end_states(scenario: Scenario, design: KernelConfig) -> list[KState]:
    """The reachable states where every program has finished (KernelModel.is_end)."""
    return explore(KernelModel(scenario, design, ()))[1]


def explore(model: KernelModel, starts: Sequence[KState] | None = None,
            ) -> tuple[list[KState], list[KState]]:
    """(every state reachable from ``starts``, the stuck ones that are legitimate ends), in one
    search; ``starts`` defaults to the model's initial states."""
    starts = list(model.init_states() if starts is None else starts)
    seen, queue, everything, ends = set(starts), deque(starts), [], []
    while queue:
        k = queue.popleft()
        everything.append(k)
        succ = [t for _, t in model.successors(k)]
        if not succ and model.is_end(k):
            ends.append(k)
        for t in succ:
            if t not in seen:
                seen.add(t)
                queue.append(t)
    return everything, ends


def by_scenario(cells: Iterable[Cell]) -> dict[str, dict[str, Cell]]:
    out: dict[str, dict[str, Cell]] = {}
    for c in cells:
        out.setdefault(c.scenario, {})[c.design] = c
    return out


# --- scenario variants: is a verdict robust to the scenario's obvious neighbours? -------------

#: each variant run's state bound: a variant may be much bigger than its base
VARIANT_MAX_STATES = 200_000
#: base verdicts with something to lose: a holding property, or a refusal
COMPARABLE = frozenset({"holds", "refused", "violated", "deadlock", "starves"})
FAILING = frozenset({"violated", "deadlock", "starves"})


@dataclass(frozen=True)
class Flip:
    """A verdict that does not survive a variant: ``property`` holds in the base cell (or the
    base refuses the request) and fails in ``variant``, shortest counterexample ``length``."""

    variant: str
    property: str
    length: int | None


def flips(base: Cell, variant: Cell, name: str) -> list[Flip]:
    """Property by property: what fails in ``variant`` that did not fail in ``base``.

    Only a failing variant (violated, deadlock, starves) flips anything; an incomplete or
    failed variant run settles nothing (:func:`unsettled`), and a refusal or "n/a" in the
    variant breaks no property."""
    if base.verdict not in COMPARABLE or variant.verdict not in FAILING:
        return []
    out = []
    for p in variant.violated:
        if p not in base.violated:
            trace = variant.results[p].trace
            out.append(Flip(name, p, len(trace) if trace else None))
    return out


def fragility(cell: Cell) -> list[Flip]:
    """Every flip of ``cell`` over the variants checked (:func:`run_variants`), in order."""
    return [f for name, v in cell.variants for f in flips(cell, v, name)]


def unsettled(cell: Cell) -> list[tuple[str, str]]:
    """(variant, verdict) for each variant run that hit a limit or failed ("incomplete",
    "error"): no claim either way, reported as such rather than as a pass."""
    return [(name, v.verdict) for name, v in cell.variants
            if v.verdict in ("incomplete", "error")]


def variant_limits(limits: Limits, max_states: int = VARIANT_MAX_STATES) -> Limits:
    """``limits`` with the state bound lowered to ``max_states`` for a variant run."""
    bound = max_states if limits.max_states is None else min(limits.max_states, max_states)
    return replace(limits, max_states=bound)


def run_variants(cells: Sequence[Cell], scenarios: Mapping[str, Scenario],
                 designs: Mapping[str, KernelConfig], limits: Limits = Limits(),
                 progress: object = None, workers: int = 1, reduce: tuple[str, ...] = (),
                 names: tuple[str, ...] | None = None,
                 max_states: int = VARIANT_MAX_STATES) -> list[Cell]:
    """``cells`` (from :func:`run_matrix`) with each comparable cell's variants checked.

    For every cell whose verdict can be lost (:data:`COMPARABLE`: not "n/a", "incomplete" or
    "error"), every variant of its scenario that applies
    (:func:`gupcheck.scenarios.variants.variants`, those in ``names``) is run as a cell of
    its own under the same design, bounded by ``max_states`` (:func:`variant_limits`); the
    returned cells carry them in ``variants``, and :func:`fragility` compares.  ``workers``
    processes compute them; the result does not depend on it.  ``names`` defaults to
    :data:`gupcheck.scenarios.variants.MATRIX_VARIANTS`."""
    from gupcheck.scenarios.variants import MATRIX_VARIANTS, variants

    names = MATRIX_VARIANTS if names is None else names
    bounded = variant_limits(limits, max_states)
    jobs = [variants(scenarios[c.scenario], names) if c.verdict in COMPARABLE else []
            for c in cells]
    pool = ProcessPoolExecutor(max_workers=workers) if workers > 1 else None
    try:
        if pool is not None:  # every job submitted at once; cells are reported in order
            futures = [[(name, pool.submit(run_cell, v, designs[c.design], bounded, reduce))
                        for name, v in todo] for c, todo in zip(cells, jobs, strict=True)]
        out = []
        for i, (c, todo) in enumerate(zip(cells, jobs, strict=True)):
            if pool is not None:
                done = tuple((name, f.result()) for name, f in futures[i])
            else:
                done = tuple((name, run_cell(v, designs[c.design], bounded, reduce))
                             for name, v in todo)
            c = replace(c, variants=done)
            out.append(c)
            if callable(progress):
                progress(c)
        return out
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
