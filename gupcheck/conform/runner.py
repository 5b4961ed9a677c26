"""One conformance run: fetch the kernel, build the guest, boot it, predict, compare.

A boot's output is cached under the gupcheck cache directory, keyed by the kernel image, the
initramfs (which holds the probe binary) and the probes asked for: deterministic probes give the
same answer every time, so a second run only recomputes the predictions (which is where a design
under development changes).  ``fresh`` boots again regardless.  A racy probe's counts are one
sample, not a fact: its boot is cached too (keyed by the number of rounds), and the report says
"cached boot"; ``fresh`` takes a new sample.

The racy probes (:mod:`.races`) run only when asked for (``--probe race``): the default run stays
the quick deterministic one.  So do the XFS ones (``--probe xfs``, ``--probe race/xfs_...``),
which need the XFS disk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gupcheck.kernel.config import KernelConfig

from . import build, initramfs, qemu
from .compare import Row, compare
from .errors import ConformError
from .kernels import Kernel, cache_dir
from .observe import ProbeRun, parse
from .predict import PROBES, XFS_PROBES, Predictions, predict_all
from .races import DEFAULT_ITERATIONS, RACE_PROBES, compare_race, predict_race


@dataclass
class Conformance:
    """The outcome of one run: which kernel and design, what the guest said, the table."""

    kernel: Kernel
    design: str
    run: ProbeRun
    rows: list[Row] = field(default_factory=list)
    boot_seconds: float = 0.0
    cached_boot: bool = False
    machine: str = ""  # the guest's vCPUs and disk throttle when not the defaults


def select(names: Sequence[str] | None) -> list[str]:
    """Probe names (group/case), a group name standing for its cases; unknown -> KeyError.

    No names: every deterministic probe on ext4 (racy ones cost N rounds each, XFS ones need a
    disk of their own: both run only by name, ``xfs`` naming every deterministic XFS probe)."""
    if not names:
        return list(PROBES)
    out: list[str] = []
    every = [*PROBES, *XFS_PROBES, *RACE_PROBES]
    for n in names:
        hits = [p for p in every if p == n or p.startswith(n.rstrip("/") + "/")]
        if not hits:
            raise KeyError(n)
        out += [h for h in hits if h not in out]
    return out


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def machine_text(smp: int = 1, read_iops: int = 0) -> str:
    """How the guest differs from the default one (one vCPU, unthrottled disk); "" if not."""
    parts = [f"{smp} vCPUs"] if smp != 1 else []
    parts += [f"disk reads throttled to {read_iops}/s"] if read_iops else []
    return ", ".join(parts)


def boot_probes(kernel: Kernel, probes: Sequence[str], fresh: bool = False,
                log: Callable[[str], None] = lambda s: None,
                iterations: int = DEFAULT_ITERATIONS, smp: int = 1,
                read_iops: int = 0) -> tuple[str, float, bool]:
    """The guest's result stream for ``probes``: (text, seconds, came from cache).

    With racy probes among them the guest gets ``iterations=N`` too, and more time: half a
    second per round of each racy probe on top of the boot, far more than the 5-15 ms a round
    took under TCG, because the machine is shared and a slow guest is not a broken one."""
    probe_bin = build.probe_binary(log)
    races = [p for p in probes if p in RACE_PROBES]
    on_xfs = [p for p in probes if p in XFS_PROBES]
    btrfs = any(RACE_PROBES[p].filesystem == "btrfs" for p in races)
    pi = any(RACE_PROBES[p].filesystem == "ext4-pi" for p in races)
    xfs = bool(on_xfs) or any(RACE_PROBES[p].filesystem == "xfs" for p in races)
    initrd = build.initramfs_for(kernel, probe_bin, log,
                                 (*(initramfs.BTRFS_MODULES if btrfs else ()),
                                  *(initramfs.NVME_PI_MODULES if pi else ()),
                                  *(initramfs.XFS_MODULES if xfs else ())))
    all_probes = list(probes) == list(PROBES)
    if all_probes:
        args: list[str] = []
    elif set(PROBES) <= set(probes) or set(XFS_PROBES) <= set(probes):
        # "all" and "xfs" keep the kernel command line short
        plain = [p for p in probes if p in PROBES]
        args = ["all"] if set(PROBES) <= set(probes) else plain
        args += ["xfs"] if set(XFS_PROBES) <= set(probes) else on_xfs
        args += races
    else:
        args = list(probes)
    if races:
        args.append(f"iterations={iterations}")
    machine = [machine_text(smp, read_iops)] if machine_text(smp, read_iops) else []
    key = hashlib.sha256("\n".join([_file_digest(kernel.bzimage), initrd.name,
                                    *args, *machine]).encode()).hexdigest()[:20]
    cached = cache_dir() / "boots" / f"{kernel.release}-{key}.txt"
    if cached.exists() and not fresh:
        log(f"using the cached boot {cached}")
        return cached.read_text(encoding="utf-8"), 0.0, True
    # XFS: a minute more (the deterministic probes once again, or filling the disk)
    boot = qemu.boot(kernel, initrd, args, timeout=180.0 + 0.5 * iterations * len(races)
                     + (60.0 if xfs else 0.0), log=log, smp=smp, read_iops=read_iops,
                     btrfs=btrfs, pi=pi, xfs=xfs)
    if "END" not in boot.results.split():
        tail = "\n".join(boot.console.strip().splitlines()[-15:])
        why = "timed out" if boot.timed_out else "stopped"
        raise ConformError(f"the guest {why} after {boot.seconds:.0f} s before reporting all "
                           f"probes; results so far:\n{boot.results.strip()}\n"
                           f"last console lines:\n{tail}")
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_text(boot.results, encoding="utf-8")
    return boot.results, boot.seconds, False


def conform(kernel: Kernel, design: KernelConfig, probes: Sequence[str] | None = None,
            fresh: bool = False, log: Callable[[str], None] = lambda s: None,
            iterations: int = DEFAULT_ITERATIONS, smp: int = 1,
            read_iops: int = 0) -> Conformance:
    """Boot ``kernel``, run ``probes`` (every deterministic one by default), compare with
    ``design``'s model; racy probes run ``iterations`` rounds and give one row per count.
    ``smp`` and ``read_iops`` shape the guest (qemu.command) to widen the races' windows."""
    names = select(probes)
    text, seconds, from_cache = boot_probes(kernel, names, fresh, log, iterations, smp,
                                            read_iops)
    run = parse(text)
    plain = [n for n in names if n in PROBES or n in XFS_PROBES]
    log(f"predicting {len(names)} probes with the model of {design.name}")
    preds = predict_all(design, plain) if plain else Predictions(design.name)
    rows: list[Row] = []
    for n in names:
        if n in PROBES or n in XFS_PROBES:
            why_not = (PROBES.get(n) or XFS_PROBES[n]).why_not
            rows.append(compare(n, preds.by_probe.get(n), run.observations.get(n),
                                why_not=why_not, error=preds.errors.get(n, "")))
            continue
        race = RACE_PROBES[n]
        pred, error = None, ""
        try:
            pred = predict_race(race, design)
        except Exception as exc:  # noqa: BLE001 - a user's design module may break the model
            error = f"{type(exc).__name__}: {exc}"
        rows += compare_race(race, pred, run.observations.get(n), error=error)
    return Conformance(kernel, design.name, run, rows, seconds, from_cache,
                       machine_text(smp, read_iops))
