"""``gupcheck kernel build``: Linux 6.12 with a patch series, built for ``gupcheck conform``
(gupcheck/conform/buildkernel.py).

Exit codes: 0 built (or found in the cache; the bzImage's path on stdout), 2 the series
directory is missing or empty, or a patch does not apply (the message names it), 8 the
environment cannot build (a tool or header missing, the archive unreachable, ``make`` failed:
the message names the fix or the log), 10 the cache cannot be written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from gupcheck.conform.buildkernel import PatchError, build

from . import exitcodes

kernel_app = typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                         help="Build a patched Linux 6.12 to boot with `gupcheck conform`.")


@kernel_app.callback()
def _kernel() -> None:
    """Kernels: `gupcheck kernel build PATCHES_DIR` builds Debian 13's linux-source-6.12 with
    a patch series, for `gupcheck conform --kernel <bzImage>` (docs/kernel-fix.md)."""


@kernel_app.command("build")
def build_command(
    patches: Annotated[Path | None, typer.Argument(
        help="The series: a directory of *.patch files (applied in name order) or with a "
        "quilt `series` file. Omit it with --stock.", show_default=False)] = None,
    stock: Annotated[bool, typer.Option(
        "--stock", help="Build the unpatched source (the same configuration).")] = False,
    jobs: Annotated[int, typer.Option(
        "-j", "--jobs", min=1, max=64, help="make -j (runs under nice -n 19).")] = 2,
) -> None:
    """Fetch Debian 13's linux-source-6.12 (apt, private state; cached), apply the series with
    patch -p1, configure a small kernel for QEMU (x86_64 defconfig, every driver and
    filesystem the probes need built in: virtio, NVMe with block integrity, ext4, btrfs,
    XFS, io_uring, userfaultfd) and build its bzImage; print the bzImage's path.

    The result is cached under ~/.cache/gupcheck/kbuild/<key>/ (GUPCHECK_CACHE), the key
    hashing the source version, the patches and the configuration: a second call is instant.
    A full build takes 17-25 minutes on 2 shared cores (docs/kernel-fix.md); a later
    series rebuilds only the files it changes.

    Exit codes: 0 built, 2 no series or a patch does not apply, 8 the environment cannot
    build (the message names the fix or the build log), 10 the cache cannot be written.

    Example: gupcheck kernel build patches/ext4-bounce-pinned

    Example: gupcheck conform --kernel $(gupcheck kernel build patches/ext4-bounce-pinned)
    --design gupcheck/designs/ext4_bounce_pinned.py
    """
    from gupcheck.conform.errors import ConformError

    err = Console(stderr=True, highlight=False)

    def fail(message: str, code: int) -> typer.Exit:
        err.print(f"gupcheck: {message}", markup=False, soft_wrap=True)
        return typer.Exit(code)

    if (patches is None) == (not stock):
        raise fail("give a patch series directory, or --stock for the unpatched source "
                   "(not both)", exitcodes.USAGE)
    show = sys.stderr.isatty()

    def log(message: str) -> None:
        if show:
            err.print(f"[dim]… {message}[/dim]")

    try:
        built = build(patches, jobs=jobs, log=log)
    except PatchError as exc:
        raise fail(str(exc), exitcodes.USAGE) from None
    except ConformError as exc:
        raise fail(str(exc), exitcodes.ENVIRONMENT) from None
    except OSError as exc:
        raise fail(f"{exc.filename or 'the cache'}: {exc.strerror or exc}",
                   exitcodes.IO_ERROR) from None
    if not built.cached:
        log(f"built in {built.seconds / 60:.1f} min")
    sys.stdout.write(f"{built.bzimage}\n")
