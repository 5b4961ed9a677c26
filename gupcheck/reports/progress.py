"""A live progress line on a terminal, like TLC's: distinct and generated states with rates,
depth and queue.  Silent when the output is not a terminal (CI logs, pipes)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.live import Live
from rich.text import Text


class ProgressDisplay:
    def __init__(self, label: str, *, enabled: bool | None = None) -> None:
        self.console = Console(stderr=True)
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.label = label
        self._live: Live | None = None
        self._last = (0, 0, 0.0)

    def __enter__(self) -> Self:
        if self.enabled:
            self._live = Live(Text(f"{self.label}: starting"), console=self.console,
                              refresh_per_second=4, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._live is not None:
            self._live.__exit__(et, e, tb)

    def __call__(self, distinct: int, generated: int, depth: int, queue: int,
                 seconds: float) -> None:
        if self._live is None:
            return
        d0, g0, t0 = self._last
        dt = max(seconds - t0, 1e-9)
        self._last = (distinct, generated, seconds)
        self._live.update(Text(
            f"{self.label}: {seconds:6.1f} s  distinct {distinct:,} ({(distinct - d0) / dt:,.0f}/s)"
            f"  generated {generated:,} ({(generated - g0) / dt:,.0f}/s)"
            f"  depth {depth}  queue {queue:,}"))
