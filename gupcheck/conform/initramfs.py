"""The guest's whole userland: a gzipped newc cpio with a static busybox, an /init script, the
probe binary and the few kernel modules the virtio disk and ext4 need.

There is no modprobe and no depmod output in an unpacked Debian kernel package, so module
dependencies are read from each module's own ``.modinfo`` (``depends=``) and the modules are
stored decompressed in load order; /init loads them with busybox ``insmod``.  ext4 finds its
checksum through the crypto API (a soft dependency on crc32c), which no one would load for it
here, so ``crc32c_generic`` is listed explicitly.  A second virtio disk, when QEMU has one (the
btrfs probes), is mounted at /btr; btrfs and its dependencies are then in the initramfs too.
An XFS disk (the xfs/ probes and race/xfs_*) is another virtio disk, recognised by its
superblock's magic ``XFSB`` at offset 0 (whichever of /dev/vdb, /dev/vdc it is) and mounted at
/xfs; Debian builds XFS as a module (``CONFIG_XFS_FS=m``), so xfs and its dependency libcrc32c
are then in the initramfs (libcrc32c finds crc32c_generic, already there for ext4).
An NVMe namespace with protection information, when QEMU has one (the race/pi_* probes), gets
a copy of the fresh ext4 of /dev/vda, written before either is mounted and through the block
layer, which generates the guard tags (an image written on the host would have no valid tags),
and is mounted at /pi; the nvme driver and the CRC providers it needs are then in the
initramfs.

After the probes /init reports the kernel log's WARNING/BUG counts, its first error lines
(KMSG-LINE) and how often each kind of ext4/btrfs/XFS message occurred, numbers blanked
(KMSG-KIND: kept in the cached boot output, read when a racy probe's counts need explaining).

The results go to the *second* serial port (/dev/ttyS1), which QEMU writes to a file: the
console (ttyS0) carries the kernel's own messages, and they would interleave with ours.
"""

from __future__ import annotations

import gzip
import io
import lzma
import re
import stat
from collections.abc import Iterable
from pathlib import Path

from .errors import ConformError

#: the drivers the guest needs before it can mount the ext4 disk (absent ones are built in)
WANTED_MODULES = ("virtio_pci", "virtio_blk", "crc32c_generic", "ext4")

#: added when a probe needs the second disk, a btrfs filesystem at /btr (racy btrfs probes)
BTRFS_MODULES = ("btrfs",)

#: added when a probe needs the XFS disk at /xfs (the xfs/ and race/xfs_* probes)
XFS_MODULES = ("xfs",)

#: added for the NVMe namespace with protection information at /pi (the race/pi_* probes):
#: the driver (nvme_core pulls in t10_pi on 6.1, built into the block layer on 6.12) and the
#: crypto providers that crc_t10dif and crc64_rocksoft look up by name, which no one would load
NVME_PI_MODULES = ("crct10dif_generic", "crc64_rocksoft_generic", "nvme")

#: /init: mount the pseudo filesystems, load the modules, mount the disk, run the probes
INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
out=/dev/ttyS1
stty -F $out raw -echo 2>/dev/null
for m in $(cat /modules.order); do insmod /lib/modules/$m 2>>/tmp/insmod.err; done
echo "BOOT release=$(uname -r)" > $out
if [ -e /sys/class/nvme/nvme0 ]; then
    i=0
    while [ ! -b /dev/nvme0n1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
    mkdir -p /pi
    if dd if=/dev/vda of=/dev/nvme0n1 bs=1M conv=fsync 2>/tmp/dd.err; then
        mount -t ext4 /dev/nvme0n1 /pi 2>/tmp/mount3.err ||
            echo "BOOT-ERROR mount nvme0n1: $(cat /tmp/mount3.err /tmp/insmod.err | tr '\n' ' ')" > $out
    else
        echo "BOOT-ERROR copy to nvme0n1: $(cat /tmp/dd.err /tmp/insmod.err | tr '\n' ' ')" > $out
    fi
fi
mkdir -p /mnt
if ! mount -t ext4 /dev/vda /mnt 2>/tmp/mount.err; then
    echo "BOOT-ERROR mount: $(cat /tmp/mount.err /tmp/insmod.err | tr '\n' ' ')" > $out
    poweroff -f
fi
for d in /dev/vdb /dev/vdc; do
    [ -b $d ] || continue
    if [ "$(dd if=$d bs=4 count=1 2>/dev/null)" = XFSB ]; then
        mkdir -p /xfs
        mount -t xfs $d /xfs 2>/tmp/mount4.err ||
            echo "BOOT-ERROR mount xfs: $(cat /tmp/mount4.err /tmp/insmod.err | tr '\n' ' ')" > $out
    else
        mkdir -p /btr
        mount -t btrfs $d /btr 2>/tmp/mount2.err ||
            echo "BOOT-ERROR mount btrfs: $(cat /tmp/mount2.err /tmp/insmod.err | tr '\n' ' ')" > $out
    fi
done
echo 16 > /proc/sys/vm/nr_hugepages
args=$(sed -n 's/.*gupprobe=\([^ ]*\).*/\1/p' /proc/cmdline | tr ',' ' ')
/gupprobe $args > $out 2>&1
echo "KMSG warnings=$(dmesg | grep -c 'WARNING:') bugs=$(dmesg | grep -c 'BUG:')" > $out
dmesg | grep -E 'WARNING:|BUG:|EXT4-fs (error|warning)|BTRFS (error|warning|critical)|protection error|sct 0x2 |XFS .*([Ee]rror|[Cc]orrupt|discard)' | head -20 | sed 's/^/KMSG-LINE /' > $out
dmesg | grep -E 'WARNING:|BUG:|EXT4-fs|BTRFS|XFS|nvme0n1|JBD2' | sed -e 's/^\[[ 0-9.]*\] //' -e 's/[0-9][0-9]*/N/g' | sort | uniq -c | sort -rn | head -15 | sed 's/^ */KMSG-KIND /' > $out
echo "END" > $out
sync
umount /mnt
poweroff -f
"""


def modinfo(data: bytes) -> dict[str, str]:
    """The key=value strings of a module's .modinfo section (scanned, not ELF-parsed: the
    section is NUL-separated ASCII, and these keys occur nowhere else)."""
    out: dict[str, str] = {}
    for m in re.finditer(rb"(?:^|\x00)(depends|softdep|name|vermagic)=([^\x00]*)", data):
        out.setdefault(m.group(1).decode(), m.group(2).decode(errors="replace"))
    return out


def read_module(path: Path) -> bytes:
    """A module file's bytes, decompressed (.ko, .ko.xz; .ko.zst/.gz need the matching tool)."""
    raw = path.read_bytes()
    if path.name.endswith(".xz"):
        return lzma.decompress(raw)
    if path.name.endswith(".gz"):
        return gzip.decompress(raw)
    if path.name.endswith(".zst"):
        import subprocess
        try:
            return subprocess.run(["zstd", "-dc", str(path)], capture_output=True,
                                  check=True).stdout
        except (OSError, subprocess.CalledProcessError):
            raise ConformError(f"{path.name} is zstd-compressed",
                               "install zstd: apt-get install zstd") from None
    return raw


def module_index(modules: Path) -> dict[str, Path]:
    """Module name (with '-' as '_') -> file, for every module of the tree."""
    index: dict[str, Path] = {}
    for p in (modules / "kernel").rglob("*.ko*"):
        name = re.sub(r"\.ko(\.\w+)?$", "", p.name).replace("-", "_")
        index[name] = p
    return index


def resolve_modules(modules: Path, wanted: Iterable[str] = WANTED_MODULES
                    ) -> list[tuple[str, bytes]]:
    """(name, decompressed bytes) of ``wanted`` and their dependencies, dependencies first.

    A wanted module that is neither a module nor listed in modules.builtin is an error: the
    guest could not mount its disk."""
    index = module_index(modules)
    builtin_file = modules / "modules.builtin"
    builtin = {re.sub(r"\.ko$", "", Path(line).name).replace("-", "_")
               for line in (builtin_file.read_text().split() if builtin_file.exists() else ())}
    order: list[tuple[str, bytes]] = []
    done: set[str] = set()

    def visit(name: str, chain: tuple[str, ...]) -> None:
        name = name.replace("-", "_")
        if name in done or name in chain:
            return
        if name not in index:
            if name in builtin or not builtin_file.exists():
                done.add(name)
                return
            raise ConformError(f"kernel module {name} not found in {modules}")
        data = read_module(index[name])
        for dep in filter(None, modinfo(data).get("depends", "").split(",")):
            visit(dep, (*chain, name))
        done.add(name)
        order.append((name, data))

    for want in wanted:
        visit(want, ())
    return order


def _cpio_entry(out: io.BytesIO, ino: int, name: str, mode: int, data: bytes = b"") -> None:
    """One newc record (the format the kernel's initramfs unpacker reads)."""
    fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0)
    out.write(b"070701" + b"".join(f"{f:08X}".encode() for f in fields))
    out.write(name.encode() + b"\x00")
    out.write(b"\x00" * (-out.tell() % 4))
    out.write(data)
    out.write(b"\x00" * (-out.tell() % 4))


def build(busybox: Path, probe: Path, modules: list[tuple[str, bytes]]) -> bytes:
    """The gzipped initramfs."""
    out = io.BytesIO()
    entries: list[tuple[str, int, bytes]] = [
        (d, stat.S_IFDIR | 0o755, b"")
        for d in ("bin", "dev", "proc", "sys", "tmp", "mnt", "lib", "lib/modules")]
    entries += [
        ("bin/busybox", stat.S_IFREG | 0o755, busybox.read_bytes()),
        ("init", stat.S_IFREG | 0o755, INIT.encode()),
        ("gupprobe", stat.S_IFREG | 0o755, probe.read_bytes()),
        ("modules.order", stat.S_IFREG | 0o644,
         "".join(f"{name}.ko\n" for name, _ in modules).encode()),
    ]
    entries += [(f"lib/modules/{name}.ko", stat.S_IFREG | 0o644, data) for name, data in modules]
    for ino, (name, mode, data) in enumerate(entries, start=1):
        _cpio_entry(out, ino, name, mode, data)
    _cpio_entry(out, 0, "TRAILER!!!", 0)
    return gzip.compress(out.getvalue(), compresslevel=1)
