"""Opening a file the user named (a scenario, a trace, a checkpoint): regular files only.

``open()`` of a FIFO blocks until a writer appears, forever if none does, and a character
device streams without end; neither is a file gupcheck could read.  The file is opened
non-blocking, checked with ``fstat``, then read as usual.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """``open(path, "rb")`` for a regular file; anything else (a FIFO, a socket, a device, a
    folder) raises an OSError saying so, as an unreadable file does."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file: a FIFO, socket, device or "
                          "folder", os.fspath(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
