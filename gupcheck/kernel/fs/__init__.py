"""The filesystems the model knows, one module each, each filling in the operation tables of
:mod:`..fsops`.  A scenario names one (``filesystem = "ext4"``); adding a filesystem is adding
a module here and its line in :data:`FILESYSTEMS`."""

from __future__ import annotations

from ..actor import Stage
from ..fsops import FileSystem
from . import cowfs, ext4, fsdax, shmem, xfs

#: every filesystem by the name scenarios use, with what each stands for
FILESYSTEMS: dict[str, FileSystem] = {
    "ext4": ext4.EXT4,
    "shmem": shmem.SHMEM,
    "cowfs": cowfs.COWFS,
    "fsdax": fsdax.FSDAX,
    "xfs": xfs.XFS,
}

#: a word on each, for error messages and `gupcheck list`
DESCRIPTIONS: dict[str, str] = {
    "ext4": "ext4 with delayed allocation (buffer_heads)",
    "shmem": "tmpfs, memfd",
    "cowfs": "a btrfs-like copy-on-write filesystem",
    "fsdax": "ext4 -o dax on persistent memory",
    "xfs": "XFS: iomap buffered I/O, delayed allocation, no buffer_heads",
}

#: the stages the filesystems' own multi-step paths add to the generic ones
STAGES: dict[str, Stage] = {name: stage for mod in (ext4, shmem, cowfs, fsdax, xfs)
                            for name, stage in mod.STAGES.items()}


def filesystem(name: str) -> FileSystem:
    """The filesystem called ``name``; a ValueError naming the valid ones otherwise."""
    try:
        return FILESYSTEMS[name]
    except KeyError:
        valid = ", ".join(f"{n!r} ({d})" for n, d in DESCRIPTIONS.items())
        raise ValueError(f"unknown filesystem {name!r}; choose one of {valid}") from None
