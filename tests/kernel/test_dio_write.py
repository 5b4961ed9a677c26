"""write(O_DIRECT) from a mapped file page: a read-only pin is harmless to the page cache."""

from __future__ import annotations

import pytest

from gupcheck.designs import DESIGNS
from gupcheck.engine import Verdict, check
from gupcheck.kernel.dio_write import INVALIDATION_FAILURE
from gupcheck.kernel.system import KernelModel, Scenario
from gupcheck.scenarios.loader import parse

from .helpers import end_results, end_states, reachable, run


@pytest.mark.parametrize("design", sorted(DESIGNS))
def test_a_read_only_dio_pin_of_a_file_page_breaks_nothing(design: str) -> None:
    assert run("dio-write-from-mapping", design).verdict is Verdict.HOLDS
    assert end_results("dio-write-from-mapping", design) == {
        ("write=ok", "fsync=0")}


def test_before_6_4_reclaim_strips_the_buffers_of_the_pinned_source_page() -> None:
    stripped = [k for k in reachable("dio-write-from-mapping", "linux-6.1")
                if k.bios and k.bios[0].to_other and k.cached(0) is not None
                and k.cached(0).buffers is None and k.cached(0).gets == 1]
    assert stripped, "reclaim never met the DIO source page while it was referenced"


@pytest.mark.parametrize(("design", "pinned"), [("linux-6.1", False), ("linux-6.12", True)])
def test_the_dio_source_is_a_foll_get_reference_before_6_3_and_a_foll_pin_after(
        design: str, pinned: bool) -> None:
    bios = [b for k in reachable("dio-write-from-mapping", design) for b in k.bios if b.to_other]
    assert bios and {b.pinned for b in bios} == {pinned}


ALL_KERNELS = ("legacy", "pin-counting", "linux-6.1", "linux-6.12")


@pytest.mark.parametrize("design", ["legacy", "linux-6.1", "linux-6.12"])
def test_a_failed_invalidation_falls_back_to_a_buffered_write_and_loses_nothing(
        design: str) -> None:
    """__iomap_dio_rw -> -ENOTBLK -> ext4_buffered_write_iter (generic_file_direct_write's
    return 0 in 4.20): the page process_vm_writev re-dirtied is overwritten in the page cache,
    not on disk behind it, so fsync cannot write the stale copy over the O_DIRECT data."""
    result = run("vm-writev-vs-dio-invalidate", design, "no-lost-write")
    assert result.verdict is Verdict.HOLDS
    fired = set(result.coverage)
    assert any("-ENOTBLK (fall back to buffered write)" in f for f in fired)
    assert any("ext4_buffered_write_iter" in f for f in fired)
    assert any("ext4_dio_write_iter: filemap_write_and_wait_range" in f for f in fired)
    assert not any("invalidate_complete_folio2 fails" in f and "submit_bio" in f for f in fired)


def test_ext4_on_iomap_before_5_9_warns_about_a_failed_invalidation_and_writes_anyway() -> None:
    """iomap_dio_rw before 60263d5889e6 (5.9): dio_warn_stale_pagecache, which sets the
    mapping's errseq to -EIO (mm/filemap.c), and the direct write is submitted."""
    result = run("vm-writev-vs-dio-invalidate", "pin-counting", "no-lost-write")
    fired = set(result.coverage)
    assert any("dio_warn_stale_pagecache" in f and "the write goes on" in f for f in fired)
    assert not any("-ENOTBLK" in f for f in fired)
    warned = [k for k in reachable("vm-writev-vs-dio-invalidate", "pin-counting")
              if INVALIDATION_FAILURE in k.ghost.events]
    assert warned and all(k.wb_err > 0 and k.wb_errno == "EIO" for k in warned)


def test_the_post_write_invalidation_warns_about_a_page_redirtied_meanwhile() -> None:
    """iomap_dio_complete -> kiocb_invalidate_post_direct_write: the debugger re-faults and
    dirties the page during the direct write; the second invalidation fails and warns — the
    first message of the syzbot report (F4 in docs/failures.md: <Yg0m6IjcNmfaSokM@google.com>)."""
    warned = [k for k in reachable("vm-writev-vs-dio-invalidate", "linux-6.12")
              if INVALIDATION_FAILURE in k.ghost.events]
    assert warned
    assert all(k.threads[1].results == ("write=ok",) for k in warned)  # "the write still worked"


def test_a_write_that_overlaps_an_earlier_one_in_flight_is_not_promised_by_fsync() -> None:
    """P3 with overlapping writes: either may land last, so fsync promises neither; a write
    that starts after the other completed is promised."""
    k = reachable("vm-writev-vs-dio-invalidate", "linux-6.12")[0]
    first = k.start_numbers(0, (0,))
    k = k.write_started(0, (0,), "W1").with_ghost(writing=frozenset({(0, 0, 1)}))
    second = k.start_numbers(0, (0,))
    k = k.write_started(0, (0,), "V1").with_ghost(writing=frozenset({(0, 0, 1), (0, 0, 0)}))
    k = k.write_done(0, (0,), "W1", first).with_ghost(writing=frozenset({(0, 0, 0)}))
    overlapped = k.write_done(0, (0,), "V1", second).with_ghost(writing=frozenset())
    assert overlapped.promised(0, 0) is None
    third = overlapped.start_numbers(0, (0,))
    after = overlapped.write_started(0, (0,), "X1").write_done(0, (0,), "X1", third)
    assert after.promised(0, 0) == "X1"


def test_process_vm_writev_into_an_unmapped_page_fails_and_starts_no_write() -> None:
    """pin_user_pages_remote finds no VMA after munmap: -EFAULT, and no write of its value
    began (no fsync promise is withdrawn, no crash may show it)."""
    from gupcheck.scenarios.loader import parse

    from .helpers import end_states

    sc = parse('name = "unmapped-vm-writev"\ndescription = "t"\n[[actor]]\nname = "A"\n'
               'program = [ { op = "munmap", page = 0 }, '
               '{ op = "vm_writev", page = 0, value = "B1" } ]\n', "<t>")
    ends = end_states(sc, "linux-6.12")
    assert {k.threads[0].results for k in ends} == {("munmap=0", "vm_writev=-EFAULT")}
    assert all(k.ghost == ends[0].ghost and "B1" not in str(k.ghost) for k in ends)


def test_process_vm_writev_has_no_gup_fast_and_waits_behind_a_queued_munmap() -> None:
    """mm/process_vm_access.c: mmap_read_lock, pin_user_pages_remote: no GUP-fast, so even
    through a writable PTE the pin waits while a munmap is queued for mmap_write_lock
    (writer preference); GUP-fast would have grabbed the page."""
    from gupcheck.kernel.system import KernelModel
    from gupcheck.scenarios.loader import parse

    sc = parse('name = "vm-writev-t"\ndescription = "t"\n[[actor]]\nname = "A"\n'
               'program = [ { op = "store", page = 0, block = 0, value = "A1" }, '
               '{ op = "vm_writev", page = 0, value = "B1" } ]\n'
               '[[actor]]\nname = "B"\nprogram = [ { op = "munmap", page = 0 } ]\n', "<t>")
    model = KernelModel(sc, DESIGNS["linux-6.12"], ())
    at = [k for k in reachable(sc, "linux-6.12") if k.threads[0].pc == 1
          and not k.threads[0].stage and k.ptes[0] is not None and k.ptes[0].writable
          and k.mmap_lock.queued == ("B",)]
    assert at, "no state with the PTE writable and munmap queued"
    for k in at:
        assert not [lb for lb, _ in model.successors(k) if str(lb).startswith("A:")]
        assert [w.holders for w in model.waits(k) if w.actor == "A"] == [("B",)]


def _direct_write(filesystem: str, *, sparse: bool, free_blocks: int, then: str) -> Scenario:
    return parse(f'name = "dio-write-alone"\ndescription = "test"\nfilesystem = "{filesystem}"\n'
                 f'sparse = {str(sparse).lower()}\nfree_blocks = {free_blocks}\n'
                 'properties = ["no-lost-write", "crash-consistent"]\n'
                 '[[actor]]\nname = "CPU0"\n'
                 f'program = [ {{ op = "dio_write", page = 0, value = "B5" }}, {then} ]\n',
                 "<dio-write>")


@pytest.mark.parametrize("design", ALL_KERNELS)
@pytest.mark.parametrize("filesystem", ["ext4", "xfs"])
def test_a_direct_write_into_a_hole_allocates_unwritten_extents_converted_at_end_io(
        filesystem: str, design: str) -> None:
    """ext4_iomap_alloc / xfs_iomap_write_direct allocate the holes as unwritten extents,
    which ->end_io converts once the data is on disk: fsync then finds it there (it used to
    stay a hole, a false no-lost-write); with no free block the write fails with -ENOSPC."""
    sc = _direct_write(filesystem, sparse=True, free_blocks=2, then='{ op = "fsync" }')
    result = check(KernelModel(sc, DESIGNS[design]))
    assert result.verdict is Verdict.HOLDS, result.message
    ends = end_states(sc, design)
    assert {k.threads[0].results for k in ends} == {("write=ok", "fsync=0")}
    assert {(k.read_back(0, 0), k.read_back(0, 1), k.free_blocks) for k in ends} == {
        ("B5", "B5", 0)}
    assert any("unwritten extent for block(s) [0, 1]" in a for a in result.coverage)
    full = _direct_write(filesystem, sparse=True, free_blocks=1, then='{ op = "fsync" }')
    assert end_results(full, design) == {("write=-ENOSPC", "fsync=0")}
    overwrite = _direct_write(filesystem, sparse=False, free_blocks=0, then='{ op = "fsync" }')
    assert end_results(overwrite, design) == {("write=ok", "fsync=0")}  # in place: no space


@pytest.mark.parametrize("design", ALL_KERNELS)
def test_a_btrfs_direct_write_carries_its_checksums_to_a_new_extent(design: str) -> None:
    """btrfs_submit_dio_bio checksums the data (btrfs_csum_one_bio): reading the block back
    verifies, where the stale checksum of the old data failed it (-EIO, and a false
    crash-consistent violation); the new extent needs a free block (-ENOSPC without), the old
    one is freed when the ordered extent finishes."""
    sc = _direct_write("cowfs", sparse=False, free_blocks=1,
                       then='{ op = "dio_read_file", page = 0 }')
    result = check(KernelModel(sc, DESIGNS[design]))
    assert result.verdict is Verdict.HOLDS, result.message
    ends = end_states(sc, design)
    assert {k.threads[0].results for k in ends} == {("write=ok", "read=B5|B5")}
    assert {k.free_blocks for k in ends} == {1}
    full = _direct_write("cowfs", sparse=False, free_blocks=0,
                         then='{ op = "dio_read_file", page = 0 }')
    assert end_results(full, design) == {("write=-ENOSPC", "read=A0|A0")}


def test_the_buffered_fallback_waits_for_stable_pages_holding_the_folio_lock() -> None:
    """__filemap_get_folio(FGP_WRITEBEGIN) locks the folio, then folio_wait_stable: on a
    stable-writes device the buffered fallback sleeps holding the lock."""
    sc = parse("""
name = "buffered-stable"
description = "a direct write that falls back to a buffered one while writeback runs"
device = "stable-writes"
[[actor]]
name = "CPU0 app"
program = [ { op = "vm_writev", page = 0, value = "V1" } ]
[[actor]]
name = "CPU1 dio"
program = [ { op = "dio_write", page = 0, value = "C1" } ]
[[actor]]
name = "flusher"
daemon = true
program = [ { op = "writeback_pass" } ]
""", "<test>")
    assert any(f is not None and f.writeback and f.locked == "CPU1 dio"
               and k.threads[1].stage == "dw:buffered"
               for k in reachable(sc, "linux-6.12") for f in k.folios)
