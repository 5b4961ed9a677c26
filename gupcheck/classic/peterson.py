"""Peterson's mutual exclusion for two processes (Peterson 1981).

Each process loops: ``flag[i] = 1; turn = j; await (flag[j] == 0 || turn == i); critical;
flag[i] = 0``.  Every line is one atomic step.  Mutual exclusion holds; the reachable state count
is checked against a brute-force enumerator and against SPIN (benchmarks/promela/peterson.pml).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from gupcheck.engine import Invariant, Label, Model

# program counters
SET_FLAG, SET_TURN, AWAIT, CRITICAL = 0, 1, 2, 3


class PetersonState(NamedTuple):
    pc: tuple[int, int]
    flag: tuple[int, int]
    turn: int


_LABELS = {
    (i, pc): Label(f"P{i}", name, reads=frozenset(r), writes=frozenset(w))
    for i in (0, 1)
    for pc, name, r, w in (
        (SET_FLAG, "flag[i] = 1", (), (f"flag[{i}]",)),
        (SET_TURN, "turn = j", (), ("turn",)),
        (AWAIT, "await flag[j] == 0 || turn == i", (f"flag[{1 - i}]", "turn"), ()),
        (CRITICAL, "flag[i] = 0", (), (f"flag[{i}]",)),
    )
}


class Peterson(Model[PetersonState]):
    name = "peterson"

    def init_states(self) -> list[PetersonState]:
        return [PetersonState((SET_FLAG, SET_FLAG), (0, 0), 0)]

    def successors(self, s: PetersonState) -> Iterator[tuple[Label, PetersonState]]:
        for i in (0, 1):
            j = 1 - i
            pc = s.pc[i]
            if pc == SET_FLAG:
                yield _LABELS[i, pc], s._replace(pc=_set(s.pc, i, SET_TURN),
                                                 flag=_set(s.flag, i, 1))
            elif pc == SET_TURN:
                yield _LABELS[i, pc], s._replace(pc=_set(s.pc, i, AWAIT), turn=j)
            elif pc == AWAIT:
                if s.flag[j] == 0 or s.turn == i:
                    yield _LABELS[i, pc], s._replace(pc=_set(s.pc, i, CRITICAL))
            else:
                yield _LABELS[i, pc], s._replace(pc=_set(s.pc, i, SET_FLAG),
                                                 flag=_set(s.flag, i, 0))

    def invariants(self) -> list[Invariant[PetersonState]]:
        return [Invariant("mutual-exclusion", _mutex, "at most one process is critical")]

    def actions(self) -> list[str]:
        return [lab.key for lab in _LABELS.values()]

    def canonical(self, s: PetersonState) -> PetersonState:
        """Swapping the two processes is a symmetry once ``turn`` is renamed with them
        (``turn = j`` and ``turn == i`` name the other and the own process): the lesser of a
        state and its mirror represents both.  The initial state (``turn = 0``) is not
        symmetric, which safety does not need: every reachable state's mirror is reached by the
        mirrored path."""
        mirror = PetersonState((s.pc[1], s.pc[0]), (s.flag[1], s.flag[0]), 1 - s.turn)
        return min(s, mirror)


def _mutex(s: PetersonState) -> str | None:
    if s.pc == (CRITICAL, CRITICAL):
        return "both processes are in the critical section"
    return None


def _set(t: tuple[int, int], i: int, v: int) -> tuple[int, int]:
    return (v, t[1]) if i == 0 else (t[0], v)
