"""What can go wrong outside gupcheck: a missing tool, an unreachable archive, a guest that
never reports.  Each is one exception carrying the fix, so the command line prints one line and
a distinct exit code instead of a traceback."""

from __future__ import annotations

import shutil
from dataclasses import dataclass


@dataclass
class ConformError(Exception):
    """The environment cannot run the conformance probes; ``fix`` says what to do about it."""

    message: str
    fix: str = ""

    def __str__(self) -> str:
        return f"{self.message}; {self.fix}" if self.fix else self.message


#: host tool -> the Debian package that provides it
TOOLS: dict[str, str] = {
    "qemu-system-x86_64": "qemu-system-x86",
    "gcc": "gcc",
    "mkfs.ext4": "e2fsprogs",
    "mkfs.btrfs": "btrfs-progs",  # only for the btrfs racy probes
    "mkfs.xfs": "xfsprogs",  # only for the XFS probes (xfs/, race/xfs_*)
    "dpkg-deb": "dpkg",
    "apt-get": "apt",
}

#: host files (not commands) the guest needs -> the Debian package that provides them
FILES: dict[str, str] = {
    "/bin/busybox": "busybox-static",
    "/usr/include/liburing.h": "liburing-dev",
}

INSTALL_ALL = ("apt-get install qemu-system-x86 busybox-static gcc liburing-dev e2fsprogs")


def require_tool(name: str) -> str:
    """The path of a host tool, or a ConformError naming the apt command that installs it."""
    path = shutil.which(name)
    if path is None:
        pkg = TOOLS.get(name, name)
        raise ConformError(f"{name} not found", f"install it with: apt-get install {pkg}")
    return path


def busybox_path() -> str:
    """A *static* busybox: the guest has no libc, so the dynamic one would not start."""
    for cand in ("/bin/busybox", "/usr/bin/busybox"):
        try:
            with open(cand, "rb") as f:
                head = f.read(1 << 16)
        except OSError:
            continue
        if b"/lib64/ld-linux" not in head and b"ld-linux-x86-64" not in head:
            return cand
    raise ConformError("no static busybox found",
                       "install it with: apt-get install busybox-static")
