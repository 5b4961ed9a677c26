"""mmap_lock as the rw_semaphore it is: shared readers, one writer, and writer preference.

kernel/locking/rwsem.c: once a writer is queued (RWSEM_FLAG_WAITERS with a writer at the head),
a new ``down_read`` does not jump ahead of it — it queues too (``rwsem_down_read_slowpath``;
reader optimistic lock-stealing is limited to the case where no writer waits).  That is what
turns two readers of ``mmap_lock`` into a deadlock: a fault holding ``mmap_read_lock`` waits for
a folio lock, a ``munmap``/``mmap``/``mprotect`` queues ``mmap_write_lock`` behind it, and the
folio lock's holder now cannot get ``mmap_read_lock`` (modeling-notes §2.10).

Since 6.7 a shared-file page fault runs under the per-VMA lock instead; ``munmap`` then takes
``mmap_write_lock`` and waits in ``vma_start_write`` for the fault's VMA read lock, which gives
the same cycle.  The model keeps the mmap_lock form.

A writer first *queues* (a step that changes the state, so readers can see it) and then
acquires the lock once the readers drained: :func:`down_write_queue` and :func:`down_write`.
"""

from __future__ import annotations

from .actor import Blocked
from .state import KState, replace


def down_read(k: KState, who: str) -> KState | Blocked:
    """mmap_read_lock: blocked while a writer holds the lock or is queued for it."""
    if k.mmap_writer is not None:
        return Blocked("mmap_read_lock (held for writing)", (k.mmap_writer,))
    if k.mmap_queued:
        return Blocked("mmap_read_lock (a writer is queued: writer preference)", k.mmap_queued)
    return replace(k, mmap_readers=tuple(sorted(k.mmap_readers + (who,))))


def up_read(k: KState, who: str) -> KState:
    readers = list(k.mmap_readers)
    readers.remove(who)
    return replace(k, mmap_readers=tuple(readers))


def down_write_queue(k: KState, who: str) -> KState:
    """mmap_write_lock, first half: take the lock if free, else queue behind its holders."""
    if k.mmap_writer is None and not k.mmap_readers and not k.mmap_queued:
        return replace(k, mmap_writer=who)
    return replace(k, mmap_queued=k.mmap_queued + (who,))


def down_write(k: KState, who: str) -> KState | Blocked:
    """mmap_write_lock, second half: a queued writer gets the lock once it is free."""
    if k.mmap_writer == who:
        return k
    holders = ((k.mmap_writer,) if k.mmap_writer else ()) + k.mmap_readers
    if holders or k.mmap_queued[0] != who:
        return Blocked("mmap_write_lock (waiting for the holders)", holders or k.mmap_queued[:1])
    return replace(k, mmap_writer=who, mmap_queued=k.mmap_queued[1:])


def up_write(k: KState, who: str) -> KState:
    assert k.mmap_writer == who
    return replace(k, mmap_writer=None)
