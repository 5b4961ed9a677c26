"""Swarm search: many independently seeded random walks, each with its own action order.

For models too big to exhaust, as SPIN's swarm verification does: instead of one search that
runs out of memory, many small, *different* searches that together cover more of the state
space.  Each walk ``i`` gets its own random generator, seeded from ``(seed, i)``, so walks do not
depend on each other nor on which process runs them, and its own *action order*: a random
priority per action (drawn on first sight) and a random bias, the probability of taking the
enabled transition whose action this walk prefers over a uniformly random one.  One walk thus
keeps pushing a writer ahead of the flusher while another starves it, which uniform random
walks rarely do.

It finds bugs and proves nothing: a clean run is ``incomplete``.  Walks run in batches over
``workers`` processes (or Ray tasks); within a batch each process runs its walks in order and
stops at its first failure.  The reported failure is the one of the lowest-numbered failing
walk, and the counts are those of walks up to it, so the answer depends only on the seed, not
on the number of processes.  The failing walk's trace is shortened by :mod:`.minimise`.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ModelError
from .fingerprint import collision_probability
from .limits import Budget, Limits, peak_rss_bytes, stopped_by
from .minimise import minimise as shorten
from .minimise import replay_path
from .result import Result, Stats, Verdict, error_result
from .runtime import Context, Path
from .simulate import DEFAULT_WALK_LENGTH, explain
from .visited import FingerprintTable
from .waitfor import describe_cycle, stuck_message

#: walks per process per batch: the driver merges between batches and checks limits there
BATCH_PER_WORKER = 32


@dataclass
class Walk:
    """What one walk did, in plain picklable data (it crosses process boundaries)."""

    index: int
    init_index: int
    steps: int
    generated: int
    keys: list[Any]
    coverage: Counter[str] = field(default_factory=Counter)
    verdict: Verdict | None = None  # None: the walk found nothing
    prop: str | None = None
    message: str = ""
    labels: list[str] = field(default_factory=list)
    waits: tuple[Any, ...] = ()
    error_path: Path | None = None  # a model error: the path that reached it


def walk_rng(seed: int, index: int) -> random.Random:
    """Walk ``index``'s own generator; string seeds are hashed with SHA-512, not ``hash()``,
    so the walk is the same in every process and on every run."""
    return random.Random(f"gupcheck swarm {seed} {index}")


def run_walk(ctx: Context, inits: list[Any], index: int, seed: int, length: int) -> Walk:
    """Walk ``index``: at most ``length`` steps, until a failure or a state without successors."""
    rng = walk_rng(seed, index)
    bias = rng.random()
    priority: dict[str, float] = {}
    init_index = rng.randrange(len(inits))
    state = inits[init_index]
    path: Path = [(None, state)]
    out = Walk(index, init_index, 0, 0, [])
    try:
        for step in range(length + 1):
            out.keys.append(ctx.key(state))
            out.steps = step
            bad = ctx.violation(state, lambda: list(path))
            if bad:
                return _failed(out, path, Verdict.VIOLATED, bad[0], bad[1])
            succ = ctx.successor_list(state, path)
            cycle = ctx.wait_cycle(state, lambda: list(path)) if succ else None
            if cycle:
                return _failed(out, path, Verdict.DEADLOCK, "wait-for-cycle",
                               "partial deadlock: " + describe_cycle(cycle), cycle)
            if step == length:
                break
            out.generated += len(succ)
            if not succ:
                if not ctx.is_end(state, lambda: list(path)):
                    waits = ctx.waits(state, lambda: list(path))
                    why = stuck_message(waits)
                    return _failed(out, path, Verdict.DEADLOCK, "deadlock", why, waits)
                break
            for label, _ in succ:
                if label.key not in priority:
                    priority[label.key] = rng.random()
            if rng.random() < bias:
                label, state = min(succ, key=lambda t: priority[t[0].key])
            else:
                label, state = succ[rng.randrange(len(succ))]
            out.coverage[label.key] += 1
            path.append((label, state))
    except ModelError as err:
        out.verdict, out.message = Verdict.ERROR, err.message
        out.error_path = err.path or list(path)
    return out


def _failed(out: Walk, path: Path, verdict: Verdict, prop: str, message: str,
            waits: tuple[Any, ...] = ()) -> Walk:
    out.verdict, out.prop, out.message, out.waits = verdict, prop, message, tuple(waits)
    out.labels = [lab.text for lab, _ in path[1:]]
    return out


def run_walks(ctx: Context, indices: list[int], seed: int, length: int) -> list[Walk]:
    """Walks ``indices`` in order, up to and including the first that fails."""
    inits = ctx.init_states()
    done = []
    for i in indices:
        w = run_walk(ctx, inits, i, seed, length)
        w.keys = _compact(w.keys, ctx.exact)
        done.append(w)
        if w.verdict is not None:
            break
    return done


def _compact(keys: list[Any], exact: bool) -> Any:
    """A walk's visited keys, deduplicated and small to send: a numpy array of fingerprints."""
    if exact:
        return list(dict.fromkeys(keys))
    return np.unique(np.asarray(keys, dtype=np.uint64))


# --- where the walks run ----------------------------------------------------------------------

_CTX: Context | None = None  # the forked workers' context (the model need not be picklable)


def _pool_init(ctx: Context) -> None:
    global _CTX
    _CTX = ctx


def _pool_walks(args: tuple[list[int], int, int]) -> list[Walk]:
    assert _CTX is not None
    return run_walks(_CTX, *args)


def _ray_walks(model: Any, exact: bool, indices: list[int], seed: int,
               length: int) -> list[Walk]:
    return run_walks(Context(model, exact=exact), indices, seed, length)


@contextlib.contextmanager
def _runner(ctx: Context, workers: int, ray: str | None) -> Iterator[Any]:
    """A function running one batch: a list of index lists, one per process, to their walks."""
    if ray is not None:
        from .ray_bfs import ray_session

        with ray_session(ray, workers or None) as r:
            task = r.remote(_ray_walks).options(num_cpus=1, scheduling_strategy="SPREAD")
            model = r.put(ctx.model)
            yield lambda parts: r.get([task.remote(model, ctx.exact, p, *rest)
                                       for p, *rest in parts])
    elif workers > 1:
        with mp.get_context("fork").Pool(workers, _pool_init, (ctx,)) as pool:
            yield lambda parts: pool.map(_pool_walks, parts, chunksize=1)
    else:
        yield lambda parts: [run_walks(ctx, *p) for p in parts]


def swarm(model: Any, *, walks: int = 1000, workers: int = 1, seed: int = 0,
          limits: Limits = Limits(), exact: bool = False, ray: str | None = None,
          minimise: bool = True) -> Result:
    """``walks`` swarm walks of at most ``limits.max_depth`` steps (default 1000) over
    ``workers`` processes, or Ray tasks on the cluster ``ray`` (see :func:`.ray_bfs.ray_session`;
    ``workers`` 0 there: one per CPU).  The answer depends on ``seed`` only."""
    try:
        ctx = Context(model, exact=exact)
        ctx.init_states()
    except ModelError as err:
        return error_result(model, "swarm", exact, err)
    length = limits.max_depth if limits.max_depth is not None else DEFAULT_WALK_LENGTH
    budget = Budget(limits)
    seen: set[Any] = set()
    table = FingerprintTable()
    coverage: Counter[str] = Counter()
    generated = deepest = done = 0
    if ray is None:  # a process per walk at most: the answer depends on the seed alone
        workers = min(workers, walks)
    procs = max(workers, 1)
    failure: Walk | None = None
    bound: str | None = None
    with _runner(ctx, workers, ray) as run_batch:
        if ray is not None and workers <= 0:
            procs = max(1, int(_cluster_cpus()))
        start = 0
        while start < walks and failure is None:
            bound = budget.exceeded(len(seen) if exact else len(table))
            if bound:
                break
            stop = min(walks, start + BATCH_PER_WORKER * procs)
            parts = [(list(range(start + k, stop, procs)), seed, length) for k in range(procs)]
            results = [w for part in run_batch([p for p in parts if p[0]]) for w in part]
            failed = [w for w in results if w.verdict is not None]
            failure = min(failed, key=lambda w: w.index) if failed else None
            last = failure.index if failure else stop - 1
            for w in sorted(results, key=lambda w: w.index):
                if w.index > last:
                    continue
                if exact:
                    seen.update(w.keys)
                else:
                    table.add_many(w.keys)
                coverage.update(w.coverage)
                generated += w.generated
                deepest = max(deepest, w.steps)
            done = last + 1
            start = stop
    distinct = len(seen) if exact else len(table)
    stats = Stats(distinct, generated, deepest, budget.seconds(),
                  None if exact else collision_probability(distinct, generated), 0, 0,
                  peak_rss_bytes())
    where = f"{procs} Ray tasks at a time" if ray is not None else f"{procs} process(es)"
    notes = [(f"swarm, seed {seed}: {done:,} walk(s) of at most {length:,} steps, each with its "
              f"own seed and action order, over {where}; it finds bugs, it proves nothing")]
    common: dict[str, Any] = {
        "model": ctx.name, "strategy": "swarm", "exact": exact,
        "coverage": dict(sorted(coverage.items())),
        "unfired": tuple(a for a in ctx.declared_actions if a not in coverage)}
    if failure is None:
        message = (f"{stopped_by(bound)}; no violation in {done:,} walks" if bound else
                   f"no violation found in {walks:,} swarm walks (not a proof)")
        return Result(verdict=Verdict.INCOMPLETE, property=None, message=message, trace=None,
                      stats=stats, bound=bound or "swarm", notes=tuple(notes), **common)
    if failure.verdict is Verdict.ERROR:
        path = failure.error_path
        return Result(verdict=Verdict.ERROR, property=None, message=failure.message,
                      trace=ctx.trace(failure.init_index, path) if path else None, stats=stats,
                      notes=tuple(notes), **common)
    assert failure.prop is not None
    message, waits = failure.message, failure.waits
    try:
        if minimise:
            trace_path, replays = shorten(ctx, failure.init_index, failure.labels, failure.prop)
            message, waits = explain(ctx, trace_path, failure.prop, message, waits)
            notes.append(f"walk {failure.index}'s {len(failure.labels)}-step trace minimised to "
                         f"{len(trace_path) - 1} steps ({replays} replays): no single step can "
                         "be removed, but it is not necessarily a shortest trace")
        else:
            replayed = replay_path(ctx, failure.init_index, failure.labels, failure.prop)
            assert replayed is not None, "a swarm walk's failure did not reproduce"
            trace_path = replayed
            notes.append(f"the trace is walk {failure.index} as it happened, not a shortest one")
    except ModelError as err:
        return Result(verdict=Verdict.ERROR, property=None, message=err.message,
                      trace=ctx.trace(failure.init_index, err.path) if err.path else None,
                      stats=stats, notes=tuple(notes), **common)
    return Result(verdict=failure.verdict, property=failure.prop, message=message,
                  trace=ctx.trace(failure.init_index, trace_path), stats=stats,
                  waits=tuple(waits), notes=tuple(notes), **common)


def _cluster_cpus() -> float:
    from .ray_bfs import ray_module

    return float(ray_module().cluster_resources().get("CPU", 1.0))
