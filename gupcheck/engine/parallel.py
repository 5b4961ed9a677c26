"""Parallel breadth-first search on one machine: worker processes own slices of the state space.

Why this shape: the cost of a Python model checker is the model's own ``successors`` and the
encoding of every generated state, both per state and independent, so they spread over cores;
the visited set must stay one logical set.  Each worker therefore *owns* the states whose
fingerprint falls in its slice (high bits, so that every owner's table still uses all its slots):
it keeps them in its own visited table, and it expands them when their level comes.

The search is level-synchronous, and each level reproduces the single-process search exactly:

1. every worker expands its part of the frontier (in global frontier order, a chunk at a time
   as :mod:`.bfs` does) and sends each owner the distinct fingerprints it generated for that
   owner, each with the global index of its parent and its successor ordinal (numpy arrays,
   no states);
2. each owner keeps, per fingerprint, the least ``(parent, ordinal)`` — the transition that the
   single-process search meets first — admits those not yet in its table, and tells each
   discoverer which of its candidates won;
3. the discoverer keeps the winners as its part of the next frontier: no state ever crosses a
   process boundary (ownership decides only which copy is admitted; parents are spread evenly,
   so the work stays balanced);
4. the coordinator merges the discoverers' ``(parent, ordinal)`` pairs and sorts them, which is
   precisely the order in which one process would have stored the level.  It keeps the parent
   records, so traces are rebuilt by replay in the coordinator as in :mod:`.bfs`.

The workers send these batches to each other directly, over a full mesh of pipes (one copy,
no relay through the coordinator, whose only messages per level are "go", with the balancing
plan, and the ``(parent, ordinal)`` pairs).  The coordinator sends "go" for the next level as
soon as the replies show that the search goes on, and keeps its records while the workers run.
An earlier version sent each admitted state to its owner: pickling them cost a fifth of the
run's CPU time.

So the distinct states, transitions, parent records — and every trace — are the same for any
number of workers, and the same as :func:`~.bfs.bfs`.  The first violation or deadlock of a
level is chosen as the single-process search would meet it (its chunk of the frontier, deadlocks
before the violations found among that chunk's successors).  The distinct-state and memory
limits are checked between levels; ``max-seconds`` also inside one: each worker stops
expanding at the deadline (between chunks), and the level it was in is left out of the counts,
so that an incomplete run reports only complete levels and stops on time.  If anything in a
worker raises, the model is re-run in one process, which reports the failure with its trace as
usual.

Partial-order reduction (:mod:`.por`) adds a half-level before step 2.  Its cycle proviso asks
whether an ample set's successor was stored no later than the state being expanded, in one
process's expansion order; no worker can tell alone.  So each worker first expands all its states,
holding those with an ample set C0-C2 allow, and asks the owner of each successor those sets lead
to (:meth:`Worker.op_expand_por`); the owner answers from its table and its record of the level
(:meth:`Worker.op_answer`); then every worker chooses exactly as one process would
(:meth:`Worker.op_decide`) and step 2 follows.  ``local`` needs no question.

Workers are forked (``fork`` start method), so the model need not be picklable; only states
(pickled) and numpy arrays cross processes.  Linux-only, like the rest of the tool.
"""

from __future__ import annotations

import multiprocessing as mp
import operator
import pickle
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from itertools import compress
from typing import Any

import numpy as np

from .bfs import CHUNK, BfsSearch, ProgressFn, bfs, keys_in_one_call, partial_order, take
from .errors import ModelError, describe_exception
from .limits import INTERRUPT, INTERRUPTED, Limits, worker_interrupts
from .model import Label
from .por import Option, PartialOrder
from .result import Result, Verdict, error_result
from .runtime import Context
from .visited import FingerprintTable

_KEY = operator.attrgetter("key")
_LABEL, _STATE = operator.itemgetter(0), operator.itemgetter(1)  # of a (label, state) pair
_OWNER_SHIFT = np.uint64(40)


def _reduction(ctx: Context) -> PartialOrder | None:
    """``por`` or ``local`` (:mod:`.por`), if asked for.  Its cycle proviso's "stored no later
    than this state" is answered by the visited sets' owners (:meth:`Worker.op_answer`), never
    by the ``stored`` test given here."""
    return partial_order(ctx, _asked_of_owners)


def _asked_of_owners(key: Any) -> bool:
    raise AssertionError("with workers the cycle proviso is asked of the owners")


def _no_path() -> list[Any]:
    return []


@dataclass(slots=True)
class _Held:
    """A state :meth:`Worker.op_expand_por` expanded, until :meth:`Worker.op_decide`."""

    gidx: int  # its global index in the level
    pkey: int  # its (parent, ordinal) key, whose order is the level's
    ends: list[tuple[Label, Any]]  # its successors after their local steps: what is stored
    chains: list[list[tuple[Label, Any]]]  # those local steps (empty: none taken)
    options: list[Option]  # the ample sets C0-C2 allow (at least one)
    asks: list[int]  # the successors the cycle proviso asks about, by index
    first: int  # the index of its first successor among its chunk's
    fps: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))


class Fallback(Exception):
    """A worker failed; the single-process search will say how, with the model's trace."""


class _Totals:
    """Stands in for the visited set in the coordinator's :class:`BfsSearch` (counts only)."""

    def __init__(self) -> None:
        self.count = 0
        self.nbytes = 0

    def __len__(self) -> int:
        return self.count


_FAILED = "gupcheck: a worker failed"  # sent in place of a batch, so that no peer waits


def owners(fps: np.ndarray, workers: int) -> np.ndarray:
    return (fps >> _OWNER_SHIFT) % np.uint64(workers)


def balance(counts: list[int]) -> list[list[int]]:
    """``give[w][o]``: how many states worker ``w`` hands to worker ``o`` so that every worker
    holds ``total // n`` states, the first ``total % n`` workers one more."""
    n, total = len(counts), sum(counts)
    target = [total // n + (1 if w < total % n else 0) for w in range(n)]
    give = [[0] * n for _ in range(n)]
    short = [[o, target[o] - counts[o]] for o in range(n) if counts[o] < target[o]]
    for w in range(n):
        extra = counts[w] - target[w]
        while extra > 0:
            o, need = short[0]
            moved = min(extra, need)
            give[w][o] += moved
            extra -= moved
            short[0][1] -= moved
            if short[0][1] == 0:
                short.pop(0)
    return give


class Worker:
    """One worker's slice: its visited table, its part of the frontier, its counters."""

    def __init__(self, ctx: Context, index: int, workers: int, check_deadlock: bool,
                 peers: dict[int, Any] | None = None, deadline: float | None = None) -> None:
        self.ctx = ctx
        self.deadline = deadline  # time.time() at which to stop expanding (max-seconds)
        self.peers = peers or {}  # worker index -> pipe to that worker (op_level)
        self.senders: ThreadPoolExecutor | None = None
        self.index = index
        self.workers = workers
        self.check_deadlock = check_deadlock
        self.store = FingerprintTable()
        # the frontier: runs of states, each in global order, with their global indices and
        # their (parent, ordinal) keys (the order of both is the level's)
        self.segments: list[tuple[list[Any], np.ndarray, np.ndarray]] = []
        self.coverage: Counter[str] = Counter()
        self.cand: list[Any] = []
        self.sent: list[np.ndarray] = []
        self.cand_parent = np.empty(0, dtype=np.int64)  # each candidate's (parent, ordinal)
        self.cand_ordinal = np.empty(0, dtype=np.int64)
        self.cand_perm: np.ndarray | None = None  # candidate order -> position in self.cand
        self.next: list[Any] = []
        self.next_pkey = np.empty(0, dtype=np.int64)
        # por or local: each successor after its local steps; por's ample sets ask the owners
        # the cycle proviso's questions (op_expand_por, op_answer, op_decide)
        por = _reduction(ctx)
        self.por = por if por is not None and por.on else None
        self.ample_sets = self.por is not None and self.por.ample_sets
        # the owner's record of the level being expanded, for the proviso: its fingerprints
        # here, ascending, and each one's (parent, ordinal) key
        self.level = (np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64))
        # the level being expanded (_each_chunk): the successors kept (cand, with their
        # fingerprints, parents and ordinals in parts), the first deadlock, whether the
        # deadline stopped it, the transitions kept; with ample sets, until op_decide, the
        # states held for the proviso's answers and which queries went to which owner
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.dead_g, self.stopped, self.generated = -1, False, 0
        self.held: list[_Held] = []
        self.asked: list[np.ndarray] = []

    def serve(self, conn: Any) -> None:
        while True:
            msg = conn.recv()
            if msg[0] == "stop":
                conn.close()
                return
            try:
                reply = getattr(self, "op_" + msg[0])(*msg[1:])
            except Exception as exc:  # noqa: BLE001 - reported by the single-process re-run
                reply = ("error", describe_exception(exc))
            conn.send(reply)

    def op_seed(self, states: list[Any], gidx: np.ndarray) -> tuple[str]:
        keys = self.ctx.keys(states)
        self.store.add_many(keys)
        self.segments = [(states, gidx, gidx)]  # the initial states' keys: their indices
        if self.ample_sets:
            fps = np.fromiter((k or 1 for k in keys), dtype=np.uint64, count=len(keys))
            order = np.argsort(fps)
            self.level = (fps[order], gidx[order])
        return ("ok",)

    def op_give(self, gidx: np.ndarray, give: list[int]) -> tuple[str, list[bytes | None]]:
        """Adopt the kept states (global indices ``gidx``) as the frontier and hand the last
        ``sum(give)`` of them to the workers short of work: ``give[o]`` to worker ``o``.

        States stay with their discoverer, so a frontier grown in one worker would stay there;
        moving only the surplus keeps every level balanced at the price of a few pickles.
        """
        frontier, self.next = self.next, []
        pkey = self.next_pkey
        out: list[bytes | None] = []
        end = len(frontier)
        for o in reversed(range(self.workers)):
            n = give[o]
            if n == 0 or o == self.index:
                out.append(None)
                continue
            batch = (frontier[end - n:end], gidx[end - n:end], pkey[end - n:end])
            out.append(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
            end -= n
        out.reverse()
        del frontier[end:]  # in place: a copy would touch every state of the frontier
        self.segments = [(frontier, gidx[:end], pkey[:end])]
        return "ok", out

    def op_take(self, payloads: list[bytes | None]) -> tuple[str]:
        """Add the states other workers handed over as one more run of the frontier.

        They are not merged into the frontier: rebuilding it in global order would touch
        every state it holds, a cache miss each; :meth:`op_expand` orders the runs' successors
        instead.
        """
        batches = [pickle.loads(p) for p in payloads if p is not None]
        if batches:
            states = [s for b in batches for s in b[0]]
            gidx = np.concatenate([b[1] for b in batches])
            pkey = np.concatenate([b[2] for b in batches])
            order = np.argsort(gidx, kind="stable")  # sorted runs: a merge
            self.segments.append((take(states, order), gidx[order],
                                  pkey[order]))
        return ("ok",)

    def op_advance(self, gidx: np.ndarray, give: list[int]) -> tuple[str]:
        """The next level's frontier, balanced over the workers (:meth:`op_give`)."""
        _, out = self.op_give(gidx, give)
        return self.op_take(self.exchange(out))

    def op_has_successor(self) -> tuple[str, bool]:
        return ("ok", any(any(True for _ in self.ctx.successors(s))
                          for states, _, _ in self.segments for s in states))

    def op_expand(self) -> tuple[str, int, int, list[tuple[np.ndarray, ...]], bool]:
        """Expand the frontier; the first deadlock's global index; fingerprints per owner;
        whether the deadline stopped the expansion (then the level is incomplete).

        The frontier is expanded :data:`~.bfs.CHUNK` states at a time, as :mod:`.bfs` does, and
        each chunk's successors are encoded and deduplicated while they are still in the CPU's
        caches; only the chunk's distinct successors are kept for the owners' verdicts.  (An
        earlier version expanded the whole level before encoding it: going back over millions
        of cache-cold successors cost a sixth of the run's CPU time.)
        """
        self._each_chunk(self._expand_chunk)
        cand, parts, self.cand, self.parts = self.cand, self.parts, [], []
        return "ok", self.dead_g, self.generated, self._bundles(cand, parts), self.stopped

    def _each_chunk(self, expand: Callable[[list[Any], np.ndarray, np.ndarray, int, int], int],
                    ) -> None:
        """Run ``expand(states, gidx, pkey, base, dead)`` on every chunk of the frontier, run
        by run, in order, until the deadline or Ctrl-C (:attr:`stopped`); ``expand`` adds to
        :attr:`cand`, :attr:`parts` and :attr:`generated` and returns the first deadlock's index
        in ``states`` (``dead`` if already found): the first one's global index goes to
        :attr:`dead_g`."""
        self.cand, self.parts = [], []
        self.dead_g, self.stopped, self.generated = -1, False, 0
        for states, gidx, pkey in self.segments:
            dead = -1
            for base in range(0, len(states), CHUNK):
                if (self.deadline is not None and time.time() >= self.deadline) \
                        or INTERRUPT.requested:  # Ctrl-C reached this worker too
                    self.stopped = True
                    break
                dead = expand(states, gidx, pkey, base, dead)
            if dead >= 0 and (self.dead_g < 0 or int(gidx[dead]) < self.dead_g):
                self.dead_g = int(gidx[dead])

    def _stuck(self, state: Any, moves: int) -> bool:
        """A deadlock (no move, not an end) or a wait-for cycle at ``state``."""
        ctx = self.ctx
        if not moves:
            return self.check_deadlock and not ctx.is_end(state, _no_path)
        return bool(ctx.has_waits and ctx.wait_cycle(state, _no_path))

    def _fingerprints(self, states: Sequence[Any]) -> np.ndarray:
        keyer = keys_in_one_call(self.ctx, self.store)
        fps = keyer(states) if keyer else np.fromiter(self.ctx.keys(states), dtype=np.uint64,
                                                      count=len(states))
        fps[fps == 0] = 1  # as FingerprintTable stores it
        return fps

    def _bundles(self, cand: list[Any], parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                 merge: bool = False) -> list[tuple[np.ndarray, ...]]:
        """Keep ``cand`` for :meth:`op_keep`; per owner, the distinct fingerprints of ``parts``
        with their first (least) ``(parent, ordinal)``, for :meth:`op_admit`.  ``merge``:
        ``parts`` are not in global order even within one run of the frontier (por's held
        states come last)."""
        if parts:
            fps, parent, ordinal = (np.concatenate(a) for a in zip(*parts))
        else:
            fps = np.empty(0, np.uint64)
            parent = ordinal = np.empty(0, np.int64)
        self.cand_perm = None
        if merge or len(self.segments) > 1:  # runs of handed-over states: merge them
            self.cand_perm = np.argsort((parent << 16) | ordinal, kind="stable")
            fps, parent, ordinal = fps[self.cand_perm], parent[self.cand_perm], \
                ordinal[self.cand_perm]
        # first occurrence: the least (parent, ordinal), as the candidates are in global order
        uniq, first = np.unique(fps, return_index=True)
        owner = owners(uniq, self.workers)
        self.cand, self.cand_parent, self.cand_ordinal = cand, parent, ordinal
        self.sent = [first[owner == o] for o in range(self.workers)]
        # each owner's fingerprints in ascending order (op_admit merges them)
        return [(uniq[owner == o], parent[sel], ordinal[sel]) for o, sel in enumerate(self.sent)]

    def _expand_chunk(self, frontier: list[Any], gidx: np.ndarray, pkey: np.ndarray, base: int,
                      dead: int) -> int:
        """Expand ``frontier[base:base + CHUNK]`` (global indices ``gidx``) and keep its
        successors (:meth:`_keep`); the first deadlock's index in ``frontier``."""
        ctx, successors = self.ctx, self.ctx.successors
        if self.por is not None:
            local = self.por
            successors = lambda s: local.after_local(ctx.successors(s))
        pairs: list[tuple[Any, Any]] = []
        ends: list[int] = []
        for i in range(base, min(base + CHUNK, len(frontier))):
            s = frontier[i]
            before = len(pairs)
            pairs.extend(successors(s))
            ends.append(len(pairs))
            if dead < 0 and self._stuck(s, len(pairs) - before):
                dead = i
        if pairs:
            counts = np.diff(ends, prepend=0)
            whose = np.repeat(np.arange(len(ends)), counts)  # each successor's state
            ordinal = np.arange(len(pairs)) - np.repeat(np.cumsum(counts) - counts, counts)
            self._keep(pairs, self._fingerprints([nxt for _, nxt in pairs]),
                       gidx[base + whose], ordinal, in_order=True)
        return dead

    def _count(self, labels: Iterable[Label]) -> None:
        """Coverage: ``labels`` and the local steps taken since the last count."""
        self.coverage.update(map(_KEY, labels))
        if self.por is not None:
            self.coverage.update(map(_KEY, self.por.local_labels))
            self.por.local_labels.clear()

    # --- por: expand, ask the owners the cycle proviso's questions, decide -------------------

    def op_expand_por(self) -> tuple[str, list[tuple[np.ndarray, np.ndarray]]]:
        """:meth:`op_expand` with ample sets, first half: expand every frontier state.  A state
        whose successors need no question (one unit's steps, or no ample set C0-C2 allow) is
        expanded fully at once, as in :meth:`op_expand`; the others are held with their
        successors (after their local steps) and their ample sets
        (:meth:`.por.PartialOrder.candidates`), and each owner is asked whether those sets'
        successors were stored no later than the state (C3): the fingerprints and the asking
        state's ``(parent, ordinal)`` key.  :meth:`op_answer` answers, :meth:`op_decide`
        chooses.  (One process decides state by state, its visited set at hand.)"""
        self.held = []
        self._each_chunk(self._expand_chunk_por)
        q_fp = np.asarray([h.fps[i] for h in self.held for i in h.asks], dtype=np.uint64)
        q_key = np.asarray([h.pkey for h in self.held for _ in h.asks], dtype=np.int64)
        owner = owners(q_fp, self.workers)
        self.asked = [np.flatnonzero(owner == o) for o in range(self.workers)]
        return "ok", [(q_fp[sel], q_key[sel]) for sel in self.asked]

    def _expand_chunk_por(self, states: list[Any], gidx: np.ndarray, pkey: np.ndarray,
                          base: int, dead: int) -> int:
        """Expand ``states[base:base + CHUNK]`` for :meth:`op_expand_por`; the first deadlock's
        index in ``states``."""
        ctx, por = self.ctx, self.por
        assert por is not None
        held: list[_Held] = []
        pairs: list[tuple[Label, Any]] = []  # every successor (after its local steps)
        mine: list[int] = []  # the positions in pairs of those kept at once
        parent: list[int] = []
        ordinal: list[int] = []
        for i in range(base, min(base + CHUNK, len(states))):
            s = states[i]
            succ = list(ctx.successors(s))
            if dead < 0 and self._stuck(s, len(succ)):
                dead = i
            if not succ:
                continue
            ends, chains = por.chained(succ) if por.local else (succ, [])
            cands = por.candidates(s, succ) if len(succ) > 1 else None
            options = None if cands is None else list(cands)
            if options:  # the proviso decides
                asks = sorted({j for idx, _ in options for j in idx})
                held.append(_Held(int(gidx[i]), int(pkey[i]), ends, chains, options, asks,
                                  len(pairs)))
            else:  # nothing to ask: expanded fully, now
                if options is not None:  # no ample set passes C0-C2: counted as full
                    por.choose(s, succ, options, bool)
                for chain in chains:
                    por.took(chain)
                mine.extend(range(len(pairs), len(pairs) + len(ends)))
                parent.extend([int(gidx[i])] * len(ends))
                ordinal.extend(range(len(ends)))
            pairs.extend(ends)
        if not pairs:
            return dead
        fps = self._fingerprints([nxt for _, nxt in pairs])
        for h in held:
            h.fps = fps[h.first:h.first + len(h.ends)]
        self.held.extend(held)
        if mine:
            self._keep([pairs[j] for j in mine], fps[mine], np.asarray(parent, dtype=np.int64),
                       np.asarray(ordinal, dtype=np.int64), in_order=True)
        return dead

    def _keep(self, kept: list[tuple[Label, Any]], fps: np.ndarray, parent: np.ndarray,
              ordinal: np.ndarray, *, in_order: bool) -> None:
        """Successors kept, with their fingerprints, parents' global indices and ordinals:
        counted, and kept as candidates for :meth:`_bundles`.  ``in_order``: ``kept`` is in the
        level's order (a chunk of one run of the frontier), so only the first copy of each
        fingerprint need be kept; por's held states, from several runs, are not, and
        :meth:`_bundles` picks the copy with the least ``(parent, ordinal)`` once it has sorted
        them all."""
        self.generated += len(kept)
        self._count(map(_LABEL, kept))
        if ordinal.max() > 0xFFFF:
            raise ModelError("a state has more than 65,535 successors")
        keep = np.unique(fps, return_index=True)[1] if in_order else np.arange(len(kept))
        keep.sort()  # generation order
        self.cand.extend(map(_STATE, take(kept, keep)))
        self.parts.append((fps[keep], parent[keep], ordinal[keep]))

    def op_answer(self, queries: list[tuple[np.ndarray, np.ndarray]],
                  ) -> tuple[str, list[np.ndarray]]:
        """The owner's answers to the cycle proviso's questions (:meth:`op_expand_por`): was
        each fingerprint stored no later than the state asking, in one process's expansion
        order (:meth:`.por.PartialOrder._older`)?  A state of the level being expanded is, if
        its ``(parent, ordinal)`` key is at most the asker's; a state of a shallower level
        always; a fingerprint not stored yet never (found in this level, or not at all)."""
        level_fps, level_key = self.level
        out = []
        for fps, asker in queries:
            older = np.zeros(len(fps), dtype=bool)
            here = np.zeros(len(fps), dtype=bool)
            if len(level_fps) and len(fps):
                at = np.minimum(np.searchsorted(level_fps, fps), len(level_fps) - 1)
                here = level_fps[at] == fps
                older[here] = level_key[at[here]] <= asker[here]
            older[~here] = self.store.contains_many(fps[~here])
            out.append(older)
        return "ok", out

    def op_decide(self, answers: list[np.ndarray],
                  ) -> tuple[str, int, int, list[tuple[np.ndarray, ...]], bool]:
        """:meth:`op_expand` with ample sets, second half: each held state's ample set
        (:meth:`.por.PartialOrder.choose`, with the owners' answers) or all its successors;
        the same reply as :meth:`op_expand`.  Ordinals count all the successors, so that
        traces replay without the reduction."""
        por = self.por
        assert por is not None
        older = np.zeros(sum(len(a) for a in self.asked), dtype=bool)
        for sel, got in zip(self.asked, answers, strict=True):
            older[sel] = got
        kept: list[tuple[Label, Any]] = []
        fps: list[np.ndarray] = []
        parent: list[int] = []
        ordinal: list[int] = []
        q = 0
        for h in self.held:
            said = dict(zip(h.asks, older[q:q + len(h.asks)].tolist(), strict=True))
            q += len(h.asks)
            # the steps themselves are read only by por-check, which runs in one process
            keep = por.choose(None, h.ends, h.options, said.__getitem__)
            chosen: Sequence[int] = range(len(h.ends)) if keep is None else keep
            for j in chosen:
                kept.append(h.ends[j])
                if h.chains:
                    por.took(h.chains[j])
            fps.append(h.fps[list(chosen)])
            parent.extend([h.gidx] * len(chosen))
            ordinal.extend(chosen)
        self.held, self.asked = [], []
        if kept:
            self._keep(kept, np.concatenate(fps), np.asarray(parent, dtype=np.int64),
                       np.asarray(ordinal, dtype=np.int64), in_order=False)
        cand, parts, self.cand, self.parts = self.cand, self.parts, [], []
        return "ok", self.dead_g, self.generated, self._bundles(cand, parts, merge=True), \
            self.stopped

    def op_admit(self, bundles: list[tuple[np.ndarray, ...]]) -> tuple[str, list[np.ndarray]]:
        """Keep each new fingerprint's least ``(parent, ordinal)``; say which senders won.

        Every sender's fingerprints are distinct and ascending, so a stable sort of their
        concatenation is a merge, and a fingerprint occurs at most once per sender.
        """
        fps = np.concatenate([b[0] for b in bundles])
        key = np.concatenate([(b[1] << 16) | b[2] for b in bundles])  # (parent, ordinal)
        sender = np.concatenate([np.full(len(b[0]), s, dtype=np.int64)
                                 for s, b in enumerate(bundles)])
        pos = np.concatenate([np.arange(len(b[0]), dtype=np.int64) for b in bundles])
        order = np.argsort(fps, kind="stable")
        fps = fps[order]
        head = np.ones(len(fps), dtype=bool)
        head[1:] = fps[1:] != fps[:-1]
        if not head.all():  # offered by several senders: the least (parent, ordinal) wins
            ranked = key[order]
            starts = np.flatnonzero(head)
            least = np.minimum.reduceat(ranked, starts)
            order = order[ranked == np.repeat(least, np.diff(starts, append=len(ranked)))]
            fps = fps[head]
        new = self.store.add_distinct(fps)
        won = order[new]
        if self.ample_sets:  # the next level's record for the cycle proviso (op_answer)
            self.level = (fps[new], key[won])
        return "ok", [pos[won][sender[won] == s] for s in range(self.workers)]

    def op_keep(self, won: list[np.ndarray]) -> tuple[str, np.ndarray, np.ndarray, int]:
        """Keep the candidates the owners admitted as this worker's next frontier.

        The discoverer, not the owner, expands a new state: ownership only decides which copy
        is admitted, so no state is pickled.  The candidates are in generation order, which is
        the order one process would have stored them in; the kept ones are checked against the
        invariants (first bad index).
        """
        mask = np.zeros(len(self.cand), dtype=bool)
        for o, w in enumerate(won):
            mask[self.sent[o][w]] = True
        idx = np.flatnonzero(mask)
        if self.cand_perm is None:
            self.next = list(compress(self.cand, mask))
        else:
            self.next = take(self.cand, self.cand_perm[idx])
        self.cand, self.sent = [], []
        self.next_pkey = (self.cand_parent[idx] << 16) | self.cand_ordinal[idx]
        if self.next:
            hash(self.next[0])  # an unhashable model's states: the re-run reports it
        bad = -1
        for inv in self.ctx.invariants:
            check = inv.check
            stop = len(self.next) if bad < 0 else bad
            j = next((j for j in range(stop) if check(self.next[j]) is not None), None)
            if j is not None:
                bad = j
        return "ok", self.cand_parent[idx], self.cand_ordinal[idx], bad

    def exchange(self, out: list[Any]) -> list[Any]:
        """Send ``out[o]`` to every other worker ``o``; return what each sent here.

        Sends run in threads while this one receives, so two workers sending each other more
        than a pipe holds cannot block each other.  ``out[self.index]`` stays here.
        """
        if self.senders is None:
            self.senders = ThreadPoolExecutor(max(1, len(self.peers)))
        sending = [self.senders.submit(conn.send, out[o]) for o, conn in self.peers.items()]
        got = list(out)
        for o, conn in self.peers.items():
            got[o] = conn.recv()
        for f in sending:
            f.result()
        return got

    def op_level(self, gidx: np.ndarray | None = None,
                 give: list[int] | None = None) -> tuple[Any, ...]:
        """A whole level with the other workers directly: advance, expand, admit, keep.

        ``gidx`` and ``give``: the kept states' global indices and the balancing plan of
        :meth:`op_advance`, which comes first (``None`` for the seeded first level), so that the
        coordinator sends one message per level.  It gets back ``keep``'s answer plus
        ``expand``'s counts; the state and fingerprint batches go straight from worker to
        worker, then the owners' verdicts go back to the discoverers.  Every worker takes part in
        every exchange even after something failed (it sends :data:`_FAILED` instead), so that
        none is left waiting for a batch.
        """
        failed: str | None = None

        def attempt(op: Any, *args: Any) -> Any:
            nonlocal failed
            if failed is None:
                try:
                    return op(*args)
                except Exception as exc:  # noqa: BLE001 - reported once the level is over
                    failed = describe_exception(exc)
            return None

        def swap(reply: Any, field: int) -> list[Any]:
            nonlocal failed
            got = self.exchange(reply[field] if failed is None else [_FAILED] * self.workers)
            if failed is None and any(isinstance(g, str) and g == _FAILED for g in got):
                failed = "another worker failed"
            return got

        if gidx is not None:
            attempt(self.op_take, swap(attempt(self.op_give, gidx, give), 1))
        if self.ample_sets:
            asked = attempt(self.op_expand_por)
            answered = attempt(self.op_answer, swap(asked, 1))
            expanded = attempt(self.op_decide, swap(answered, 1))
        else:
            expanded = attempt(self.op_expand)
        admitted = attempt(self.op_admit, swap(expanded, 3))
        kept = attempt(self.op_keep, swap(admitted, 1))
        if failed is not None:
            return ("error", failed)
        return ("ok", expanded[1], expanded[2], expanded[4], *kept[1:])

    def op_totals(self) -> tuple[str, dict[str, int], int, tuple[int, int, int]]:
        """Coverage, the visited table's bytes, and por's counts (local steps, states
        expanded with an ample set, states with several actors' steps expanded fully)."""
        por = self.por
        counts = (por.at_once, por.reduced, por.full) if por is not None else (0, 0, 0)
        return "ok", dict(self.coverage), self.store.nbytes, counts


def _serve(conn: Any, ctx: Context, index: int, workers: int, check_deadlock: bool,
           peers: dict[int, Any], deadline: float | None) -> None:
    worker_interrupts()  # Ctrl-C stops this worker's level at a chunk boundary, quietly
    Worker(ctx, index, workers, check_deadlock, peers, deadline).serve(conn)


def parallel_bfs(model: Any, *, workers: int, limits: Limits = Limits(),
                 progress: ProgressFn | None = None, check_deadlock: bool = True,
                 reduce: frozenset[str] = frozenset()) -> Result:
    """Breadth-first search over ``workers`` processes; the same answer as :func:`~.bfs.bfs`.

    ``reduce``: ``view`` and ``symmetry`` (the workers fork with the context and its keys),
    ``local`` (each worker takes the local steps of its states' successors) and ``por``."""
    try:
        ctx = Context(model, exact=False, reduce=reduce)
    except ModelError as err:
        return error_result(model, "bfs", False, err)
    coordinator = Coordinator(ctx, workers, limits, progress, check_deadlock)
    try:
        return coordinator.run()
    except (Fallback, ModelError):
        return bfs(model, limits=limits, progress=progress, check_deadlock=check_deadlock,
                   reduce=reduce)
    finally:
        coordinator.close()


class Coordinator:
    """Drives the workers level by level and keeps the parent records for traces."""

    def __init__(self, ctx: Context, workers: int, limits: Limits, progress: ProgressFn | None,
                 check_deadlock: bool) -> None:
        self.ctx = ctx
        self.n = workers
        self.search = BfsSearch(ctx, limits, progress, check_deadlock)
        self.search.por = _reduction(ctx)  # its note, and traces replay its local steps
        self.totals = _Totals()
        self.search.store = self.totals  # type: ignore[assignment]
        self.search.extra_notes.append(f"parallel: {workers} worker processes")
        self.check_deadlock = check_deadlock
        self.conns: list[Any] = []
        self.procs: list[Any] = []

    def start(self) -> None:
        fork = mp.get_context("fork")
        peers: list[dict[int, Any]] = [{} for _ in range(self.n)]
        for i in range(self.n):
            for j in range(i + 1, self.n):
                peers[i][j], peers[j][i] = fork.Pipe()
        for i in range(self.n):
            here, there = fork.Pipe()
            proc = fork.Process(target=_serve, args=(there, self.ctx, i, self.n,
                                                     self.check_deadlock, peers[i],
                                                     self.search.budget.deadline()),
                                daemon=True)
            proc.start()
            there.close()
            self.conns.append(here)
            self.procs.append(proc)
        for mesh in peers:  # the workers have their ends now
            for conn in mesh.values():
                conn.close()

    def close(self) -> None:
        for conn in self.conns:
            try:
                conn.send(("stop",))
                conn.close()
            except OSError:
                pass
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
        self.conns, self.procs = [], []

    def ask(self, messages: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Send each worker its message, then collect every reply in worker order."""
        for conn, msg in zip(self.conns, messages, strict=True):
            conn.send(msg)
        replies = [conn.recv() for conn in self.conns]
        for r in replies:
            if r[0] == "error":
                raise Fallback(r[1])
        return replies

    def launch(self, ranks: list[np.ndarray] | None) -> None:
        """Start the next level, without waiting for it (:meth:`collect` does).

        ``ranks``: each worker's kept states' global indices, which become the next frontier
        with the surpluses moved to the workers short of work (``None``: the seeded frontier).
        The batches go from worker to worker over their own pipes (:meth:`Worker.op_level`);
        the coordinator sends one message per level and keeps its records while the workers
        run.  :mod:`.ray_bfs` overrides this with actor-to-actor transfers.
        """
        plans = balance([len(r) for r in ranks]) if ranks is not None else [None] * self.n
        for conn, r, g in zip(self.conns, ranks or plans, plans, strict=True):
            conn.send(("level", r, g))

    def collect(self) -> tuple[int, list[int], list[tuple[Any, ...]], bool]:
        """The launched level's outcome: the transitions generated, the global indices of the
        deadlocks seen, per worker ``("ok", parents, ordinals, first bad index)``, and whether
        a worker stopped at the deadline."""
        replies = [conn.recv() for conn in self.conns]
        for r in replies:
            if r[0] == "error":
                raise Fallback(r[1])
        return (sum(r[2] for r in replies), [r[1] for r in replies if r[1] >= 0],
                [("ok", *r[4:]) for r in replies], any(r[3] for r in replies))

    def advance(self, ranks: list[np.ndarray]) -> None:
        """Each worker's kept states become its frontier, surpluses moved to those short."""
        self.ask([("advance", r, g) for r, g in zip(ranks, balance([len(r) for r in ranks]),
                                                        strict=True)])

    def _has_successor(self, ranks: list[np.ndarray] | None) -> bool:
        """Whether the frontier (after ``ranks``' advance) has a successor: at max-depth."""
        if ranks is not None:
            self.advance(ranks)
        return any(r[1] for r in self.ask([("has_successor",)] * self.n))

    def run(self) -> Result:
        search, ctx, n = self.search, self.ctx, self.n
        search.inits = inits = ctx.init_states()
        keys = [ctx.key(s) for s in inits]
        search.generated = len(keys)
        fresh = np.flatnonzero(FingerprintTable().add_many(keys))
        search.levels.open()
        search.levels.add(fresh, np.zeros(len(fresh), dtype=np.uint16))
        search.levels.close()
        self.totals.count = len(fresh)
        frontier = [inits[i] for i in fresh.tolist()]
        found = search.check_batch(frontier, 0, 0)
        if found:
            return found
        self.start()
        fps = np.fromiter((keys[i] or 1 for i in fresh.tolist()), dtype=np.uint64)
        own = owners(fps, n)
        self.ask([("seed", [frontier[i] for i in np.flatnonzero(own == o).tolist()],
                   np.flatnonzero(own == o).astype(np.int64)) for o in range(n)])
        max_depth = search.limits.max_depth
        if max_depth is not None and max_depth <= 0:
            if self._has_successor(None):
                return self._finish(lambda: search.incomplete(f"max-depth ({max_depth})"))
            return self._finish(lambda: search.finish(Verdict.HOLDS, None,
                                                      "every reachable state explored", None))
        self.launch(None)
        while True:
            generated, deads, kept, stopped = self.collect()
            if stopped:  # max-seconds or Ctrl-C in the middle of a level: the levels before it
                return self._finish(partial(search.incomplete, INTERRUPTED if INTERRUPT.requested
                                            else search.budget.time_bound()))
            search.generated += generated
            parent = np.concatenate([r[1] for r in kept])
            ordinal = np.concatenate([r[2] for r in kept])
            order = np.argsort((parent << 16) | ordinal, kind="stable")  # sorted runs: a merge
            size = len(order)
            rank = np.empty(size, dtype=np.int64)
            rank[order] = np.arange(size, dtype=np.int64)
            offsets = np.cumsum([0] + [len(r[1]) for r in kept])
            ranks = [rank[offsets[o]:offsets[o + 1]] for o in range(n)]
            bad = [int(rank[offsets[o] + r[3]]) for o, r in enumerate(kept) if r[3] >= 0]
            event = bool(deads or bad)
            bound = None
            deeper = False
            if not event:
                self.totals.count += size
                bound = search.budget.exceeded(self.totals.count)
                deeper = max_depth is None or search.depth + 1 < max_depth
                if size and not bound and deeper:
                    self.launch(ranks)  # the workers go on while the records are kept
            search.levels.open()
            if size:
                search.levels.add(parent[order], ordinal[order])
            search.levels.close()
            if event:
                return self._finish(partial(self._first_event, min(deads, default=-1),
                                            min(bad, default=-1), parent[order]))
            if bound and size:
                return self._finish(partial(search.incomplete, bound))
            search.report_progress(size)
            if not size:
                break
            search.depth += 1
            if not deeper:
                if self._has_successor(ranks):
                    return self._finish(lambda: search.incomplete(f"max-depth ({max_depth})"))
                break
        return self._finish(lambda: search.finish(Verdict.HOLDS, None,
                                                  "every reachable state explored", None))

    def _first_event(self, dead: int, bad: int, parents: np.ndarray) -> Result:
        """The deadlock or violation the single-process search would have met first.

        It expands a chunk of the frontier (finding deadlocks in order), then checks the new
        states of that chunk, so a deadlock wins unless the violation's parent is in an earlier
        chunk.
        """
        search = self.search
        if dead >= 0 and (bad < 0 or dead // CHUNK <= int(parents[bad]) // CHUNK):
            path = search.path(search.depth, dead)
            state = path[-1][1]
            if self.ctx.successor_list(state, path):
                found = search.wait_cycle(state, search.depth, dead)
            else:
                found = search.deadlock(state, search.depth, dead)
            if found is None:
                raise Fallback("a deadlock seen by a worker did not reproduce")
            return found
        self.totals.count += len(parents)
        state = search.path(search.depth + 1, bad)[-1][1]
        found = search.check_new(state, search.depth + 1, bad)
        if found is None:
            raise Fallback("a violation seen by a worker did not reproduce")
        return found

    def _finish(self, make: Callable[[], Result]) -> Result:
        """The result ``make`` builds once the workers' coverage, visited-set bytes and local
        steps are gathered into the search, which reads them as a single process's."""
        totals = self.ask([("totals",)] * self.n) if self.conns else []
        coverage: Counter[str] = Counter()
        for r in totals:
            coverage.update(r[1])
        self.search.coverage = coverage
        self.totals.nbytes = sum(r[2] for r in totals)
        por = self.search.por
        if por is not None and totals:  # its note counts the workers' steps and states
            por.at_once, por.reduced, por.full = (sum(c) for c in zip(*(r[3] for r in totals)))
        return make()
