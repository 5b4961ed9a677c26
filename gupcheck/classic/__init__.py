"""Classic concurrency models with known answers: the engine's own test bench and demos."""

from __future__ import annotations

from collections.abc import Callable

from gupcheck.engine import Model

from .lost_update import LostUpdate, StayingLostUpdate, SymmetricLostUpdate
from .mutex import BrokenMutex
from .peterson import Peterson
from .philosophers import Philosophers
from .ticket_lock import TicketLock

#: name -> (factory, one-line description); the CLI's `gupcheck demo` runs these
DEMOS: dict[str, tuple[Callable[[], Model], str]] = {
    "peterson": (Peterson, "Peterson's mutual exclusion, 2 processes: holds"),
    "mutex-test-then-set": (BrokenMutex, "test-then-set mutex: mutual exclusion violated"),
    "philosophers": (lambda: Philosophers(3), "dining philosophers, N=3: deadlock"),
    "philosophers-4": (lambda: Philosophers(4), "dining philosophers, N=4: deadlock"),
    "philosophers-with-clock": (lambda: Philosophers(3, clock=True),
                                "dining philosophers beside a ticking clock: partial deadlock"),
    "lost-update": (lambda: LostUpdate(2, 1), "two threads, non-atomic counter += 1: lost update"),
    "lost-update-3x2": (lambda: LostUpdate(3, 2), "three threads, two increments each"),
    "lost-update-4x2": (lambda: LostUpdate(4, 2),
                        "four threads, two increments each: 5.2 million states before the bug"),
    "lost-update-3x2-any-exit": (lambda: SymmetricLostUpdate(3, 2),
                                 "three threads, removed in any order: symmetric processes"),
    "lost-update-3x2-stay": (lambda: StayingLostUpdate(3, 2),
                             ("three threads that stay when finished: symmetric, as SPIN can "
                              "write it (try --reduce por,symmetry)")),
    "ticket-lock-fair": (lambda: TicketLock(fair_release=True),
                         "ticket lock with a weakly fair release: every waiter gets the lock"),
    "ticket-lock-unfair": (lambda: TicketLock(fair_release=False),
                           "ticket lock whose holder may never release: a waiter starves"),
}

__all__ = ["DEMOS", "BrokenMutex", "LostUpdate", "Peterson", "Philosophers", "StayingLostUpdate",
           "SymmetricLostUpdate", "TicketLock"]
