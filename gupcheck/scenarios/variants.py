"""Scenario variants: the obvious neighbours of a scenario, to test how robust a verdict is.

A design that "holds" on a scenario should still hold when the scenario gets one more of what
the kernel routinely does beside it (issue 14): a second data-integrity syncer in another
thread, one more writeback pass, one more reclaim attempt, a second page.  Each variant here is
a pure function ``Scenario -> Scenario | None`` (``None``: the variant does not apply, e.g. no
flusher means no "one more writeback pass"); :func:`variants` lists those that apply.

The variants, with the kernel paths they add:

* ``+fsync``: another user thread calls fsync(2) once — ``vfs_fsync_range`` ->
  ``file_write_and_wait_range`` (WB_SYNC_ALL writeback, then ``filemap_fdatawait_range``);
* ``+msync``: another user thread calls msync(MS_SYNC) once, which calls ``vfs_fsync_range``
  only for a ``VM_SHARED`` mapping (mm/msync.c, ``SYSCALL_DEFINE3(msync)``): skipped on a
  MAP_PRIVATE scenario, where it syncs nothing;
* ``+dio-read``: another process reads the file with O_DIRECT — ``iomap_dio_rw`` ->
  ``kiocb_write_and_wait`` writes the range back and waits first, so it is a data-integrity
  writeback too; one read per page the scenario's operations name (page 0 if none);
* ``+writeback``: one more background pass (``wb_writeback``) for the flusher;
* ``+reclaim``: one more ``shrink_folio_list`` attempt (kswapd, or MADV_PAGEOUT);
* ``+page``: the file and the mapping get one more page, and the data moved into the old last
  page moves into the new one too (see :func:`plus_page`).

Syncers (``+fsync``, ``+msync``, ``+dio-read``) need a page-cache file the scenario uses: they are
skipped on FS-DAX (no page cache modelled), when every operation is on anonymous memory, and
``+dio-read`` on shmem (tmpfs has no writeback for the read to wait for; the model has no
O_DIRECT read of a tmpfs file).  Names are short and stable: reports and ``gupcheck check
--variant NAME`` use them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from gupcheck.kernel.system import ActorSpec, Op, Scenario

from .loader import ANON_NEEDS

#: direct-I/O reads into the mapping, ("dio_read" | "aio_read", page, value[, count])
DIO_READS = ("dio_read", "aio_read")
#: the reclaim operations (what ``+reclaim`` repeats)
_RECLAIM = ("kswapd_reclaim", "madvise_pageout")
#: the most pages a scenario may have (the loader's bound)
MAX_PAGES = 4
#: most free blocks (the loader's bound)
MAX_FREE = 8


def uses_file(sc: Scenario) -> bool:
    """Whether any operation touches the file or its mapping (not only anonymous memory)."""
    return any(op[0] not in ANON_NEEDS for a in sc.actors for op in a.program)


def _file_pages(sc: Scenario) -> int:
    return sc.npages if sc.file_pages is None else sc.file_pages


def _pages_used(sc: Scenario) -> list[int]:
    """The file pages the scenario's operations name (a ``dio_read``'s whole range), in order."""
    used: set[int] = set()
    for a in sc.actors:
        for op in a.program:
            if op[0] in ANON_NEEDS or len(op) < 2 or not isinstance(op[1], int):
                continue
            count = op[3] if op[0] in DIO_READS and len(op) > 3 else 1
            used.update(range(op[1], op[1] + count))
    return sorted(p for p in used if p < _file_pages(sc))


def _next_cpu(sc: Scenario) -> int:
    """The number for a new user thread's name: one above the highest ``CPUn`` in use."""
    cpus = [int(m.group(1)) for a in sc.actors if (m := re.match(r"CPU(\d+)\b", a.name))]
    return max(cpus, default=-1) + 1


def _rename(sc: Scenario, variant: str, what: str, **changes: object) -> Scenario:
    return replace(sc, name=f"{sc.name}{variant}",
                   description=f"{sc.description} Variant {variant}: {what}", **changes)


def _with_thread(sc: Scenario, variant: str, label: str, program: tuple[Op, ...],
                 what: str) -> Scenario:
    """``sc`` with one more user thread (appended: the existing actors keep their slots)."""
    actor = ActorSpec(f"CPU{_next_cpu(sc)} {label}", program)
    return _rename(sc, variant, what, actors=(*sc.actors, actor))


def _syncer_applies(sc: Scenario) -> bool:
    return sc.filesystem != "fsdax" and uses_file(sc) and _file_pages(sc) > 0


def plus_fsync(sc: Scenario) -> Scenario | None:
    """Another user thread calls fsync(2) once, at any point of the scenario."""
    if not _syncer_applies(sc):
        return None
    return _with_thread(sc, "+fsync", "fsync", (("fsync",),),
                        "another thread calls fsync(2) once.")


def plus_msync(sc: Scenario) -> Scenario | None:
    """Another user thread calls msync(MS_SYNC) once; not on a MAP_PRIVATE mapping, where
    mm/msync.c calls no ``vfs_fsync_range`` (it needs ``VM_SHARED``)."""
    if not _syncer_applies(sc) or sc.private:
        return None
    return _with_thread(sc, "+msync", "msync", (("msync",),),
                        "another thread calls msync(MS_SYNC) once.")


def plus_dio_read(sc: Scenario) -> Scenario | None:
    """Another process reads the file with O_DIRECT (``dio_read_file``), one page after the
    other: each read writes its range back first (``kiocb_write_and_wait``)."""
    if not _syncer_applies(sc) or sc.filesystem == "shmem":
        return None
    pages = _pages_used(sc) or [0]
    return _with_thread(sc, "+dio-read", "dio read", tuple(("dio_read_file", p) for p in pages),
                        f"another process reads page(s) {pages} of the file with O_DIRECT.")


def plus_writeback(sc: Scenario) -> Scenario | None:
    """One more background writeback pass: appended to the flusher (the first daemon whose
    program is only writeback passes); if the passes run elsewhere (a daemon that does other
    things too), a new flusher daemon with one pass.  No writeback pass at all: skipped."""
    flusher = next((i for i, a in enumerate(sc.actors) if a.daemon and a.program
                    and all(op[0] == "writeback_pass" for op in a.program)), None)
    what = "one more background writeback pass."
    if flusher is not None:
        a = sc.actors[flusher]
        actors = list(sc.actors)
        actors[flusher] = replace(a, program=(*a.program, ("writeback_pass",)))
        return _rename(sc, "+writeback", what, actors=tuple(actors))
    if not any(op[0] == "writeback_pass" for a in sc.actors for op in a.program):
        return None
    names = {a.name for a in sc.actors}
    name = next(f"flusher{n}" for n in range(2, 100) if f"flusher{n}" not in names)
    new = ActorSpec(name, (("writeback_pass",),), daemon=True)
    return _rename(sc, "+writeback", what, actors=(*sc.actors, new))


def plus_reclaim(sc: Scenario) -> Scenario | None:
    """One more reclaim attempt: the first actor that reclaims (kswapd's ``kswapd_reclaim`` or a
    thread's ``madvise_pageout``) repeats its last attempt right after it.  None: skipped."""
    for i, a in enumerate(sc.actors):
        at = [pc for pc, op in enumerate(a.program) if op[0] in _RECLAIM]
        if at:
            pc = at[-1]
            program = (*a.program[:pc + 1], a.program[pc], *a.program[pc + 1:])
            actors = list(sc.actors)
            actors[i] = replace(a, program=program)
            return _rename(sc, "+reclaim", f"{a.name} makes one more reclaim attempt.",
                           actors=tuple(actors))
    return None


def plus_page(sc: Scenario) -> Scenario | None:
    """A second page: the mapping (and the file, if it covered the old last page) grows by one
    page ``n``, and the data moved into the old last page ``n-1`` now moves into ``n`` as well —
    a ``dio_read`` whose range ends at ``n-1`` covers ``n`` too (``count + 1``: the read pins
    its pages one by one, and a failure after the first is the partial-read path), and a CPU
    ``store`` to ``n-1`` is repeated on ``n`` right after it.  Other operations keep their page:
    the pins and reclaim stay on the old page, writeback and fsync cover every page anyway.
    A copy-on-write filesystem's free space grows with the file (a new page needs its own new
    block), so ENOSPC is not just the variant's arithmetic.  Skipped at the loader's 4 pages,
    and when nothing moves data into the last page."""
    n = sc.npages
    if n >= MAX_PAGES:
        return None
    changed = False
    actors = []
    for a in sc.actors:
        program: list[Op] = []
        for op in a.program:
            if op[0] in DIO_READS:
                count = op[3] if len(op) > 3 else 1
                if op[1] + count == n:
                    op, changed = (op[0], op[1], op[2], count + 1), True
            program.append(op)
            if op[0] == "store" and op[1] == n - 1:
                program.append(("store", n, op[2], op[3]))
                changed = True
        actors.append(replace(a, program=tuple(program)))
    if not changed:
        return None
    file_pages = sc.file_pages if sc.file_pages is not None and sc.file_pages < n else None
    free = min(MAX_FREE, sc.free_blocks * (n + 1) // n) if sc.free_blocks else 0
    return _rename(sc, "+page", f"the data moved into page {n - 1} also moves into a new page "
                   f"{n}.", actors=tuple(actors), npages=n + 1, file_pages=file_pages,
                   free_blocks=free)


#: every variant, by name, in report order
VARIANTS: dict[str, Callable[[Scenario], Scenario | None]] = {
    "+fsync": plus_fsync,
    "+msync": plus_msync,
    "+dio-read": plus_dio_read,
    "+writeback": plus_writeback,
    "+reclaim": plus_reclaim,
    "+page": plus_page,
}


#: what ``gupcheck matrix --variants`` runs: every variant but ``+msync``, which is the same
#: kernel path as ``+fsync`` in this model (msync(MS_SYNC) of a shared mapping is
#: ``vfs_fsync_range``; gupcheck/kernel/sync.py models both), so it could only repeat the
#: ``+fsync`` verdict at twice the cost; ``check --variant +msync`` runs it
MATRIX_VARIANTS: tuple[str, ...] = tuple(n for n in VARIANTS if n != "+msync")


def variants(sc: Scenario, names: tuple[str, ...] | None = None) -> list[tuple[str, Scenario]]:
    """The variants of ``sc`` that apply, as (name, scenario), in :data:`VARIANTS` order;
    ``names``: only those (default: all)."""
    out = []
    for name, fn in VARIANTS.items():
        if names is not None and name not in names:
            continue
        v = fn(sc)
        if v is not None:
            out.append((name, v))
    return out


def normalise(name: str) -> str:
    """``fsync`` or ``+fsync`` -> ``+fsync``; an unknown name raises ``KeyError`` naming the
    known ones."""
    key = name if name.startswith("+") else f"+{name}"
    if key not in VARIANTS:
        raise KeyError(f"unknown variant {name!r}; choose one of: {', '.join(VARIANTS)}")
    return key


def apply(sc: Scenario, name: str) -> Scenario:
    """``sc``'s variant ``name``; ``ValueError`` (one line) if it does not apply."""
    key = normalise(name)
    v = VARIANTS[key](sc)
    if v is None:
        raise ValueError(f"variant {key} does not apply to scenario {sc.name!r} "
                         f"({_why_not(sc, key)})")
    return v


def split_name(name: str) -> tuple[str, list[str]]:
    """``dio-vs-reclaim+fsync+page`` -> (``dio-vs-reclaim``, [``+fsync``, ``+page``]): the name
    a variant scenario carries (in traces written by ``check --trace-out``)."""
    base, *parts = name.split("+")
    return base, [f"+{p}" for p in parts]


def _why_not(sc: Scenario, key: str) -> str:
    if key in ("+fsync", "+msync", "+dio-read"):
        if sc.filesystem == "fsdax":
            return "FS-DAX has no page cache modelled"
        if not uses_file(sc):
            return "the scenario does not use the file"
        if key == "+msync" and sc.private:
            return "msync(MS_SYNC) of a MAP_PRIVATE mapping syncs nothing"
        if key == "+dio-read" and sc.filesystem == "shmem":
            return "no O_DIRECT read of a tmpfs file is modelled"
        return "the file has no page"
    if key == "+writeback":
        return "it has no writeback pass"
    if key == "+reclaim":
        return "it has no reclaim attempt"
    return f"it already has {MAX_PAGES} pages" if sc.npages >= MAX_PAGES else \
        "nothing moves data into its last page"
