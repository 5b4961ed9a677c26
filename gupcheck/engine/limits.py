"""Bounds on a run.  Hitting one ends the run cleanly with verdict ``incomplete``.

Ctrl-C is one of them: inside :func:`interruptible`, SIGINT only sets :data:`INTERRUPT`, and
the search stops at its next limit check as if a limit had been hit (``interrupted``), with
its counts so far and, if one was asked for, a final checkpoint.  A second Ctrl-C raises
``KeyboardInterrupt`` as usual, for a search that does not reach a limit check.
"""

from __future__ import annotations

import contextlib
import resource
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psutil


@dataclass(frozen=True, slots=True)
class Limits:
    max_states: int | None = None  # distinct states
    max_depth: int | None = None  # BFS level / DFS path length / simulation walk length
    max_seconds: float | None = None
    max_memory_bytes: int | None = None  # resident set size of this process
    # not a bound but a budget: BFS keeps a level's states live up to this many bytes, encodes
    # them beyond, and spills encoded blocks past as much again to a temporary file (None: 1 GiB,
    # or a quarter of max_memory_bytes if less; 0: encode and spill every full block;
    # engine/frontier.py)
    frontier_memory_bytes: int | None = None


INTERRUPTED = "interrupted"  # the bound reported when Ctrl-C stopped a run


class _Interrupt:
    """Whether Ctrl-C asked the runs of this process to stop; ``event`` (a multiprocessing
    event, optional) carries the request to processes that do not get the signal."""

    def __init__(self) -> None:
        self.flag = False
        self.event: Any = None

    @property
    def requested(self) -> bool:
        return self.flag or (self.event is not None and self.event.is_set())

    def request(self) -> None:
        self.flag = True
        if self.event is not None:
            self.event.set()


INTERRUPT = _Interrupt()


@contextlib.contextmanager
def interruptible(*, second_raises: bool = True) -> Iterator[None]:
    """Within the block, SIGINT stops runs at their next limit check (``interrupted``).

    ``second_raises``: a second SIGINT raises ``KeyboardInterrupt`` (the command line's main
    process); worker processes pass ``False`` and only ever set the flag.  Outside the main
    thread signals cannot be handled, and the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if INTERRUPT.flag and second_raises:
            raise KeyboardInterrupt
        INTERRUPT.request()

    old = signal.signal(signal.SIGINT, handler)
    INTERRUPT.flag = False
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        INTERRUPT.flag = False  # the request was for the runs of this block only


def worker_interrupts(event: Any = None) -> None:
    """In a worker process: SIGINT (the terminal sends it to the whole process group) only
    asks this process's runs to stop, never raises; ``event`` also carries the main process's
    request, for a signal sent to it alone."""
    INTERRUPT.flag = False
    INTERRUPT.event = event
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, lambda signum, frame: INTERRUPT.request())


def stopped_by(bound: str) -> str:
    """How a result's message says what ended the run: ``stopped at max-states (1,000)``, or
    ``interrupted (Ctrl-C)``."""
    return "interrupted (Ctrl-C)" if bound == INTERRUPTED else f"stopped at {bound}"


def interrupted() -> bool:
    """Whether Ctrl-C has asked the runs of this process to stop."""
    return INTERRUPT.requested


class Budget:
    """Tracks time and memory against :class:`Limits` for one run."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.start = time.perf_counter()
        self._proc = psutil.Process()

    def seconds(self) -> float:
        return time.perf_counter() - self.start

    def deadline(self) -> float | None:
        """When ``max-seconds`` runs out, as ``time.time()``: comparable across processes
        (and, clocks synchronised, across machines), for parallel workers to check."""
        limit = self.limits.max_seconds
        return None if limit is None else time.time() + limit - self.seconds()

    def time_bound(self) -> str:
        """The ``max-seconds`` bound, described for the user."""
        return f"max-seconds ({self.limits.max_seconds:g} s)"

    def exceeded(self, distinct: int) -> str | None:
        """The bound that is hit now, described for the user, or ``None``."""
        lim = self.limits
        if INTERRUPT.requested:
            return INTERRUPTED
        if lim.max_states is not None and distinct >= lim.max_states:
            return f"max-states ({lim.max_states:,})"
        if lim.max_seconds is not None and self.seconds() >= lim.max_seconds:
            return self.time_bound()
        if lim.max_memory_bytes is not None:
            rss = self._proc.memory_info().rss
            if rss >= lim.max_memory_bytes:
                return (f"max-memory ({lim.max_memory_bytes / 2**20:,.0f} MiB; "
                        f"RSS {rss / 2**20:,.0f} MiB)")
        return None


def peak_rss_bytes() -> int:
    """The process's peak resident set size (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
