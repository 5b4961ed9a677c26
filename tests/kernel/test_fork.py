"""fork and copy-on-write with GUP references and pins, against the real kernels' outcomes
(docs/conformance.md, fork_cow_pinned) and the history of do_wp_page."""

from __future__ import annotations

import pytest

from gupcheck.designs import DESIGNS
from gupcheck.engine import Verdict, check
from gupcheck.kernel.system import KernelModel, Scenario
from gupcheck.scenarios.loader import parse

from .helpers import assert_steps_in_order, end_results, end_states, reachable, run

MODERN = ("linux-6.1", "linux-6.12")


@pytest.mark.parametrize("design", ["legacy", "pin-counting"])
def test_cve_2020_29374_the_child_reads_the_parents_secret_through_the_pipe(design: str) -> None:
    result = run("vmsplice-fork-leak", design)
    assert result.verdict is Verdict.VIOLATED and result.property == "cow-isolation"
    assert_steps_in_order(result, [
        "_pte: write-protect the page",
        "child vmsplice: get_user_pages_fast (FOLL_GET)",
        "child munmap",
        "do_wp_page: reuse the page (mapcount 1)",  # the <= 5.8 rule
        "child reads the pipe: P1|P1",
    ])


@pytest.mark.parametrize("design", MODERN)
def test_the_5_9_refcount_rule_copies_for_the_parent_and_the_pipe_keeps_the_old_data(
        design: str) -> None:
    assert run("vmsplice-fork-leak", design).verdict is Verdict.HOLDS
    # realkernel vmsplice_cve_2020_29374: child_pipe_sees=P.0; leak=False
    assert {r[-1] for r in end_results("vmsplice-fork-leak", design, actor=1)} == {"pipe=P0|P0"}


@pytest.mark.parametrize("design", MODERN)
def test_a_pinned_page_is_copied_for_the_child_at_fork(design: str) -> None:
    # realkernel iouring_pin_fork_parent_writes: parent_view_after_read_fixed=F.2; child_view=P.0
    assert run("fork-after-pin", design).verdict is Verdict.HOLDS
    assert {r[-1] for r in end_results("fork-after-pin", design, actor=0)} == {
        "parent read=F2|F2"}
    assert end_results("fork-after-pin", design, actor=1) == {("child read=P0|P0",)}


def test_before_5_9_the_parents_write_after_fork_moves_it_off_its_pinned_page() -> None:
    result = run("fork-after-pin", "pin-counting")
    assert result.verdict is Verdict.VIOLATED and result.property == "cow-isolation"
    assert_steps_in_order(result, ["pin_user_pages (FOLL_PIN)",
                                   "_pte: write-protect the page",
                                   "do_wp_page: wp_page_copy (mapcount 2), then parent stores"])
    assert "no longer the one it maps" in result.message


@pytest.mark.parametrize("design", MODERN)
def test_the_child_writes_its_own_copy_and_the_parent_gets_the_device_data(design: str) -> None:
    # realkernel iouring_pin_fork_child_writes: child_view_after_write=C.0; parent F.2
    assert end_results("fork-child-writes", design, actor=1) == {("child read=C1|C1",)}
    assert {r[-1] for r in end_results("fork-child-writes", design, actor=0)} == {
        "parent read=F2|F2"}


@pytest.mark.parametrize("design", MODERN)
def test_vmsplice_then_write_in_the_same_process_reuses_the_exclusive_page(design: str) -> None:
    # realkernel vmsplice_then_write_same_process: pipe_sees=P.1
    assert end_results("vmsplice-then-write", design) == {
        ("vmsplice=4096", "pipe=P1|P1")}


def test_a_read_only_pin_is_left_on_the_childs_copy_before_5_19() -> None:
    result = run("ro-pin-then-parent-write", "pin-counting")
    assert result.verdict is Verdict.VIOLATED and result.property == "cow-isolation"
    assert_steps_in_order(result, ["_pte: write-protect the page",
                                   "pin_user_pages (FOLL_PIN, read-only)",
                                   "do_wp_page: wp_page_copy"])


@pytest.mark.parametrize("design", MODERN)
def test_5_19_unshares_before_a_read_only_pin_so_the_parent_keeps_its_pinned_page(
        design: str) -> None:
    result = run("ro-pin-then-parent-write", design)
    assert result.verdict is Verdict.HOLDS
    assert any("gup_must_unshare: FAULT_FLAG_UNSHARE" in k for k in result.coverage)
    assert any("reuse the page (PageAnonExclusive)" in k for k in result.coverage)


def test_without_write_protect_seq_a_gup_fast_pin_lands_on_a_page_fork_is_sharing() -> None:
    from dataclasses import replace

    from gupcheck.designs import DESIGNS
    from gupcheck.engine import check
    from gupcheck.kernel.system import KernelModel
    from gupcheck.scenarios import SCENARIOS

    no_seq = replace(DESIGNS["linux-6.12"], name="6.12-without-write_protect_seq",
                     gup_fast_wp_seq=False)
    result = check(KernelModel(SCENARIOS["gup-fast-vs-fork"], no_seq))
    assert result.verdict is Verdict.VIOLATED and result.property == "cow-isolation"
    assert_steps_in_order(result, ["copy_present_pte: page not pinned: share it",
                                   "pin_user_pages_fast (FOLL_PIN|FOLL_WRITE): gup_fast_pte_range",
                                   "share it copy-on-write",
                                   "wp_page_copy"])
    fixed = run("gup-fast-vs-fork", "linux-6.12")
    assert fixed.verdict is Verdict.HOLDS
    # a pin that meets the fork waits for mmap_lock and then breaks COW before pinning
    assert any("do_wp_page" in k and "pin_user_pages_fast" in k for k in fixed.coverage)


def _anon(**programs: str) -> Scenario:
    """An anon = true scenario: one actor per keyword, its program's operations."""
    return parse('name = "anon-t"\ndescription = "t"\nanon = true\n' + "".join(
        f'[[actor]]\nname = "{name}"\nprogram = [ {ops} ]\n' for name, ops in programs.items()),
        "<t>")


def _fork_beside(op: str) -> Scenario:
    return _anon(main='{ op = "fork" }', io=op)


def test_fork_holds_mmap_write_lock_and_the_waits_name_the_forking_thread() -> None:
    """kernel/fork.c dup_mmap: mmap_write_lock_killable(oldmm) over the copy.  A slow-path
    pin, or a file store's fault, of another thread waits for the thread that forks (the
    model named a "parent" thread, whatever the scenario called it)."""
    for op in ('{ op = "anon_pin", proc = 0 }',
               '{ op = "store", page = 0, block = 0, value = "B1" }'):
        model = KernelModel(_fork_beside(op), DESIGNS["linux-6.12"], ())
        during = [k for k in reachable(model.scenario, "linux-6.12")
                  if k.mmap_lock.writer == "main"]
        assert during and all(k.fork_in_progress for k in during)
        waits = [w for k in during for w in model.waits(k) if w.actor == "io"]
        assert waits and all(w.holders == ("main",) for w in waits), waits


def test_fork_queues_behind_a_fault_that_holds_mmap_read_lock() -> None:
    """A store's write fault holds mmap_read_lock from lock_mm_and_find_vma to its return
    (several steps here): a fork that comes meanwhile queues, and copies only after the
    fault dropped the lock."""
    sc = _fork_beside('{ op = "store", page = 0, block = 0, value = "B1" }')
    states = reachable(sc, "linux-6.12")
    queued = [k for k in states if k.mmap_lock.queued == ("main",)]
    assert any(k.mmap_lock.readers == ("io",) for k in queued)
    assert not any(k.fork_in_progress and k.mmap_lock.readers for k in states)


@pytest.mark.parametrize(("design", "fast"), [("linux-6.1", False), ("linux-6.12", True)])
def test_6_12_io_uring_pins_through_gup_fast_while_a_fork_is_queued(design: str,
                                                                    fast: bool) -> None:
    """6.12 io_pin_pages is pin_user_pages_fast: with fork queued for mmap_write_lock (behind
    a file store's fault) write_protect_seq is still even, and GUP-fast pins the writable
    PTE; 6.1's pin_user_pages takes mmap_read_lock and waits behind the queued fork."""
    sc = _anon(main='{ op = "fork" }', io='{ op = "store", page = 0, block = 0, value = "B1" }',
               ring='{ op = "anon_pin", proc = 0 }')
    model = KernelModel(sc, DESIGNS[design], ())
    queued = [k for k in reachable(sc, design) if k.mmap_lock.queued == ("main",)
              and k.threads[2].pc == 0]
    assert queued
    pins = [str(lb) for k in queued for lb, _ in model.successors(k)
            if str(lb).startswith("ring:")]
    assert bool(pins) is fast
    assert all("pin_user_pages_fast (FOLL_PIN): gup_fast_pte_range" in p for p in pins)


def test_the_parents_munmap_queues_for_mmap_write_lock_like_the_files() -> None:
    """munmap of the anonymous page takes mmap_write_lock as munmap of the file mapping does:
    queued behind a fault holding the read side, and from then on new readers wait."""
    sc = _anon(main='{ op = "munmap_anon", proc = 0 }',
               io='{ op = "store", page = 0, block = 0, value = "B1" }')
    states = reachable(sc, "linux-6.12")
    assert any(k.mmap_lock.queued == ("main",) and k.mmap_lock.readers == ("io",)
               for k in states)
    assert all(k.anon_ptes[0] is None for k in end_states(sc, "linux-6.12"))


def test_munmap_of_an_anonymous_range_already_unmapped_is_not_an_error() -> None:
    sc = parse('name = "unmap-twice"\ndescription = "t"\nanon = true\n[[actor]]\nname = "a"\n'
               'program = [ { op = "munmap_anon", proc = 0, repeat = 2 } ]\n', "<t>")
    assert end_results(sc, "linux-6.12") == {("munmap=0", "munmap=0")}


_PIN_FORK = ('name = "pin-fork-{name}"\ndescription = "t"\nanon = true\n'
             '[[actor]]\nname = "parent"\nprogram = [ {{ op = "anon_pin", proc = 0 }}, '
             '{{ op = "fork" }}, {parent} ]\n'
             '[[actor]]\nname = "child"\nprogram = [ {child} ]\n')


@pytest.mark.parametrize("design", ["pin-counting", *MODERN])
def test_before_5_9_the_child_reads_the_devices_data_in_the_pinned_page_fork_shared(
        design: str) -> None:
    """5.7's copy_one_pte shares a pinned page copy-on-write: a READ_FIXED after fork lands
    in a page the child still maps, so the child reads the parent's I/O (5.9's copy of a
    maybe-pinned page at fork keeps it the parent's). It used to hold on 5.7."""
    sc = parse(_PIN_FORK.format(name="read", parent='{ op = "read_fixed", value = "F2" }',
                                child='{ op = "anon_read", proc = 1 }'), "<t>")
    result = check(KernelModel(sc, DESIGNS[design]))
    if design in MODERN:
        assert result.verdict is Verdict.HOLDS, result.message
        assert {r[-1] for r in end_results(sc, design, actor=1)} == {"child read=P0|P0"}
        return
    assert result.verdict is Verdict.VIOLATED and result.property == "cow-isolation"
    assert "child reads F2" in result.message
    assert_steps_in_order(result, [
        "io_sqe_buffer_register",
        "copy_one_pte: write-protect the page, share it copy-on-write",
        "READ_FIXED: the device writes F2 into the pinned buffer",
        "child loads F2|F2",
    ])


@pytest.mark.parametrize("design", ["pin-counting", *MODERN])
def test_before_5_9_a_child_alone_on_the_pinned_page_writes_into_the_parents_buffer(
        design: str) -> None:
    """The parent unmaps after fork: the child maps the shared pinned page once, so do_wp_page
    reuses it (mapcount 1) and the child's store lands in the parent's registered buffer."""
    sc = parse(_PIN_FORK.format(name="write", parent='{ op = "munmap_anon", proc = 0 }',
                                child='{ op = "anon_write", proc = 1, value = "C1" }'), "<t>")
    result = check(KernelModel(sc, DESIGNS[design]))
    if design in MODERN:
        assert result.verdict is Verdict.HOLDS, result.message
        return
    assert result.verdict is Verdict.VIOLATED and result.property == "cow-isolation"
    assert "the child wrote C1 into the page the parent pinned" in result.message
    assert_steps_in_order(result, ["parent munmap", "do_wp_page: reuse the page (mapcount 1)"])


@pytest.mark.parametrize("design", ["legacy", "pin-counting"])
def test_a_pipe_the_parent_filled_shows_its_later_write_to_the_child_and_that_is_no_leak(
        design: str) -> None:
    """The parent vmsplices its own page before fork, the child unmaps its copy and reads the
    inherited pipe: on <= 5.8 the parent's write reuses the page (mapcount 1) and the pipe
    shows P1, as a vmsplice'd page shows its owner's writes without fork. That is the parent's
    own publication, not CVE-2020-29374 (the child's splice of a shared page); it was reported
    as a cow-isolation violation."""
    sc = parse('name = "parent-pipe"\ndescription = "t"\nanon = true\n'
               '[[actor]]\nname = "parent"\nprogram = [ { op = "vmsplice", proc = 0 }, '
               '{ op = "fork" }, { op = "anon_write", proc = 0, value = "P1" } ]\n'
               '[[actor]]\nname = "child"\nprogram = [ { op = "munmap_anon", proc = 1 }, '
               '{ op = "pipe_read", proc = 1 } ]\n', "<t>")
    result = check(KernelModel(sc, DESIGNS[design]))
    assert result.verdict is Verdict.HOLDS, result.message
    assert "pipe=P1|P1" in {r[-1] for r in end_results(sc, design, actor=1)}


@pytest.mark.parametrize("design", MODERN)
def test_unshare_makes_a_page_nobody_else_references_exclusive_in_place(design: str) -> None:
    # do_wp_page with FAULT_FLAG_UNSHARE (6.1 mm/memory.c): refcount 1 -> page_move_anon_rmap,
    # no copy; the pin is on the page the parent maps
    sc = parse("""
name = "unshare-after-child-munmap"
description = "a read-only pin after the child unmapped the page"
anon = true
[[actor]]
name = "parent"
program = [ { op = "fork" }, { op = "anon_pin_ro", proc = 0 } ]
[[actor]]
name = "child"
program = [ { op = "munmap_anon", proc = 1 } ]
""", "<test>")
    result = check(KernelModel(sc, DESIGNS[design]))
    assert result.verdict is Verdict.HOLDS
    assert any("FAULT_FLAG_UNSHARE, page_move_anon_rmap (refcount 1)" in k
               for k in result.coverage)
    assert any("FAULT_FLAG_UNSHARE, an exclusive copy (refcount" in k for k in result.coverage)
    for k in end_states(sc, design):
        assert k.anon_pinned == k.anon_ptes[0].folio
