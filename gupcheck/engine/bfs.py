"""Breadth-first search: the default strategy, and the one whose counterexamples are shortest.

The search goes level by level.  A level's frontier holds full states — live while they fit
``Limits.frontier_memory_bytes``, encoded in blocks beyond, spilled to a temporary file beyond
twice that (:mod:`.frontier`), each block decoded when its turn comes; everything older is kept
only as a fingerprint in the visited set plus a 6-byte parent record per state: the index of its
parent in the previous level (``uint32``) and which of the parent's successors it was
(``uint16``).  A trace is rebuilt by replaying those choices from the initial state, as
Stateright rebuilds paths from fingerprints, so no parent *state* is ever kept.

Successors are generated for a chunk of the frontier at a time and looked up in the visited set
in one vectorised call (:class:`~.visited.FingerprintTable.add_many`); once the table is large,
their fingerprints are computed in one call too (:func:`keys_in_one_call`).  Within a chunk the
first generated occurrence of a state becomes its parent, and chunks are taken in frontier order,
so the parent of every state — and so every trace — is the same on every run.

Why the trace is shortest: every state of depth ``d`` is found (and its invariants checked) while
level ``d - 1`` is expanded, before any state of depth ``d + 1``.  The first violation found is
therefore at minimal depth; the same holds for deadlocks, found when their level is expanded.

Between two chunks everything the search knows is consistent (visited set, parent records,
frontier, next frontier so far, counters), which is where checkpoints are taken
(:mod:`.checkpoint`): a resumed search continues with the next chunk, exactly as if it had never
stopped.  With ``bitstate`` the visited set is a bit array (:class:`~.visited.BitstateSet`) and
the search becomes approximate: it may skip states, so "holds" is no longer a proof.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from os import PathLike, fspath
from typing import Any

import numpy as np

from . import checkpoint as ckpt
from .errors import ModelError
from .fingerprint import collision_probability, compiled_fingerprints
from .frontier import DEFAULT_BUDGET, Frontier, Tally
from .limits import Budget, Limits, peak_rss_bytes, stopped_by
from .model import Wait
from .por import PartialOrder
from .result import Result, Stats, Trace, Verdict, error_result
from .runtime import Context, Path
from .visited import BitstateSet, ExactSet, FingerprintTable
from .waitfor import describe_cycle, stuck_message

ProgressFn = Callable[[int, int, int, int, float], None]  # distinct, generated, depth, queue, s

SHORTEST = "breadth-first: the trace is a shortest one"  # the note on a BFS trace
CHUNK = 2048  # frontier states expanded per visited-set batch (fastest measured)


_KEY = operator.attrgetter("key")


def take(seq: Sequence[Any], idx: np.ndarray) -> list[Any]:
    """``seq``'s items at the indices ``idx``, in that order, in one C call: ``itemgetter``
    costs about 35 ns an item where ``map(seq.__getitem__, ...)`` costs 70-90 (lost update
    4x2 picks 5.6 million new states out of 19.3 million successors)."""
    if len(idx) > 1:
        return list(operator.itemgetter(*idx.tolist())(seq))
    return [seq[i] for i in idx.tolist()]


def keys_in_one_call(ctx: Context,
                     store: Any) -> Callable[[Sequence[Any]], np.ndarray] | None:
    """``ctx``'s keyer of a whole batch in compiled code (:mod:`.batchkey`), where it is
    used: once the fingerprint table is large enough to be probed by compiled code too, so
    that a small search does not import numba; never in exact mode or without numba."""
    if ctx.keys_array is None or not isinstance(store, FingerprintTable) or not store.compiled:
        return None
    return ctx.keys_array if compiled_fingerprints() is not None else None


class _Levels:
    """Parent records per BFS level: ``(parent index, successor ordinal)`` for each state.

    A level is a list of per-chunk arrays while it is being built and one array after
    :meth:`close`; lookups (only needed to rebuild a trace) concatenate on demand.
    """

    def __init__(self) -> None:
        self.parent: list[list[np.ndarray]] = []
        self.ordinal: list[list[np.ndarray]] = []

    def open(self) -> None:
        self.parent.append([])
        self.ordinal.append([])

    def add(self, parents: np.ndarray, ordinals: np.ndarray) -> None:
        self.parent[-1].append(parents.astype(np.uint32))
        self.ordinal[-1].append(ordinals.astype(np.uint16))

    def close(self) -> None:
        for arrays in (self.parent[-1], self.ordinal[-1]):
            if len(arrays) > 1:
                arrays[:] = [np.concatenate(arrays)]

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for lvl in self.parent + self.ordinal for a in lvl)

    @staticmethod
    def _at(chunks: list[np.ndarray], index: int) -> int:
        for a in chunks:
            if index < len(a):
                return int(a[index])
            index -= len(a)
        raise IndexError(index)

    def choices(self, depth: int, index: int) -> tuple[int, list[int]]:
        """The initial-state index and successor ordinals leading to state ``index`` at
        ``depth``."""
        ords: list[int] = []
        for d in range(depth, 0, -1):
            ords.append(self._at(self.ordinal[d], index))
            index = self._at(self.parent[d], index)
        ords.reverse()
        return self._at(self.parent[0], index), ords


def bfs(model: Any, *, exact: bool = False, limits: Limits = Limits(),
        progress: ProgressFn | None = None, check_deadlock: bool = True,
        keep_going: bool = False, checkpoint: str | PathLike[str] | None = None,
        checkpoint_every: float = ckpt.DEFAULT_EVERY, resume: str | PathLike[str] | None = None,
        bitstate: int | None = None, bitstate_hashes: int = 3,
        reduce: frozenset[str] = frozenset()) -> Result:
    """Breadth-first search.  ``keep_going`` (TLC's ``-continue``): do not stop at the first
    violation; explore everything and report the first — shortest — counterexample of every
    property that fails (``Result.findings``), the first deadlock included.

    ``checkpoint``: write the search's progress to this file every ``checkpoint_every`` seconds
    (``0``: after every chunk) and when a limit stops it; ``resume``: continue from such a file
    (raises :class:`~.checkpoint.CheckpointError` if it belongs to another model or search).
    ``bitstate``: use a bit array of that many bits (a power of two) with ``bitstate_hashes``
    bits per state as the visited set: approximate, see :class:`~.visited.BitstateSet`.
    ``reduce``: state-space reductions by name (:mod:`.reduce`).
    """
    if bitstate is not None and exact:
        raise ValueError("bitstate and exact are alternative visited sets; choose one")
    try:
        ctx = Context(model, exact=exact, reduce=reduce)
    except ModelError as err:
        return error_result(model, "bfs", exact, err)
    search = BfsSearch(ctx, limits, progress, check_deadlock, keep_going,
                     store=BitstateSet(bitstate, bitstate_hashes) if bitstate else None)
    search.por = partial_order(ctx, search.store.__contains__)
    search.checkpoint = checkpoint
    search.checkpoint_every = checkpoint_every
    search.resume = resume
    try:
        return search.run()
    except ModelError as err:
        return search.error(err)


def partial_order(ctx: Context, stored: Callable[[Any], bool]) -> PartialOrder | None:
    """The search's partial-order reduction, if ``ctx.reduce`` asks for one: ``por`` (ample
    sets and local steps) or ``local`` (local steps only); ``stored``: the visited set's
    membership test, for the cycle proviso."""
    reduce = ctx.reduce
    if not reduce & {"por", "local"}:
        return None
    return PartialOrder(ctx.model, ctx.invariants, has_waits=ctx.has_waits, key=ctx.key,
                        stored=stored, check="por-check" in reduce, inits=ctx.init_states,
                        ample_sets="por" in reduce)


class BfsSearch:
    def __init__(self, ctx: Context, limits: Limits, progress: ProgressFn | None,
                 check_deadlock: bool, keep_going: bool = False,
                 store: BitstateSet | None = None) -> None:
        self.ctx = ctx
        self.keep_going = keep_going
        self.findings: list[Result] = []
        self.finding_at: list[tuple[int, int] | None] = []  # each finding's last state
        self._last_at: tuple[int, int] | None = None  # where the latest finish() ended
        self._classes: dict[str, type] | None = None
        self.active = list(ctx.invariants)  # invariants without a counterexample yet
        self.limits = limits
        self.progress = progress
        self.check_deadlock = check_deadlock
        self.budget = Budget(limits)
        self.store: FingerprintTable | ExactSet | BitstateSet = (
            store if store is not None else ExactSet() if ctx.exact else FingerprintTable())
        self.levels = _Levels()
        self.inits: list[Any] = []
        self.coverage: Counter[str] = Counter()
        self.generated = 0
        self.depth = 0
        self.last_progress = 0.0
        self.checkpoint: str | PathLike[str] | None = None
        self.checkpoint_every = ckpt.DEFAULT_EVERY
        self.resume: str | PathLike[str] | None = None
        self.next_checkpoint = 0.0
        self.identity = ""
        self.extra_notes: list[str] = []
        self.por: PartialOrder | None = None  # partial-order reduction, when asked for
        self._frontiers: list[Frontier] = []  # to close (temporary files) when the search ends
        self.frontier_states = 0  # the most states the two frontiers held at once
        self.frontier_bytes = 0  # the most bytes they held in memory at once
        self._tally = Tally()  # what the frontiers encoded and spilled (frontier.py)

    # --- the search ------------------------------------------------------------------------------

    def run(self) -> Result:
        try:
            return self._run()
        finally:
            for f in self._frontiers:
                f.close()

    def _frontier(self, states: list[Any] = (), skip: int = 0) -> Frontier:  # type: ignore[assignment]
        """A new level's frontier: live within ``Limits.frontier_memory_bytes``, encoded beyond
        (:mod:`.frontier`); ``skip``: the first states, expanded before a checkpoint."""
        f = Frontier(CHUNK, self._budget(), self._tally)
        f.skip(skip)
        f.extend(list(states))
        self._frontiers = [g for g in self._frontiers if g.open] + [f]
        return f

    def _account(self, frontier: Frontier, frontier_next: Frontier) -> None:
        """The frontiers' peak size so far, for :class:`~.result.Stats`."""
        self.frontier_states = max(self.frontier_states, frontier.held + len(frontier_next))
        self.frontier_bytes = max(self.frontier_bytes, frontier.nbytes + frontier_next.nbytes)

    def _run(self) -> Result:
        ctx = self.ctx
        self.inits = ctx.init_states()
        if self.checkpoint is not None or self.resume is not None:
            self.identity = ckpt.model_identity(ctx, self._settings())
        frontier_next: Frontier | None = None  # None: the level has not been opened yet
        start = 0
        if self.resume is not None:
            frontier, start, frontier_next = self._restore(
                ckpt.read(self.resume, self.identity, self._settings()))
        else:
            keys = [ctx.key(s) for s in self.inits]
            self.generated = len(keys)
            fresh = np.flatnonzero(self.store.add_many(keys))
            self.levels.open()
            self.levels.add(fresh, np.zeros(len(fresh), dtype=np.uint16))
            self.levels.close()
            states = [self.inits[i] for i in fresh.tolist()]
            found = self.check_batch(states, 0, 0)
            if found:
                return found
            frontier = self._frontier(states)
        self.next_checkpoint = self.budget.seconds() + self.checkpoint_every
        proviso = self.por is not None and self.por.ample_sets  # C3 keeps level records

        while len(frontier):
            if frontier_next is None:
                if self.limits.max_depth is not None and self.depth >= self.limits.max_depth:
                    if any(self._has_successor(s, self.depth, i) for i, s in enumerate(frontier)):
                        return self.incomplete(f"max-depth ({self.limits.max_depth})")
                    break
                frontier_next = self._frontier()
                self.levels.open()
                if proviso:  # after the first level: the previous next frontier
                    self.por.new_level(
                        current=self.ctx.keys(list(frontier)) if self.depth == 0 else None)
            elif proviso:  # resumed inside a level
                key = self.ctx.key
                self.por.new_level(map(key, frontier_next), map(key, frontier.states_from(start)),
                                   start)
            for base in range(start, len(frontier), CHUNK):
                found = self._expand_chunk(frontier.chunk(base), base, frontier_next)
                if found:
                    return found
                frontier.release(base)
                self._account(frontier, frontier_next)
                more = base + CHUNK < len(frontier) or len(frontier_next)
                bound = self.budget.exceeded(len(self.store))
                if bound and more:
                    if self.checkpoint is not None:
                        self._save(frontier, base + CHUNK, frontier_next)
                    return self.incomplete(bound)
                if self.checkpoint is not None and self.budget.seconds() >= self.next_checkpoint:
                    self._save(frontier, base + CHUNK, frontier_next)
                self.report_progress(len(frontier) - base - CHUNK + len(frontier_next))
            self.levels.close()
            frontier.close()
            frontier, frontier_next, start = frontier_next, None, 0
            if len(frontier):
                self.depth += 1
        if self.findings:
            first = self.findings[0]
            return replace(first, stats=self.stats(), findings=tuple(self.findings),
                           approximate=self.approximate(),
                           coverage=dict(sorted(self.coverage.items())),
                           unfired=tuple(a for a in self.ctx.declared_actions
                                         if a not in self.coverage))
        if isinstance(self.store, BitstateSet):
            return self.finish(Verdict.HOLDS, None, "no violation in the states reached; bitstate "
                               "hashing may have skipped some, so this is not a proof", None)
        return self.finish(Verdict.HOLDS, None, "every reachable state explored", None)

    def _found(self, result: Result) -> Result | None:
        """A counterexample: the answer, or (keep_going) one more finding, and search on."""
        if not self.keep_going:
            return result
        if all(f.property != result.property for f in self.findings):
            self.findings.append(result)
            self.finding_at.append(self._last_at)
        self.active = [inv for inv in self.active if inv.name != result.property]
        return None

    def _expand_chunk(self, chunk: list[Any], base: int,
                      frontier_next: Frontier) -> Result | None:
        """Expand ``chunk``, the level's states from index ``base`` on; look the successors up
        in one batch.

        The per-transition work stays in C: ``list.extend`` over the model's generator, ``map``
        for encoding and hashing, ``Counter`` for coverage.  Python-level work is per expanded
        state and per *new* state only.
        """
        ctx = self.ctx
        por = self.por if self.por is not None and self.por.on else None
        ords: list[int] = []  # with por: each kept pair's ordinal among all the successors
        found: Result | None
        found, pairs, ends = self._successors_each(chunk, base, por, ords)
        if found or not pairs:
            return found
        try:
            labels, cand = zip(*pairs)
            keyer = keys_in_one_call(ctx, self.store)
            keys = keyer(cand) if keyer else ctx.keys(cand)
            self.coverage.update(map(_KEY, labels))
            if por is not None and por.local_labels:
                self.coverage.update(map(_KEY, por.local_labels))
                por.local_labels.clear()
        except ModelError:
            raise
        except Exception as exc:  # a bad label or state: find whose, in frontier order
            for i, state in enumerate(chunk, base):
                try:
                    ctx.successor_list(state, [])
                except ModelError:
                    raise ctx.diagnose(state, self.path(self.depth, i), exc) from exc
            last = base + len(chunk) - 1
            raise ctx.diagnose(chunk[-1], self.path(self.depth, last), exc) from exc
        self.generated += len(cand)
        new_idx = np.flatnonzero(self.store.add_many(keys))
        if not len(new_idx):
            return None
        if por is not None and por.ample_sets:  # the cycle proviso's record of the level
            por.discovered(keys[new_idx].tolist() if isinstance(keys, np.ndarray)
                           else [keys[j] for j in new_idx.tolist()])
        ends_arr = np.asarray(ends, dtype=np.int64)
        local = np.searchsorted(ends_arr, new_idx, side="right")
        if por is None:
            starts = np.concatenate(([0], ends_arr[:-1]))
            ordinals = new_idx - starts[local]
        else:
            ordinals = np.asarray(ords, dtype=np.int64)[new_idx]
        if ordinals.max() > 0xFFFF:
            raise ModelError("a state has more than 65,535 successors",
                             self.path(self.depth, base + int(local[ordinals.argmax()])))
        first = len(frontier_next)
        new_states = take(cand, new_idx)
        frontier_next.extend(new_states)
        self.levels.add(local + base, ordinals)
        return self.check_batch(new_states, self.depth + 1, first)

    def _successors_each(self, chunk: list[Any], base: int, por: PartialOrder | None,
                         ords: list[int]) -> tuple[Result | None, list[Any], list[int]]:
        """Expand ``chunk`` (from level index ``base``) one state at a time (with por, its
        ample sets)."""
        successors = self.ctx.successors
        has_waits = self.ctx.has_waits
        pairs: list[tuple[Any, Any]] = []
        ends: list[int] = []  # ends[i - base] = len(pairs) after expanding frontier[i]
        if por is None and not has_waits:
            return self._successors_plain(chunk, base, pairs, ends)
        end = 0
        i, state = base, None
        try:
            for i, state in enumerate(chunk, base):  # the hot loop: no Python call per state
                before = end                        # but the model's
                if por is None:
                    pairs.extend(successors(state))
                else:
                    self._expand_ample(por, state, i, pairs, ords)
                end = len(pairs)
                ends.append(end)
                if end == before or has_waits:
                    found = self._stuck(state, i, end - before)
                    if found:
                        return found, [], []
        except ModelError:
            raise
        except Exception as exc:
            raise self.ctx.diagnose(state, self.path(self.depth, i), exc) from exc
        return None, pairs, ends

    def _successors_plain(self, chunk: list[Any], base: int, pairs: list[Any],
                          ends: list[int]) -> tuple[Result | None, list[Any], list[int]]:
        """:meth:`_successors_each` for a model without waits, searched without por: the
        loop makes no Python-level test per state, and the states without a successor are
        found from ``ends`` afterwards, then judged in frontier order, as the state-by-state
        loop judges them (those tests cost 0.8-1 s of lost update 4x2's 21 s)."""
        extend, append = pairs.extend, ends.append
        successors = self.ctx.successors
        failed: Exception | None = None
        try:
            for state in chunk:
                extend(successors(state))
                append(len(pairs))
        except Exception as exc:  # noqa: BLE001 - reported below, after any earlier deadlock
            failed = exc
        for j in np.flatnonzero(np.diff(ends, prepend=0) == 0).tolist():  # no successor
            found = self._stuck(chunk[j], base + j, 0)
            if found:
                return found, [], []
        if isinstance(failed, ModelError):
            raise failed
        if failed is not None:
            i = base + len(ends)
            raise self.ctx.diagnose(chunk[len(ends)], self.path(self.depth, i), failed) \
                from failed
        return None, pairs, ends

    def _stuck(self, state: Any, i: int, moves: int) -> Result | None:
        """A deadlock (no move, not an end) or wait-for cycle at ``state``, frontier index ``i``."""
        ctx = self.ctx
        if not moves:
            if self.check_deadlock and not ctx.is_end(state, partial(self.path, self.depth, i)):
                return self._found(self.deadlock(state, self.depth, i))
        elif ctx.has_waits:
            cycle = self.wait_cycle(state, self.depth, i)
            return self._found(cycle) if cycle else None
        return None

    def _expand_ample(self, por: PartialOrder, state: Any, i: int, pairs: list[Any],
                      ords: list[int]) -> None:
        """Append ``state``'s ample set (or all its successors; ``local``: all) and their
        ordinals, which stay those of the unreduced successor list so that traces replay
        without the reduction; each successor after its chain of local steps."""
        succ = list(self.ctx.successors(state))
        path = partial(self.path, self.depth, i)
        ends, chains = por.chained(succ, path) if por.local else (succ, [])
        por.position = i
        keep = por.ample(state, succ, path, ends) \
            if len(succ) > 1 and por.ample_sets else None
        kept = range(len(succ)) if keep is None else keep
        pairs.extend(ends[j] for j in kept)
        ords.extend(kept)
        for j in kept if chains else ():
            por.took(chains[j])

    def check_batch(self, states: list[Any], depth: int, first: int) -> Result | None:
        """Invariants and wait-for cycles of newly found states, in discovery order."""
        try:
            hash(tuple(states))  # each state hashable: one loop in C
        except TypeError:
            for j, s in enumerate(states):
                self.ctx.validate(s, "a reached state", self.path(depth, first + j))
        start = 0
        while self.active:
            bad = None
            for inv in self.active:  # fast scan; the failing state is re-checked in order
                check = inv.check
                try:
                    j = next((j for j in range(start, len(states))
                              if check(states[j]) is not None), None)
                except Exception:  # noqa: BLE001 - the model's bug: check_new reports it
                    j = start  # let check_new find and report the state that raised
                if j is not None and (bad is None or j < bad):
                    bad = j
            if bad is None:
                return None
            found = self.check_new(states[bad], depth, first + bad)
            if found is None:  # only a stale scan result; go on after it
                start = bad + 1
                continue
            result = self._found(found)
            if result:
                return result
            start = bad  # another active invariant may fail in the same state
        return None

    def check_new(self, state: Any, depth: int, index: int) -> Result | None:
        """The (still active) invariants of a newly found state."""
        bad = self.ctx.violation(state, lambda: self.path(depth, index), self.active)
        if bad:
            name, why = bad
            return self.finish(Verdict.VIOLATED, name, why, (depth, index))
        return None

    def wait_cycle(self, state: Any, depth: int, index: int) -> Result | None:
        """A wait-for cycle in a state that can still move: a partial deadlock.

        Checked when the state is expanded, so that a state where nothing can move is reported
        as the (global) deadlock it is, and traces stay shortest: states are expanded in BFS order.
        """
        cycle = self.ctx.wait_cycle(state, lambda: self.path(depth, index))
        if cycle:
            return self.finish(Verdict.DEADLOCK, "wait-for-cycle",
                               "partial deadlock: " + describe_cycle(cycle), (depth, index),
                               waits=cycle)
        return None

    def _has_successor(self, state: Any, depth: int, index: int) -> bool:
        try:
            return any(True for _ in self.ctx.successors(state))
        except Exception as exc:
            raise self.ctx.diagnose(state, self.path(depth, index), exc) from exc

    def deadlock(self, state: Any, depth: int, index: int) -> Result:
        waits = self.ctx.waits(state, lambda: self.path(depth, index))
        why = stuck_message(waits)
        return self.finish(Verdict.DEADLOCK, "deadlock", why, (depth, index), waits=waits)

    # --- checkpoints -----------------------------------------------------------------------------

    def _settings(self) -> dict[str, Any]:
        """The search settings that change what is explored, part of a checkpoint's identity."""
        store = self.store
        kind = (f"bitstate {store.bits} {store.hashes}" if isinstance(store, BitstateSet)
                else "exact" if self.ctx.exact else "fingerprints")
        out = {"strategy": "bfs", "store": kind, "keep_going": self.keep_going,
               "check_deadlock": self.check_deadlock, "chunk": CHUNK}
        if self.ctx.reduce:  # a reduced search stores other keys: not resumable without it
            out["reduce"] = sorted(self.ctx.reduce)
        if self.por is not None and self.por.local:  # its parent records skip local steps:
            out["local_steps"] = True  # not those of a por search before they were taken
        return out

    def _save(self, frontier: Frontier, position: int, frontier_next: Frontier) -> None:
        """Everything needed to go on with ``frontier[position:]``, atomically on disk, as
        plain data (:mod:`.checkpoint`: nothing in the file is code).  The level's states
        before ``position`` are expanded: only their count is kept."""
        assert self.checkpoint is not None
        try:
            self._write_checkpoint(frontier, position, frontier_next)
        except OSError as exc:  # the search is sound without it: say so and go on
            self.extra_notes.append(
                f"checkpoint: could not write {fspath(self.checkpoint)} "
                f"({exc.strerror or exc}); the search went on without checkpoints")
            self.checkpoint = None
        self.next_checkpoint = self.budget.seconds() + self.checkpoint_every

    def _write_checkpoint(self, frontier: Frontier, position: int,
                          frontier_next: Frontier) -> None:
        assert self.checkpoint is not None
        position = min(position, len(frontier))
        levels = self.levels
        plain = ckpt.Plain(self._registry())
        ckpt.write(self.checkpoint, {
            "identity": self.identity,
            "model": self.ctx.name,
            "settings": self._settings(),
            "depth": self.depth,
            "position": position,
            "generated": self.generated,
            "seconds": self.budget.seconds(),
            "coverage": dict(self.coverage),
            "active": [inv.name for inv in self.active],
            "findings": [self._finding_data(f, at)
                         for f, at in zip(self.findings, self.finding_at, strict=True)],
            "store": self.store.snapshot(),
            "parent": [np.concatenate(lvl) if lvl else b"" for lvl in levels.parent],
            "ordinal": [np.concatenate(lvl) if lvl else b"" for lvl in levels.ordinal],
            "frontier": _nodes(plain, frontier, position),
            "frontier_next": _nodes(plain, frontier_next, 0),
            "classes": plain.table,
            "objects": plain.objects,
            "por": ([self.por.reduced, self.por.full, self.por.at_once]
                    if self.por is not None else None),
        })

    def _registry(self) -> dict[str, type]:
        """The classes a checkpoint's states may be made of: found from the model's initial
        states and their annotations, never from the file."""
        if self._classes is None:
            self._classes = ckpt.state_classes(self.inits)
        return self._classes

    @staticmethod
    def _finding_data(f: Result, at: tuple[int, int] | None) -> dict[str, Any]:
        s = f.stats
        return {"verdict": f.verdict.value, "property": f.property, "message": f.message,
                "at": list(at) if at else None,
                "stats": [s.distinct, s.generated, s.depth, s.seconds, s.collision_probability,
                          s.visited_bytes, s.trace_bytes, s.peak_rss_bytes],
                "coverage": f.coverage, "unfired": list(f.unfired), "bound": f.bound,
                "waits": [[w.actor, w.on, list(w.holders)] for w in f.waits],
                "notes": list(f.notes), "approximate": f.approximate}

    def _finding(self, d: ckpt.Finding) -> Result:
        """A saved keep-going finding again, its trace rebuilt by replay."""
        trace = self._trace(*d.at) if d.at else None
        return Result(
            model=self.ctx.name, strategy="bfs", exact=self.ctx.exact,
            verdict=Verdict(d.verdict), property=d.property, message=d.message, trace=trace,
            stats=Stats(*d.stats), coverage=dict(d.coverage), unfired=tuple(d.unfired),
            bound=d.bound, waits=tuple(Wait(a, on, tuple(h)) for a, on, h in d.waits),
            notes=tuple(d.notes), approximate=d.approximate)

    def _restore(self, data: ckpt.Body) -> tuple[Frontier, int, Frontier]:
        """Rebuild the search from a checkpoint; return the frontier (its states from the
        position on), the position and the next frontier.

        The file passed its checksum and schema; what is checked here is that its parts fit
        together (array sizes, indices, the frontier's states in the visited set), so that a
        crafted or mismatched file is refused with a reason instead of failing later."""
        try:
            return self._restore_checked(data)
        except ckpt.CheckpointError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, OverflowError,
                ModelError) as exc:
            raise ckpt.CheckpointError(
                f"checkpoint {self.resume} is inconsistent ({ckpt.one_line(exc)})") from exc

    def _restore_checked(self, data: ckpt.Body) -> tuple[Frontier, int, Frontier]:
        store = data.store
        kind = store.get("kind")
        restore = {"fingerprints": FingerprintTable.restore, "exact": ExactSet.restore,
                   "bitstate": BitstateSet.restore}.get(kind)  # type: ignore[arg-type]
        if restore is None:
            raise ValueError(f"unknown visited-set kind {kind!r}")
        self.store = restore(store)
        if self.por is not None:  # the proviso must look states up in the restored set
            self.por.stored = self.store.__contains__
            counts = [*(data.por or ()), 0, 0, 0]  # a checkpoint before local steps: two
            self.por.reduced, self.por.full, self.por.at_once = counts[:3]
        self.depth = data.depth
        self.generated = data.generated
        self.coverage = Counter(data.coverage)
        names, known = set(data.active), {inv.name for inv in self.ctx.invariants}
        found = {f.property for f in data.findings}
        if not names <= known or known - names - found:  # an edited file: each is checked
            raise ValueError("its properties still to check do not match the search's")
        self.active = [inv for inv in self.ctx.invariants if inv.name in names]
        if len(data.parent) != len(data.ordinal) or any(
                len(p) % 4 or len(o) % 2 or len(p) // 4 != len(o) // 2
                for p, o in zip(data.parent, data.ordinal)):
            raise ValueError("parent records of mismatched sizes")
        parents = [np.frombuffer(b, dtype=np.uint32).copy() for b in data.parent]
        sizes = [len(self.inits), *map(len, parents)]
        if not 0 <= self.depth < len(parents) <= self.depth + 2 or any(
                len(p) and int(p.max()) >= sizes[d] for d, p in enumerate(parents)):
            raise ValueError("parent records that do not form a search tree")
        self.levels.parent = [[p] for p in parents]
        self.levels.ordinal = [[np.frombuffer(b, dtype=np.uint16).copy()]
                               for b in data.ordinal]
        position = data.position
        if not 0 <= position <= len(parents[self.depth]):
            raise ValueError(f"position {position} outside the frontier")
        # version 3 kept the level's expanded states too; version 4 only the rest
        saved = data.frontier[position:] if data.version == 3 else data.frontier
        if position + len(saved) != len(parents[self.depth]) or (
                len(parents) == self.depth + 2 and len(data.frontier_next) != len(parents[-1])):
            raise ValueError("a frontier that does not match its parent records")
        if saved and position % CHUNK:
            raise ValueError(f"position {position} is not where a block of the frontier begins")
        plain = ckpt.Plain(self._registry())
        plain.load(data.classes, data.objects, roots={
            t[0] for t in saved + data.frontier_next if type(t) is list and t
            and type(t[0]) is int})
        rest, frontier_next = self._frontier(skip=position), self._frontier()
        for frontier, nodes in ((rest, saved), (frontier_next, data.frontier_next)):
            for base in range(0, len(nodes), CHUNK):  # one block of states built at a time
                states = [plain.value(t) for t in nodes[base:base + CHUNK]]
                for s in states:  # the states must be the ones the search stored
                    self.ctx.validate(s, "a saved state", [(None, s)])
                if not all(k in self.store for k in self.ctx.keys(states)):
                    raise ValueError("saved states that the saved visited set does not hold")
                frontier.extend(states)
        # the parent records lead to the saved states: the first one's path replayed
        level, index, held = (self.depth, position, rest) if saved else \
            (self.depth + 1, 0, frontier_next)
        if len(held):
            here = self.path(level, index)[-1][1]
            if self.ctx.key(here) != self.ctx.key(held.chunk(index)[0]):
                raise ValueError("parent records that do not lead to the saved states")
        if not 0 <= data.seconds < float("inf"):  # NaN fails both
            raise ValueError(f"seconds {data.seconds!r}")
        self.findings = [self._finding(f) for f in data.findings]
        self.finding_at = [tuple(f.at) if f.at else None for f in data.findings]
        self.budget.start -= data.seconds
        self.extra_notes.append(
            f"resumed from a checkpoint at depth {self.depth} with {len(self.store):,} states "
            f"({data.seconds:.1f} s of earlier search)")
        return rest, position, frontier_next

    # --- results ---------------------------------------------------------------------------------

    def path(self, depth: int, index: int) -> Path:
        return self._replay(depth, index)[1]

    def _trace(self, depth: int, index: int) -> Trace:
        return self.ctx.trace(*self._replay(depth, index))

    def _replay(self, depth: int, index: int) -> tuple[int, Path]:
        """The initial state's index and the path to state ``index`` at ``depth``, with the
        local steps partial-order reduction took at once."""
        init_index, ords = self.levels.choices(depth, index)
        local = self.por.local_chain if self.por is not None and self.por.local else None
        return init_index, self.ctx.replay_ordinals(self.inits[init_index], ords, local)

    def stats(self, depth: int | None = None) -> Stats:
        n = len(self.store)
        return Stats(
            distinct=n,
            generated=self.generated,
            depth=self.depth if depth is None else depth,
            seconds=self.budget.seconds(),
            collision_probability=None if self.ctx.exact or isinstance(self.store, BitstateSet)
            else collision_probability(n, self.generated),
            visited_bytes=self.store.nbytes,
            trace_bytes=self.levels.nbytes,
            peak_rss_bytes=peak_rss_bytes(),
            frontier_states=self.frontier_states,
            frontier_bytes=self.frontier_bytes,
        )

    def finish(self, verdict: Verdict, prop: str | None, message: str,
               at: tuple[int, int] | None, *, waits: tuple[Any, ...] = (),
               bound: str | None = None) -> Result:
        trace = self._trace(*at) if at else None
        self._last_at = at
        depth = max(self.depth, at[0]) if at else self.depth
        return Result(
            model=self.ctx.name,
            strategy="bfs",
            exact=self.ctx.exact,
            verdict=verdict,
            property=prop,
            message=message,
            trace=trace,
            stats=self.stats(depth),
            coverage=dict(sorted(self.coverage.items())),
            unfired=tuple(a for a in self.ctx.declared_actions if a not in self.coverage),
            bound=bound,
            waits=tuple(waits),
            notes=self._notes(trace is not None),
            approximate=self.approximate(),
        )

    def _notes(self, has_trace: bool) -> tuple[str, ...]:
        notes = list(self.extra_notes)
        if self.por is not None:
            notes.append(self.por.note())
        t = self._tally
        if t.unpicklable:
            notes.append(f"frontier: kept live beyond the {self._budget_text()} budget, its "
                         f"states cannot be pickled ({t.unpicklable})")
        if t.unwritable:
            notes.append(f"frontier: encoded blocks kept in memory, the temporary file could "
                         f"not be written ({t.unwritable})")
        if t.encoded:
            notes.append(f"frontier: {t.encoded:,} of {t.sealed:,} blocks of {CHUNK:,} states "
                         f"held encoded beyond the {self._budget_text()} budget"
                         + (f", {t.spilled / 2**20:,.1f} MiB of them in a temporary file"
                            if t.spilled else ""))
        if has_trace:
            notes.append("bitstate: the trace is real but may not be a shortest one (states "
                         "may have been skipped)" if isinstance(self.store, BitstateSet)
                         else SHORTEST)
        return tuple(notes)

    def _budget(self) -> int:
        """The frontier's budget: as given, else 1 GiB, or a quarter of ``max_memory``."""
        lim = self.limits
        if lim.frontier_memory_bytes is not None:
            return lim.frontier_memory_bytes
        if lim.max_memory_bytes is not None:
            return min(DEFAULT_BUDGET, lim.max_memory_bytes // 4)
        return DEFAULT_BUDGET

    def _budget_text(self) -> str:
        return f"{self._budget() / 2**20:,.1f} MiB"

    def approximate(self) -> str | None:
        """Why the search is not exhaustive though it ran to the end, or ``None`` if it is."""
        return self.store.describe() if isinstance(self.store, BitstateSet) else None

    def incomplete(self, bound: str) -> Result:
        return self.finish(
            Verdict.INCOMPLETE, None,
            f"{stopped_by(bound)} before every reachable state was explored; "
            "no violation in the states explored so far", None, bound=bound)

    def error(self, err: ModelError) -> Result:
        trace = self.ctx.trace(0, err.path) if err.path else None
        return Result(
            model=self.ctx.name, strategy="bfs", exact=self.ctx.exact, verdict=Verdict.ERROR,
            property=None, message=err.message, trace=trace, stats=self.stats(),
            coverage=dict(sorted(self.coverage.items())), unfired=(),
            approximate=self.approximate(),
        )

    def report_progress(self, queue: int) -> None:
        if self.progress is None:
            return
        now = self.budget.seconds()
        if now - self.last_progress >= 0.5:
            self.last_progress = now
            self.progress(len(self.store), self.generated, self.depth, max(queue, 0), now)


def _nodes(plain: ckpt.Plain, frontier: Frontier, start: int) -> list[Any]:
    """The states of ``frontier`` from ``start`` on as checkpoint nodes, a block at a time, so
    that the states of an encoded frontier are decoded and freed one block after the other."""
    out: list[Any] = []
    for base in range(start, len(frontier), CHUNK):
        out.extend(map(plain.node, frontier.chunk(base)))
        plain.forget()
    return out
