"""One conformance run: fetch the kernel, build the guest, boot it, predict, compare.

A boot's output is cached under the gupcheck cache directory, keyed by the kernel image, the
initramfs (which holds the probe binary) and the probes asked for: deterministic probes give the
same answer every time, so a second run only recomputes the predictions (which is where a design
under development changes).  ``fresh`` boots again regardless.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gupcheck.kernel.config import KernelConfig

from . import build, qemu
from .compare import Row, compare
from .errors import ConformError
from .kernels import Kernel, cache_dir
from .observe import ProbeRun, parse
from .predict import PROBES, predict_all


@dataclass
class Conformance:
    """The outcome of one run: which kernel and design, what the guest said, the table."""

    kernel: Kernel
    design: str
    run: ProbeRun
    rows: list[Row] = field(default_factory=list)
    boot_seconds: float = 0.0
    cached_boot: bool = False


def select(names: Sequence[str] | None) -> list[str]:
    """Probe names (group/case), a group name standing for its cases; unknown -> KeyError."""
    if not names:
        return list(PROBES)
    out: list[str] = []
    for n in names:
        hits = [p for p in PROBES if p == n or p.startswith(n.rstrip("/") + "/")]
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


def boot_probes(kernel: Kernel, probes: Sequence[str], fresh: bool = False,
                log: Callable[[str], None] = lambda s: None) -> tuple[str, float, bool]:
    """The guest's result stream for ``probes``: (text, seconds, came from cache)."""
    probe_bin = build.probe_binary(log)
    initrd = build.initramfs_for(kernel, probe_bin, log)
    all_probes = list(probes) == list(PROBES)
    key = hashlib.sha256("\n".join([_file_digest(kernel.bzimage), initrd.name,
                                    *([] if all_probes else probes)]).encode()).hexdigest()[:20]
    cached = cache_dir() / "boots" / f"{kernel.release}-{key}.txt"
    if cached.exists() and not fresh:
        log(f"using the cached boot {cached}")
        return cached.read_text(encoding="utf-8"), 0.0, True
    boot = qemu.boot(kernel, initrd, [] if all_probes else probes, log=log)
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
            fresh: bool = False, log: Callable[[str], None] = lambda s: None) -> Conformance:
    """Boot ``kernel``, run ``probes`` (all by default), compare with ``design``'s model."""
    names = select(probes)
    text, seconds, from_cache = boot_probes(kernel, names, fresh, log)
    run = parse(text)
    log(f"predicting {len(names)} probes with the model of {design.name}")
    preds = predict_all(design, names)
    rows = [compare(n, preds.by_probe.get(n), run.observations.get(n),
                    why_not=PROBES[n].why_not, error=preds.errors.get(n, ""))
            for n in names]
    return Conformance(kernel, design.name, run, rows, seconds, from_cache)
