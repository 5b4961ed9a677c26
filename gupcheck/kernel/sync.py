"""fsync(2) and msync(MS_SYNC): data-integrity writeback, then wait for it.

``vfs_fsync_range`` -> ``ext4_sync_file`` -> ``file_write_and_wait_range``: writeback with
WB_SYNC_ALL over the TOWRITE-tagged folios (tagged at the start), then
``filemap_fdatawait_range`` waits until no folio of the range is under writeback (the WRITEBACK
tag), and the error state (errseq) decides the return value.  msync(MS_SYNC) on a shared file
mapping calls ``vfs_fsync_range`` (mm/msync.c); MS_ASYNC has been a no-op since 2.6.19.  msync
finds the VMAs under mmap_read_lock: with none left (munmap) it returns -ENOMEM; a MAP_PRIVATE
mapping it does not sync at all (only ``VM_SHARED`` file VMAs).  A range munmap left with a
hole returns -ENOMEM after the sync, which covers the whole file here (the kernel syncs each
VMA's part of it).

Property ``no-lost-write`` is checked when fsync returns 0: every block whose last write
completed before that fsync started, with no later write started since, must hold that write's
value on disk.  Each sync call keeps its own promise (``Ghost.fsync_expect``, by thread): an
fsync and an msync or a second fsync may run at once, and each returns for itself.  A sync that
returns 0 makes those blocks durable (``Ghost.crash_legal``, property ``crash-consistent``).
"""

from __future__ import annotations

from .actor import Blocked, Ctx, Move, Outcome
from .locks import MMAP_LOCK, can_read
from .state import KState, replace
from .writeback import writeback_begin


def fsync(c: Ctx) -> Outcome:
    """("fsync",) or ("msync",)."""
    k = c.k
    if c.op[0] == "msync":
        blocked = can_read(MMAP_LOCK, k)  # mmap_read_lock, find_vma
        if blocked:
            return blocked
        if len(k.unmapped) == len(k.ptes):  # munmap left no VMA of the file
            return [Move("msync: mmap_read_lock, find_vma: no VMA, -ENOMEM, mmap_read_unlock",
                         c.finish(k, "msync=-ENOMEM"))]
        if c.env.private:
            return [Move("msync: mmap_read_lock, not a VM_SHARED mapping: nothing to sync, "
                         "mmap_read_unlock", c.finish(k, "msync=0"))]
    if c.env.fs.f_ops.fsync is None:  # noop_fsync: tmpfs has nothing to write back
        return [Move(f"{c.op[0]}: noop_fsync ({c.env.fs.name})", c.finish(k, f"{c.op[0]}=0"))]
    k = k.sync_started(c.me)
    k = writeback_begin(c, k, sync=True, ret="fsync:wait")
    name = "msync(MS_SYNC) -> vfs_fsync_range" if c.op[0] == "msync" else "fsync -> vfs_fsync_range"
    return [Move(f"{name}: file_write_and_wait_range (WB_SYNC_ALL, tag TOWRITE)", k)]


def stage_wait(c: Ctx) -> Outcome:
    """filemap_fdatawait_range, then the errseq check: -EIO if a writeback error was recorded
    since this file last looked (``file_check_and_advance_wb_err``), else 0."""
    k = c.k
    busy = [p for p, f in k.cached_folios() if f.writeback]
    if busy:
        return Blocked(f"filemap_fdatawait_range: writeback of page {busy[0]}",
                       k.writeback_holders(k.fid(busy[0])))
    t = k.threads[c.me]
    ok = k.wb_err <= t.errseq
    enomem = c.op[0] == "msync" and bool(k.unmapped)  # synced, but part had no VMA
    k = _check_durable(k, c.me, c.op[0], "-ENOMEM" if enomem else "0") if ok else k
    k = k.sync_returned(c.me, durable=ok)
    if not ok:  # file_check_and_advance_wb_err
        k = k.with_thread(c.me, replace(k.threads[c.me], errseq=k.wb_err))
        return [Move(f"filemap_fdatawait_range: {c.op[0]} returns -{k.wb_errno} (errseq)",
                     c.finish(k, f"{c.op[0]}=-{k.wb_errno}"))]
    if enomem:
        return [Move("filemap_fdatawait_range: msync returns -ENOMEM (part of the range has no "
                     "VMA)", c.finish(k, "msync=-ENOMEM"))]
    return [Move(f"filemap_fdatawait_range: {c.op[0]} returns 0", c.finish(k, f"{c.op[0]}=0"))]


def _check_durable(k: KState, me: int, what: str, returned: str) -> KState:
    """no-lost-write, for the sync of thread ``me`` returning 0 (or msync's -ENOMEM for a
    range munmap left partly without a VMA, after syncing the file): its own promise, so that a
    sync running beside it in another thread neither adds to nor takes from it.  A page now at
    or beyond EOF is no part of the file: a truncate ran meanwhile and discarded what it held
    (the truncate's own zeros are what any later read gives back, :meth:`KState.read_back`)."""
    for p, row in enumerate(k.sync_promise(me)):
        if p >= k.i_size:
            continue
        for b, value in enumerate(row):
            on_disk = k.read_back(p, b)
            if value is not None and on_disk != value:
                return k.violate(
                    "no-lost-write",
                    f"{what} returned {returned} but page {p} block {b} holds {on_disk} on "
                    f"disk, not {value}, the last write completed before {what} started")
    return k


SYNC_STAGES = {"fsync:wait": stage_wait}
