"""mmap_lock and invalidate_lock as the rw_semaphores they are: shared readers, one writer,
and writer preference.

kernel/locking/rwsem.c: once a writer is queued (RWSEM_FLAG_WAITERS with a writer at the head),
a new ``down_read`` does not jump ahead of it — it queues too (``rwsem_down_read_slowpath``;
reader optimistic lock-stealing is limited to the case where no writer waits).  That is what
turns two readers of ``mmap_lock`` into a deadlock: a fault holding ``mmap_read_lock`` waits for
a folio lock, a ``munmap``/``mmap``/``mprotect`` queues ``mmap_write_lock`` behind it, and the
folio lock's holder now cannot get ``mmap_read_lock`` (Dave Chinner,
<20181213005119.GD29416@dastard>: "you can't take fault-path only locks in the IO path").

Since 6.7 a CPU fault on a file mapping runs under the per-VMA lock instead; ``munmap`` then
takes ``mmap_write_lock`` and waits in ``vma_start_write`` for the fault's VMA read lock, which
gives the same cycle.  gupcheck records that VMA lock as a reader of mmap_lock that is taken
past a queued writer (:func:`.fault.lock_mm_and_find_vma`, ``KernelConfig.fault_vma_lock``).

``filemap_invalidate_lock`` (``mapping->invalidate_lock``, ``EXT4_I(inode)->i_mmap_sem`` in
2018) is the same kind of rwsem: ``->page_mkwrite`` takes it shared, truncate and hole punch
for writing; a truncate queued behind a fault keeps the next fault out.

A writer first *queues* (a step that changes the state, so readers can see it) and then
acquires the lock once the readers drained: :func:`down_write_queue` and :func:`down_write`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .actor import Blocked, Ctx, Move, Outcome
from .state import KState, RwSemState, replace


@dataclass(frozen=True, slots=True)
class RwSem:
    """Which rwsem of :class:`~.state.KState`, and the kernel's names for it."""

    field: str  # the KState field holding its RwSemState
    read_name: str  # what a reader calls: "mmap_read_lock"
    write_name: str  # what a writer calls: "mmap_write_lock"
    held_note: str = " (held for writing)"  # how a reader's wait is described

    def of(self, k: KState) -> RwSemState:
        return getattr(k, self.field)  # type: ignore[no-any-return]

    def put(self, k: KState, **changes: object) -> KState:
        """``k`` with this lock's state changed."""
        return replace(k, **{self.field: replace(self.of(k), **changes)})


MMAP_LOCK = RwSem("mmap_lock", "mmap_read_lock", "mmap_write_lock")
INVALIDATE_LOCK = RwSem("invalidate_lock", "filemap_invalidate_lock_shared",
                        "filemap_invalidate_lock", held_note="")


def can_read(lock: RwSem, k: KState) -> Blocked | None:
    """Why a reader would block now (a writer holds the lock or is queued), or None."""
    s = lock.of(k)
    if s.writer is not None:
        return Blocked(lock.read_name + lock.held_note, (s.writer,))
    if s.queued:
        return Blocked(f"{lock.read_name} (a writer is queued: writer preference)", s.queued)
    return None


def down_read(k: KState, who: str, lock: RwSem = MMAP_LOCK) -> KState | Blocked:
    """Take the lock for reading: blocked while a writer holds it or is queued for it."""
    blocked = can_read(lock, k)
    if blocked:
        return blocked
    return lock.put(k, readers=tuple(sorted(lock.of(k).readers + (who,))))


def read_acquired(k: KState, who: str, lock: RwSem) -> KState:
    """``who`` now holds the lock for reading (the caller checked :func:`can_read` in the same
    step)."""
    return lock.put(k, readers=tuple(sorted(lock.of(k).readers + (who,))))


def holds_read(k: KState, who: str, lock: RwSem = MMAP_LOCK) -> bool:
    """Whether ``who`` holds the lock for reading."""
    return who in lock.of(k).readers


def up_read(k: KState, who: str, lock: RwSem = MMAP_LOCK) -> KState:
    readers = list(lock.of(k).readers)
    readers.remove(who)
    return lock.put(k, readers=tuple(readers))


def down_write_queue(k: KState, who: str, lock: RwSem = MMAP_LOCK) -> KState:
    """The writer's first half: take the lock if free, else queue behind its holders."""
    s = lock.of(k)
    if s.writer is None and not s.readers and not s.queued:
        return lock.put(k, writer=who)
    return lock.put(k, queued=s.queued + (who,))


def down_write(k: KState, who: str, lock: RwSem = MMAP_LOCK) -> KState | Blocked:
    """The writer's second half: a queued writer gets the lock once it is free."""
    s = lock.of(k)
    if s.writer == who:
        return k
    holders = ((s.writer,) if s.writer else ()) + s.readers
    if holders or s.queued[0] != who:
        return Blocked(f"{lock.write_name} (waiting for the holders)", holders or s.queued[:1])
    return lock.put(k, writer=who, queued=s.queued[1:])


def up_write(k: KState, who: str, lock: RwSem = MMAP_LOCK) -> KState:
    assert lock.of(k).writer == who
    return lock.put(k, writer=None)


#: what a writer does once it holds the lock: (state, "how it got it, ") -> its step
Then = Callable[[KState, str], Outcome]


def write_lock_then(c: Ctx, who: str, stage: str, then: Then,
                    lock: RwSem = MMAP_LOCK) -> Outcome:
    """A writer's first step (munmap, fork): take the lock and go on with ``then`` in the same
    step, or queue behind the readers (a step of its own, labelled ``who``) and take it at
    ``stage``, whose function is :func:`write_acquired_then` with the same ``then``."""
    k = down_write_queue(c.k, c.name, lock)
    if lock.of(k).writer == c.name:
        return then(k, f"{lock.write_name}, ")
    return [Move(f"{who}: {lock.write_name}: queued behind the readers", c.goto(k, stage))]


def write_acquired_then(c: Ctx, then: Then, lock: RwSem = MMAP_LOCK) -> Outcome:
    """A queued writer takes the lock once the readers drained, and goes on with ``then``."""
    k = down_write(c.k, c.name, lock)
    if isinstance(k, Blocked):
        return k
    return then(k, f"{lock.write_name} acquired, ")
