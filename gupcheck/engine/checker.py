"""The front door: ``check(model, strategy=...)`` picks a strategy and runs safety, then liveness."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterable, Iterator
from dataclasses import replace
from os import PathLike
from typing import Any, Literal

from .bfs import SHORTEST, ProgressFn, bfs
from .checkpoint import DEFAULT_EVERY
from .limits import Limits
from .por import NO_EFFECT
from .reduce import normalise, notes
from .replay import confirm
from .result import Result, Verdict

Strategy = Literal["bfs", "dfs", "random", "swarm"]


def check(model: Any, *, strategy: Strategy = "bfs", exact: bool = False,
          limits: Limits = Limits(), liveness: bool = True, walks: int = 1000,
          seed: int = 0, progress: ProgressFn | None = None, keep_going: bool = False,
          checkpoint: str | PathLike[str] | None = None,
          checkpoint_every: float = DEFAULT_EVERY, resume: str | PathLike[str] | None = None,
          bitstate: int | None = None, bitstate_hashes: int = 3, workers: int = 1,
          ray: str | None = None, reduce: Iterable[str] | str | None = None) -> Result:
    """Check every invariant (and, with BFS, every liveness property) of ``model``.

    * ``bfs`` — exhaustive; a counterexample is a shortest one.
    * ``dfs`` — exhaustive unless ``limits.max_depth`` cuts paths; counterexamples may be long.
    * ``random`` — ``walks`` seeded random walks of at most ``limits.max_depth`` steps (default
      1000): bug-finding only, never a proof, so a clean run is ``incomplete``.
    * ``swarm`` — like ``random``, but each walk has its own seed and action order, and the walks
      run over ``workers`` processes (:mod:`.swarm`); the answer depends on ``seed`` only.

    ``keep_going`` (BFS only, like TLC's ``-continue``): explore the whole state space and report
    the shortest counterexample of every failing property in ``Result.findings``.

    Liveness needs the whole state graph, so it runs after a complete safety search that found
    nothing (only for ``bfs``), on its own graph-building pass.

    BFS only: ``checkpoint`` / ``checkpoint_every`` / ``resume`` save and continue a long search
    (:mod:`.checkpoint`; a checkpoint of another model raises
    :class:`~.checkpoint.CheckpointError`); ``bitstate`` (bits, a power of two) swaps the visited
    set for SPIN-style bitstate hashing, an approximate search (``Result.approximate``) whose
    liveness is not checked, since the liveness pass would store every state anyway.

    ``workers`` > 1: BFS over that many processes (:mod:`.parallel`), with the same counts and
    the same traces as one process; fingerprints only, no checkpoints or keep_going yet.

    ``reduce``: state-space reductions by name — ``"view"`` (the model's ``view``: data
    independence), ``"symmetry"`` (its ``canonical``); see :mod:`.reduce`.  They apply to the safety search (BFS and DFS); every
    counterexample they find is replayed on the concrete model before it is reported, and
    liveness runs unreduced.

    ``ray`` (BFS or swarm): run on a Ray cluster (:mod:`.ray_bfs`): ``"local"`` starts Ray on
    this machine for the run, ``"auto"`` joins the one running here (or the connection this
    process already has), otherwise a cluster address.  ``workers`` is then the number of
    actors (1 or less: one per CPU of the cluster).  BFS gives the single-process answer, as
    with ``workers``.  Raises :class:`~.ray_bfs.RayError` if Ray is not installed or not
    reachable.
    """
    reductions = normalise(reduce)
    if reductions and strategy in ("random", "swarm"):
        raise ValueError("reductions apply to exhaustive searches (bfs, dfs), not to random "
                         "simulation")
    if "por" in reductions and (strategy != "bfs" or workers > 1 or ray or keep_going):
        raise ValueError("partial-order reduction (por) runs with the single-process bfs "
                         "strategy, without keep_going (its cycle proviso is breadth-first's)")
    if strategy != "bfs" and (checkpoint or resume or bitstate):
        raise ValueError("checkpoints and bitstate hashing need breadth-first search")
    if (workers > 1 or ray) and strategy == "bfs" and (exact or keep_going or checkpoint
                                                        or resume or bitstate):
        raise ValueError("parallel search (workers > 1, ray) is breadth-first with "
                         "fingerprints, without exact, keep_going, checkpoints or bitstate")
    if (workers > 1 or ray) and strategy not in ("bfs", "swarm"):
        raise ValueError("parallel search (workers > 1, ray) needs strategy bfs or swarm")
    search = {"workers": workers, "ray": ray, "checkpoint": checkpoint, "checkpoint_every": checkpoint_every, "resume": resume,
              "bitstate": bitstate, "bitstate_hashes": bitstate_hashes}
    if reductions:
        search["reduce"] = reductions
    with gc_paused():
        result = _check(model, strategy, exact, limits, liveness, walks, seed, progress,
                        keep_going, search)
    if not reductions:
        return result
    if "por" in reductions:
        result = reshorten(model, result, limits, progress, reductions - {"por", "por-check"})
    return replace(confirm(model, result), notes=result.notes + tuple(notes(model, reductions)))


def reshorten(model: Any, result: Result, limits: Limits, progress: ProgressFn | None,
              others: frozenset[str] = frozenset()) -> Result:
    """A partial-order-reduced counterexample, made a shortest one again.

    The reduction postpones steps, so its breadth-first trace can be longer than the shortest.
    A breadth-first search without it, bounded by that trace's depth, finds the counterexample the
    search without it would have reported, at a cost bounded by the states within that depth.
    ``others``: the other reductions asked for (view, symmetry), which keep shortest lengths.
    """
    if result.trace is None or result.verdict not in (Verdict.VIOLATED, Verdict.DEADLOCK):
        return result
    if any(n.startswith(NO_EFFECT) for n in result.notes):  # already a shortest trace
        return result
    depth = len(result.trace.labels())
    with gc_paused():
        short = bfs(model, limits=replace(limits, max_depth=depth + 1), progress=progress,
                    reduce=others)
    if short.trace is None or short.verdict not in (Verdict.VIOLATED, Verdict.DEADLOCK):
        return replace(result, notes=result.notes + (
            "por: the trace was not re-shortened (the bounded unreduced search did not finish); "
            "it may not be a shortest one",))
    note = (f"por: counterexample found at depth {depth} after {result.stats.distinct:,} states; "
            f"re-shortened by a breadth-first search without por to that depth "
            f"({short.stats.distinct:,} states): {len(short.trace.labels())} steps")
    return replace(short, notes=tuple(n for n in result.notes
                                      if n != SHORTEST)
                   + short.notes + (note,))


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


def _check(model: Any, strategy: str, exact: bool, limits: Limits, liveness: bool, walks: int,
           seed: int, progress: ProgressFn | None, keep_going: bool,
           search: dict[str, Any]) -> Result:
    if keep_going and strategy != "bfs":
        raise ValueError("keep_going needs breadth-first search")
    workers, ray = search.pop("workers"), search.pop("ray")
    reduce = search.get("reduce", frozenset())
    if ray and reduce:
        raise ValueError("reductions are not available on Ray yet; use --workers")
    if strategy == "bfs" and ray:
        from .ray_bfs import ray_bfs

        result = ray_bfs(model, address=ray, workers=workers if workers > 1 else 0,
                         limits=limits, progress=progress)
    elif strategy == "bfs" and workers > 1:
        from .parallel import parallel_bfs

        result = parallel_bfs(model, workers=workers, limits=limits, progress=progress,
                              reduce=reduce)
    elif strategy == "bfs":
        result = bfs(model, exact=exact, limits=limits, progress=progress, keep_going=keep_going,
                     **search)
        if search["bitstate"]:
            if liveness and getattr(model, "liveness", None) and tuple(model.liveness()):
                result = replace(result, notes=result.notes + (
                    "liveness not checked: bitstate hashing keeps no state graph",))
            return result
    elif strategy == "dfs":
        from .dfs import dfs

        result = dfs(model, exact=exact, limits=limits, progress=progress, reduce=reduce)
    elif strategy == "random":
        from .simulate import simulate

        result = simulate(model, walks=walks, seed=seed, limits=limits, exact=exact)
    elif strategy == "swarm":
        from .swarm import swarm

        result = swarm(model, walks=walks, seed=seed, limits=limits, exact=exact,
                       workers=workers if workers > 1 or not ray else 0, ray=ray)
    else:
        raise ValueError(f"unknown strategy {strategy!r}; choose bfs, dfs, random or swarm")
    if (liveness and strategy == "bfs" and result.verdict is Verdict.HOLDS
            and getattr(model, "liveness", None) and tuple(model.liveness())):
        from .liveness import check_liveness

        live = check_liveness(model, limits=limits, safety=result, exact=exact)
        if reduce:
            live = replace(live, notes=live.notes + (
                "liveness checked on the unreduced state graph",))
        return live
    return result
