"""MAP_PRIVATE file mappings: writes go to private anonymous copies, never to the file
(docs/conformance.md, dio_into_mmap/private_mapping and iouring_ext4_private)."""

from __future__ import annotations

import pytest

from gupcheck.designs import DESIGNS
from gupcheck.engine import Verdict
from gupcheck.kernel.state import KState
from gupcheck.kernel.system import KernelModel, Scenario
from gupcheck.scenarios.loader import parse

from .helpers import assert_steps_in_order, end_results, end_states, reachable, run
from .test_filemap_fault import assert_drops_then_retries_holding


@pytest.mark.parametrize("design", ["linux-6.1", "linux-6.12"])
def test_dio_into_a_private_mapping_fills_the_copy_and_leaves_the_file(design: str) -> None:
    """realkernel private_mapping: read_ret=65536; mem=B.1; disk=A.0; reread_after_drop=A.0
    (the page cache and the disk)."""
    assert run("dio-read-into-private-mapping", design).verdict is Verdict.HOLDS
    assert end_results("dio-read-into-private-mapping", design) == {
        ("read=ok", "load=B1|B1", "msync=0", "fsync=0", "munmap=0")}
    ends = end_states("dio-read-into-private-mapping", design)
    assert all(k.disk == ("A0", "A0") and k.folio(0).data == ("A0", "A0") for k in ends)
    assert all(not k.folio(0).dirty for k in ends), "the page cache was dirtied"


def test_msync_of_a_private_mapping_syncs_nothing() -> None:
    """mm/msync.c: only a VM_SHARED file VMA is passed to vfs_fsync_range."""
    result = run("dio-read-into-private-mapping", "linux-6.12")
    assert any("msync: mmap_read_lock, not a VM_SHARED mapping" in a for a in result.coverage)
    assert not any(a.startswith("CPU0 app: msync(MS_SYNC) -> vfs_fsync_range")
                   for a in result.coverage)


def test_6_1_pins_a_private_copy_first_then_io_uring_refuses_the_file_backed_vma() -> None:
    """realkernel iouring_ext4_private on 6.1: register_errno=EOPNOTSUPP."""
    assert end_results("iouring-private-truncate", "linux-6.1") == {
        ("register=-EOPNOTSUPP", "truncate=0", "SIGBUS", "grow=0", "load=Z0|Z0")}


def test_6_12_registers_a_private_mapping_and_truncate_orphans_nothing_of_the_file() -> None:
    """realkernel iouring_ext4_private on 6.12: register 0, truncate 0, touch SIGBUS, the
    pinned buffer gets the READ_FIXED data, the mapping reads zeros after regrow."""
    assert run("iouring-private-truncate", "linux-6.12").verdict is Verdict.HOLDS
    assert end_results("iouring-private-truncate", "linux-6.12") == {
        ("register=0", "truncate=0", "SIGBUS", "grow=0", "load=Z0|Z0")}
    wrote = [k for k in end_states("iouring-private-truncate", "linux-6.12") if k.nic_writes]
    assert wrote
    for k in wrote:
        (_, fid), = k.nic_pages
        pinned = k.folio_at(fid)
        assert pinned.anon and pinned.pins == 1 and "N1" in pinned.data
        assert k.disk == ("Z0", "Z0")


def _private(program: str, reclaims: int = 1) -> Scenario:
    """CPU0 runs ``program`` on a MAP_PRIVATE mapping of an ext4 file; kswapd reclaims its
    page ``reclaims`` times (shrink_folio_list holds the folio locked over several steps)."""
    return _private_actors([0] * reclaims, **{"CPU0 app": program})


def _private_actors(reclaim: list[int], pages: int = 1, **programs: str) -> Scenario:
    """A MAP_PRIVATE mapping of ``pages`` pages of an ext4 file: one actor per keyword (its
    program's operations), and kswapd reclaiming the pages ``reclaim`` in turn."""
    daemon = ", ".join(f'{{ op = "kswapd_reclaim", page = {p} }}' for p in reclaim)
    return parse(f'name = "private-t"\ndescription = "t"\nmapping = "private"\npages = {pages}\n'
                 + "".join(f'[[actor]]\nname = "{name}"\nprogram = [ {ops} ]\n'
                           for name, ops in programs.items())
                 + f'[[actor]]\nname = "kswapd"\ndaemon = true\nprogram = [ {daemon} ]\n',
                 "<t>")


def _moves(model: KernelModel, k: KState, actor: str) -> list[str]:
    return [str(label) for label, _ in model.successors(k) if str(label).startswith(actor)]


def _kswapd_locks(k: KState) -> bool:
    return k.cached(0) is not None and k.folio(0).locked == "kswapd"


def test_wp_page_copy_copies_a_locked_page_cache_folio_without_waiting() -> None:
    """mm/memory.c do_wp_page -> wp_page_copy takes no folio lock: a store to a read-only PTE
    of the page-cache folio copies it while reclaim holds the folio locked (the model used to
    make it wait for the lock)."""
    sc = _private('{ op = "load", page = 0 }, { op = "store", page = 0, block = 0, value = "C1" }')
    model = KernelModel(sc, DESIGNS["linux-6.12"], ())
    at = [k for k in reachable(sc, "linux-6.12") if k.threads[0].stage == "st:fault"
          and _kswapd_locks(k) and k.ptes[0] is not None and k.ptes[0].cow is None]
    assert at, "no state with the store's fault and reclaim holding the folio lock"
    for k in at:
        assert any("do_wp_page: wp_page_copy" in m for m in _moves(model, k, "CPU0 app"))


@pytest.mark.parametrize(("op", "retry"), [
    ('{ op = "store", page = 0, block = 0, value = "C1" }', ""),
    ('{ op = "dio_read", page = 0, value = "B1" }', "gup:retry")])
def test_do_cow_fault_sleeps_on_the_folio_lock_without_mmap_lock_then_retries(
        op: str, retry: str) -> None:
    """mm/filemap.c lock_folio_maybe_drop_mmap (6.1): a first attempt that finds the folio
    locked drops mmap_read_lock (maybe_unlock_mmap_for_io), sleeps, and returns
    VM_FAULT_RETRY; the retry (FAULT_FLAG_TRIED) sleeps holding the lock.  A CPU store and
    GUP's slow path (FOLL_UNLOCKABLE) both allow the retry."""
    sc = _private(op, reclaims=2)
    states = reachable(sc, "linux-6.12")
    assert_drops_then_retries_holding(KernelModel(sc, DESIGNS["linux-6.12"], ()), states, retry)
    # once the fault is done (the PTE writable), FAULT_FLAG_TRIED is gone
    assert not any(dict(k.threads[0].local).get("ftried") and k.threads[0].pc == 0
                   and k.ptes[0] is not None and k.ptes[0].writable
                   and k.threads[0].stage in ("", "dio:got") for k in states)


@pytest.mark.parametrize(("design", "drops"), [("linux-6.1", False), ("linux-6.12", True)])
def test_io_uring_on_6_1_pins_under_its_own_mmap_lock_and_never_drops_it(
        design: str, drops: bool) -> None:
    """6.1 io_pin_pages: mmap_read_lock, pin_user_pages (not FOLL_UNLOCKABLE: a fault sleeps
    holding the lock); 6.12: pin_user_pages_fast, whose fault may drop it and retry."""
    sc = _private('{ op = "iouring_register", page = 0 }')
    assert any(k.threads[0].stage == "fault:lockwait" for k in reachable(sc, design)) is drops


def test_a_fault_that_slept_finds_another_threads_copy_and_copies_nothing() -> None:
    """mm/memory.c finish_fault: a do_cow_fault whose PTE was set meanwhile returns
    VM_FAULT_NOPAGE, and GUP's retry (__get_user_pages, FOLL_TRIED) runs follow_page_mask
    first: the other thread's private copy is grabbed, not replaced by a second copy from the
    page cache (which lost that thread's store and leaked its copy)."""
    sc = _private_actors([0], A='{ op = "dio_read", page = 0, value = "B1" }',
                         C='{ op = "store", page = 0, block = 1, value = "C1" }')
    states = reachable(sc, "linux-6.12")
    assert any(k.threads[0].stage == "fault:lockwait" for k in states)
    for k in states:
        for fid, f in enumerate(k.folios):
            if f is not None and f.anon:  # a private copy is mapped by the PTE, or freed
                assert f.mapcount == sum(p is not None and p.cow == fid for p in k.ptes), f
    for k in end_states(sc, "linux-6.12"):  # one private copy, the one the PTE maps
        assert [f.anon for f in k.folios if f is not None].count(True) == 1


@pytest.mark.parametrize(("design", "drops"), [("linux-6.1", False), ("linux-6.12", True)])
def test_a_long_term_pin_before_6_3_sleeps_in_its_fault_holding_mmap_lock(
        design: str, drops: bool) -> None:
    """mm/gup.c (6.1) __gup_longterm_unlocked: pin_user_pages_fast(FOLL_LONGTERM) falls back
    to mmap_read_lock + __gup_longterm_locked(..., locked=NULL): no FAULT_FLAG_ALLOW_RETRY.
    6.3's FOLL_UNLOCKABLE (f04740f54594) lets the fault drop the lock."""
    sc = _private('{ op = "rdma_reg_mr", page = 0 }')
    assert any(k.threads[0].stage == "fault:lockwait" for k in reachable(sc, design)) is drops


def test_foll_tried_is_for_the_retried_page_only() -> None:
    """__get_user_pages_locked passes FOLL_TRIED to the one page it retries: the next page's
    first fault may drop mmap_read_lock again."""
    sc = _private_actors([0, 1], pages=2,
                         A='{ op = "dio_read", page = 0, value = "B1", count = 2 }')
    states = reachable(sc, "linux-6.12")
    waits = {k.folio_at(dict(k.threads[0].local)["fwait"]).index
             for k in states if k.threads[0].stage == "fault:lockwait"}
    assert waits == {0, 1}
    grabbed = [k for k in states if k.threads[0].stage == "dio:got"]  # a page grabbed
    assert grabbed and not any(dict(k.threads[0].local).get("ftried") for k in grabbed)


_DIO_FORK = parse('name = "dio-private-fork"\ndescription = "t"\nmapping = "private"\n'
                  'anon = true\n[[actor]]\nname = "reader"\nprogram = [ '
                  '{ op = "dio_read", page = 0, value = "B1" }, { op = "load", page = 0 } ]\n'
                  '[[actor]]\nname = "forker"\nprogram = [ { op = "fork" }, '
                  '{ op = "store", page = 0, block = 1, value = "C1" } ]\n', "<t>")


@pytest.mark.parametrize("design", ["legacy", "linux-6.1"])
def test_before_6_5_fork_during_a_direct_read_into_a_private_mapping_loses_the_data(
        design: str) -> None:
    """Direct I/O takes a FOLL_GET reference before 6.5: fork shares the private copy the read
    will fill, the parent's store copies it (do_wp_page: refcount above 1), and the DMA lands in
    the page the child kept (open(2): O_DIRECT "should never be run concurrently with fork(2)"
    on a private mapping). fork used to leave the parent's private copies alone."""
    from gupcheck.engine import check

    result = check(KernelModel(_DIO_FORK, DESIGNS[design]))
    assert result.verdict is Verdict.VIOLATED and result.property == "cow-isolation"
    assert_steps_in_order(result, [
        "grabs page 0 (FOLL_GET)", "submit_bio", "private copy of file page 0: share it",
        "write-protect the page", "do_wp_page: wp_page_copy (", "DMA of read bio"])
    loads = {r[1] for r in end_results(_DIO_FORK, design)}
    assert "load=A0|C1" in loads  # the parent's page never gets B1


def test_6_12_fork_copies_the_pinned_private_copy_for_the_child_and_the_parent_keeps_the_data(
) -> None:
    """FOLL_PIN direct I/O (6.5): the pinned private copy is maybe-pinned at fork, so
    copy_present_pte gives the child a copy and the parent keeps its page writable."""
    from gupcheck.engine import check

    result = check(KernelModel(_DIO_FORK, DESIGNS["linux-6.12"]))
    assert result.verdict is Verdict.HOLDS, result.message
    assert any("private copy of file page 0: maybe pinned: copy it" in a
               for a in result.coverage)
    loads = {r[1] for r in end_results(_DIO_FORK, "linux-6.12")}
    assert loads and all(r.startswith("load=B1") for r in loads)


def test_fork_shares_the_private_copies_also_when_it_copies_a_pinned_anonymous_page() -> None:
    """copy_present_pte decides page by page: the pinned anonymous page is copied for the
    child, the private copy a FOLL_GET direct read fills is still shared (6.1)."""
    from dataclasses import replace

    from gupcheck.engine import check

    reader = _DIO_FORK.actors[0]
    forker = replace(_DIO_FORK.actors[1], program=(("anon_pin", 0),) + _DIO_FORK.actors[1].program)
    sc = replace(_DIO_FORK, actors=(reader, forker))
    result = check(KernelModel(sc, DESIGNS["linux-6.1"]))
    assert result.verdict is Verdict.VIOLATED and result.property == "cow-isolation"
    both = "page maybe pinned: copy it; private copy of file page 0: share it"
    assert_steps_in_order(result, [both, "folio_needs_cow_for_dma", "DMA of read bio"])
