"""Booting a kernel under QEMU and collecting what the probes printed.

No KVM on these machines: TCG with one thread per vCPU (``-accel tcg,thread=multi``); one vCPU
(the default) keeps the shared host's two cores usable for others, two let a racy probe's
threads really run at once.  ``read_iops`` throttles the disk's reads in QEMU
(``throttling.iops-read``) and leaves its writes alone: a slow disk, on which a direct-I/O read
stays in flight long enough for writeback to clean its pages before the DMA lands.  The disk
is a fresh ext4 image made on the host with ``mkfs.ext4`` for every boot, so no probe sees
another run's files; so are the btrfs and XFS disks (``mkfs.btrfs``, ``mkfs.xfs``) when a probe
needs them.  The guest writes its results to the second serial port, which QEMU stores in a
file; the console (first port) is kept too, and shown when the guest never reports.

For the PI probes (race/pi_*) the guest also gets an NVMe controller with one namespace
formatted with 8 bytes of metadata per 512-byte block, separate from the data (with
``mset=1``, extended LBAs, 6.1's PCIe driver registers no integrity profile), holding
protection information type 1 (``pi=1``: a CRC-16 guard tag, an application and a reference
tag per block).  Linux registers an integrity profile for it, so the filesystem on it requires
stable pages, and QEMU checks the guard tags of every write against the data it fetched.  Its
reads are not throttled: ``read_iops`` is for the disk the DMA comes from.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import ConformError, require_tool
from .kernels import Kernel


@dataclass(frozen=True)
class Boot:
    """What one boot produced."""

    results: str  # the second serial port: PROBE lines and the KMSG summary
    console: str  # the first serial port: the kernel log
    seconds: float
    timed_out: bool


def make_disk(path: Path, size_mib: int = 64) -> None:
    """An empty ext4 image, fully initialised now (no lazy init I/O racing the probes)."""
    mkfs = require_tool("mkfs.ext4")
    with open(path, "wb") as f:
        f.truncate(size_mib << 20)
    done = subprocess.run([mkfs, "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0",
                           str(path)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ConformError(f"mkfs.ext4 failed: {done.stderr.strip()}")


#: mkfs.xfs (xfsprogs 6.1) refuses a filesystem smaller than 300 MiB
XFS_MIN_MIB = 300


def make_xfs(path: Path, size_mib: int = XFS_MIN_MIB) -> None:
    """An empty XFS image (mkfs.xfs' defaults: V5 with CRCs, reflink, 4 KiB blocks), sparse on
    the host, for the xfs/ probes' disk; the smallest XFS mkfs.xfs makes, so that race/xfs_enospc
    fills it quickly."""
    mkfs = require_tool("mkfs.xfs")
    with open(path, "wb") as f:
        f.truncate(size_mib << 20)
    done = subprocess.run([mkfs, "-q", "-f", str(path)], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise ConformError(f"mkfs.xfs failed: {done.stderr.strip()}")


def make_btrfs(path: Path, size_mib: int = 160) -> None:
    """An empty btrfs image (single data and metadata profiles: a small filesystem whose free
    space a probe can use up), for the btrfs probes' second disk."""
    mkfs = require_tool("mkfs.btrfs")
    with open(path, "wb") as f:
        f.truncate(size_mib << 20)
    done = subprocess.run([mkfs, "-q", "-f", "-m", "single", "-d", "single", str(path)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ConformError(f"mkfs.btrfs failed: {done.stderr.strip()}")


#: the protection-information namespace: 512-byte blocks, 8 bytes of metadata each, PI type 1
PI_NAMESPACE = "logical_block_size=512,physical_block_size=512,ms=8,mset=0,pi=1"


def make_pi_disk(path: Path, data_mib: int = 64) -> None:
    """The NVMe namespace's backing file: ``data_mib`` of blocks (the copy of /dev/vda) and
    their metadata behind them (QEMU sizes the namespace as file size / (512 + 8)); left empty,
    the guest writes it through the block layer, which generates the tags."""
    blocks = (data_mib << 20) // 512
    with open(path, "wb") as f:
        f.truncate(blocks * (512 + 8) + (1 << 20))


def command(kernel: Kernel, initrd: Path, disk: Path, results: Path, probes: Sequence[str],
            memory_mib: int = 512, smp: int = 1, read_iops: int = 0,
            btrfs_disk: Path | None = None, pi_disk: Path | None = None,
            xfs_disk: Path | None = None) -> list[str]:
    """The qemu-system-x86_64 command line for one boot (read_iops 0: reads not throttled;
    btrfs_disk: a second virtio disk, /dev/vdb; xfs_disk: another virtio disk after it, /dev/vdb
    or /dev/vdc, throttled like the others; pi_disk: an NVMe namespace with protection
    information, /dev/nvme0n1)."""
    append = "console=ttyS0 quiet loglevel=4 panic=-1 oops=panic rdinit=/init"
    if probes:  # none: the probe binary runs every group
        append += f" gupprobe={','.join(probes)}"
    return [require_tool("qemu-system-x86_64"), "-accel", "tcg,thread=multi", "-m",
            str(memory_mib), "-smp", str(smp), "-no-reboot", "-display", "none", "-monitor", "none",
            "-kernel", str(kernel.bzimage), "-initrd", str(initrd), "-append", append,
            "-drive", f"file={disk},format=raw,if=virtio,cache=unsafe"
            + (f",throttling.iops-read={read_iops}" if read_iops else ""),
            *(["-drive", f"file={btrfs_disk},format=raw,if=virtio,cache=unsafe"
               + (f",throttling.iops-read={read_iops}" if read_iops else "")]
              if btrfs_disk else []),
            *(["-drive", f"file={xfs_disk},format=raw,if=virtio,cache=unsafe"
               + (f",throttling.iops-read={read_iops}" if read_iops else "")]
              if xfs_disk else []),
            *(["-drive", f"file={pi_disk},format=raw,if=none,id=pi0,cache=unsafe",
               "-device", "nvme,id=nvme0,serial=gupcheck-pi",
               "-device", f"nvme-ns,drive=pi0,bus=nvme0,nsid=1,{PI_NAMESPACE}"]
              if pi_disk else []),
            "-serial", "stdio", "-serial", f"file:{results}"]


def boot(kernel: Kernel, initrd: Path, probes: Sequence[str], timeout: float = 180.0,
         log: Callable[[str], None] = lambda s: None, smp: int = 1, read_iops: int = 0,
         btrfs: bool = False, pi: bool = False, xfs: bool = False) -> Boot:
    """Boot once, run ``probes`` (groups or group/case; empty: all) and return the output."""
    with tempfile.TemporaryDirectory(prefix="gupcheck-conform-") as tmp:
        disk, results = Path(tmp) / "disk.img", Path(tmp) / "results.txt"
        make_disk(disk)
        btrfs_disk = Path(tmp) / "btrfs.img" if btrfs else None
        if btrfs_disk:
            make_btrfs(btrfs_disk)
        pi_disk = Path(tmp) / "pi.img" if pi else None
        if pi_disk:
            make_pi_disk(pi_disk)
        xfs_disk = Path(tmp) / "xfs.img" if xfs else None
        if xfs_disk:
            make_xfs(xfs_disk)
        cmd = command(kernel, initrd, disk, results, probes, smp=smp, read_iops=read_iops,
                      btrfs_disk=btrfs_disk, pi_disk=pi_disk, xfs_disk=xfs_disk)
        log(f"booting {kernel.release} under QEMU (TCG, no KVM, {smp} vCPU)")
        start = time.monotonic()
        timed_out = False
        with open(Path(tmp) / "console.txt", "wb") as console:
            try:
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=console,
                                        stderr=subprocess.STDOUT)
            except OSError as exc:
                raise ConformError(f"cannot start QEMU: {exc}",
                                   "install it with: apt-get install qemu-system-x86") from None
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                proc.kill()
                proc.wait()
        seconds = time.monotonic() - start
        return Boot(results.read_text(errors="replace") if results.exists() else "",
                    (Path(tmp) / "console.txt").read_text(errors="replace"), seconds,
                    timed_out)
