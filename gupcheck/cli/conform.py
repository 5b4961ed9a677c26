"""``gupcheck conform``: real kernels under QEMU beside the model's predictions.

Kept out of app.py so that the command's options and its error handling live in one place;
app.py only registers it.  Exit codes: 0 every compared probe agrees, 1 some probe disagrees,
2 usage error, 8 the environment cannot run the probes (a missing tool, an unreachable
archive, a guest that never reported — the message names the apt command that fixes it), 11 a
design module (``--design FILE.py``) failed to import.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gupcheck.conform.compare import DISAGREES, MODEL_ERROR, NO_RESULT
from gupcheck.conform.errors import ConformError
from gupcheck.conform.kernels import DEBIAN, bzimage_problem, resolve
from gupcheck.conform.predict import PROBES, XFS_PROBES
from gupcheck.conform.races import DEFAULT_ITERATIONS, RACE_PROBES
from gupcheck.conform.report import render_markdown, render_text
from gupcheck.conform.runner import conform, select

from . import exitcodes
from .designs import DesignError, load_design

#: the environment cannot run the probes (tool missing, archive unreachable, guest silent)
ENVIRONMENT = exitcodes.ENVIRONMENT


def conform_command(
    kernel: Annotated[str, typer.Option(
        help="debian-12, debian-13, or the path of a bzImage.")] = "debian-12",
    design: Annotated[str | None, typer.Option(
        help="The design to predict with: a name from `gupcheck list` or a design module (.py). "
        "Default: the design of the Debian kernel.")] = None,
    probe: Annotated[list[str] | None, typer.Option(
        "--probe", help="Run only this probe or probe group (repeatable).")] = None,
    modules: Annotated[Path | None, typer.Option(
        help="With a bzImage: its lib/modules/<release> directory (else virtio_blk and ext4 must "
        "be built in).")] = None,
    fresh: Annotated[bool, typer.Option(
        "--fresh", help="Boot again even if this kernel and probe build were run before.")] = False,
    markdown: Annotated[bool, typer.Option(
        "--markdown", help="Print a markdown table (docs/conformance.md).")] = False,
    iterations: Annotated[int, typer.Option(
        min=1, max=100000, help="Rounds of each racy probe (--probe race): more rounds, more "
        "chances to hit a window, longer boots (TCG: 5-15 ms a round).")] = DEFAULT_ITERATIONS,
    cpus: Annotated[int, typer.Option(
        min=1, max=8, help="The guest's vCPUs (TCG, one host thread each): 2 lets a racy probe's "
        "threads run at once.")] = 1,
    slow_reads: Annotated[int, typer.Option(
        min=0, help="Throttle the guest disk's reads to this many per second (0: no throttle): a "
        "slow disk keeps a direct-I/O read in flight longer, widening the racy probes' "
        "windows.")] = 0,
) -> None:
    """Boot a real kernel under QEMU, run the probes, and compare with the model's predictions.

    Each probe performs a scenario's syscalls for real (O_DIRECT into mappings, io_uring
    buffer registration, truncate and fork under pins) and prints one line; beside it the
    model's prediction for the kernel's design, and whether they agree. Downloads, builds and
    boots are cached under ~/.cache/gupcheck (GUPCHECK_CACHE).

    The racy probes (`--probe race`: the model's counterexamples for 6.1 and 6.12, such as
    O_DIRECT into a shared mapping against writeback, reclaim, munmap or truncate) run only
    when asked, `--iterations` rounds each, and print counts: a count
    the model says can be non-zero is "confirmed" when seen and "not observed in N runs"
    otherwise (never an agreement); a count the model proves zero DISAGREES when seen.

    The XFS probes (`--probe xfs`, `--probe race/xfs_...`) run the same cases with their
    files on an XFS disk (mkfs.xfs, from xfsprogs), only when asked.

    Exit codes: 0 every compared probe agrees, 1 some probe disagrees, 2 usage error,
    8 the environment cannot run the probes (the message names the fix), 11 the design module
    failed to import (it raised or exited) or defines no DESIGN.

    Example: gupcheck conform --kernel debian-13

    Example: gupcheck conform --kernel debian-12 --probe race --iterations 500

    Example: gupcheck conform --kernel debian-13 --probe race --cpus 2 --slow-reads 200

    Example: gupcheck conform --kernel debian-13 --probe xfs --probe race/xfs_dio_vs_fsync

    Example: gupcheck conform --kernel ./arch/x86/boot/bzImage --design my_patch.py
    --probe iouring_register_filebacked
    """
    err = Console(stderr=True, highlight=False)

    def fail(message: str, code: int) -> typer.Exit:
        err.print(f"gupcheck: {message}", markup=False, soft_wrap=True)
        return typer.Exit(code)

    try:
        names = select(probe)
    except KeyError as exc:
        groups = sorted({p.split("/")[0] for p in (*PROBES, *XFS_PROBES, *RACE_PROBES)})
        raise fail(f"unknown probe {exc.args[0]!r}; choose a group ({', '.join(groups)}) or "
                   "a group/case (`gupcheck conform --help`)", exitcodes.USAGE) from None
    if kernel not in DEBIAN and not Path(kernel).is_file():  # a typo, before any other advice
        raise fail(f"--kernel {kernel!r}: no such kernel; give {', '.join(DEBIAN)} or the path "
                   "of a bzImage", exitcodes.USAGE)
    if kernel in DEBIAN and modules is not None:
        raise fail(f"--modules goes with a kernel of your own; {kernel} brings its modules",
                   exitcodes.USAGE)
    if design is None and kernel not in DEBIAN:
        raise fail("--design is required with a kernel of your own (a name from `gupcheck "
                   "list` or a design module .py)", exitcodes.USAGE)
    try:
        cfg = load_design(design or DEBIAN[kernel].design)
    except DesignError as exc:
        raise fail(str(exc), exc.code) from None
    if kernel not in DEBIAN:  # before the tools' checks and the guest's build
        try:
            why = bzimage_problem(Path(kernel))
        except OSError as exc:
            raise fail(f"--kernel {kernel}: cannot read it ({exc.strerror or exc})",
                       exitcodes.IO_ERROR) from None
        if why:
            raise fail(f"--kernel {kernel}: {why}; give {', '.join(DEBIAN)} or the path of a "
                       "bzImage (arch/x86/boot/bzImage)", exitcodes.USAGE)
    show = sys.stderr.isatty()

    def log(message: str) -> None:
        if show:
            err.print(f"[dim]… {message}[/dim]")

    try:
        k = resolve(kernel, modules, log)
        result = conform(k, cfg, names, fresh, log, iterations, cpus, slow_reads)
    except ConformError as exc:
        raise fail(str(exc), ENVIRONMENT) from None
    sys.stdout.write(render_markdown(result) if markdown else render_text(result))
    bad = {DISAGREES, NO_RESULT, MODEL_ERROR}
    raise typer.Exit(exitcodes.FAILED if any(r.status in bad for r in result.rows)
                     else exitcodes.HOLDS)
