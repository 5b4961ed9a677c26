"""A broken mutex: test, then set, as two steps (the classic check-then-act race).

Each process loops: ``await lock == 0; lock = 1; critical; lock = 0``.  Both can pass the test
before either sets the lock; the shortest violation is 4 steps (P0 test, P1 test, P0 set, P1 set,
or any interleaving of the same four).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from gupcheck.engine import Invariant, Label, Model

TEST, SET, CRITICAL = 0, 1, 2


class MutexState(NamedTuple):
    pc: tuple[int, ...]
    lock: int


class BrokenMutex(Model[MutexState]):
    name = "mutex-test-then-set"

    def __init__(self, processes: int = 2) -> None:
        self.n = processes
        self._labels = {
            (i, pc): Label(f"P{i}", step, reads=frozenset(r), writes=frozenset(w))
            for i in range(processes)
            for pc, step, r, w in (
                (TEST, "await lock == 0", ("lock",), ()),
                (SET, "lock = 1", (), ("lock",)),
                (CRITICAL, "lock = 0", (), ("lock",)),
            )
        }

    def init_states(self) -> list[MutexState]:
        return [MutexState((TEST,) * self.n, 0)]

    def successors(self, s: MutexState) -> Iterator[tuple[Label, MutexState]]:
        for i, pc in enumerate(s.pc):
            if pc == TEST:
                if s.lock == 0:
                    yield self._labels[i, pc], MutexState(_set(s.pc, i, SET), s.lock)
            elif pc == SET:
                yield self._labels[i, pc], MutexState(_set(s.pc, i, CRITICAL), 1)
            else:
                yield self._labels[i, pc], MutexState(_set(s.pc, i, TEST), 0)

    def invariants(self) -> list[Invariant[MutexState]]:
        return [Invariant("mutual-exclusion", _mutex, "at most one process is critical")]

    def actions(self) -> list[str]:
        return [lab.key for lab in self._labels.values()]

    def canonical(self, s: MutexState) -> MutexState:
        """The processes run the same code and the property counts them: any permutation is a
        symmetry, so the sorted program counters represent the orbit."""
        return MutexState(tuple(sorted(s.pc)), s.lock)


def _mutex(s: MutexState) -> str | None:
    inside = [f"P{i}" for i, pc in enumerate(s.pc) if pc == CRITICAL]
    if len(inside) > 1:
        return f"{' and '.join(inside)} are both in the critical section"
    return None


def _set(t: tuple[int, ...], i: int, v: int) -> tuple[int, ...]:
    return t[:i] + (v,) + t[i + 1:]
