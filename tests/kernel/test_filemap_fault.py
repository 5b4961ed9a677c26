"""filemap_fault on a folio another task holds locked: a first attempt that may be retried
drops mmap_read_lock and sleeps without it, the retry (FAULT_FLAG_TRIED) sleeps holding it
(mm/filemap.c lock_folio_maybe_drop_mmap) — in a shared mapping as in a private one, for read
faults as for write faults; shmem_fault never drops it.  MAP_PRIVATE's own cases are in
test_private_mapping.py."""

from __future__ import annotations

import pytest

from gupcheck.designs import DESIGNS
from gupcheck.engine import Verdict, check
from gupcheck.kernel.actor import Blocked
from gupcheck.kernel.fault import fault_begin
from gupcheck.kernel.locks import down_read
from gupcheck.kernel.state import KState, replace
from gupcheck.kernel.system import KernelModel, Scenario
from gupcheck.scenarios.loader import parse

from .helpers import ctx, end_results, reachable
from .test_model_invariants import internal_invariants


def _shared(filesystem: str = "ext4", reclaims: int = 2, mapping: str = "shared",
            pages: int = 1, free_blocks: int = 0, **programs: str) -> Scenario:
    """A MAP_SHARED (or ``mapping``) mapping of one page (mapped read-only at the start), an
    actor per keyword, and kswapd reclaiming the page ``reclaims`` times: shrink_folio_list
    holds the folio locked from try_to_unmap on, so a fault finds no PTE and the folio
    locked."""
    daemon = ", ".join(['{ op = "kswapd_reclaim", page = 0 }'] * reclaims)
    return parse(f'name = "filemap-t"\ndescription = "t"\nfilesystem = "{filesystem}"\n'
                 f'mapping = "{mapping}"\npages = {pages}\nfree_blocks = {free_blocks}\n'
                 + "".join(f'[[actor]]\nname = "{name}"\nprogram = [ {ops} ]\n'
                           for name, ops in programs.items())
                 + f'[[actor]]\nname = "kswapd"\ndaemon = true\nprogram = [ {daemon} ]\n',
                 "<t>")


def _kswapd_locks(k: KState) -> bool:
    return k.cached(0) is not None and k.folio(0).locked == "kswapd"


OPS = {  # the operation, where it goes on after VM_FAULT_RETRY, where its retry sleeps
    "store": ('{ op = "store", page = 0, block = 0, value = "C1" }', "", "st:fault"),
    "load": ('{ op = "load", page = 0 }', "", "ld:fault"),
    "dio_read (write GUP)": ('{ op = "dio_read", page = 0, value = "B1" }', "gup:retry",
                             "gup:fault"),
    "dio_write_from (read GUP)": ('{ op = "dio_write_from", page = 0 }', "gup:retry",
                                  "gup:fault"),
}


@pytest.mark.parametrize("what", OPS)
def test_a_fault_on_a_locked_folio_drops_mmap_lock_once_then_sleeps_holding_it(
        what: str) -> None:
    """The first attempt drops mmap_read_lock to sleep and the operation redoes the fault; the
    retry sleeps holding it."""
    program, retry, sleeps = OPS[what]
    sc = _shared(**{"CPU0 app": program})
    assert_drops_then_retries_holding(KernelModel(sc, DESIGNS["linux-6.12"], ()),
                                      reachable(sc, "linux-6.12"), retry, sleeps)


def assert_drops_then_retries_holding(model: KernelModel, states: list[KState], retry: str,
                                      sleeps: str | None = None) -> None:
    """CPU0's first attempt sleeps at fault:lockwait without mmap_read_lock (holding a folio
    reference the refcount bookkeeping counts) and goes on at ``retry``; a retry (at stage
    ``sleeps``, if given) that finds the folio kswapd holds locked again has the lock and
    takes no step until the folio is free."""
    for k in states:
        internal_invariants(k, pin_counting=True)
    waiting = [k for k in states if k.threads[0].stage == "fault:lockwait"]
    assert waiting, "the fault never dropped mmap_lock to sleep on the folio"
    for k in waiting:
        assert "CPU0 app" not in k.mmap_lock.readers
        assert dict(k.threads[0].local)["fretry"] == retry
        assert not dict(k.threads[0].local).get("ftried"), "a retry dropped mmap_lock again"
    again = [k for k in states if sleeps in (None, k.threads[0].stage)
             and dict(k.threads[0].local).get("ftried")
             and "CPU0 app" in k.mmap_lock.readers and _kswapd_locks(k) and k.ptes[0] is None]
    assert again, "no retry found the folio locked again"
    for k in again:
        assert not [label for label, _ in model.successors(k)
                    if str(label).startswith("CPU0 app")]


@pytest.mark.parametrize(("what", "filesystem"), [
    ("store", "ext4"), ("store", "xfs"), ("store", "cowfs"), ("load", "ext4"),
    ("dio_read (write GUP)", "ext4"), ("dio_write_from (read GUP)", "xfs")])
def test_a_fault_on_a_page_not_cached_drops_mmap_lock_for_the_read_ahead(
        what: str, filesystem: str) -> None:
    """mm/filemap.c do_sync_mmap_readahead: a first attempt that misses the page cache drops
    mmap_read_lock for the read-ahead I/O and returns VM_FAULT_RETRY; the retry
    (FAULT_FLAG_TRIED) finds the page cached, or reads it in holding the lock."""
    program, retry, _ = OPS[what]
    sc = _shared(filesystem, reclaims=1, **{"CPU0 app": program})  # kswapd evicts page 0
    model = KernelModel(sc, DESIGNS["linux-6.12"], ())
    drops = [(k, after) for k in reachable(sc, "linux-6.12") if k.cached(0) is None
             for label, after in model.successors(k) if "do_sync_mmap_readahead" in str(label)]
    assert drops, "no fault missed the page cache"
    for k, after in drops:
        assert after.cached(0) is not None and "CPU0 app" not in after.mmap_lock.readers
        assert after.threads[0].stage == retry and dict(after.threads[0].local)["ftried"]
        assert not dict(k.threads[0].local).get("ftried")


@pytest.mark.parametrize(("design", "drops"), [("legacy", False), ("pin-counting", True)])
def test_the_read_ahead_drop_came_in_5_1(design: str, drops: bool) -> None:
    """6b4c9f446981 "filemap: drop the mmap_sem for all blocking operations" (5.1); 4.20 read
    a missing page holding the lock."""
    sc = _shared(reclaims=1, **{"CPU0 app": OPS["store"][0]})
    coverage = check(KernelModel(sc, DESIGNS[design], None)).coverage
    assert any("do_sync_mmap_readahead: mmap_read_unlock" in a for a in coverage) is drops


@pytest.mark.parametrize("filesystem", ["shmem", "ext4"])
def test_shmem_fault_sleeps_on_the_folio_lock_holding_mmap_lock(filesystem: str) -> None:
    """mm/shmem.c shmem_fault -> shmem_get_folio_gfp: folio_lock, no maybe_unlock_mmap_for_io
    (that is only for a hole punch in progress); ext4's filemap_fault drops the lock."""
    sc = _shared(filesystem, **{"CPU0 app": OPS["store"][0]})
    model = KernelModel(sc, DESIGNS["linux-6.12"])
    k = model.init_states()[0].with_pte(0, None)
    k = k.with_folio(0, replace(k.folio(0), locked="kswapd"))
    k = down_read(k, "CPU0 app")
    c = ctx(k, name="CPU0 app", op=("store", 0, 0, "C1"), fs=model.env.fs)
    out = fault_begin(c, k, 0, ret="st:unlock", retry="")
    if filesystem == "shmem":
        assert out == Blocked("folio lock of page 0", ("kswapd",))
    else:
        [move] = out
        assert move.state.threads[0].stage == "fault:lockwait"
        assert move.state.mmap_lock.readers == ()


@pytest.mark.parametrize("mapping", ["shared", "private"])
def test_munmap_runs_while_the_fault_sleeps_without_mmap_lock_and_gup_then_fails(
        mapping: str) -> None:
    """The read's GUP sleeps on the folio without mmap_read_lock, so a munmap can take the
    lock for writing meanwhile; the retry looks the VMA up again and finds none: -EFAULT, and
    no write starts (mm/gup.c __get_user_pages_locked)."""
    sc = _shared(reclaims=1, mapping=mapping, **{"CPU0 app": OPS["dio_read (write GUP)"][0],
                                                 "CPU1 app": '{ op = "munmap", page = 0 }'})
    result = check(KernelModel(sc, DESIGNS["linux-6.12"], None))
    assert result.verdict is Verdict.HOLDS
    assert any("__get_user_pages_locked: retry: mmap_read_lock, no VMA at page 0" in a
               for a in result.coverage)
    assert ("read=-EFAULT",) in end_results(sc, "linux-6.12")


@pytest.mark.parametrize(("design", "drops"), [("legacy", False), ("pin-counting", False),
                                               ("linux-6.1", True), ("linux-6.12", True)])
def test_a_shared_write_fault_ends_without_mmap_lock_from_5_8(design: str, drops: bool) -> None:
    """mm/memory.c fault_dirty_shared_page (89b15332af7c, 5.8): after folio_unlock, a first
    attempt drops mmap_read_lock for balance_dirty_pages (VM_FAULT_COMPLETED); GUP's
    faultin_page returns -EAGAIN and __get_user_pages_locked takes the lock again for the
    page with FOLL_TRIED, so a munmap can run in between and the read fails with -EFAULT.
    A CPU store returns to user space without the unlock step."""
    sc = _shared(reclaims=0, **{"CPU0 app": OPS["dio_read (write GUP)"][0],
                                "CPU1 app": '{ op = "munmap", page = 0 }'})
    states = reachable(sc, design)
    done = [k for k in states if k.threads[0].stage == "gup:retry"
            and k.ptes[0] is not None and k.ptes[0].writable]
    assert bool(done) is drops
    assert all("CPU0 app" not in k.mmap_lock.readers for k in done)
    coverage = check(KernelModel(sc, DESIGNS[design], None)).coverage
    assert any("retry: mmap_read_lock, no VMA at page 0" in a for a in coverage) is drops
    # two pages, page 0's fault first dropping the lock in filemap_fault (every release
    # has that drop): page 1's first attempt still keeps the lock to its end before 5.8
    racy = _shared(pages=2, **{"CPU0 app": '{ op = "dio_read", page = 0, value = "B1", '
                                           'count = 2 }'})
    coverage = check(KernelModel(racy, DESIGNS[design], None)).coverage
    assert any("fault_dirty_shared_page: folio_unlock, filemap_invalidate_unlock_shared, "
               "mmap_read_unlock, balance_dirty_pages (VM_FAULT_COMPLETED)" in a
               for a in coverage) is drops
    assert any("lock_folio_maybe_drop_mmap: mmap_read_unlock" in a for a in coverage)
    store = _shared(reclaims=0, **{"CPU0 app": OPS["store"][0]})
    unlocks = any(k.threads[0].stage == "st:unlock" for k in reachable(store, design))
    assert unlocks is not drops


def test_a_shmem_store_keeps_mmap_lock_unless_it_dirtied_the_folio() -> None:
    """A shmem folio holding data is dirty (nothing else keeps its data: shmem_write_end,
    shmem_fallocate), so a write fault on it does not newly dirty it and fault_dirty_shared_page
    keeps mmap_read_lock; a folio shmem_fault has just allocated (after a punch) is clean
    zeros, and the store that dirties it drops the lock for balance_dirty_pages."""
    sc = parse('name = "shmem-store"\ndescription = "test"\nfilesystem = "shmem"\n'
               'mapped = false\n[[actor]]\nname = "CPU0"\n'
               'program = [ { op = "store", page = 0, block = 0, value = "C1" } ]\n', "<t>")
    [k0] = KernelModel(sc, DESIGNS["linux-6.12"]).init_states()
    assert k0.folio(0).dirty
    coverage = check(KernelModel(sc, DESIGNS["linux-6.12"])).coverage
    assert any("shmem_fault, finish_fault: map page 0 writable+dirty" in a
               and "VM_FAULT_COMPLETED" not in a for a in coverage), coverage
    assert not any("VM_FAULT_COMPLETED" in a for a in coverage)
    punched = parse('name = "shmem-store"\ndescription = "test"\nfilesystem = "shmem"\n'
                    'mapped = false\n[[actor]]\nname = "CPU0"\n'
                    'program = [ { op = "punch_hole", page = 0 }, '
                    '{ op = "store", page = 0, block = 0, value = "C1" } ]\n', "<t>")
    coverage = check(KernelModel(punched, DESIGNS["linux-6.12"])).coverage
    assert any("writable+dirty" in a and "VM_FAULT_COMPLETED" in a for a in coverage)


MKWRITE_STAGE = {"ext4": "fault:mkwrite", "xfs": "fault:xfs_mkwrite",
                 "cowfs": "fault:btrfs_mkwrite"}


@pytest.mark.parametrize("filesystem", MKWRITE_STAGE)
@pytest.mark.parametrize("what", ["store", "dio_read (write GUP)"])
def test_a_fault_asleep_in_page_mkwrite_goes_on_there_holding_mmap_lock(
        what: str, filesystem: str) -> None:
    """mm/memory.c wp_page_shared: folio_get, then do_page_mkwrite, whose folio_lock sleeps
    holding mmap_read_lock and the reference.  Reclaim may unmap the page meanwhile but not
    free it (is_page_cache_freeable fails on the fault's reference), and the fault wakes in
    ->page_mkwrite: it never goes back through filemap_fault, whose first attempt would drop
    the lock where no PTE maps a locked folio."""
    sc = _shared(filesystem, **{"CPU0 app": OPS[what][0]})
    model = KernelModel(sc, DESIGNS["linux-6.12"], ())
    asleep = [k for k in reachable(sc, "linux-6.12")
              if k.threads[0].stage == MKWRITE_STAGE[filesystem]
              and dict(k.threads[0].local).get("fref") is not None]
    assert [k for k in asleep if k.ptes[0] is None and _kswapd_locks(k)], \
        "kswapd never unmapped the page under a sleeping ->page_mkwrite"
    for k in asleep:
        assert "CPU0 app" in k.mmap_lock.readers
        assert k.folio(0).refcount >= 2  # the page cache's and the fault's
        for label, after in model.successors(k):
            if str(label).startswith("CPU0 app"):
                assert "lock_folio_maybe_drop_mmap" not in str(label)
                assert after.threads[0].stage != "fault:lockwait"
                assert "fref" not in dict(after.threads[0].local)


@pytest.mark.parametrize("filesystem", ["ext4", "xfs"])
def test_page_mkwrite_sleeps_on_the_folio_lock_holding_invalidate_lock(filesystem: str) -> None:
    """ext4_page_mkwrite and xfs_filemap_page_mkwrite take filemap_invalidate_lock_shared
    (XFS_MMAPLOCK_SHARED) before folio_lock: a truncate arriving while the fault sleeps on
    the folio queues behind it, and once woken the fault finishes with its own folio."""
    sc = _shared(filesystem, reclaims=1, **{"CPU0 app": OPS["store"][0],
                                            "CPU1 app": '{ op = "truncate" }'})
    states = reachable(sc, "linux-6.12")
    asleep = [k for k in states if k.threads[0].stage == MKWRITE_STAGE[filesystem]
              and _kswapd_locks(k) and "CPU0 app" in k.invalidate_lock.readers]
    assert asleep, "no fault slept on kswapd's folio lock holding invalidate_lock"
    assert [k for k in asleep if "CPU1 app" in k.invalidate_lock.queued]
    assert all(dict(k.threads[0].local)["fref"] == k.cache[0] for k in asleep)


@pytest.mark.parametrize("filesystem", MKWRITE_STAGE)
def test_a_woken_page_mkwrite_checks_its_own_folio_not_the_page(filesystem: str) -> None:
    """->page_mkwrite compares its own folio's mapping (ext4: folio->mapping != mapping,
    iomap: folio_mkwrite_check_truncate, btrfs: page->mapping): if a hole punch removed it
    while the fault slept, the fault is retried (VM_FAULT_NOPAGE) even when another thread
    has read the page back in meanwhile as a new folio."""
    sc = _shared(filesystem, reclaims=1, **{"CPU0 app": OPS["store"][0],
                                            "CPU1 app": '{ op = "punch_hole", page = 0 }',
                                            "CPU2 app": OPS["load"][0]})
    model = KernelModel(sc, DESIGNS["linux-6.12"], ())
    replaced = [k for k in reachable(sc, "linux-6.12")
                if k.threads[0].stage == MKWRITE_STAGE[filesystem]
                and dict(k.threads[0].local).get("fref") not in (None, k.cache[0])]
    assert [k for k in replaced if k.cache[0] is not None], "no new folio while it slept"
    for k in replaced:
        for label, _ in model.successors(k):
            if str(label).startswith("CPU0 app"):
                assert "VM_FAULT_NOPAGE" in str(label)


def test_a_woken_btrfs_page_mkwrite_rechecks_i_size_and_waits_for_writeback_locked() -> None:
    """btrfs_page_mkwrite: after lock_page, a page now beyond i_size (a truncate ran while
    the fault slept) is VM_FAULT_NOPAGE: the store is retried and gets SIGBUS; the wait for
    writeback holds the folio lock, so no other task takes it meanwhile."""
    sc = _shared("cowfs", reclaims=1, **{"CPU0 app": OPS["store"][0],
                                         "CPU1 app": '{ op = "truncate" }'})
    model = KernelModel(sc, DESIGNS["linux-6.12"], ())
    beyond = [k for k in reachable(sc, "linux-6.12")
              if k.threads[0].stage == "fault:btrfs_mkwrite" and k.i_size == 0
              and k.cached(0) is not None and k.folio(0).locked is None]
    assert beyond
    for k in beyond:
        for label, after in model.successors(k):
            if str(label).startswith("CPU0 app"):
                assert "VM_FAULT_NOPAGE" in str(label)
                assert after.threads[0].stage == "st:unlock" and after.ptes[0] is None
    assert ("SIGBUS",) in end_results(sc, "linux-6.12")
    cleaned = _shared("cowfs", reclaims=0, free_blocks=2, **{
        "CPU0 app": OPS["store"][0],
        "CPU1 app": '{ op = "store", page = 0, block = 1, value = "C2" }, { op = "msync" }'})
    model = KernelModel(cleaned, DESIGNS["linux-6.12"], ())
    on_writeback = [k for k in reachable(cleaned, "linux-6.12")
                    if k.threads[0].stage == "fault:btrfs_mkwrite" and k.folio(0).writeback]
    assert [k for k in on_writeback if k.folio(0).locked == "CPU0 app"]
    for k in on_writeback:  # woken from the folio lock: it takes it, then waits
        steps = [after for label, after in model.successors(k)
                 if str(label).startswith("CPU0 app")]
        assert all(after.folio(0).locked == "CPU0 app" for after in steps)
        assert not steps if k.folio(0).locked == "CPU0 app" else steps


@pytest.mark.parametrize("filesystem", ["ext4", "xfs"])
def test_a_folio_removed_under_a_sleeping_page_mkwrite_releases_invalidate_lock(
        filesystem: str) -> None:
    """A direct write invalidates the page (invalidate_inode_pages2_range, under i_rwsem
    only) while the store's ->page_mkwrite sleeps on the folio lock holding invalidate_lock
    and a truncate queues behind it: the woken ->page_mkwrite returns VM_FAULT_NOPAGE and
    drops invalidate_lock (ext4_page_mkwrite's out: label) before the store faults again,
    so the truncate can run: no wait-for cycle."""
    sc = _shared(filesystem, reclaims=1, **{
        "CPU0 app": OPS["store"][0], "CPU1 app": '{ op = "truncate" }',
        "CPU2 app": '{ op = "dio_write", page = 0, value = "D1" }'})
    result = check(KernelModel(sc, DESIGNS["linux-6.1"], None))
    assert result.verdict is Verdict.HOLDS, result.message
    assert any("VM_FAULT_NOPAGE" in a for a in result.coverage)
