"""Building what the guest runs: the probe binary (``gcc -static``, linked with liburing) and the
initramfs for one kernel, both cached by the hash of what went into them, so a second run of the
same kernel and probe source boots at once."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Callable
from pathlib import Path

from . import initramfs
from .errors import FILES, ConformError, busybox_path, require_tool
from .kernels import Kernel, cache_dir

#: the probe sources live in the repository's probes/ folder, beside the package
PROBE_SOURCE = Path(__file__).resolve().parents[2] / "probes" / "gupprobe.c"


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())
    return h.hexdigest()[:16]


def probe_binary(log: Callable[[str], None] = lambda s: None) -> Path:
    """The static probe executable, compiled once per version of its source."""
    if not PROBE_SOURCE.is_file():
        raise ConformError(f"probe source {PROBE_SOURCE} not found",
                           "run gupcheck conform from a source checkout (pip install -e .)")
    gcc = require_tool("gcc")
    if not Path("/usr/include/liburing.h").exists():
        raise ConformError("liburing headers not found",
                           f"install them with: apt-get install {FILES['/usr/include/liburing.h']}")
    src = PROBE_SOURCE.read_bytes()
    out = cache_dir() / "probes" / f"gupprobe-{_digest(src)}"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        log("compiling probes/gupprobe.c")
        tmp = out.with_suffix(".tmp")
        done = subprocess.run([gcc, "-O2", "-Wall", "-static", "-pthread", "-o", str(tmp),
                               str(PROBE_SOURCE), "-luring"], capture_output=True, text=True,
                              check=False)
        if done.returncode != 0:
            raise ConformError(f"compiling {PROBE_SOURCE.name} failed: "
                               f"{done.stderr.strip()[-500:]}",
                               "a static build needs: apt-get install gcc liburing-dev")
        tmp.replace(out)
    return out


def initramfs_for(kernel: Kernel, probe: Path, log: Callable[[str], None] = lambda s: None,
                  extra_modules: tuple[str, ...] = ()) -> Path:
    """The kernel's initramfs (its modules + busybox + /init + the probe), built once;
    ``extra_modules`` (btrfs for the btrfs probes) are added with their dependencies."""
    busybox = Path(busybox_path())
    wanted = (*initramfs.WANTED_MODULES, *extra_modules)
    mods = initramfs.resolve_modules(kernel.modules, wanted) if kernel.modules else []
    key = _digest(busybox.read_bytes(), probe.read_bytes(), initramfs.INIT.encode(),
                  *(name.encode() + data for name, data in mods))
    out = cache_dir() / "initramfs" / f"{kernel.release}-{key}.cpio.gz"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        log(f"building the initramfs ({len(mods)} modules: {', '.join(n for n, _ in mods)})")
        tmp = out.with_suffix(".tmp")
        tmp.write_bytes(initramfs.build(busybox, probe, mods))
        tmp.replace(out)
    return out
