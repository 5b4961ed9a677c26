"""Bounds on a run.  Hitting one ends the run cleanly with verdict ``incomplete``."""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass

import psutil


@dataclass(frozen=True, slots=True)
class Limits:
    max_states: int | None = None  # distinct states
    max_depth: int | None = None  # BFS level / DFS path length / simulation walk length
    max_seconds: float | None = None
    max_memory_bytes: int | None = None  # resident set size of this process


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
        if lim.max_states is not None and distinct >= lim.max_states:
            return f"max-states ({lim.max_states:,})"
        if lim.max_seconds is not None and self.seconds() >= lim.max_seconds:
            return self.time_bound()
        if lim.max_memory_bytes is not None:
            rss = self._proc.memory_info().rss
            if rss >= lim.max_memory_bytes:
                return f"max-memory ({lim.max_memory_bytes / 2**20:,.0f} MiB; RSS {rss / 2**20:,.0f} MiB)"
        return None


def peak_rss_bytes() -> int:
    """The process's peak resident set size (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
