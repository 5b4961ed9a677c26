"""fsync(2) and msync(MS_SYNC): data-integrity writeback, then wait for it.

``vfs_fsync_range`` -> ``ext4_sync_file`` -> ``file_write_and_wait_range``: writeback with
WB_SYNC_ALL over the TOWRITE-tagged folios (tagged at the start), then
``filemap_fdatawait_range`` waits until no folio of the range is under writeback (the WRITEBACK
tag), and the error state (errseq) decides the return value.  msync(MS_SYNC) on a shared file
mapping calls ``vfs_fsync_range`` (mm/msync.c); MS_ASYNC has been a no-op since 2.6.19.

Property ``no-lost-write`` (modeling-notes §3 P3) is checked when fsync returns 0: every block
whose last write completed before fsync started, with no later write started since, must hold
that write's value on disk.
"""

from __future__ import annotations

from .actor import Blocked, Ctx, Move, Outcome
from .state import SUBBLOCKS, KState, replace
from .writeback import writeback_begin


def fsync(c: Ctx) -> Outcome:
    """("fsync",) or ("msync",)."""
    k = c.k
    if k.fs == "shmem":  # noop_fsync: tmpfs has nothing to write back
        return [Move(f"{c.op[0]}: noop_fsync (shmem)", c.finish(k, f"{c.op[0]}=0"))]
    expect = tuple(tuple(k.promised(p, b) for b in range(SUBBLOCKS)) for p in range(len(k.cache)))
    k = k.with_ghost(fsync_expect=tuple(sorted((*_others(k, c.me), (c.me, expect)))))
    k = writeback_begin(c, k, sync=True, ret="fsync:wait")
    name = "msync(MS_SYNC) -> vfs_fsync_range" if c.op[0] == "msync" else "fsync -> vfs_fsync_range"
    return [Move(f"{name}: file_write_and_wait_range (WB_SYNC_ALL, tag TOWRITE)", k)]


def stage_wait(c: Ctx) -> Outcome:
    """filemap_fdatawait_range, then the errseq check: -EIO if a writeback error was recorded
    since this file last looked (``file_check_and_advance_wb_err``), else 0."""
    k = c.k
    busy = [p for p, f in k.cached_folios() if f.writeback]
    if busy:
        return Blocked(f"filemap_fdatawait_range: writeback of page {busy[0]}", ("disk",))
    t = k.threads[c.me]
    if k.wb_err <= t.errseq:
        k = _check_durable(k, c.me, c.op[0])
    k = k.with_ghost(fsync_expect=_others(k, c.me))
    if k.wb_err > t.errseq:  # file_check_and_advance_wb_err
        k = k.with_thread(c.me, replace(k.threads[c.me], errseq=k.wb_err))
        return [Move(f"filemap_fdatawait_range: {c.op[0]} returns -{k.wb_errno} (errseq)",
                     c.finish(k, f"{c.op[0]}=-{k.wb_errno}"))]
    return [Move(f"filemap_fdatawait_range: {c.op[0]} returns 0", c.finish(k, f"{c.op[0]}=0"))]


def _others(k: KState, me: int) -> tuple[tuple[int, tuple[tuple[str | None, ...], ...]], ...]:
    """The expectations of the fsyncs other threads have in progress (each thread has its
    own: two threads may be in fsync at once, each promising what completed before it)."""
    return tuple(e for e in k.ghost.fsync_expect if e[0] != me)


def _check_durable(k: KState, me: int, what: str) -> KState:
    expect = dict(k.ghost.fsync_expect)[me]
    for p, row in enumerate(expect):
        for b, value in enumerate(row):
            on_disk = k.disk[p * SUBBLOCKS + b]
            if value is not None and on_disk != value:
                return k.violate(
                    "no-lost-write",
                    f"{what} returned 0 but page {p} block {b} holds {on_disk} on disk, not "
                    f"{value}, the last write completed before {what} started")
    return k


SYNC_STAGES = {"fsync:wait": stage_wait}
