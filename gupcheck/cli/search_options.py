"""Options for long searches shared by ``gupcheck check`` and ``gupcheck demo``.

They live here, not in :mod:`.app`, so that each command only declares them and passes
:func:`engine_options` on to :func:`gupcheck.engine.check`: a command decorated with
:func:`with_search_options` declares one parameter of type :class:`SearchOptions`, which typer
sees as the seven options ``--checkpoint`` ... ``--reduce``.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import inspect
import math
import os
import re
import resource
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any

import psutil
import typer
from rich.console import Console

from gupcheck.engine import (
    Bitstate,
    CheckpointError,
    Options,
    OptionsError,
    Parallel,
    Persistence,
    Search,
    Walks,
)
from gupcheck.engine.checkpoint import DEFAULT_EVERY, foreign
from gupcheck.engine.options import DEFAULT_WALKS
from gupcheck.engine.ray_bfs import RayError, RayNotInstalled

from . import exitcodes
from .common import seconds
from .paths import unwritable

CheckpointOpt = Annotated[Path | None, typer.Option(
    "--checkpoint", help="BFS: save the search's progress to this file now and then, and when a "
    "limit stops it; continue later with --resume.")]
CheckpointEveryOpt = Annotated[float, typer.Option(
    "--checkpoint-every", parser=seconds, help="Seconds between checkpoints (0 or more).")]
ResumeOpt = Annotated[Path | None, typer.Option(
    "--resume", help="BFS: continue the search saved in this checkpoint (exit 7 if it belongs "
    "to another model, design, scenario or search).")]
BitstateOpt = Annotated[str | None, typer.Option(
    "--bitstate", help="BFS: SPIN-style bitstate hashing with this many bits (a power of two: "
    "2^27, 16M, 134217728); approximate, far less memory.")]

WorkersOpt = Annotated[int, typer.Option(
    "--workers", min=1, help="BFS: expand each level in this many processes (same counts and "
    "traces as one); swarm: run the walks in this many processes; with --ray: Ray actors "
    "(default there: one per CPU of the cluster).")]
RayOpt = Annotated[str | None, typer.Option(
    "--ray", metavar="ADDRESS", help="BFS or swarm on a Ray cluster: 'local' starts Ray on "
    "this machine for the run, 'auto' joins the one running here, or a cluster address "
    "(host:6379, ray://host:10001).  Needs: pip install 'gupcheck[ray]'.")]

ReduceOpt = Annotated[list[str] | None, typer.Option(
    "--reduce", help="State-space reduction (repeatable or comma-separated): view (leave out "
    "ghost data, and data values, that no checked property reads), symmetry (identify "
    "symmetric states), por (partial-order reduction from the steps' declared footprints; bfs "
    "only, also with --workers; combines with view and symmetry; its counterexamples are "
    "re-shortened without it), por-check (por, verifying the footprints; one process), local "
    "(only por's local steps taken at once). "
    "Same verdicts, fewer states; every counterexample is replayed on the unreduced model.")]

DEFAULT_CHECKPOINT_EVERY = DEFAULT_EVERY


def reductions(names: list[str] | None) -> tuple[str, ...]:
    """The ``--reduce`` values as the engine takes them; a usage error for an unknown one."""
    from gupcheck.engine.reduce import normalise

    if names and not all(n.strip() for n in names):
        raise _exit("--reduce: an empty value; give a reduction (see --help) or leave the "
                    "option out", exitcodes.USAGE)
    try:
        return tuple(sorted(normalise(",".join(names or ()))))
    except ValueError as err:
        raise _exit(f"--reduce: {err}", exitcodes.USAGE) from None

_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}


#: the largest bit array --bitstate takes (32 TiB; a machine's memory is checked after)
MAX_BITS = 2 ** 48


def parse_bits(text: str) -> int:
    """``2^27``, ``128M``/``128Mi``, or a plain number of bits; it must be a power of two."""
    t = text.strip().lower().replace("_", "")
    if m := re.fullmatch(r"2\^(\d{1,3})", t):
        bits = 2 ** int(m.group(1))
    elif m := re.fullmatch(r"(\d{1,20})([kmg]?)i?", t):
        bits = int(m.group(1)) * _UNITS[m.group(2)]
    elif re.fullmatch(r"2\^\d+|\d+[kmg]?i?", t):
        bits = MAX_BITS * 2  # too many digits to be a size: refused below
    else:
        raise ValueError(f"--bitstate {text!r}: give a number of bits, e.g. 2^27 or 128M")
    if bits < 64 or bits > MAX_BITS or bits & (bits - 1):
        raise ValueError(f"--bitstate {text!r}: the number of bits must be a power of two "
                         "from 64 to 2^48")
    return bits


def check_bits_fit(bits: int, text: str) -> None:
    """Refuse a bit array larger than the memory available now (psutil), rather than fail
    with MemoryError, or drive the machine into swap, when the search allocates it."""
    need, have = bits // 8, psutil.virtual_memory().available
    if need > have:
        raise ValueError(f"--bitstate {text!r}: its bit array needs {_size(need)} of memory, "
                         f"this machine has {_size(have)} available; give fewer bits")


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    raise AssertionError


#: how the CLI calls the engine's options in a refusal (OptionsError.render)
FLAGS = {name: "--" + name.replace("_", "-") for name in (
    "strategy", "exact", "liveness", "walks", "seed", "checkpoint", "checkpoint_every",
    "resume", "bitstate", "workers", "ray", "reduce")}


def not_a_checkpoint(path: Path) -> str | None:
    """Why ``--checkpoint`` must not replace what ``path`` holds: a device, pipe or other
    special file (the atomic rename would put a regular file in its place), or a file that is
    not a gupcheck checkpoint (a trace, a scenario given by mistake); None if it may."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):  # not opened: a FIFO would block
            return f"cannot write --checkpoint {path}: it is not a regular file"
        with path.open("rb") as f:
            why = foreign(f)
    except FileNotFoundError:
        return None  # nothing there yet
    except OSError as exc:
        return f"cannot write --checkpoint {path}: {exc.strerror or exc}"
    return (f"--checkpoint {path} holds something that is {why}; gupcheck will not replace "
            "it: remove it or give another file") if why else None


def engine_options(strategy: str, search: SearchOptions, *, exact: bool = False,
                   liveness: bool = True, walks: int | None = None,
                   seed: int | None = None) -> Options:
    """The :class:`gupcheck.engine.Options` of a command's flags.

    The combinations are refused by the engine (:meth:`~gupcheck.engine.Options.conflicts`, the
    one place that knows them), here before any search, as a one-line usage error naming both
    flags.  ``liveness``: ``--liveness`` (the default) checks liveness where the search can,
    ``--no-liveness`` skips it.  Also refused with the usage exit code: a checkpoint that cannot
    be written or would replace a file that is not one, a bad or too large ``--bitstate``,
    ``--ray`` without Ray installed, more ``--workers`` than this process can start.
    """
    if search.checkpoint and (why := unwritable(search.checkpoint, "--checkpoint")
                              or not_a_checkpoint(search.checkpoint)):
        raise _exit(why, exitcodes.USAGE)
    for flag, value in (("--bitstate", search.bitstate), ("--ray", search.ray)):
        if value is not None and not value.strip():
            raise _exit(f"{flag}: an empty value; give one (see --help) or leave the option "
                        "out", exitcodes.USAGE)
    reduce = reductions(search.reduce)
    try:
        bits = parse_bits(search.bitstate) if search.bitstate else None
        options = Options(
            Search(strategy, exact, None if liveness else False, reduce=frozenset(reduce)),
            walks=None if walks is None and seed is None else
            Walks(DEFAULT_WALKS if walks is None else walks, seed or 0),
            persistence=None if not (search.checkpoint or search.resume) else
            Persistence(search.checkpoint, search.checkpoint_every, search.resume),
            parallel=Parallel(search.workers, search.ray),
            bitstate=None if bits is None else Bitstate(bits))
        if bits:
            check_bits_fit(bits, search.bitstate or "")
    except OptionsError as err:
        raise _exit(err.render(FLAGS), exitcodes.USAGE) from None
    except ValueError as err:
        raise _exit(str(err), exitcodes.USAGE) from None
    if search.ray and importlib.util.find_spec("ray") is None:
        raise _exit(RayNotInstalled().args[0], exitcodes.USAGE)
    if not search.ray and search.workers > (most := most_workers(strategy)):
        raise _exit(f"--workers {search.workers}: at most {most} worker processes here "
                    f"({'each pair of workers shares a pipe: ' if strategy == 'bfs' else ''}"
                    f"{_open_files()} open files allowed)", exitcodes.USAGE)
    return options


def _open_files() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def most_workers(strategy: str) -> int:
    """The most ``--workers`` this process can start: breadth-first search connects every
    pair of workers by a pipe (parallel.py), so it needs about workers² open files; swarm a
    few per process.  Never more than :data:`MAX_WORKERS`."""
    room = max(_open_files() - 64, 4)  # the interpreter's own files, the report's
    most = math.isqrt(room) - 4 if strategy == "bfs" else room // 4  # n² + 8n fit
    return min(most, MAX_WORKERS)


#: processes beyond this on one machine are a typo, not a plan
MAX_WORKERS = 1024


@contextlib.contextmanager
def checkpoint_errors() -> Iterator[None]:
    """Report an unusable checkpoint in one line with its own exit code, not a traceback (and a
    checkpoint that cannot be written, with the I/O exit code); and
    a Ray cluster that cannot be reached (or Ray missing), or options the search cannot combine
    (``check`` raises ValueError for them), as a usage error, also in one line."""
    try:
        yield
    except CheckpointError as err:
        raise _exit(str(err), exitcodes.CHECKPOINT) from None
    except OSError as err:  # writing a checkpoint failed: a full disk, say
        where = f"{err.filename}: " if err.filename else ""
        raise _exit(f"{where}{err.strerror or err}", exitcodes.IO_ERROR) from None
    except (RayError, ValueError) as err:
        raise _exit(str(err), exitcodes.USAGE) from None


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers and ``taskset``
    restrict), not merely those the machine has."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def warn_workers(workers: int) -> None:
    """Say so on stderr when ``--workers`` exceeds the cores: the processes then share them
    and a search runs several times slower than with one process per core."""
    cores = available_cores()
    if workers > cores:
        Console(stderr=True).print(
            f"gupcheck: warning: --workers {workers} is more than the {cores} "
            f"core{'s' if cores != 1 else ''} available; the processes will share them and "
            f"run slower than --workers {cores}", markup=False, highlight=False, soft_wrap=True)


def _exit(message: str, code: int) -> typer.Exit:
    Console(stderr=True).print(f"gupcheck: {message}", markup=False, highlight=False,
                               soft_wrap=True)
    return typer.Exit(code)


@dataclass(frozen=True)
class SearchOptions:
    """The long-search options of a command, in --help order; each field's default is the
    option's default."""

    checkpoint: Path | None = None
    checkpoint_every: float = DEFAULT_CHECKPOINT_EVERY
    resume: Path | None = None
    bitstate: str | None = None
    workers: int = 1
    ray: str | None = None
    reduce: list[str] | None = None

    def engine_options(self, strategy: str, *, exact: bool = False, liveness: bool = True,
                       walks: int | None = None, seed: int | None = None) -> Options:
        """:func:`engine_options` for these flags and the command's own."""
        return engine_options(strategy, self, exact=exact, liveness=liveness, walks=walks,
                              seed=seed)


#: the typer option behind each field of SearchOptions
_OPTIONS: dict[str, Any] = {
    "checkpoint": CheckpointOpt, "checkpoint_every": CheckpointEveryOpt, "resume": ResumeOpt,
    "bitstate": BitstateOpt, "workers": WorkersOpt, "ray": RayOpt, "reduce": ReduceOpt}


def with_search_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Put the long-search options in a typer command's signature.

    The command declares one parameter annotated :class:`SearchOptions` (with a default, so
    that it can be called directly).  Typer reads commands through :func:`inspect.signature`,
    so the wrapper's ``__signature__`` has the options of :data:`_OPTIONS` in that parameter's
    place — the same names, help and defaults for every command — and the wrapper hands the
    values typer parsed back to the command as one :class:`SearchOptions`."""
    sig = inspect.signature(command, eval_str=True)
    params = list(sig.parameters.values())
    at = next(i for i, p in enumerate(params) if p.annotation is SearchOptions)
    name = params[at].name
    names = [f.name for f in fields(SearchOptions)]
    options = [inspect.Parameter(f.name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                 default=f.default, annotation=_OPTIONS[f.name])
               for f in fields(SearchOptions)]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {n: kwargs.pop(n) for n in names if n in kwargs}
        return command(*args, **kwargs, **{name: SearchOptions(**values)})

    params[at:at + 1] = options
    wrapper.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper
