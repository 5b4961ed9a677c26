"""Dining philosophers: each takes the left fork, then the right one, eats, and puts both down.

With every philosopher holding a left fork nobody can move: the shortest deadlock is N steps.
Blocked philosophers declare what they wait for (the right fork and its holder), so the same
deadlock is also a cycle in the wait-for graph.  With ``clock=True`` an independent actor keeps
ticking, so no state is ever globally stuck and only the wait-for cycle shows the deadlock — the
shape of a kernel deadlock with the flusher still running.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from gupcheck.engine import Label, Model, Wait

THINK, HUNGRY, EAT = 0, 1, 2  # HUNGRY: holds the left fork, wants the right one
FREE = -1


class TableState(NamedTuple):
    pc: tuple[int, ...]
    forks: tuple[int, ...]  # holder of each fork, or FREE
    clock: int


class Philosophers(Model[TableState]):
    def __init__(self, n: int = 3, *, clock: bool = False) -> None:
        self.n = n
        self.clock = clock
        self.name = f"philosophers-{n}" + ("-with-clock" if clock else "")
        self._labels = {}
        for i in range(n):
            left, right = f"fork[{i}]", f"fork[{(i + 1) % n}]"
            self._labels[i, THINK] = Label(f"phil{i}", "take left fork",
                                           reads=frozenset({left}), writes=frozenset({left}))
            self._labels[i, HUNGRY] = Label(f"phil{i}", "take right fork",
                                            reads=frozenset({right}), writes=frozenset({right}))
            self._labels[i, EAT] = Label(f"phil{i}", "put both forks down",
                                         writes=frozenset({left, right}))
        self._tick = Label("clock", "tick", reads=frozenset({"clock"}), writes=frozenset({"clock"}))

    def init_states(self) -> list[TableState]:
        return [TableState((THINK,) * self.n, (FREE,) * self.n, 0)]

    def successors(self, s: TableState) -> Iterator[tuple[Label, TableState]]:
        n = self.n
        for i, pc in enumerate(s.pc):
            left, right = i, (i + 1) % n
            if pc == THINK and s.forks[left] == FREE:
                yield self._labels[i, pc], TableState(_set(s.pc, i, HUNGRY),
                                                      _set(s.forks, left, i), s.clock)
            elif pc == HUNGRY and s.forks[right] == FREE:
                yield self._labels[i, pc], TableState(_set(s.pc, i, EAT),
                                                      _set(s.forks, right, i), s.clock)
            elif pc == EAT:
                forks = _set(_set(s.forks, left, FREE), right, FREE)
                yield self._labels[i, pc], TableState(_set(s.pc, i, THINK), forks, s.clock)
        if self.clock:
            yield self._tick, s._replace(clock=1 - s.clock)

    def waits(self, s: TableState) -> Iterator[Wait]:
        n = self.n
        for i, pc in enumerate(s.pc):
            fork = i if pc == THINK else (i + 1) % n
            if pc != EAT and s.forks[fork] != FREE:
                yield Wait(f"phil{i}", f"fork[{fork}]", (f"phil{s.forks[fork]}",))

    def actions(self) -> list[str]:
        keys = [lab.key for lab in self._labels.values()]
        return keys + ([self._tick.key] if self.clock else [])

    def canonical(self, s: TableState) -> TableState:
        """The table is rotationally symmetric: philosopher ``i`` and fork ``i`` moved to seat
        ``i + r`` (fork holders renamed alike) is the same system, so the least of the ``n``
        rotations represents them all.  Deadlock and wait-for cycles are rotation-invariant."""
        n = self.n
        best = s
        for r in range(1, n):
            pc = s.pc[n - r:] + s.pc[:n - r]  # pc'[(i + r) % n] = pc[i]
            forks = tuple(FREE if h == FREE else (h + r) % n
                          for h in s.forks[n - r:] + s.forks[:n - r])
            rotated = TableState(pc, forks, s.clock)
            best = min(best, rotated)
        return best


def _set(t: tuple[int, ...], i: int, v: int) -> tuple[int, ...]:
    return t[:i] + (v,) + t[i + 1:]
