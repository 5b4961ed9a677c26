"""Which kernel to boot: Debian's packaged kernels, fetched with apt and cached, or a bzImage of
the user's own.

Debian 12's and 13's kernels are fetched with ``apt-get download`` using a *private* apt state
(its own sources list, lists and cache under the gupcheck cache directory), so the host's apt
configuration is neither needed nor touched: Debian 13 (trixie) is not in a bookworm host's
sources, and a kernel package is never installed on the host, only unpacked with
``dpkg-deb -x``.  Which kernel a suite ships is read from its ``linux-image-amd64``
meta-package, so the newest point release is used, and the unpacked tree is reused on the next
run.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import ConformError, require_tool

MIRROR = os.environ.get("GUPCHECK_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SECURITY = os.environ.get("GUPCHECK_DEBIAN_SECURITY", "http://deb.debian.org/debian-security")
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


@dataclass(frozen=True)
class DebianKernel:
    """A Debian release whose stock amd64 kernel we can fetch, and the design that models it."""

    name: str  # the --kernel value
    suite: str
    design: str


DEBIAN: dict[str, DebianKernel] = {
    "debian-12": DebianKernel("debian-12", "bookworm", "linux-6.1"),
    "debian-13": DebianKernel("debian-13", "trixie", "linux-6.12"),
}


@dataclass(frozen=True)
class Kernel:
    """A bootable kernel: the image, its modules tree (None: drivers built in), its release."""

    label: str  # debian-12, or the bzImage's path
    bzimage: Path
    modules: Path | None  # .../lib/modules/<release>, for virtio_blk and ext4
    release: str
    design: str | None  # the design that models it, when known


def cache_dir() -> Path:
    """$GUPCHECK_CACHE, else $XDG_CACHE_HOME/gupcheck, else ~/.cache/gupcheck."""
    if os.environ.get("GUPCHECK_CACHE"):
        return Path(os.environ["GUPCHECK_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "gupcheck"


def _apt_options(root: Path) -> list[str]:
    return ["-o", f"Dir::State={root / 'state'}", "-o", f"Dir::Cache={root / 'cache'}",
            "-o", f"Dir::Etc::SourceList={root / 'sources.list'}",
            "-o", "Dir::Etc::SourceParts=/dev/null", "-o", "Debug::NoLocking=1",
            "-o", "APT::Architecture=amd64", "-o", "APT::Sandbox::User=root",
            "-q"]


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600,
                              check=False)
    except subprocess.TimeoutExpired:
        raise ConformError(f"{what}: timed out") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ConformError(f"{what} failed: {' / '.join(tail)}",
                           f"check that {MIRROR} is reachable (GUPCHECK_DEBIAN_MIRROR "
                           "selects another mirror)")
    return done.stdout


def _private_apt(suite: str, root: Path) -> list[str]:
    """A private apt state for ``suite``, updated; returns the options that select it."""
    require_tool("apt-get")
    for sub in ("state/lists/partial", "cache/archives/partial"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    signed = f"[signed-by={KEYRING}] " if Path(KEYRING).exists() else ""
    (root / "sources.list").write_text(
        f"deb {signed}{MIRROR} {suite} main\n"
        f"deb {signed}{SECURITY} {suite}-security main\n", encoding="utf-8")
    opts = _apt_options(root)
    _run(["apt-get", *opts, "update"], f"apt-get update for Debian {suite}")
    return opts


def _image_package(opts: list[str], suite: str) -> str:
    """The linux-image-<release>-amd64 package the suite's meta-package currently depends on."""
    out = _run(["apt-cache", *opts, "depends", "linux-image-amd64"],
               f"apt-cache depends linux-image-amd64 ({suite})")
    found = re.findall(r"Depends:\s*(linux-image-\S+-amd64)\b", out)
    if not found:
        raise ConformError(f"Debian {suite}: linux-image-amd64 names no kernel package")
    return found[0]


def fetch_debian(name: str, log: Callable[[str], None] = lambda s: None) -> Kernel:
    """Debian ``name``'s current kernel, downloaded and unpacked once, then reused from cache.

    The package name is resolved afresh when the archive is reachable; without network the
    newest kernel already unpacked for that suite is used, so cached runs work offline."""
    deb = DEBIAN[name]
    root = cache_dir() / "kernels"
    apt_root = root / f"apt-{deb.suite}"
    try:
        opts = _private_apt(deb.suite, apt_root)
        package = _image_package(opts, deb.suite)
    except ConformError:
        cached = sorted(root.glob(f"{deb.suite}--linux-image-*/ok"))
        if not cached:
            raise
        log(f"{deb.suite}: archive unreachable, using the cached kernel")
        return _kernel_in(cached[-1].parent, deb)
    tree = root / f"{deb.suite}--{package}"
    if not (tree / "ok").exists():
        require_tool("dpkg-deb")
        dl = root / "debs"
        dl.mkdir(parents=True, exist_ok=True)
        log(f"downloading {package} (Debian {deb.suite})")
        for old in dl.glob(f"{package}_*.deb"):
            old.unlink()
        _run(["apt-get", *opts, "download", package], f"apt-get download {package}", cwd=dl)
        debs = sorted(dl.glob(f"{package}_*.deb"))
        if not debs:
            raise ConformError(f"apt-get download {package} produced no .deb")
        log(f"unpacking {debs[-1].name}")
        _run(["dpkg-deb", "-x", str(debs[-1]), str(tree)], f"dpkg-deb -x {debs[-1].name}")
        debs[-1].unlink()  # the unpacked tree is what we keep
        (tree / "ok").write_text(package + "\n", encoding="utf-8")
    return _kernel_in(tree, deb)


def _kernel_in(tree: Path, deb: DebianKernel) -> Kernel:
    images = sorted((tree / "boot").glob("vmlinuz-*"))
    if not images:
        raise ConformError(f"{tree}: the kernel package holds no /boot/vmlinuz-*")
    release = images[-1].name.removeprefix("vmlinuz-")
    for mods in (tree / "lib/modules" / release, tree / "usr/lib/modules" / release):
        if mods.is_dir():
            return Kernel(deb.name, images[-1], mods, release, deb.design)
    raise ConformError(f"{tree}: no modules directory for {release}")


def bzimage_problem(path: Path) -> str | None:
    """Why ``path`` is not an x86 kernel image QEMU can boot with ``-kernel``, or None: every
    bzImage carries the boot protocol's magic ``HdrS`` at offset 0x202 of its setup header
    (Documentation/arch/x86/boot.rst, protocol 2.00 and later).  Raises OSError if it cannot
    be read."""
    with path.open("rb") as f:
        head = f.read(0x206)
    if head[0x202:0x206] != b"HdrS":
        return "not an x86 kernel image (no boot-protocol header \"HdrS\" at offset 0x202)"
    return None


def local_kernel(bzimage: Path, modules: Path | None) -> Kernel:
    """A kernel of the user's own: its bzImage, and optionally its lib/modules/<release> tree
    (without one, virtio_blk, virtio_pci and ext4 must be built in)."""
    if not bzimage.is_file():
        raise ConformError(f"{bzimage}: no such kernel image",
                           "give --kernel debian-12, debian-13 or the path of a bzImage")
    if modules is not None and not modules.is_dir():
        raise ConformError(f"{modules}: not a directory",
                           "--modules wants the kernel's lib/modules/<release> directory")
    release = modules.name if modules else bzimage.name
    return Kernel(str(bzimage), bzimage, modules, release, None)


def resolve(spec: str, modules: Path | None = None,
            log: Callable[[str], None] = lambda s: None) -> Kernel:
    """``debian-12``, ``debian-13`` or the path of a bzImage."""
    if spec in DEBIAN:
        return fetch_debian(spec, log)
    return local_kernel(Path(spec), modules)


#: public for gupcheck.conform.buildkernel, which fetches linux-source-6.12 the same way
private_apt, run_apt = _private_apt, _run
