""":func:`~.checker.check`'s options, grouped by concern and checked against each other once.

Each group is a small frozen value validated on construction (a walk count below one, a bit
array that is not a power of two); :class:`Options` holds one of each and refuses, in one place
(:meth:`Options.conflicts`), the combinations that cannot work together — rather than let one of
them be ignored silently (a seed given to an exhaustive search, ``keep_going`` to DFS, a
checkpoint to a parallel search).  A refusal is an :class:`OptionsError` (a ``ValueError``)
naming both options; the CLI renders it with its flag names (:meth:`OptionsError.render`).

A group left out (``None``) means the feature is off: no walks (an exhaustive search), no
checkpoint, no bitstate hashing.  ``Search.liveness`` is ``None`` by default, meaning "where the
search can": after a complete breadth-first search that keeps a state graph; ``True`` demands
it and is refused where it cannot run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from os import PathLike
from typing import Literal

from .checkpoint import DEFAULT_EVERY
from .reduce import normalise
from .visited import check_bitstate

Strategy = Literal["bfs", "dfs", "random", "swarm"]
STRATEGIES: tuple[Strategy, ...] = ("bfs", "dfs", "random", "swarm")
#: the strategies that explore every reachable state (unless a limit stops them)
EXHAUSTIVE = frozenset({"bfs", "dfs"})
DEFAULT_WALKS = 1000
DEFAULT_HASHES = 3


class OptionsError(ValueError):
    """Two options that cannot be combined (or one option's bad value, ``second`` empty).

    ``first`` and ``second`` are ``(name, value)`` pairs, ``name`` a keyword of
    :func:`~.checker.check` and ``value`` the value that matters (``"dfs"`` for the strategy) or
    ``None``.
    """

    def __init__(self, first: tuple[str, str | None], second: tuple[str, str | None] | None,
                 why: str) -> None:
        self.first, self.second, self.why = first, second, why
        super().__init__(self.render())

    @property
    def options(self) -> tuple[str, ...]:
        return (self.first[0],) + ((self.second[0],) if self.second else ())

    def render(self, names: Mapping[str, str] | None = None) -> str:
        """The message, each option called by ``names`` (the CLI's flags), else by its keyword."""
        def call(opt: tuple[str, str | None]) -> str:
            name = (names or {}).get(opt[0], opt[0])
            return name if opt[1] is None else f"{name} {opt[1]}"
        if self.second is None:
            return f"{call(self.first)}: {self.why}"
        return f"{call(self.first)} cannot be combined with {call(self.second)}: {self.why}"


@dataclass(frozen=True, slots=True)
class Search:
    """What is searched and what is kept: the strategy, the visited set, the properties."""

    strategy: Strategy = "bfs"
    exact: bool = False  # store whole states, not 64-bit fingerprints
    liveness: bool | None = None  # None: where the search can (see the module's docstring)
    keep_going: bool = False  # bfs: the shortest counterexample of every failing property
    reduce: frozenset[str] = frozenset()  # names of .reduce, normalised (reduce.normalise)

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise OptionsError(("strategy", repr(self.strategy)), None,
                               f"unknown strategy; choose {', '.join(STRATEGIES)}")
        try:
            normalise(self.reduce)
        except ValueError as err:
            raise OptionsError(("reduce", None), None, str(err)) from None


@dataclass(frozen=True, slots=True)
class Walks:
    """Random walks (strategies random and swarm): how many, from which seed."""

    n: int = DEFAULT_WALKS
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n < 1:
            raise OptionsError(("walks", str(self.n)), None, "give at least one walk")


@dataclass(frozen=True, slots=True)
class Persistence:
    """A long breadth-first search saved now and then, and continued (:mod:`.checkpoint`)."""

    checkpoint: str | PathLike[str] | None = None  # save to this file
    every: float = DEFAULT_EVERY  # seconds between saves (0: after every chunk)
    resume: str | PathLike[str] | None = None  # continue the search saved here

    def __post_init__(self) -> None:
        if self.checkpoint is None and self.resume is None:
            raise OptionsError(("checkpoint", None), None,
                               "a checkpoint group needs checkpoint or resume")
        if self.every < 0:
            raise OptionsError(("checkpoint_every", str(self.every)), None,
                               "seconds between checkpoints cannot be negative")


@dataclass(frozen=True, slots=True)
class Parallel:
    """Processes (:mod:`.parallel`, swarm's pool) or a Ray cluster (:mod:`.ray_bfs`).

    ``workers``: processes; with ``ray``, actors (1: one per CPU of the cluster).
    """

    workers: int = 1
    ray: str | None = None  # "local", "auto" or a cluster address

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise OptionsError(("workers", str(self.workers)), None, "give at least one worker")

    @property
    def on(self) -> bool:
        return self.workers > 1 or bool(self.ray)

    @property
    def name(self) -> tuple[str, str | None]:
        """How a refusal names this group: by the option that turned it on."""
        return ("ray", None) if self.ray else ("workers", str(self.workers))


@dataclass(frozen=True, slots=True)
class Bitstate:
    """SPIN-style bitstate hashing in place of the visited set (:class:`.visited.BitstateSet`)."""

    bits: int
    hashes: int = DEFAULT_HASHES

    def __post_init__(self) -> None:
        try:
            check_bitstate(self.bits, self.hashes)
        except ValueError as err:
            raise OptionsError(("bitstate", str(self.bits)), None, str(err)) from None


#: the partial-order reductions: name, whether workers may run it, and what it runs with
_PARTIAL_ORDER = (
    ("por", True, ("partial-order reduction runs with the bfs strategy (one process or "
                   "workers), without keep_going (its cycle proviso is breadth-first's)")),
    ("por-check", False, ("por-check verifies the model's footprints in one process, with "
                          "the path to each state (the single-process bfs strategy)")),
    ("local", True, ("local steps taken at once run with the bfs strategy (one process or "
                     "workers), without keep_going (only the first counterexample is "
                     "re-shortened)")))


@dataclass(frozen=True, slots=True)
class Options:
    """Every option of one :func:`~.checker.check` call; incompatible ones are refused here."""

    search: Search = Search()
    walks: Walks | None = None
    persistence: Persistence | None = None
    parallel: Parallel = Parallel()
    bitstate: Bitstate | None = None

    def __post_init__(self) -> None:
        for conflict in self.conflicts():
            raise conflict

    def conflicts(self) -> Iterable[OptionsError]:
        """Every pair of options that cannot be combined, first found first.

        The rules, each with the reason a user gets:
        """
        s, par = self.search, self.parallel
        strategy = ("strategy", s.strategy)
        bfs_only = "it needs breadth-first search (strategy bfs)"
        if self.walks is not None and s.strategy in EXHAUSTIVE:
            name = "seed" if self.walks.n == DEFAULT_WALKS and self.walks.seed else "walks"
            yield OptionsError((name, None), strategy, "walks and their seed are for the "
                               "random and swarm strategies; an exhaustive search has none")
        if s.keep_going and s.strategy != "bfs":
            yield OptionsError(("keep_going", None), strategy, bfs_only)
        if s.liveness and s.strategy != "bfs":
            yield OptionsError(("liveness", None), strategy,
                               "liveness is checked on the state graph only bfs builds")
        if self.persistence is not None and s.strategy != "bfs":
            yield OptionsError(self._persistence_name(), strategy, bfs_only)
        if self.bitstate is not None:
            if s.strategy != "bfs":
                yield OptionsError(("bitstate", None), strategy, bfs_only)
            if s.exact:
                yield OptionsError(("bitstate", None), ("exact", None),
                                   "they are alternative visited sets; choose one")
            if s.liveness:
                yield OptionsError(("liveness", None), ("bitstate", None),
                                   "bitstate hashing keeps no state graph to check liveness on")
        if s.reduce:
            yield from self._reduce_conflicts(strategy)
        if par.on:
            yield from self._parallel_conflicts(strategy)

    def _persistence_name(self) -> tuple[str, str | None]:
        p = self.persistence
        return ("checkpoint", None) if p is not None and p.checkpoint is not None \
            else ("resume", None)

    def _reduce_conflicts(self, strategy: tuple[str, str]) -> Iterable[OptionsError]:
        s, par = self.search, self.parallel
        if s.strategy not in EXHAUSTIVE:
            yield OptionsError(("reduce", None), strategy, "reductions apply to exhaustive "
                               "searches (bfs, dfs), not to random simulation")
        if par.ray:
            yield OptionsError(("reduce", None), ("ray", None),
                               "reductions are not available on Ray yet; use workers")
        for name, workers, why in _PARTIAL_ORDER:
            if name not in s.reduce:
                continue
            if s.strategy != "bfs":
                yield OptionsError(("reduce", name), strategy, why)
            if par.workers > 1 and not workers:
                yield OptionsError(("reduce", name), ("workers", str(par.workers)), why)
            if s.keep_going:
                yield OptionsError(("reduce", name), ("keep_going", None), why)

    def _parallel_conflicts(self, strategy: tuple[str, str]) -> Iterable[OptionsError]:
        s, par = self.search, self.parallel
        if s.strategy not in ("bfs", "swarm"):
            yield OptionsError(par.name, strategy, "parallel search runs strategy bfs or swarm")
            return
        if s.strategy != "bfs":
            return
        why = "parallel breadth-first search stores fingerprints in its workers, alone"
        if s.exact:
            yield OptionsError(par.name, ("exact", None), why)
        if s.keep_going:
            yield OptionsError(par.name, ("keep_going", None), why)
        if self.persistence is not None:
            yield OptionsError(par.name, self._persistence_name(), why)
        if self.bitstate is not None:
            yield OptionsError(par.name, ("bitstate", None), why)

    @classmethod
    def from_keywords(cls, *, strategy: Strategy = "bfs", exact: bool = False,
                      liveness: bool | None = None, keep_going: bool = False,
                      reduce: Iterable[str] | str | None = None, walks: int | None = None,
                      seed: int | None = None, checkpoint: str | PathLike[str] | None = None,
                      checkpoint_every: float | None = None,
                      resume: str | PathLike[str] | None = None, bitstate: int | None = None,
                      bitstate_hashes: int | None = None, workers: int = 1,
                      ray: str | None = None) -> Options:
        """The groups for :func:`~.checker.check`'s keyword form; an option given (not
        ``None``) whose group is off is refused: ``checkpoint_every`` without ``checkpoint``,
        ``bitstate_hashes`` without ``bitstate``."""
        if checkpoint_every is not None and checkpoint is None:
            raise OptionsError(("checkpoint_every", None), ("checkpoint", None),
                               "the interval is between checkpoints; give checkpoint too")
        if bitstate_hashes is not None and bitstate is None:
            raise OptionsError(("bitstate_hashes", None), ("bitstate", None),
                               "hash functions are bitstate hashing's; give bitstate too")
        try:
            names = normalise(reduce)
        except ValueError as err:
            raise OptionsError(("reduce", None), None, str(err)) from None
        return cls(
            search=Search(strategy, exact, liveness, keep_going, names),
            walks=None if walks is None and seed is None else
            Walks(DEFAULT_WALKS if walks is None else walks, seed or 0),
            persistence=None if checkpoint is None and resume is None else
            Persistence(checkpoint, DEFAULT_EVERY if checkpoint_every is None
                        else checkpoint_every, resume),
            parallel=Parallel(workers, ray),
            bitstate=None if bitstate is None else
            Bitstate(bitstate, DEFAULT_HASHES if bitstate_hashes is None else bitstate_hashes))
