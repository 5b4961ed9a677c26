"""No file cites notes that users do not have: a citation names a primary source (a kernel
commit, a source file and release, a mail's Message-ID) or a page of docs/ (docs/failures.md
for the F1-F10 failures)."""

from __future__ import annotations

import re
import subprocess

from .pasted import ROOT

#: the private notes' names, spelled in pieces so that this file does not cite them itself
PRIVATE = re.compile("|".join(re.escape(a + b) for a, b in (
    ("modeling", "-notes"), ("kernel", "-facts"), ("shared/", "reference"),
    ("realkernel", "-observations"))))

#: files allowed to cite the notes while they are being rewritten (none now); the second test
#: says when an entry has become clean
PENDING: frozenset[str] = frozenset()


def _files() -> list[str]:
    """Every file of the repository (tracked or new, not ignored), outside .git."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return sorted({f for f in out.splitlines() if (ROOT / f).is_file()})


def _citing() -> set[str]:
    found = set()
    for name in _files():
        try:
            text = (ROOT / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary
        if PRIVATE.search(text):
            found.add(name)
    return found


def test_no_file_cites_the_private_notes() -> None:
    bad = sorted(_citing() - PENDING)
    assert bad == [], f"cite a primary source or a page of docs/ instead, in: {bad}"


def test_the_pending_list_only_names_files_that_still_cite_them() -> None:
    clean = sorted(PENDING - _citing())
    assert clean == [], f"clean now: remove from PENDING in {__file__}: {clean}"
