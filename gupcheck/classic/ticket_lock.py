"""A ticket lock for two threads, with a fair or an unfair release: a liveness test.

Each thread loops: take a ticket, wait until it is served, hold the lock, release it (serving the
next ticket).  Tickets are counted modulo 3, enough for two threads.  Taking a ticket, acquiring
and releasing are weakly fair, except that with ``fair_release=False`` the release is not: the
holder may keep the lock forever, and the other thread, waiting, starves — the shape of an
``fsync()`` waiting on a pin whose owner never unpins.  Property: a waiting thread eventually holds
the lock (``waiting ~> holding``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from gupcheck.engine import Label, LeadsTo, Model, Wait

IDLE, WAITING, HOLDING = 0, 1, 2
MOD = 3


class TicketState(NamedTuple):
    pc: tuple[int, int]
    my: tuple[int, int]  # each thread's ticket
    next_ticket: int
    serving: int


class TicketLock(Model[TicketState]):
    def __init__(self, *, fair_release: bool = True) -> None:
        self.fair_release = fair_release
        self.name = "ticket-lock-" + ("fair" if fair_release else "unfair") + "-release"
        self._labels = {
            (i, pc): Label(f"T{i}", step, fair=fair)
            for i in (0, 1)
            for pc, step, fair in (
                (IDLE, "take ticket", True),
                (WAITING, "acquire", True),
                (HOLDING, "release", fair_release),
            )
        }

    def init_states(self) -> list[TicketState]:
        return [TicketState((IDLE, IDLE), (0, 0), 0, 0)]

    def successors(self, s: TicketState) -> Iterator[tuple[Label, TicketState]]:
        for i in (0, 1):
            pc = s.pc[i]
            if pc == IDLE:
                yield self._labels[i, pc], s._replace(
                    pc=_set(s.pc, i, WAITING), my=_set(s.my, i, s.next_ticket),
                    next_ticket=(s.next_ticket + 1) % MOD)
            elif pc == WAITING:
                if s.serving == s.my[i]:
                    yield self._labels[i, pc], s._replace(pc=_set(s.pc, i, HOLDING))
            else:
                yield self._labels[i, pc], s._replace(
                    pc=_set(s.pc, i, IDLE), serving=(s.serving + 1) % MOD)

    def liveness(self) -> list[LeadsTo[TicketState]]:
        return [
            LeadsTo(f"T{i} waiting ~> T{i} holding",
                    lambda s, i=i: s.pc[i] == WAITING, lambda s, i=i: s.pc[i] == HOLDING,
                    "a thread that asks for the lock gets it")
            for i in (0, 1)
        ]

    def waits(self, s: TicketState) -> Iterator[Wait]:
        for i in (0, 1):
            if s.pc[i] == WAITING and s.serving != s.my[i]:
                yield Wait(f"T{i}", "the ticket lock", (f"T{1 - i}",))

    def actions(self) -> list[str]:
        return [lab.key for lab in self._labels.values()]

    def canonical(self, s: TicketState) -> TicketState:
        """Both threads run the same code on the shared counters: swapping them (program
        counter and ticket) is a symmetry.  Liveness is checked unreduced (it names threads)."""
        mirror = s._replace(pc=(s.pc[1], s.pc[0]), my=(s.my[1], s.my[0]))
        return min(s, mirror)


def _set(t: tuple[int, int], i: int, v: int) -> tuple[int, int]:
    return (v, t[1]) if i == 0 else (t[0], v)
