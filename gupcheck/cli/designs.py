"""``--design NAME|FILE.py``: a shipped design by name, or a design module of the user's own.

A design module is a Python file defining ``DESIGN = KernelConfig(...)``, like the modules of
gupcheck/designs — how a kernel developer describes a patch (docs/writing-a-design.md).  It is
the one kind of file whose code gupcheck runs, so it is imported only when its path is given
on the command line (``--design``), never because a trace or a scenario names it.
"""

from __future__ import annotations

import importlib.util
import re
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gupcheck.designs import DESIGNS, PROPOSAL_BASE
from gupcheck.kernel.config import KernelConfig

from . import exitcodes

#: a design's name, as the shipped ones (it labels matrix columns, traces and file names)
NAME = re.compile(r"[a-z0-9][a-z0-9.-]*")


class DesignError(ValueError):
    """A ``--design`` that names no design; ``code`` is the exit code to leave with."""

    code = exitcodes.USAGE


class DesignModuleError(DesignError):
    """A design module that failed to import (it raised, or exited) or defines no DESIGN."""

    code = exitcodes.DESIGN_MODULE


class DesignImportTimeout(DesignModuleError):
    """A design module whose import outlasted ``--max-seconds``: a limit hit, as in a search."""

    code = exitcodes.INCOMPLETE


class _Deadline(BaseException):
    """Raised into the import by SIGALRM (a BaseException: the module's own ``except
    Exception`` does not swallow it)."""


@contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (ITIMER_REAL, SIGALRM: the main thread only,
    where the CLI imports design modules; elsewhere, or with None, no limit)."""
    if seconds is None or threading.current_thread() is not threading.main_thread() \
            or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(_signum: int, _frame: object) -> None:
        raise _Deadline

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def is_design_module(spec: str) -> bool:
    """Whether ``spec`` names a design module (a .py path) rather than a shipped design."""
    return spec not in DESIGNS and spec.endswith(".py")


def load_design(spec: str, max_seconds: float | None = None) -> KernelConfig:
    """A design name, or the path of a Python module that defines ``DESIGN`` (a KernelConfig).

    Importing the module runs its code: whatever it raises, including ``SystemExit`` (a
    ``sys.exit()`` at import would otherwise end gupcheck with the module's status, 0 say), is
    a :class:`DesignModuleError`; only ``KeyboardInterrupt`` passes through, as the user's
    Ctrl-C.  An import still running after ``max_seconds`` (the command's ``--max-seconds``)
    is stopped: :class:`DesignImportTimeout`."""
    if spec in DESIGNS:
        return DESIGNS[spec]
    if spec.startswith(f"{PROPOSAL_BASE.name}+"):  # a combination (gupcheck designs search)
        from gupcheck.designspace import config, parse_spec

        try:
            return config(parse_spec(spec))
        except ValueError as err:
            raise DesignError(f"--design {spec!r}: {err}") from None
    path = Path(spec)
    if path.suffix == ".py" and not path.is_file():
        raise DesignError(f"--design {spec!r}: no such file" if not path.exists()
                          else f"--design {spec!r}: not a file")
    if path.suffix != ".py":
        raise DesignError(f"unknown design {spec!r}; choose one of: {', '.join(DESIGNS)}, "
                          "a combination such as proposal-base+writeback=bounce "
                          "(gupcheck designs search), "
                          "or give the path of a design module (.py defining DESIGN)")
    mod_spec = importlib.util.spec_from_file_location(f"gupcheck_user_design_{path.stem}", path)
    if mod_spec is None or mod_spec.loader is None:
        raise DesignModuleError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(mod_spec)
    try:
        with _deadline(max_seconds):
            mod_spec.loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except _Deadline:
        raise DesignImportTimeout(f"{path}: importing it did not finish within --max-seconds "
                                  f"{max_seconds:g}; nothing was checked") from None
    except SystemExit as exc:
        raise DesignModuleError(f"{path}: importing it called sys.exit({exc.code!r}); a design "
                                "module must only define DESIGN") from None
    except BaseException as exc:  # noqa: BLE001 - the user's code: report it, not a traceback
        raise DesignModuleError(f"{path}: importing it failed: {type(exc).__name__}: {exc}") \
            from None
    try:
        design = getattr(module, "DESIGN", None)
    except Exception as exc:  # noqa: BLE001 - the module's own __getattr__
        raise DesignModuleError(f"{path}: reading its DESIGN failed: {type(exc).__name__}: "
                                f"{exc}") from None
    if not isinstance(design, KernelConfig):
        raise DesignModuleError(f"{path}: defines no DESIGN = KernelConfig(...) "
                                "(see docs/writing-a-design.md)")
    if not isinstance(design.name, str) or not NAME.fullmatch(design.name):
        raise DesignModuleError(f"{path}: DESIGN.name must be lower-case letters, digits, '.' "
                                f"and '-' like the shipped designs' (linux-6.12), got "
                                f"{design.name!r}")
    if design.name in DESIGNS and design != DESIGNS[design.name]:
        raise DesignModuleError(f"{path}: DESIGN.name {design.name!r} is a shipped design's "
                                "name; give your design its own (a trace or report naming it "
                                "would be replayed against the shipped design)")
    return design
