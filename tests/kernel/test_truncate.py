"""Truncate while pinned: the orphan, SIGBUS, zeros after regrow — as real kernels behave."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gupcheck.designs import DESIGNS
from gupcheck.engine import Result, Verdict, check
from gupcheck.kernel.fs import FILESYSTEMS
from gupcheck.kernel.fs.ext4 import EXT4_DIRTY_FOLIO_WARN
from gupcheck.kernel.fs.shmem import SHMEM
from gupcheck.kernel.system import KernelModel, Scenario
from gupcheck.scenarios import SCENARIOS
from gupcheck.scenarios.loader import parse

from .helpers import assert_steps_in_order, end_results, end_states, reachable, run


@pytest.mark.parametrize("design", ["linux-6.1", "bounce-writeback"])
def test_f6_a_pinned_page_cache_folio_is_orphaned_and_its_data_discarded_harmlessly(
        design: str) -> None:
    result = run("truncate-while-pinned", design)
    assert result.verdict is Verdict.HOLDS  # not a violation for page-cache files
    assert any("orphaned (refcount" in k for k in result.coverage)
    assert any("RDMA write" in k for k in result.coverage)
    # touch after truncate: SIGBUS; after regrow the mapping reads zeros, never the NIC's data
    for results in end_results("truncate-while-pinned", design):
        assert results[:3] == ("reg_mr=0", "truncate=0", "SIGBUS")
        assert results[-1] == "load=Z0|Z0"


def test_unpinning_an_orphan_is_noop_dirty_folio_without_the_ext4_warning() -> None:
    result = run("truncate-while-pinned", "linux-6.1", "dirty-has-backing")
    assert result.verdict is Verdict.HOLDS
    assert any("unpin_user_pages_dirty_lock" in k for k in result.coverage)
    assert EXT4_DIRTY_FOLIO_WARN not in str(result)


def test_6_12_refuses_the_long_term_pin_before_any_truncate() -> None:
    assert end_results("truncate-while-pinned", "linux-6.12") == {
        ("reg_mr=-EFAULT", "truncate=0", "SIGBUS", "dereg_mr=-EINVAL", "grow=0", "load=Z0|Z0")}


@pytest.mark.parametrize("design", ["linux-6.1", "linux-6.12"])
def test_memfd_truncated_while_io_uring_holds_it_matches_the_real_kernels(design: str) -> None:
    """realkernel truncate_while_pinned/iouring_memfd_shared: register 0, truncate 0, touch
    SIGBUS, the mapping reads zeros after regrow."""
    assert run("truncate-while-pinned-memfd", design).verdict is Verdict.HOLDS
    for results in end_results("truncate-while-pinned-memfd", design):
        assert results[0] == "register=0"
        assert results[2:5] == ("truncate=0", "SIGBUS", "grow=0")
        assert results[5] == "load=Z0|Z0"


def test_munmap_during_dma_leaves_the_pinned_folio_alive_and_accounted() -> None:
    result = run("munmap-while-dma", "linux-6.12", "pin-accounting")
    assert result.verdict is Verdict.HOLDS
    assert any("zap_pte_range(page 0)" in k for k in result.coverage)
    assert any("DMA of read bio" in k for k in result.coverage)
    assert end_results("munmap-while-dma", "linux-6.12", actor=1) == {("munmap=0",)}


@pytest.mark.parametrize("design", ["linux-6.1", "linux-6.12"])
def test_a_read_into_a_mapping_munmap_already_removed_fails_with_efault(design: str) -> None:
    """realkernel race/munmap_while_dma counts read_efault: a munmap that comes first leaves
    __get_user_pages no VMA (-EFAULT, no I/O); one that comes later zaps a pinned page."""
    reads = {r[0] for r in end_results("munmap-while-dma", design)}
    assert reads == {"read=ok", "read=-EFAULT"}
    for k in end_states("munmap-while-dma", design):
        assert k.unmapped == (0,) and k.ptes[0] is None


_UNMAP_THEN_TOUCH = """
name = "unmap-then-touch"
description = "munmap, then a store, a load and read(O_DIRECT) into the unmapped page"
[[actor]]
name = "CPU0 app"
program = [ { op = "munmap", page = 0 }, { op = "store", page = 0, block = 0, value = "C1" },
            { op = "load", page = 0 }, { op = "dio_read", page = 0, value = "B1" },
            { op = "msync" } ]
"""


def test_a_store_or_load_after_munmap_is_sigsegv_and_a_gup_efault() -> None:
    """do_user_addr_fault -> lock_mm_and_find_vma finds no VMA: bad_area, SIGSEGV; GUP's
    slow path returns -EFAULT; msync finds no VMA either (-ENOMEM); the file's page is never
    faulted in again."""
    sc = parse(_UNMAP_THEN_TOUCH, "<t>")
    assert end_results(sc, "linux-6.12") == {
        ("munmap=0", "SIGSEGV", "SIGSEGV", "read=-EFAULT", "msync=-ENOMEM")}
    assert all(k.ptes[0] is None and not k.bios for k in end_states(sc, "linux-6.12"))


def test_gups_slow_path_holds_mmap_read_lock_from_its_fault_to_its_grab() -> None:
    """get_user_pages' slow path runs under mmap_read_lock: a munmap queues behind it, so no
    state has the read's GUP between its fault and its grab with the VMA gone."""
    inside = [k for k in reachable("munmap-while-dma", "linux-6.12")
              if k.threads[0].stage in ("gup:grab", "fault:install")]
    assert inside, "the read never stopped between its fault and its grab"
    assert all(k.mmap_lock.readers == ("CPU0 app",) and k.has_vma(0) for k in inside)


_RANGE_READ = """
name = "range-read"
description = "read(O_DIRECT) of two pages into the mapping; munmap of page 1; kswapd on page 1"
pages = 2
properties = ["pin-accounting"]
[[actor]]
name = "CPU0 app"
program = [ { op = "dio_read", page = 0, value = "B1", count = 2 } ]
[[actor]]
name = "CPU1 app"
program = [ { op = "munmap", page = 1 } ]
[[actor]]
name = "kswapd"
daemon = true
program = [ { op = "kswapd_reclaim", page = 1 } ]
"""


@pytest.mark.parametrize("design", ["linux-6.1", "linux-6.12"])
def test_a_gup_of_a_range_holds_mmap_read_lock_from_its_slow_path_to_its_last_page(
        design: str) -> None:
    """get_user_pages_unlocked (6.1) / __gup_longterm_locked (6.12) take mmap_read_lock once
    for the pages GUP-fast left: page 0 is mapped read-only, so the read's GUP takes it
    through the slow path and keeps the lock for page 1.  A munmap of page 1 cannot come
    between the two pages, and page 1's fault, which must wait for kswapd's folio lock,
    waits in the read's own step, holding the lock (no step of its own; only a retry, after
    the fault dropped the lock, takes it in a step of its own)."""
    model = KernelModel(parse(_RANGE_READ, "<t>"), DESIGNS[design])
    states = reachable(model.scenario, design)
    between = [k for k in states if k.threads[0].stage == "dio:got"
               and dict(k.threads[0].local)["dcur"] == 0]
    assert between, "the read never stopped between its two pages"
    assert all(k.mmap_lock.readers == ("CPU0 app",) for k in between)
    assert not any(k.has_vma(1) and not after.has_vma(1)  # a munmap before the read is fine
                   for k in between for _, after in model.successors(k))
    assert any(k.folio(1) is not None and k.folio(1).locked == "kswapd" for k in between)
    assert not any(k.threads[0].stage == "gup:fault" for k in between)
    assert not any(k.threads[0].stage == "gup:fault" and dict(k.threads[0].local)["gpage"] == 1
                   and not dict(k.threads[0].local).get("ftried") for k in states)
    assert end_results(model.scenario, design) >= {("read=-EFAULT",), ("read=ok",)}


@pytest.mark.parametrize("design", ["linux-6.1", "linux-6.12"])
def test_a_direct_io_read_past_eof_fails_with_efault_but_the_first_page_gets_the_data(
        design: str) -> None:
    """realkernel dio_into_mmap/beyond_eof: read_ret=-1 EFAULT; mem, disk and re-read hold B.1
    for the pages before EOF; touching a page beyond EOF gives SIGBUS."""
    from .helpers import end_states

    assert end_results("dio-beyond-eof", design) == {
        ("read=-EFAULT", "msync=0", "load=B1|B1", "SIGBUS")}
    for k in end_states("dio-beyond-eof", design):
        assert k.disk[:2] == ("B1", "B1")


@pytest.mark.parametrize("design", ["linux-6.1", "bounce-writeback"])
def test_a_hole_punched_under_a_pin_reads_as_zeros_and_leaves_the_next_page_alone(
        design: str) -> None:
    for results in end_results("punch-hole-while-pinned", design):
        assert results == ("reg_mr=0", "punch=0", "dereg_mr=0", "load=Z0|Z0", "load=A0|A0")


def test_6_1s_punch_writes_the_registered_page_back_while_the_nic_may_write_it() -> None:
    """The registration's write fault dirtied the page, so 6.1's ext4_punch_hole writes it
    back before taking its locks, with the NIC free to write into it (O1); the proposals,
    on 6.12's punch, truncate it without writing it back."""
    old = run("punch-hole-while-pinned", "linux-6.1")
    assert (old.verdict, old.property) == (Verdict.VIOLATED, "stable-writeback")
    assert f"CPU0 app: {FLUSH_FIRST} (page 0), before inode_lock" in old.trace.labels()
    assert run("punch-hole-while-pinned", "bounce-writeback").verdict is Verdict.HOLDS


def test_a_hole_punch_keeps_i_size_and_frees_only_its_blocks() -> None:
    ends = end_states("punch-hole-while-pinned", "linux-6.1")
    assert ends and all(k.i_size == 2 and k.disk == ("Z0", "Z0", "A0", "A0") for k in ends)


def test_two_read_bios_finishing_their_completions_at_once_have_their_own_steps() -> None:
    """A read() returns once its bio is woken; the bio's ``bio_check_pages_dirty`` runs
    later, so after a second read of the same page (and a truncate in between dirtying it
    again) both bios can be at that step in one state: each step names its bio, as the
    engine needs to replay a trace (found by fuzzing scenarios)."""
    sc = parse('name = "two-reads"\ndescription = "test"\n'
               '[[actor]]\nname = "A"\nprogram = [\n'
               '  { op = "dio_read", page = 0, value = "C3" },\n'
               '  { op = "dio_read", page = 0, value = "A2" },\n]\n'
               '[[actor]]\nname = "B"\nprogram = [ { op = "truncate" } ]\n', "<two-reads>")
    r = check(KernelModel(sc, DESIGNS["linux-6.1"]))
    assert r.verdict is not Verdict.ERROR, r.message


def _munmap_against(reclaim: str) -> Result:
    daemon = str(reclaim == "kswapd_reclaim").lower()  # kswapd is one
    sc = parse('name = "unmapped"\ndescription = "test"\n'
               '[[actor]]\nname = "A"\nprogram = [ { op = "munmap", page = 0 } ]\n'
               f'[[actor]]\nname = "B"\ndaemon = {daemon}\n'
               f'program = [ {{ op = "{reclaim}", page = 0 }} ]\n', "<unmapped>")
    return check(KernelModel(sc, DESIGNS["linux-6.12"]))


def test_a_page_unmapped_between_reclaim_isolating_and_unmapping_it_is_left_to_release() -> None:
    """kswapd holds no mmap_lock: munmap may zap the PTE after it isolated the folio and chose
    to unmap it; the rmap walk then finds no mapping and reclaim goes on to release (the model
    failed with an assertion on the missing PTE)."""
    r = _munmap_against("kswapd_reclaim")
    assert r.verdict is Verdict.HOLDS, r.message
    assert "B: try_to_unmap: page 0 is no longer mapped" in r.coverage


def test_madvise_pageout_holds_mmap_read_lock_so_munmap_comes_before_or_after_it() -> None:
    """mm/madvise.c: MADV_PAGEOUT walks the page tables under mmap_read_lock and reclaims
    inside the walk; munmap's mmap_write_lock waits for it, and after munmap the range has
    no VMA: madvise_walk_vmas returns -ENOMEM."""
    r = _munmap_against("madvise_pageout")
    assert r.verdict is Verdict.HOLDS, r.message
    assert "B: try_to_unmap: page 0 is no longer mapped" not in r.coverage
    assert "B: try_to_unmap_one: clear the pte of page 0" in r.coverage
    assert "B: madvise(MADV_PAGEOUT): mmap_read_lock, no VMA at page 0: -ENOMEM, " \
        "mmap_read_unlock" in r.coverage
    assert any(a.startswith("A: ") and "mmap_write_lock" in a for a in r.coverage)


FLUSH_FIRST = "ext4_punch_hole: mapping_tagged(PAGECACHE_TAG_DIRTY), filemap_write_and_wait_range"


def _punch_against(first: str) -> Scenario:
    return parse('name = "punch-flush"\ndescription = "test"\n'
                 f'[[actor]]\nname = "CPU0"\nprogram = [ {first} ]\n'
                 '[[actor]]\nname = "CPU1"\nprogram = [ { op = "punch_hole", page = 0 } ]\n',
                 "<punch-flush>")


def test_ext4_punch_writes_a_dirty_file_back_before_its_locks_until_6_14() -> None:
    """6.1's ext4_punch_hole runs filemap_write_and_wait_range before inode_lock when the
    mapping is tagged dirty; 6.12.y (43d0105e2c75) no longer does."""
    store = '{ op = "store", page = 0, block = 0, value = "C1" }'
    old = check(KernelModel(_punch_against(store), DESIGNS["linux-6.1"]))
    new = check(KernelModel(_punch_against(store), DESIGNS["linux-6.12"]))
    assert old.verdict is new.verdict is Verdict.HOLDS, (old.message, new.message)
    assert f"CPU1: {FLUSH_FIRST} (page 0), before inode_lock" in old.coverage
    assert not any(FLUSH_FIRST in a for a in new.coverage)


def test_the_unlocked_flush_lets_punch_write_back_a_page_a_direct_read_is_filling() -> None:
    """A direct-I/O read into the mapping dirties the page at submit; 6.1's punch then writes
    it back while the read's bio is pending, outside every lock, and the read's completion
    re-dirties it without ->page_mkwrite.  On 6.12 the punch truncates the page instead."""
    read = '{ op = "dio_read", page = 0, value = "B1" }'
    old = check(KernelModel(_punch_against(read), DESIGNS["linux-6.1"]))
    new = check(KernelModel(_punch_against(read), DESIGNS["linux-6.12"]))
    assert (old.verdict, old.property) == (Verdict.VIOLATED, "mkwrite-before-dirty")
    labels = old.trace.labels()
    assert f"CPU1: {FLUSH_FIRST} (page 0), before inode_lock" in labels
    assert labels.index(f"CPU1: {FLUSH_FIRST} (page 0), before inode_lock") < len(labels) - 1
    assert new.verdict is Verdict.HOLDS, new.message


def test_munmap_notifies_the_range_even_where_no_pte_is_left() -> None:
    """unmap_region runs the mmu notifier over the whole range: a device PTE a naive ODP
    driver programmed after the CPU PTE went is dropped too."""
    from gupcheck.kernel.state import replace as kreplace
    from gupcheck.kernel.truncate import munmap

    from .helpers import ctx

    model = KernelModel(SCENARIOS["munmap-while-dma"], DESIGNS["odp"])
    k = model.init_states()[0].with_pte(0, None)
    k = kreplace(k, nic_pages=((0, -1),), nic_odp=True, nic_mapped=((0, 0, k.fid(0)),))
    [move] = munmap(ctx(k, DESIGNS["odp"], me=1, name="CPU1 munmap", op=("munmap", 0)))
    assert move.state.nic_mapped == () and move.state.notifier_seq == 1


def test_a_gup_whose_fault_sleeps_holds_mmap_read_lock_meanwhile() -> None:
    """faultin_page sleeps on the folio lock with mmap_read_lock held: under
    bounce-writeback-mkwrite (->page_mkwrite at unpin, under the folio lock) a queued munmap
    then closes the lock cycle with the next GUP, as with a CPU store (the model dropped the
    lock while the GUP's fault waited, and said "holds")."""
    sc = parse("""
name = "gup-sleeps-under-mmap-lock"
description = "two GUPs of page 0 (the second after the first's unpin), munmap of page 1"
pages = 2
properties = ["no-sleep-in-atomic", "pin-accounting", "writeback-progress"]
[[actor]]
name = "CPU0 app"
program = [ { op = "dio_read", page = 0, value = "B1" },
            { op = "vm_writev", page = 0, value = "C1" } ]
[[actor]]
name = "CPU2 app"
program = [ { op = "munmap", page = 1 } ]
[[actor]]
name = "flusher"
daemon = true
program = [ { op = "writeback_pass" } ]
""", "<t>")
    result = check(KernelModel(sc, DESIGNS["bounce-writeback-mkwrite"]))
    assert result.verdict is Verdict.DEADLOCK, result.message
    assert "CPU0 app waits for folio lock of page 0" in result.message
    assert_steps_in_order(result, ["__get_user_pages: mmap_read_lock, faultin_page",
                                   "munmap: mmap_write_lock: queued behind the readers"])


@pytest.mark.parametrize("filesystem", ["ext4", "fsdax"])
def test_a_registration_after_munmap_finds_no_vma_before_any_refusal(filesystem: str) -> None:
    """__get_user_pages looks the VMA up before check_vma_flags: after munmap ibv_reg_mr and
    IORING_REGISTER_BUFFERS get -EFAULT, not the design's refusal (-EOPNOTSUPP on FS-DAX)."""
    for op, result in (("rdma_reg_mr", "reg_mr=-EFAULT"), ("iouring_register", "register=-EFAULT")):
        sc = parse(f'name = "register-unmapped"\ndescription = "t"\nfilesystem = "{filesystem}"\n'
                   '[[actor]]\nname = "A"\nprogram = [ { op = "munmap", page = 0 }, '
                   f'{{ op = "{op}", page = 0 }} ]\n', "<t>")
        ends = end_states(sc, "linux-6.12")
        assert {k.threads[0].results for k in ends} == {("munmap=0", result)}
        assert all(not k.ghost.refused for k in ends)


def test_msync_over_a_partly_unmapped_range_syncs_and_returns_enomem() -> None:
    """mm/msync.c: a hole in the range sets unmapped_error; the VMAs left are synced and the
    call returns -ENOMEM."""
    sc = parse('name = "msync-hole"\ndescription = "t"\npages = 2\n[[actor]]\nname = "A"\n'
               'program = [ { op = "munmap", page = 1 }, { op = "msync" } ]\n', "<t>")
    assert end_results(sc, "linux-6.12") == {("munmap=0", "msync=-ENOMEM")}
    # what it synced is still checked, and the finding says what msync returned
    lost = parse('name = "msync-hole"\ndescription = "t"\npages = 2\n'
                 'properties = ["no-lost-write"]\n[[actor]]\nname = "A"\n'
                 'program = [ { op = "dio_read", page = 0, value = "B1" }, '
                 '{ op = "munmap", page = 1 }, { op = "msync" } ]\n'
                 '[[actor]]\nname = "flusher"\ndaemon = true\n'
                 'program = [ { op = "writeback_pass" } ]\n', "<t>")
    result = check(KernelModel(lost, DESIGNS["linux-6.12"]))
    assert result.verdict is Verdict.VIOLATED and result.property == "no-lost-write"
    assert result.message.startswith("msync returned -ENOMEM but page 0"), result.message


def _touch_while(touch: str, other: str, *, filesystem: str = "ext4",
                 mapping: str = "shared") -> Scenario:
    op = '{ op = "truncate" }' if other == "truncate" else f'{{ op = "{other}", page = 0 }}'
    return parse('name = "touch-vs-other"\ndescription = "test"\n'
                 f'filesystem = "{filesystem}"\nmapping = "{mapping}"\n'
                 f'[[actor]]\nname = "CPU0"\nprogram = [ {touch} ]\n'
                 f'[[actor]]\nname = "CPU1"\nprogram = [ {op} ]\n',
                 "<touch>")


@pytest.mark.parametrize("filesystem", ["ext4", "xfs", "cowfs"])
def test_a_fault_mapping_the_page_again_cannot_hold_off_a_punch(filesystem: str) -> None:
    """unmap_mapping_range is one pass; a load that maps the page again behind it is unmapped
    when truncate_inode_pages_range removes the folio (truncate_cleanup_folio ->
    unmap_mapping_folio), so the punch always finishes: no fair run loops zap and re-map."""
    sc = _touch_while('{ op = "load", page = 0 }', "punch_hole", filesystem=filesystem)
    result = check(KernelModel(sc, DESIGNS["linux-6.1"]))
    assert result.verdict is Verdict.HOLDS, result.message
    assert any("truncate_cleanup_folio (unmap_mapping_folio)" in a for a in result.coverage)


@pytest.mark.parametrize("design", ["legacy", "linux-6.1", "linux-6.12"])
@pytest.mark.parametrize("touch", ['{ op = "load", page = 0 }',
                                   '{ op = "store", page = 0, block = 0, value = "B1" }'])
def test_a_shmem_fault_into_a_hole_being_punched_waits_for_the_punch(
        design: str, touch: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """shmem_fault sleeps on shmem_falloc_waitq while a punch covers its page (3.16 on), so a
    load or store faulting the page back in cannot hold the punch off; without that wait the model
    starved the punch (fault and shmem_undo_range taking turns forever), as Trinity showed
    the kernel before 3.16 could."""
    sc = _touch_while(touch, "punch_hole", filesystem="shmem")
    result = check(KernelModel(sc, DESIGNS[design]))
    assert result.verdict is Verdict.HOLDS, result.message
    model = KernelModel(sc, DESIGNS[design])
    waits = [w for s in reachable(sc, design) for w in model.waits(s)]
    assert any("shmem_falloc_waitq" in w.on for w in waits)
    no_wait = replace(SHMEM, vm_ops=replace(SHMEM.vm_ops, fault_wait=None))
    monkeypatch.setitem(FILESYSTEMS, "shmem", no_wait)
    result = check(KernelModel(sc, DESIGNS[design]))
    assert result.verdict is Verdict.STARVES and "writeback-progress" in result.property


def test_a_punch_keeps_private_copies_and_a_truncate_zaps_them() -> None:
    """mm/memory.c should_zap_page: truncate_pagecache_range (the punch) passes no even_cows,
    so a MAP_PRIVATE copy stays mapped and keeps its data; truncate_pagecache zaps it.  (A
    store after the truncate gets SIGBUS; one before or after the punch leaves a copy.)"""
    store = '{ op = "store", page = 0, block = 0, value = "C1" }'
    for other, kept in (("punch_hole", True), ("truncate", False)):
        sc = _touch_while(store, other, mapping="private")
        ends = [k for k in end_states(sc, "linux-6.12") if k.threads[0].results == ()]
        assert ends, other
        assert {k.ptes[0] is not None and k.ptes[0].cow is not None for k in ends} == {kept}, (
            other)


@pytest.mark.parametrize("design", ["legacy", "linux-6.1", "linux-6.12"])
def test_a_direct_read_of_the_file_past_eof_returns_0_bytes(design: str) -> None:
    """__iomap_dio_rw (do_blockdev_direct_IO before 5.5) returns 0 for a read at or past
    i_size, before writing anything back: after a truncate the page reads nothing, not the
    zeros a hole inside the file reads (it used to return "Z0|Z0")."""
    sc = parse('name = "dio-read-after-truncate"\ndescription = "t"\n[[actor]]\nname = "A"\n'
               'program = [ { op = "truncate" }, { op = "dio_read_file", page = 0 }, '
               '{ op = "ftruncate_grow" }, { op = "dio_read_file", page = 0 } ]\n', "<t>")
    assert end_results(sc, design) == {("truncate=0", "read=0", "grow=0", "read=Z0|Z0")}


@pytest.mark.parametrize("filesystem", ["xfs", "cowfs"])
def test_xfs_and_btrfs_punch_write_the_range_back_under_their_locks(filesystem: str) -> None:
    """xfs_flush_unmap_range and btrfs_wait_ordered_range (btrfs_punch_hole, under
    btrfs_inode_lock(BTRFS_ILOCK_MMAP)) write the punched range back before they truncate the
    page cache: a direct-I/O read's DMA can land in the page that writeback is writing (btrfs
    used to punch without it: a missed stable-writeback violation, found by a review helper)."""
    sc = parse(f'name = "punch-vs-dio-read"\ndescription = "t"\nfilesystem = "{filesystem}"\n'
               'free_blocks = 2\nproperties = ["stable-writeback"]\n'
               '[[actor]]\nname = "A"\nprogram = [ { op = "dio_read", page = 0, value = "B1" } ]\n'
               '[[actor]]\nname = "B"\nprogram = [ { op = "punch_hole", page = 0 } ]\n', "<t>")
    flush = FILESYSTEMS[filesystem].f_ops.punch_flush
    assert flush is not None
    result = check(KernelModel(sc, DESIGNS["linux-6.12"]))
    assert result.verdict is Verdict.VIOLATED and result.property == "stable-writeback"
    assert_steps_in_order(result, ["grabs page 0", f"{flush}: filemap_write_and_wait_range",
                                   "DMA of read bio"])


def test_btrfs_truncate_and_punch_give_their_space_back() -> None:
    """btrfs_invalidate_folio releases a removed dirty folio's reservation, and the dropped
    extents are free again: a store after a punch or truncate of a full filesystem reserves
    (it got SIGBUS: -ENOSPC from btrfs_delalloc_reserve_space, found by a review helper); a
    write into the hole then allocates a new extent with nothing old to free."""
    punch = parse('name = "cowfs-punch-space"\ndescription = "t"\nfilesystem = "cowfs"\n'
                  'free_blocks = 0\n[[actor]]\nname = "A"\nprogram = [ '
                  '{ op = "punch_hole", page = 0 }, '
                  '{ op = "store", page = 0, block = 0, value = "C2" }, { op = "fsync" } ]\n',
                  "<t>")
    trunc = parse('name = "cowfs-truncate-space"\ndescription = "t"\nfilesystem = "cowfs"\n'
                  'free_blocks = 1\n[[actor]]\nname = "A"\nprogram = [ '
                  '{ op = "store", page = 0, block = 0, value = "C1" }, { op = "truncate" }, '
                  '{ op = "ftruncate_grow" }, '
                  '{ op = "store", page = 0, block = 0, value = "C2" }, { op = "fsync" } ]\n',
                  "<t>")
    for sc, results, free in ((punch, ("punch=0", "fsync=0"), 0),
                              (trunc, ("truncate=0", "grow=0", "fsync=0"), 1)):
        ends = end_states(sc, "linux-6.12")
        assert {k.threads[0].results for k in ends} == {results}, sc.name
        assert {(k.free_blocks, k.read_back(0, 0), k.holes) for k in ends} == {
            (free, "C2", frozenset())}, sc.name


@pytest.mark.parametrize(("scenario", "who"), [("dio-unpin-vs-truncate", "CPU1 truncate"),
                                               ("vm-writev-vs-dio-invalidate", "CPU1 dio")])
def test_truncate_and_invalidation_wait_for_writeback_holding_the_folio_lock(
        scenario: str, who: str) -> None:
    """truncate_inode_pages_range's second pass and invalidate_inode_pages2_range:
    ``folio_lock(folio); ... folio_wait_writeback(folio);`` (6.1 mm/truncate.c)."""
    assert any(f is not None and f.writeback and f.locked == who
               for k in reachable(scenario, "linux-6.1") for f in k.folios)
