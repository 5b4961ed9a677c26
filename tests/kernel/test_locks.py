"""mmap_lock as an rwsem with writer preference (gupcheck.kernel.locks)."""

from __future__ import annotations

from gupcheck.kernel.actor import Blocked
from gupcheck.kernel.fs.ext4 import EXT4
from gupcheck.kernel.locks import down_read, down_write, down_write_queue, up_read, up_write
from gupcheck.kernel.state import initial_state


def test_readers_share_and_a_free_lock_goes_to_a_writer_at_once() -> None:
    k = initial_state(1, 3, cached=True, mapped=True, fs=EXT4)
    k1 = down_read(k, "A")
    k2 = down_read(k1, "B")
    assert not isinstance(k2, Blocked) and k2.mmap_lock.readers == ("A", "B")
    w = down_write_queue(k, "W")
    assert w.mmap_lock.writer == "W" and isinstance(down_read(w, "A"), Blocked)


def test_a_queued_writer_blocks_new_readers_and_gets_the_lock_when_readers_drain() -> None:
    k = down_read(initial_state(1, 3, cached=True, mapped=True, fs=EXT4), "A")
    assert not isinstance(k, Blocked)
    k = down_write_queue(k, "W")
    assert k.mmap_lock.writer is None and k.mmap_lock.queued == ("W",)
    blocked = down_read(k, "B")
    assert isinstance(blocked, Blocked) and blocked.holders == ("W",)
    waiting = down_write(k, "W")
    assert isinstance(waiting, Blocked) and waiting.holders == ("A",)
    k = down_write(up_read(k, "A"), "W")
    assert not isinstance(k, Blocked) and k.mmap_lock.writer == "W" and k.mmap_lock.queued == ()
    assert up_write(k, "W").mmap_lock.writer is None


def test_invalidate_lock_queues_truncate_behind_a_fault_and_holds_off_the_next_fault() -> None:
    from gupcheck.kernel.locks import INVALIDATE_LOCK, can_read

    k = down_read(initial_state(1, 3, cached=True, mapped=True, fs=EXT4), "CPU0", INVALIDATE_LOCK)
    assert not isinstance(k, Blocked) and k.invalidate_lock.readers == ("CPU0",)
    k = down_write_queue(k, "CPU1 truncate", INVALIDATE_LOCK)
    assert k.invalidate_lock.writer is None and k.invalidate_lock.queued == ("CPU1 truncate",)
    blocked = can_read(INVALIDATE_LOCK, k)
    assert blocked is not None and blocked.holders == ("CPU1 truncate",)
    assert "writer preference" in blocked.on
    k = down_write(up_read(k, "CPU0", INVALIDATE_LOCK), "CPU1 truncate", INVALIDATE_LOCK)
    assert not isinstance(k, Blocked) and k.invalidate_lock.writer == "CPU1 truncate"
    assert can_read(INVALIDATE_LOCK, k).on == "filemap_invalidate_lock_shared"


def test_from_6_7_a_cpu_fault_passes_a_queued_munmap_but_gup_and_retries_do_not() -> None:
    """lock_vma_under_rcu: the VMA's read lock is taken while munmap waits for mmap_lock's
    readers (it has not write-locked the VMA yet), and the queued munmap then waits for the
    fault; 6.1's CPU fault, a retried fault (FAULT_FLAG_TRIED) and a writer that holds the
    lock queue as rwsem readers do."""
    from gupcheck.designs import DESIGNS
    from gupcheck.kernel.fault import store

    from .helpers import ctx

    k = down_read(initial_state(1, 3, cached=True, mapped=True, fs=EXT4), "GUP")
    k = down_write_queue(k, "munmap")
    assert not isinstance(k, Blocked)
    op = ("store", 0, 0, "C1")
    [move] = store(ctx(k, DESIGNS["linux-6.12"], me=0, name="CPU", op=op))
    assert "lock_vma_under_rcu" in move.func
    assert move.state.mmap_lock.readers == ("CPU", "GUP")
    assert isinstance(down_write(move.state, "munmap"), Blocked)
    assert isinstance(store(ctx(k, DESIGNS["linux-6.1"], me=0, name="CPU", op=op)), Blocked)
    tried = k.with_thread(0, k.threads[0].__class__(local=(("ftried", True),)))
    assert isinstance(store(ctx(tried, DESIGNS["linux-6.12"], me=0, name="CPU", op=op)),
                      Blocked)
    held = down_write(up_read(k, "GUP"), "munmap")
    assert not isinstance(held, Blocked)
    assert isinstance(store(ctx(held, DESIGNS["linux-6.12"], me=0, name="CPU", op=op)),
                      Blocked)


def test_an_fs_dax_fault_takes_mmap_read_lock_even_on_6_12() -> None:
    """ext4's DAX vm_ops have no ->map_pages: vmf_can_call_fault returns VM_FAULT_RETRY under
    the VMA lock at once, and the fault is redone under mmap_read_lock, behind a queued
    munmap."""
    from gupcheck.designs import DESIGNS
    from gupcheck.kernel.fault import store
    from gupcheck.kernel.fs.fsdax import FSDAX

    from .helpers import ctx

    k = down_read(initial_state(1, 3, cached=True, mapped=True, fs=FSDAX), "GUP")
    k = down_write_queue(k, "munmap")
    out = store(ctx(k, DESIGNS["linux-6.12"], me=0, name="CPU", op=("store", 0, 0, "C1"),
                    fs=FSDAX))
    assert isinstance(out, Blocked) and out.holders == ("munmap",)
