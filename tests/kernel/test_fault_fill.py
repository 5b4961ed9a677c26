"""A fault that misses the page cache takes invalidate_lock to read the page in (mm/filemap.c
filemap_fault's retry_find, mm/readahead.c page_cache_ra_unbounded; 5.15, 730633f0b7f9): a
hole punch holds it from before it unmaps and removes the range to after it frees the blocks,
so no fault reads the old data back into the page cache in between."""

from __future__ import annotations

import pytest

from gupcheck.designs import DESIGNS
from gupcheck.kernel.system import KernelModel, Scenario
from gupcheck.scenarios.loader import parse

from .helpers import end_states, reachable

ACCESSES = {
    "load": '{ op = "load", page = 0 }',
    "store": '{ op = "store", page = 0, block = 0, value = "C1" }',
    "dio_read (write GUP)": '{ op = "dio_read", page = 0, value = "B1" }',
}


def _punch_while(filesystem: str, mapping: str, access: str) -> Scenario:
    """One cached page, mapped read-only; a hole punch of it while another thread
    touches it through the mapping."""
    return parse(f'name = "fill-t"\ndescription = "t"\nfilesystem = "{filesystem}"\n'
                 f'mapping = "{mapping}"\npages = 1\n'
                 f'[[actor]]\nname = "CPU0 app"\nprogram = [ {ACCESSES[access]} ]\n'
                 '[[actor]]\nname = "CPU1 app"\nprogram = [ { op = "punch_hole", page = 0 } ]\n',
                 "<t>")


def _reads_in_during_the_punch(sc: Scenario, design: str) -> list[str]:
    """CPU0's steps that read page 0 into the page cache while the punch holds
    invalidate_lock, page 0 already removed (old data, from blocks about to be freed)."""
    model = KernelModel(sc, DESIGNS[design], ())
    return [str(label) for k in reachable(sc, design)
            if k.invalidate_lock.writer == "CPU1 app" and k.cached(0) is None
            for label, after in model.successors(k)
            if str(label).startswith("CPU0 app") and after.cached(0) is not None]


@pytest.mark.parametrize("filesystem", ["ext4", "xfs", "cowfs"])
@pytest.mark.parametrize("access", ACCESSES)
def test_no_fault_reads_a_page_back_in_while_a_hole_punch_holds_invalidate_lock(
        filesystem: str, access: str) -> None:
    sc = _punch_while(filesystem, "shared", access)
    assert [k for k in reachable(sc, "linux-6.12") if k.invalidate_lock.writer == "CPU1 app"
            and k.cached(0) is None], "the punch never held the lock with page 0 removed"
    assert _reads_in_during_the_punch(sc, "linux-6.12") == []
    # a load reads the old data (before the punch) or the hole's zeros, nothing else
    if access == "load":
        assert {k.threads[0].results for k in end_states(sc, "linux-6.12")} \
            == {("load=A0|A0",), ("load=Z0|Z0",)}


def test_a_first_attempt_sleeps_on_it_without_mmap_lock() -> None:
    """The read-ahead of a first attempt runs after do_sync_mmap_readahead dropped
    mmap_read_lock: it sleeps on invalidate_lock without it, then the fault is retried."""
    sc = _punch_while("ext4", "shared", "load")
    model = KernelModel(sc, DESIGNS["linux-6.12"], ())
    waiting = [k for k in reachable(sc, "linux-6.12") if k.threads[0].stage == "fault:rawait"]
    assert [k for k in waiting if k.invalidate_lock.writer == "CPU1 app"]
    for k in waiting:
        assert "CPU0 app" not in k.mmap_lock.readers
        moves = [after for label, after in model.successors(k)
                 if str(label).startswith("CPU0 app")]
        assert bool(moves) is (k.invalidate_lock.writer is None)
        for after in moves:  # the retry, with FAULT_FLAG_TRIED
            assert dict(after.threads[0].local)["ftried"]


FAULT_LOCKS = {"ext4": "ext4_filemap_fault: down_read(i_mmap_sem)",
               "xfs": "__xfs_filemap_fault: xfs_ilock(XFS_MMAPLOCK_SHARED)"}


def _waits_for(sc: Scenario, design: str) -> set[str]:
    """What CPU0 waits for in some state where the punch holds invalidate_lock."""
    model = KernelModel(sc, DESIGNS[design], ())
    return {w.on for k in reachable(sc, design) if k.invalidate_lock.writer
            for w in model.waits(k) if w.actor == "CPU0 app"}


@pytest.mark.parametrize("access", ACCESSES)
@pytest.mark.parametrize("filesystem", ["ext4", "xfs"])
def test_before_5_15_ext4_and_xfs_faults_waited_for_their_truncate_lock(
        filesystem: str, access: str) -> None:
    """legacy (4.20) has no invalidate_lock in filemap_fault, but ext4_filemap_fault took
    i_mmap_sem and __xfs_filemap_fault XFS_MMAPLOCK_SHARED around it: no ->fault ran while
    the punch held them, so none read the page back in; 5.15+ has no such wrapper."""
    sc = _punch_while(filesystem, "shared", access)
    assert _reads_in_during_the_punch(sc, "legacy") == []
    assert FAULT_LOCKS[filesystem] in _waits_for(sc, "legacy")
    assert not _waits_for(sc, "linux-6.1") & set(FAULT_LOCKS.values())


@pytest.mark.parametrize("filesystem", ["ext4", "xfs"])
def test_before_5_15_fault_around_mapped_a_cached_page_without_that_lock(
        filesystem: str) -> None:
    """do_read_fault tries do_fault_around first: filemap_map_pages maps a cached, unlocked
    page without calling ->fault, so a load of a page the punch has not removed yet is
    mapped while the punch holds the lock (and unmapped again when it removes the folio)."""
    sc = _punch_while(filesystem, "shared", "load")
    model = KernelModel(sc, DESIGNS["legacy"], ())
    mapped = [after for k in reachable(sc, "legacy")
              if k.invalidate_lock.writer == "CPU1 app" and k.cached(0) is not None
              and k.ptes[0] is None
              for label, after in model.successors(k)
              if str(label).startswith("CPU0 app") and after.ptes[0] is not None]
    assert mapped


def test_before_5_15_btrfs_and_shmem_faults_took_no_such_lock() -> None:
    """btrfs's and shmem's ->fault had no wrapper lock: a btrfs fault could read the page
    back in meanwhile."""
    for filesystem in ("cowfs", "shmem"):
        for access in ACCESSES:
            sc = _punch_while(filesystem, "shared", access)
            assert not _waits_for(sc, "legacy") & set(FAULT_LOCKS.values()), filesystem
    assert _reads_in_during_the_punch(_punch_while("cowfs", "shared", "load"), "legacy")
