"""Building a patched Linux 6.12 for ``gupcheck conform``: Debian 13's ``linux-source-6.12``,
a series of patches applied in order, a small configuration for QEMU with every driver the
probes need built in, and the resulting bzImage cached by what went into it.

Layout of the cache (under :func:`~gupcheck.conform.kernels.cache_dir`)::

    ksrc/<debian version>/linux-source-6.12.tar.xz   the source package's tarball
    ksrc/<debian version>/linux-source-6.12/          the pristine tree (``ok`` beside it)
    kbuild/work-<debian version>-<config hash>/       one work tree per source and config:
        src/  (a copy of the pristine tree, the series applied)   out/  (make O=out)
    kbuild/<key>/bzImage                              key = (source, series, config) hashed

The work tree is reused from one series to the next: the files the previous series touched
are restored from the pristine tree (a fresh mtime), the new series is applied, and ``make``
rebuilds only what changed, so a second series costs minutes, not the full build.  A second
call with the same key returns the cached bzImage at once, without network.

The source is fetched with the same private apt state as the Debian kernels
(:mod:`gupcheck.conform.kernels`): the host's apt configuration is neither needed nor touched.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import ConformError, require_tool
from .kernels import cache_dir, private_apt, run_apt

#: Debian 13's source package for the kernel ``gupcheck conform --kernel debian-13`` boots
SOURCE_PACKAGE = "linux-source-6.12"
SOURCE_SUITE = "trixie"

#: options set on top of ``make defconfig`` (x86_64): "y" built in, "n" off.  Everything the
#: probes touch is built in, so the guest needs no modules (initramfs.resolve_modules is then
#: skipped); the big subsystems a QEMU guest without a screen, sound or USB never uses are off
#: to keep the build short.
CONFIG: dict[str, str] = {
    # the disks: virtio-blk (ext4 at /mnt, btrfs/xfs at /btr), NVMe with T10-PI at /pi
    "VIRTIO": "y", "VIRTIO_PCI": "y", "VIRTIO_BLK": "y",
    "BLK_DEV_NVME": "y", "NVME_CORE": "y", "BLK_DEV_INTEGRITY": "y",
    "CRC_T10DIF": "y", "CRC64_ROCKSOFT": "y",  # T10-PI guard tags (block/t10-pi.c)
    # the filesystems
    "EXT4_FS": "y", "BTRFS_FS": "y", "XFS_FS": "y", "CRYPTO_CRC32C": "y",
    "CRYPTO_CRC32C_INTEL": "y", "LIBCRC32C": "y",
    # what the probes call: io_uring, userfaultfd, MAP_HUGETLB, memfd, process_vm_writev
    "IO_URING": "y", "USERFAULTFD": "y", "HUGETLBFS": "y", "MEMFD_CREATE": "y",
    "CROSS_MEMORY_ATTACH": "y", "ADVISE_SYSCALLS": "y", "TRANSPARENT_HUGEPAGE": "y",
    # the mm selftests gup_test and gup_longterm: /sys/kernel/debug/gup_test (mm/gup_test.c)
    "GUP_TEST": "y",  # needs DEBUG_FS, which defconfig sets
    # the guest's /init: devtmpfs, tmpfs, a gzip initramfs, the serial console
    "DEVTMPFS": "y", "DEVTMPFS_MOUNT": "y", "TMPFS": "y", "BLK_DEV_INITRD": "y",
    "RD_GZIP": "y", "SERIAL_8250": "y", "SERIAL_8250_CONSOLE": "y",
    # off: not needed in the guest, and long to build
    "DRM": "n", "SOUND": "n", "USB_SUPPORT": "n", "WLAN": "n", "WIRELESS": "n",
    "NETFILTER": "n", "HID": "n", "AGP": "n", "FB": "n", "INPUT_JOYSTICK": "n",
    "INPUT_TABLET": "n", "INPUT_TOUCHSCREEN": "n", "NFS_FS": "n", "ETHERNET": "n",
    "SECURITY_SELINUX": "n", "AUDIT": "n", "MODULES": "n", "DEBUG_INFO_NONE": "y",
}


@dataclass(frozen=True)
class Source:
    """The unpacked pristine source of one Debian version of ``linux-source-6.12``."""

    version: str  # Debian's version, e.g. 6.12.118-1
    tree: Path


@dataclass(frozen=True)
class Built:
    """A built kernel: its bzImage, whether this call built it, and how long the build took."""

    bzimage: Path
    key: str
    cached: bool
    seconds: float


class PatchError(ConformError):
    """A patch series that is missing, empty or does not apply (bad input: exit code 2)."""


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(hashlib.sha256(p).digest())
    return h.hexdigest()[:16]


def config_text(config: dict[str, str] | None = None) -> str:
    """The options as ``scripts/config`` would set them, one ``NAME=value`` a line, sorted."""
    return "".join(f"{k}={v}\n" for k, v in sorted((config or CONFIG).items()))


def config_hash(config: dict[str, str] | None = None) -> str:
    """The configuration's part of the key (the base ``defconfig`` is part of it)."""
    return _digest(b"x86_64_defconfig", config_text(config).encode())


def read_series(patches: Path) -> list[Path]:
    """The patches of a series directory, in order: the names listed in its ``series`` file
    (quilt's format: ``#`` comments, blank lines) when it has one, else its ``*.patch`` files
    sorted by name (``git format-patch`` numbers them 0001-, 0002-, ...)."""
    if not patches.is_dir():
        raise PatchError(f"{patches}: not a directory",
                         "give the directory of a patch series (git format-patch output)")
    listing = patches / "series"
    if listing.is_file():
        try:
            lines = listing.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise PatchError(f"{listing}: cannot read it as text ({exc})") from None
        names = [n for line in lines if (n := line.split("#")[0].strip())]
        if bad := next((n for n in names if "\0" in n), None):
            raise PatchError(f"{listing}: lists {bad!r}, not a file name (a NUL byte)")
        series = [patches / n for n in names]
        home = patches.resolve()
        for name, p in zip(names, series, strict=True):
            if home not in p.resolve().parents:
                raise PatchError(f"{listing}: lists {name}, outside the series directory")
            if not p.is_file():
                raise PatchError(f"{listing}: lists {name}, which "
                                 + ("is not a file" if p.exists() else "does not exist"))
    else:
        series = sorted(patches.glob("*.patch"))
    if not series:
        raise PatchError(f"{patches}: no patches (no series file and no *.patch)")
    return series


def series_hash(series: Sequence[Path]) -> str:
    """The series' part of the key: each patch's content, in order (names do not matter)."""
    return _digest(*(p.read_bytes() for p in series)) if series else "none"


def build_key(version: str, series: Sequence[Path],
              config: dict[str, str] | None = None) -> str:
    """(source version, series, configuration) hashed: the name of the build's cache entry."""
    return _digest(version.encode(), series_hash(series).encode(),
                   config_hash(config).encode())


_TOUCHED = re.compile(r"^(?:---|\+\+\+) (?:a|b)/(\S+)", re.MULTILINE)


def touched_files(patch: Path) -> set[str]:
    """The source files a ``-p1`` patch modifies, creates or deletes."""
    return set(_TOUCHED.findall(patch.read_text(errors="replace")))


def _cached_sources() -> list[Source]:
    root = cache_dir() / "ksrc"
    found = [Source(ok.parent.name, ok.parent / SOURCE_PACKAGE)
             for ok in root.glob("*/ok") if (ok.parent / SOURCE_PACKAGE).is_dir()]
    return sorted(found, key=lambda s: [int(x) if x.isdigit() else x
                                        for x in re.split(r"[.\-+]", s.version)])


def cached_source() -> Source | None:
    """The newest source already unpacked in the cache, if any (no network)."""
    found = _cached_sources()
    return found[-1] if found else None


def fetch_source(log: Callable[[str], None] = lambda s: None) -> Source:
    """Debian 13's ``linux-source-6.12``: the cached tree if there is one, else downloaded with
    a private apt state, its tarball extracted with ``dpkg-deb`` and unpacked (about 1.5 GB).
    Delete ``ksrc/`` in the cache to fetch a newer point release."""
    have = cached_source()
    if have is not None:
        return have
    require_tool("dpkg-deb")
    opts = private_apt(SOURCE_SUITE, cache_dir() / "kernels" / f"apt-{SOURCE_SUITE}")
    root = cache_dir() / "ksrc"
    root.mkdir(parents=True, exist_ok=True)
    log(f"downloading {SOURCE_PACKAGE} (Debian {SOURCE_SUITE}, about 150 MB)")
    for old in root.glob(f"{SOURCE_PACKAGE}_*.deb"):
        old.unlink()
    run_apt(["apt-get", *opts, "download", SOURCE_PACKAGE], f"apt-get download {SOURCE_PACKAGE}",
         cwd=root)
    debs = sorted(root.glob(f"{SOURCE_PACKAGE}_*_all.deb"))
    if not debs:
        raise ConformError(f"apt-get download {SOURCE_PACKAGE} produced no .deb")
    version = debs[-1].name.split("_")[1]
    dest = root / version
    dest.mkdir(exist_ok=True)
    log(f"unpacking {debs[-1].name}")
    tarball = f"./usr/src/{SOURCE_PACKAGE}.tar.xz"
    _shell(f"dpkg-deb --fsys-tarfile {_q(debs[-1])} | tar -x -C {_q(dest)} "
           f"--strip-components=3 {tarball}", f"extracting {tarball} from {debs[-1].name}")
    _shell(f"tar -xf {SOURCE_PACKAGE}.tar.xz", f"unpacking {SOURCE_PACKAGE}.tar.xz", cwd=dest)
    debs[-1].unlink()
    (dest / "ok").write_text(version + "\n", encoding="utf-8")
    return Source(version, dest / SOURCE_PACKAGE)


def _q(path: Path | str) -> str:
    return "'" + str(path).replace("'", "'\\''") + "'"


def _shell(cmd: str, what: str, cwd: Path | None = None) -> None:
    done = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], cwd=cwd, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-2:]
        raise ConformError(f"{what} failed: {' / '.join(tail)}",
                           "check the free space under the cache directory (GUPCHECK_CACHE)")


def _restore(src: Path, work: Path, files: set[str]) -> None:
    """Put back the pristine version of ``files`` (a fresh mtime, so make rebuilds them)."""
    for name in sorted(files):
        target = work / name
        if target.exists():
            target.unlink()
        if (src / name).exists():
            shutil.copyfile(src / name, target)


def apply_series(series: Sequence[Path], tree: Path, label: str = "") -> None:
    """Apply each patch with ``patch -p1``, checking first (``--dry-run``) so that a patch that
    does not apply leaves the tree as it was and names itself in a one-line error."""
    exe = require_tool("patch")
    for p in series:
        args = [exe, "-p1", "--forward", "--batch", "--no-backup-if-mismatch", "-s", "-d",
                str(tree), "-i", str(p.resolve())]
        check = subprocess.run([*args, "--dry-run"], capture_output=True, text=True,
                               check=False)
        if check.returncode != 0:
            why = (check.stdout + check.stderr).strip().splitlines()
            raise PatchError(f"{p.name} does not apply to {label or tree.name}: "
                             f"{why[0] if why else 'patch failed'}")
        done = subprocess.run(args, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise PatchError(f"{p.name} failed to apply: {done.stdout.strip()[:200]}")


def check_applies(series: Sequence[Path], source: Source) -> None:
    """Whether the series applies, in order, to ``source`` (a scratch copy of the files it
    touches; the pristine tree is not modified)."""
    files = set().union(*(touched_files(p) for p in series))
    with tempfile.TemporaryDirectory(prefix="gupcheck-series-") as tmp:
        for name in files:
            if (source.tree / name).exists():
                (Path(tmp) / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source.tree / name, Path(tmp) / name)
        apply_series(series, Path(tmp), f"{SOURCE_PACKAGE} {source.version}")


def configure(src: Path, out: Path, config: dict[str, str], log_file: Path) -> None:
    """``make defconfig``, the options, ``make olddefconfig`` into ``.config.new``; replace
    ``.config`` only when it differs, so an unchanged configuration rebuilds nothing."""
    env = {**os.environ, "KCONFIG_CONFIG": ".config.new"}
    with open(log_file, "a") as log:
        for cmd in (["make", f"O={out}", "defconfig"],
                    ["scripts/config", "--file", str(out / ".config.new"),
                     *[a for k, v in sorted(config.items())
                       for a in (("-e", k) if v == "y" else ("-d", k))]],
                    ["make", f"O={out}", "olddefconfig"]):
            if subprocess.run(cmd, cwd=src, env=env, stdout=log, stderr=log,
                              check=False).returncode:
                raise ConformError(f"configuring the kernel failed ({' '.join(cmd[:3])})",
                                   f"see {log_file}")
    new = out / ".config.new"
    got = dict(re.findall(r"^CONFIG_(\w+)=(\S+)$", new.read_text(), re.MULTILINE))
    missing = sorted(k for k, v in config.items() if v == "y" and got.get(k) != "y")
    if missing:
        raise ConformError(f"the kernel configuration lacks {', '.join(missing)} after "
                           "olddefconfig (a dependency is off)", f"see {log_file}")
    old = out / ".config"
    if old.exists() and old.read_bytes() == new.read_bytes():
        new.unlink()
    else:
        new.replace(old)


#: host tools the kernel build runs -> the Debian package that provides them
BUILD_TOOLS: dict[str, str] = {"make": "make", "gcc": "gcc", "flex": "flex", "bison": "bison",
                               "bc": "bc", "nice": "coreutils", "patch": "patch"}
#: host headers the build compiles against -> the Debian package that provides them
BUILD_HEADERS: dict[str, str] = {"/usr/include/libelf.h": "libelf-dev",  # objtool
                                 "/usr/include/openssl/ssl.h": "libssl-dev"}  # sign-file


def check_build_tools() -> None:
    """Every host tool and header the build needs, or a ConformError naming what to install
    (before a long build, not after it)."""
    missing = sorted({pkg for tool, pkg in BUILD_TOOLS.items() if shutil.which(tool) is None}
                     | {pkg for path, pkg in BUILD_HEADERS.items() if not Path(path).exists()})
    if missing:
        raise ConformError("the kernel build lacks host tools or headers",
                           f"install them with: apt-get install {' '.join(missing)}")


def build(patches: Path | None, jobs: int = 2, log: Callable[[str], None] = lambda s: None,
          config: dict[str, str] | None = None) -> Built:
    """Build Linux 6.12 with the series in ``patches`` (None: the stock source) and return the
    bzImage, cached under ``kbuild/<key>/bzImage``; ``make`` runs under ``nice -n 19``."""
    cfg = config or CONFIG
    series = read_series(patches) if patches is not None else []
    source = fetch_source(log)
    key = build_key(source.version, series, cfg)
    dest = cache_dir() / "kbuild" / key
    if (dest / "bzImage").is_file():
        return Built(dest / "bzImage", key, True, 0.0)
    check_build_tools()
    work = cache_dir() / "kbuild" / f"work-{source.version}-{config_hash(cfg)}"
    work.mkdir(parents=True, exist_ok=True)
    with open(work / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build per work tree at a time
        src, out = work / "src", work / "out"
        if not (work / "src.ok").exists():
            log(f"copying the pristine {source.version} tree")
            shutil.rmtree(src, ignore_errors=True)
            _shell(f"cp -a {_q(source.tree)} {_q(src)}", "copying the source tree")
            (work / "src.ok").write_text("")
            (work / "applied.json").write_text("[]")
        previous = set(json.loads((work / "applied.json").read_text()))
        wanted = set().union(*(touched_files(p) for p in series)) if series else set()
        (work / "applied.json").write_text(json.dumps(sorted(previous | wanted)))
        _restore(source.tree, src, previous | wanted)
        try:
            apply_series(series, src, f"{SOURCE_PACKAGE} {source.version}")
        except PatchError:
            _restore(source.tree, src, wanted)
            (work / "applied.json").write_text("[]")  # every file is pristine again
            raise
        (work / "applied.json").write_text(json.dumps(sorted(wanted)))
        out.mkdir(exist_ok=True)
        dest.mkdir(parents=True, exist_ok=True)
        log_file = dest / "build.log"
        log_file.write_text("")
        configure(src, out, cfg, log_file)
        log(f"building bzImage (make -j{jobs}; log: {log_file})")
        start = time.monotonic()
        with open(log_file, "a") as fh:
            done = subprocess.run(["nice", "-n", "19", "make", f"O={out}", f"-j{jobs}",
                                   "bzImage"], cwd=src, stdout=fh, stderr=subprocess.STDOUT,
                                  check=False)
        seconds = time.monotonic() - start
        if done.returncode != 0:
            tail = log_file.read_text(errors="replace").strip().splitlines()[-1:]
            raise ConformError(f"make bzImage failed: {tail[0] if tail else '?'}",
                               f"see {log_file}")
        shutil.copyfile(out / ".config", dest / "config")
        for p in series:
            (dest / "series").mkdir(exist_ok=True)
            shutil.copyfile(p, dest / "series" / p.name)
        (dest / "build.json").write_text(json.dumps({
            "source": f"{SOURCE_PACKAGE} {source.version}", "jobs": jobs,
            "patches": [p.name for p in series], "seconds": round(seconds)}, indent=1) + "\n")
        tmp = dest / "bzImage.tmp"
        shutil.copyfile(out / "arch/x86/boot/bzImage", tmp)
        tmp.replace(dest / "bzImage")
    return Built(dest / "bzImage", key, False, seconds)
