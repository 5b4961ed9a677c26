"""Output paths checked before the work starts: a search may take hours, and its results must
not be lost to a typo in a folder name discovered only when they are written."""

from __future__ import annotations

import os
from pathlib import Path


def unwritable(path: Path, flag: str) -> str | None:
    """Why ``path`` cannot be written as the file of option ``flag``, or None if it can
    (a missing folder, a folder, a read-only place)."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        return f"cannot write {flag} {path}: it is a folder; give a file name"
    if not folder.is_dir():
        return f"cannot write {flag} {path}: the folder {folder} does not exist"
    if path.exists():
        return None if os.access(path, os.W_OK) else \
            f"cannot write {flag} {path}: permission denied"
    if not os.access(folder, os.W_OK):
        return f"cannot write {flag} {path}: permission denied in the folder {folder}"
    return _cannot_create(path, flag)


def _cannot_create(path: Path, flag: str) -> str | None:
    """Why a new file cannot be made at ``path``, found by making it (and removing it again):
    ``access`` says yes to root for any folder, a pseudo-filesystem's (/proc, /sys) too, where
    the file cannot be created."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except FileExistsError:  # made meanwhile: writing will tell
        return None
    except OSError as exc:
        return f"cannot write {flag} {path}: creating it fails ({exc.strerror or exc})"
    os.unlink(path)
    return None
