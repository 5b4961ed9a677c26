"""The lost-update race: N processes each do K non-atomic increments of a shared counter.

Each process runs, one atomic step per line (the same statements as SPIN's
``benchmarks/promela/lost_update.pml``)::

    do
    :: i < K -> tmp = counter; tmp = tmp + 1; counter = tmp; i++
    :: else -> break
    od

Two processes that both read ``counter`` before either writes it back lose an update.  The
property ``no-lost-update`` says that when every process has finished, ``counter == N * K``.  The
counter is kept modulo 256 as Promela's ``byte`` is.

Process termination is modelled as SPIN does it, so that the reachable-state counts equal SPIN's
"states, stored" with its reductions off (``spin -o1 -o3``, ``-DNOREDUCE``): reaching the end of
its body is not the end of a process; a separate step removes it, and SPIN removes only the
most recently created live process, so process ``p`` can die only once every higher pid is dead.
A dead process's locals are gone from SPIN's state vector; here they are zeroed.

The state is one flat tuple ``(counter, pc0, tmp0, i0, pc1, tmp1, i1, ...)``: this model is the
engine's speed benchmark, and flat tuples are the cheapest states Python can build and encode.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from gupcheck.engine import Invariant, Label, Model

# program counters: the locations of the process body, then "removed from the state"
LOOP, LOAD, INC, STORE, NEXT, END, DEAD = 0, 1, 2, 3, 4, 5, 6

State = tuple[int, ...]


class LostUpdate(Model[State]):
    #: SPIN's removal order: process p is removed only after every higher pid (see above)
    ordered_exit = True
    #: whether a finished process is removed at all (False: it stays at its end, see
    #: :class:`StayingLostUpdate`)
    exits = True

    def __init__(self, processes: int = 2, increments: int = 1) -> None:
        self.n = processes
        self.k = increments
        self.name = f"lost-update-{processes}x{increments}"
        self._all_dead = (DEAD if self.exits else END,) * processes
        self._labels: dict[tuple[int, int], Label] = {}
        for p in range(processes):
            for pc, step, r, w in (
                (LOOP, "i < K", (), ()),
                (END, "else -> break", (), (f"P{p}.done",)),
                (DEAD, "-end- (process removed)", ("pids",), ("pids",)),
                (LOAD, "tmp = counter", ("counter",), ()),
                (INC, "tmp = tmp + 1", (), ()),
                (STORE, "counter = tmp", (), ("counter",)),
                (NEXT, "i++", (), ()),
            ):
                self._labels[p, pc] = Label(f"P{p}", step, reads=frozenset(r), writes=frozenset(w))

        # partial-order reduction: what each process may still touch (por.py)
        self._future = [_union(lab for (q, _), lab in self._labels.items() if q == p)
                        for p in range(processes)]
        self._exiting = [_union([self._labels[p, DEAD]]) for p in range(processes)]
        self._reads = frozenset({"counter"} | {f"P{p}.done" for p in range(processes)})

    def init_states(self) -> list[State]:
        return [(0,) + (LOOP, 0, 0) * self.n]

    def footprints(self, s: State) -> dict[str, tuple[frozenset[str], frozenset[str]]]:
        """What each process may still touch from ``s`` on (its steps' declared objects,
        :attr:`_future`, less what its program can no longer reach):

        * ``counter`` is read while a load is ahead (at the loop head with ``i < K``, at the
          load, or later in an iteration that is not the last) and written while a store is;
          in its last iteration after the store a process touches it no more;
        * ``pids`` (SPIN's order of removal) only by the highest process still alive: a lower
          one is removed only after it, so no removal of a lower process can come before the
          removal of the highest — the one removal a reduction may take first (Peled's C1 asks
          that no step dependent on an ample step run before it, and these cannot run at all
          before it).  Without the ordered exit every finished process may leave, so every
          process keeps ``pids``;
        * a removed process does nothing.
        """
        empty = (frozenset(), frozenset())
        k, out = self.k, {}
        higher_alive = False
        for p in reversed(range(self.n)):
            b = 1 + 3 * p
            pc, i = s[b], s[b + 2]
            if pc == DEAD or (pc == END and not self.exits):
                out[f"P{p}"] = empty
                continue
            more = i + 1 < k  # another iteration after the current one
            loads = pc == LOAD or (pc == LOOP and i < k) or (pc in (INC, STORE, NEXT) and more)
            stores = pc in (LOAD, INC, STORE) or (pc == LOOP and i < k) or (pc == NEXT and more)
            gone_r = (set() if loads else {"counter"}) | (
                {"pids"} if self.ordered_exit and higher_alive else set())
            gone_w = (set() if stores else {"counter"}) | (
                {"pids"} if self.ordered_exit and higher_alive else set())
            reads, writes = self._future[p] if pc < END else self._exiting[p]
            out[f"P{p}"] = (reads - gone_r, writes - gone_w)
            higher_alive = True
        return out

    def successors(self, s: State) -> Iterator[tuple[Label, State]]:
        labels, k = self._labels, self.k
        for p in range(self.n):
            b = 1 + 3 * p
            pc, tmp, i = s[b], s[b + 1], s[b + 2]
            if pc == LOOP:
                if i < k:
                    yield labels[p, LOOP], s[:b] + (LOAD, tmp, i) + s[b + 3:]
                else:
                    yield labels[p, END], s[:b] + (END, tmp, i) + s[b + 3:]
            elif pc == LOAD:
                yield labels[p, LOAD], s[:b] + (INC, s[0], i) + s[b + 3:]
            elif pc == INC:
                yield labels[p, INC], s[:b] + (STORE, (tmp + 1) & 0xFF, i) + s[b + 3:]
            elif pc == STORE:
                yield labels[p, STORE], (tmp,) + s[1:b] + (NEXT, tmp, i) + s[b + 3:]
            elif pc == NEXT:
                yield labels[p, NEXT], s[:b] + (LOOP, tmp, i + 1) + s[b + 3:]
            elif pc == END and self.exits and (not self.ordered_exit
                                               or all(q == DEAD for q in s[b + 3::3])):
                yield labels[p, DEAD], s[:b] + (DEAD, 0, 0) + s[b + 3:]

    def is_end(self, s: State) -> bool:
        return s[1::3] == self._all_dead

    def invariants(self) -> list[Invariant[State]]:
        return [Invariant("no-lost-update", self._no_lost_update,
                          "when every process has finished, counter == N * K",
                          reads=self._reads)]

    def _no_lost_update(self, s: State) -> str | None:
        if min(s[1::3]) < END:  # someone is still running
            return None
        if s[0] != (self.n * self.k) & 0xFF:
            return f"every process finished but counter = {s[0]}, not {self.n * self.k}"
        return None

    def actions(self) -> list[str]:
        return [lab.key for lab in self._labels.values()]

    def fields(self, s: State) -> dict[str, int]:
        out = {"counter": s[0]}
        for p in range(self.n):
            b = 1 + 3 * p
            out[f"P{p}.pc"], out[f"P{p}.tmp"], out[f"P{p}.i"] = s[b], s[b + 1], s[b + 2]
        return out


def _union(labels: Iterable[Label]) -> tuple[frozenset[str], frozenset[str]]:
    labels = list(labels)
    return (frozenset().union(*(lab.reads for lab in labels)),
            frozenset().union(*(lab.writes for lab in labels)))


class SymmetricLostUpdate(LostUpdate):
    """The same race with processes removed in any order once finished: fully symmetric.

    SPIN's rule that a process dies only after every higher pid distinguishes the pids, so
    :class:`LostUpdate` has no symmetry.  Without that rule the processes are interchangeable
    (same code, the property reads only the counter and whether all finished), and a state's
    orbit is represented by its process blocks in sorted order (``reduce=("symmetry",)``).
    """

    ordered_exit = False

    def __init__(self, processes: int = 2, increments: int = 1) -> None:
        super().__init__(processes, increments)
        self.name = f"lost-update-{processes}x{increments}-any-exit"

    def canonical(self, s: State) -> State:
        blocks = sorted(s[b:b + 3] for b in range(1, len(s), 3))
        return (s[0],) + tuple(v for blk in blocks for v in blk)


class StayingLostUpdate(SymmetricLostUpdate):
    """The symmetric race as SPIN can also write it: a finished process stays at its end.

    ``benchmarks/promela/lost_update_stay.pml`` ends each process's body at an ``end:`` label
    that blocks for ever, so SPIN never removes a process and its pids do not matter; here
    likewise no removal step follows ``else -> break``.  The reachable states are SPIN's,
    state for state, and the processes are interchangeable, so this is the model on which
    symmetry (which SPIN lacks) can be compared with SPIN's own reductions.
    """

    exits = False

    def __init__(self, processes: int = 2, increments: int = 1) -> None:
        super().__init__(processes, increments)
        self.name = f"lost-update-{processes}x{increments}-stay"
