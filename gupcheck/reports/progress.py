"""A search's progress, like TLC's: distinct and generated states with rates, depth and queue.

On a terminal, one live line.  Written to a file or a pipe (a long run in the background, a CI
log), a plain line every :data:`LOG_EVERY` seconds, so that an hours-long search shows where it
is; runs shorter than that print nothing."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Self

from rich.console import Console
from rich.live import Live
from rich.text import Text

#: seconds between progress lines when stderr is not a terminal (TLC prints one a minute)
LOG_EVERY = 60.0


class ProgressDisplay:
    """``enabled``: the live line (default: when stderr is a terminal); the log lines are
    printed whenever stderr is not a terminal."""

    def __init__(self, label: str, *, enabled: bool | None = None,
                 log_every: float = LOG_EVERY) -> None:
        self.console = Console(stderr=True)
        tty = sys.stderr.isatty()
        self.enabled = tty if enabled is None else enabled
        self.log_every = None if tty else log_every
        self.label = label
        self._live: Live | None = None
        self._last = (0, 0, 0.0)
        self._logged = (0, 0, 0.0)

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
        if self._live is not None:
            self._live.update(Text(self._line(self._last, distinct, generated, depth, queue,
                                              seconds)))
            self._last = (distinct, generated, seconds)
        elif self.log_every is not None and seconds - self._logged[2] >= self.log_every:
            sys.stderr.write(self._line(self._logged, distinct, generated, depth, queue,
                                        seconds) + "\n")
            sys.stderr.flush()
            self._logged = (distinct, generated, seconds)

    def _line(self, since: tuple[int, int, float], distinct: int, generated: int, depth: int,
              queue: int, seconds: float) -> str:
        d0, g0, t0 = since
        dt = max(seconds - t0, 1e-9)
        return (f"{self.label}: {seconds:6.1f} s  distinct {distinct:,} "
                f"({(distinct - d0) / dt:,.0f}/s)  generated {generated:,} "
                f"({(generated - g0) / dt:,.0f}/s)  depth {depth}  queue {queue:,}")
