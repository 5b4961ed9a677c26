"""What every command shares: the one-line error, scenario loading, report files.

Its own module so that the command modules (:mod:`.app`, :mod:`.design_search`) import it
rather than each other.
"""

from __future__ import annotations

import errno as errno_names
import math
import sys
from pathlib import Path

import typer
from rich.console import Console

from gupcheck.kernel.system import Scenario
from gupcheck.scenarios import ScenarioError, catalogue

from . import exitcodes
from .paths import unwritable


def seconds(value: str | float) -> float:
    """An option's number of seconds: 0 or more, ``inf`` for none.  Click's ``min=0`` takes
    ``nan`` as a float and then calls it less than 0."""
    try:
        number = float(value)
        if math.isnan(number):
            raise ValueError(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a number of seconds") from None
    if number < 0:
        raise typer.BadParameter(f"{value!r} seconds: give 0 or more")
    return number + 0.0  # -0 is 0


def usage_error(message: str) -> typer.Exit:
    return fail(message, exitcodes.USAGE)


def fail(message: str, code: int) -> typer.Exit:
    """Print ``gupcheck: message`` on one line (no wrapping) to stderr; exit with ``code``."""
    Console(stderr=True).print(f"gupcheck: {message}", markup=False, highlight=False,
                               soft_wrap=True)
    return typer.Exit(code)


def load_scenarios(dirs: list[Path] | None) -> dict[str, Scenario]:
    """The shipped scenarios and those of ``--scenario-dir``; a bad file is a usage error."""
    try:
        return catalogue(dirs or ())
    except ScenarioError as err:
        raise usage_error(str(err)) from None


def check_outputs(*inputs: Path | None, **paths: Path | None) -> None:
    """Refuse, before any search, output paths that cannot be written (see :mod:`.paths`),
    two outputs into one file (the second would replace the first), and an output that is
    one of the run's ``inputs`` (its scenario file, a design module) or a file of gupcheck's
    installation (a shipped scenario): the report written there would destroy it."""
    package = Path(__file__).resolve().parents[1]
    given = {p.resolve() for p in inputs if p is not None}
    seen: dict[Path, str] = {}
    for option, path in paths.items():
        flag = "--" + option.replace("_", "-")
        why = unwritable(path, flag) if path else None
        if why:
            raise usage_error(why)
        if path is None:
            continue
        where = path.resolve()
        if where in seen:
            raise usage_error(f"{seen[where]} and {flag} both write {path}: give each its own "
                              "file")
        if where in given:
            raise usage_error(f"{flag} {path} is an input of this run; gupcheck will not "
                              "replace it: give another file")
        if where.is_relative_to(package):
            raise usage_error(f"{flag} {path} is a file of gupcheck's installation; give a "
                              "file elsewhere")
        seen[where] = flag


def write_report(path: Path, text: str, *, print_on_failure: bool = False) -> None:
    """Write a report file; a write that fails (a full disk, a folder) is one line naming the
    file and the errno, with the I/O exit code, not a traceback.  ``print_on_failure``: the
    report goes to stdout then, so that what was computed is not lost."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        if print_on_failure:
            sys.stdout.write(text)
            sys.stdout.flush()
        raise fail(f"cannot write {path}: {describe_os_error(exc)}", exitcodes.IO_ERROR) \
            from None


def describe_os_error(exc: OSError) -> str:
    """``No space left on device (ENOSPC)``: the reason and the errno's name."""
    name = errno_names.errorcode.get(exc.errno or 0)
    return f"{exc.strerror or exc}" + (f" ({name})" if name else "")
