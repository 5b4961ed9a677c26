"""The front door: ``check(model, strategy=...)`` picks a strategy and runs safety, then
liveness."""

from __future__ import annotations

import contextlib
import gc
import inspect
from collections.abc import Iterable, Iterator
from dataclasses import replace
from os import PathLike
from typing import Any

from .bfs import SHORTEST, ProgressFn, bfs
from .limits import Limits
from .options import Options, Strategy, Walks
from .por import NO_EFFECT
from .reduce import notes
from .replay import confirm
from .result import Result, Verdict


def check(model: Any, options: Options | None = None, *, limits: Limits = Limits(),
          progress: ProgressFn | None = None, strategy: Strategy = "bfs", exact: bool = False,
          liveness: bool | None = None, keep_going: bool = False,
          reduce: Iterable[str] | str | None = None, walks: int | None = None,
          seed: int | None = None, checkpoint: str | PathLike[str] | None = None,
          checkpoint_every: float | None = None, resume: str | PathLike[str] | None = None,
          bitstate: int | None = None, bitstate_hashes: int | None = None, workers: int = 1,
          ray: str | None = None) -> Result:
    """Check every invariant (and, with BFS, every liveness property) of ``model``.

    The options come either as one :class:`~.options.Options` (grouped by concern: ``Search``,
    ``Walks``, ``Persistence``, ``Parallel``, ``Bitstate``) or as the keywords below, which
    build it (:meth:`~.options.Options.from_keywords`); not both.  Options that cannot be
    combined raise :class:`~.options.OptionsError` (a ``ValueError``) naming both, before any
    search; see :meth:`~.options.Options.conflicts`.

    * ``bfs`` — exhaustive; a counterexample is a shortest one.
    * ``dfs`` — exhaustive unless ``limits.max_depth`` cuts paths; counterexamples may be long.
    * ``random`` — ``walks`` seeded random walks of at most ``limits.max_depth`` steps (default
      1000): bug-finding only, never a proof, so a clean run is ``incomplete``.
    * ``swarm`` — like ``random``, but each walk has its own seed and action order, and the walks
      run over ``workers`` processes (:mod:`.swarm`); the answer depends on ``seed`` only.

    ``keep_going`` (BFS only, like TLC's ``-continue``): explore the whole state space and report
    the shortest counterexample of every failing property in ``Result.findings``.

    ``liveness``: liveness needs the whole state graph, so it runs after a complete safety search
    that found nothing, on its own graph-building pass: only for ``bfs`` without ``bitstate``.
    ``None`` (the default) checks it there and skips it elsewhere (with a note under bitstate
    hashing); ``True`` demands it, ``False`` skips it.

    BFS only: ``checkpoint`` / ``checkpoint_every`` / ``resume`` save and continue a long search
    (:mod:`.checkpoint`; a checkpoint of another model raises
    :class:`~.checkpoint.CheckpointError`); ``bitstate`` (bits, a power of two) with
    ``bitstate_hashes`` swaps the visited set for SPIN-style bitstate hashing, an approximate
    search (``Result.approximate``).

    ``workers`` > 1: BFS over that many processes (:mod:`.parallel`), with the same counts and
    the same traces as one process; fingerprints only, no checkpoints or keep_going yet.

    ``reduce``: state-space reductions by name — ``"view"`` (the model's ``view``: data
    independence), ``"symmetry"`` (its ``canonical``); see :mod:`.reduce`.  They apply to the
    safety search (BFS and DFS); every counterexample they find is replayed on the concrete
    model before it is reported, and liveness runs unreduced.

    ``ray`` (BFS or swarm): run on a Ray cluster (:mod:`.ray_bfs`): ``"local"`` starts Ray on
    this machine for the run, ``"auto"`` joins the one running here (or the connection this
    process already has), otherwise a cluster address.  ``workers`` is then the number of
    actors (1: one per CPU of the cluster).  BFS gives the single-process answer, as
    with ``workers``.  Raises :class:`~.ray_bfs.RayError` if Ray is not installed or not
    reachable.
    """
    keywords: dict[str, Any] = {
        "strategy": strategy, "exact": exact, "liveness": liveness, "keep_going": keep_going,
        "reduce": reduce, "walks": walks, "seed": seed, "checkpoint": checkpoint,
        "checkpoint_every": checkpoint_every, "resume": resume, "bitstate": bitstate,
        "bitstate_hashes": bitstate_hashes, "workers": workers, "ray": ray}
    if options is None:
        options = Options.from_keywords(**keywords)
    elif keywords != _KEYWORD_DEFAULTS:
        given = sorted(k for k, v in keywords.items() if v != _KEYWORD_DEFAULTS[k])
        raise TypeError(f"check() takes options or keywords, not both (also given: {given})")
    reductions = options.search.reduce
    with gc_paused():
        result = _check(model, options, limits, progress)
    if not reductions:
        return result
    if reductions & {"por", "local"}:
        result = reshorten(model, result, limits, progress,
                           reductions - {"por", "por-check", "local"},
                           "por" if "por" in reductions else "local")
    return replace(confirm(model, result), notes=result.notes + tuple(notes(model, reductions)))


#: the keyword form's defaults: what "no keyword given" looks like
_KEYWORD_DEFAULTS: dict[str, Any] = {
    name: p.default for name, p in inspect.signature(check).parameters.items()
    if p.kind is inspect.Parameter.KEYWORD_ONLY and name not in ("limits", "progress")}


def reshorten(model: Any, result: Result, limits: Limits, progress: ProgressFn | None,
              others: frozenset[str] = frozenset(), name: str = "por") -> Result:
    """A partial-order-reduced counterexample, made a shortest one again.

    The reduction (``name``: ``por`` or ``local``) postpones steps or takes them early, so its
    breadth-first trace can be longer than the shortest.
    A breadth-first search without it, bounded by that trace's depth, finds the counterexample the
    search without it would have reported, at a cost bounded by the states within that depth.
    A level of the reduced search can hold several steps (local steps taken at once), so its
    trace can be longer than a ``max_depth`` the user gave: the search without the reduction
    is bounded by that too, and its answer (incomplete at the bound) is the one reported.
    ``others``: the other reductions asked for (view, symmetry), which keep shortest lengths.
    """
    if result.trace is None or result.verdict not in (Verdict.VIOLATED, Verdict.DEADLOCK):
        return result
    if any(n.startswith(NO_EFFECT) for n in result.notes):  # already a shortest trace
        return result
    depth = len(result.trace.labels())
    user = limits.max_depth  # the reduction's levels hold several steps: the bound is steps
    bound = depth + 1 if user is None else min(depth + 1, user)
    with gc_paused():
        short = bfs(model, limits=replace(limits, max_depth=bound), progress=progress,
                    reduce=others)
    kept = tuple(n for n in result.notes if n != SHORTEST)
    if short.trace is None or short.verdict not in (Verdict.VIOLATED, Verdict.DEADLOCK):
        if bound < depth:  # the unreduced answer within the user's bound
            return replace(short, notes=kept + short.notes + (
                (f"{name}: its counterexample has {depth} steps, beyond max-depth ({user}); "
                 f"the search without {name} to that depth found none"),))
        return replace(result, notes=result.notes + (
            (f"{name}: the trace was not re-shortened (the bounded unreduced search did not "
             "finish); it may not be a shortest one"),))
    note = (f"{name}: counterexample found at depth {depth} after {result.stats.distinct:,} "
            f"states; re-shortened by a breadth-first search without {name} to that depth "
            f"({short.stats.distinct:,} states): {len(short.trace.labels())} steps")
    return replace(short, notes=kept + short.notes + (note,))


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the run.

    States are acyclic immutable values, so the collector never frees any of them, yet each of its
    full passes walks every live frontier tuple: with millions of states it costs a third of the
    run time.  Reference counting still frees everything as usual.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _check(model: Any, options: Options, limits: Limits, progress: ProgressFn | None) -> Result:
    s, par, walks = options.search, options.parallel, options.walks or Walks()
    strategy, exact, reduce = s.strategy, s.exact, s.reduce
    if strategy == "bfs" and par.ray:
        from .ray_bfs import ray_bfs

        result = ray_bfs(model, address=par.ray, workers=par.workers if par.workers > 1 else 0,
                         limits=limits, progress=progress)
    elif strategy == "bfs" and par.workers > 1:
        from .parallel import parallel_bfs

        result = parallel_bfs(model, workers=par.workers, limits=limits, progress=progress,
                              reduce=reduce)
    elif strategy == "bfs":
        p, b = options.persistence, options.bitstate
        saving = {} if p is None else {"checkpoint": p.checkpoint, "checkpoint_every": p.every,
                                       "resume": p.resume}
        hashing = {} if b is None else {"bitstate": b.bits, "bitstate_hashes": b.hashes}
        result = bfs(model, exact=exact, limits=limits, progress=progress,
                     keep_going=s.keep_going, reduce=reduce, **saving, **hashing)
        if b is not None:
            if s.liveness is None and getattr(model, "liveness", None) \
                    and tuple(model.liveness()):
                result = replace(result, notes=result.notes + (
                    "liveness not checked: bitstate hashing keeps no state graph",))
            return result
    elif strategy == "dfs":
        from .dfs import dfs

        result = dfs(model, exact=exact, limits=limits, progress=progress, reduce=reduce)
    elif strategy == "random":
        from .simulate import simulate

        result = simulate(model, walks=walks.n, seed=walks.seed, limits=limits, exact=exact)
    else:
        from .swarm import swarm

        result = swarm(model, walks=walks.n, seed=walks.seed, limits=limits, exact=exact,
                       workers=par.workers if par.workers > 1 or not par.ray else 0,
                       ray=par.ray)
    if (s.liveness is None and strategy != "bfs" and getattr(model, "liveness", None)
            and tuple(model.liveness())):
        why = (f"liveness not checked: strategy {strategy} builds no state graph to check it "
               "on (strategy bfs does)")
        return replace(result, notes=(*result.notes, why))
    if (s.liveness is not False and strategy == "bfs" and result.verdict is Verdict.HOLDS
            and getattr(model, "liveness", None) and tuple(model.liveness())):
        from .liveness import check_liveness

        live = check_liveness(model, limits=limits, safety=result, exact=exact)
        if reduce:
            live = replace(live, notes=live.notes + (
                "liveness checked on the unreduced state graph",))
        return live
    return result
