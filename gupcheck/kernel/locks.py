"""mmap_lock and invalidate_lock as the rw_semaphores they are: shared readers, one writer,
and writer preference.

kernel/locking/rwsem.c: once a writer is queued (RWSEM_FLAG_WAITERS with a writer at the head),
a new ``down_read`` does not jump ahead of it — it queues too (``rwsem_down_read_slowpath``;
reader optimistic lock-stealing is limited to the case where no writer waits).  That is what
turns two readers of ``mmap_lock`` into a deadlock: a fault holding ``mmap_read_lock`` waits for
a folio lock, a ``munmap``/``mmap``/``mprotect`` queues ``mmap_write_lock`` behind it, and the
folio lock's holder now cannot get ``mmap_read_lock`` (Dave Chinner,
<20181213005119.GD29416@dastard>: "you can't take fault-path only locks in the IO path").

Since 6.7 a shared-file page fault runs under the per-VMA lock instead; ``munmap`` then takes
``mmap_write_lock`` and waits in ``vma_start_write`` for the fault's VMA read lock, which gives
the same cycle.  The model keeps the mmap_lock form.

``filemap_invalidate_lock`` (``mapping->invalidate_lock``, ``EXT4_I(inode)->i_mmap_sem`` in
2018) is the same kind of rwsem: ``->page_mkwrite`` takes it shared, truncate and hole punch
for writing; a truncate queued behind a fault keeps the next fault out.

A writer first *queues* (a step that changes the state, so readers can see it) and then
acquires the lock once the readers drained: :func:`down_write_queue` and :func:`down_write`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .actor import Blocked
from .state import KState, replace


@dataclass(frozen=True, slots=True)
class RwSem:
    """Where one rwsem lives in :class:`~.state.KState`, and the kernel's names for it."""

    read_name: str  # what a reader calls: "mmap_read_lock"
    write_name: str  # what a writer calls: "mmap_write_lock"
    writer: str  # KState field: the holder for writing, or None
    readers: str  # KState field: the holders for reading
    queued: str  # KState field: writers waiting, in order
    held_note: str = " (held for writing)"  # how a reader's wait is described


MMAP_LOCK = RwSem("mmap_read_lock", "mmap_write_lock", "mmap_writer", "mmap_readers",
                  "mmap_queued")
INVALIDATE_LOCK = RwSem("filemap_invalidate_lock_shared", "filemap_invalidate_lock", "inv_excl",
                        "inv_shared", "inv_queued", held_note="")


def can_read(lock: RwSem, k: KState) -> Blocked | None:
    """Why a reader would block now (a writer holds the lock or is queued), or None."""
    writer, queued = getattr(k, lock.writer), getattr(k, lock.queued)
    if writer is not None:
        return Blocked(lock.read_name + lock.held_note, (writer,))
    if queued:
        return Blocked(f"{lock.read_name} (a writer is queued: writer preference)", queued)
    return None


def down_read(k: KState, who: str, lock: RwSem = MMAP_LOCK) -> KState | Blocked:
    """Take the lock for reading: blocked while a writer holds it or is queued for it."""
    blocked = can_read(lock, k)
    if blocked:
        return blocked
    return replace(k, **{lock.readers: tuple(sorted(getattr(k, lock.readers) + (who,)))})


def up_read(k: KState, who: str, lock: RwSem = MMAP_LOCK) -> KState:
    readers = list(getattr(k, lock.readers))
    readers.remove(who)
    return replace(k, **{lock.readers: tuple(readers)})


def down_write_queue(k: KState, who: str, lock: RwSem = MMAP_LOCK) -> KState:
    """The writer's first half: take the lock if free, else queue behind its holders."""
    if (getattr(k, lock.writer) is None and not getattr(k, lock.readers)
            and not getattr(k, lock.queued)):
        return replace(k, **{lock.writer: who})
    return replace(k, **{lock.queued: getattr(k, lock.queued) + (who,)})


def down_write(k: KState, who: str, lock: RwSem = MMAP_LOCK) -> KState | Blocked:
    """The writer's second half: a queued writer gets the lock once it is free."""
    writer, queued = getattr(k, lock.writer), getattr(k, lock.queued)
    if writer == who:
        return k
    holders = ((writer,) if writer else ()) + getattr(k, lock.readers)
    if holders or queued[0] != who:
        return Blocked(f"{lock.write_name} (waiting for the holders)", holders or queued[:1])
    return replace(k, **{lock.writer: who, lock.queued: queued[1:]})


def up_write(k: KState, who: str, lock: RwSem = MMAP_LOCK) -> KState:
    assert getattr(k, lock.writer) == who
    return replace(k, **{lock.writer: None})
