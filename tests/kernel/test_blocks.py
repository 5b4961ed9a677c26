"""ext4 delayed allocation: reservations at ->page_mkwrite, allocation at writeback, ENOSPC."""

from __future__ import annotations

import pytest

from gupcheck.scenarios.loader import parse

from .helpers import end_states, reachable


def _sparse(name: str, free: int, program: str) -> object:
    return parse(f'name = "{name}"\ndescription = "sparse"\nsparse = true\n'
                 f'free_blocks = {free}\n[[actor]]\nname = "CPU0 app"\n'
                 f'program = [\n{program}\n]\n', f"<{name}>")


@pytest.mark.parametrize("design", ["linux-6.1", "linux-6.12"])
def test_a_full_filesystem_fails_the_write_fault_sigbus_for_a_store_efault_for_gup(
        design: str) -> None:
    """ENOSPC from ->page_mkwrite is SIGBUS for a CPU store, -EFAULT for GUP:
    block_page_mkwrite_return (include/linux/buffer_head.h, 6.1) or vmf_fs_error
    (include/linux/mm.h, 6.12) makes it VM_FAULT_SIGBUS, and GUP's vm_fault_to_errno turns that
    into -EFAULT."""
    sc = _sparse("enospc", 0, '{ op = "store", page = 0, block = 0, value = "C1" },\n'
                              '{ op = "dio_read", page = 0, value = "B1" },')
    ends = end_states(sc, design)
    assert {k.threads[0].results for k in ends} == {("SIGBUS", "read=-EFAULT")}
    assert all(k.disk == ("Z0", "Z0") and k.holes == {0, 1} for k in ends)


def test_page_mkwrite_reserves_and_writeback_allocates_the_delalloc_blocks() -> None:
    sc = _sparse("delalloc", 2, '{ op = "dio_read", page = 0, value = "B1" },\n'
                                '{ op = "fsync" },')
    ends = end_states(sc, "linux-6.12")
    assert ends
    for k in ends:
        assert k.threads[0].results == ("read=ok", "fsync=0")
        assert k.disk == ("B1", "B1") and k.holes == frozenset() and k.free_blocks == 0
        assert all(b.startswith("mapped") for b in k.folio(0).buffers)


def test_truncate_releases_the_reservations_of_pages_never_written_back() -> None:
    sc = _sparse("release", 2, '{ op = "store", page = 0, block = 0, value = "C1" },\n'
                               '{ op = "truncate" },')
    reserved = [k for k in reachable(sc, "linux-6.12") if k.cached(0) is not None
                and k.cached(0).buffers == ("delay,dirty", "delay,dirty")]
    assert reserved and all(k.free_blocks == 0 for k in reserved)
    ends = end_states(sc, "linux-6.12")
    assert ends and all(k.free_blocks == 2 and k.holes == {0, 1} for k in ends)


@pytest.mark.parametrize("design", ["legacy", "linux-6.1"])
def test_kswapd_never_allocates_a_delayed_block_ext4_writepage_redirties_the_page(
        design: str) -> None:
    """ext4_writepage (until 6.3) does no block allocation: a delayed buffer makes it redirty
    the page and, under PF_MEMALLOC, return; the folio is kept dirty with its reservation.
    kswapd's pageout used to allocate the delalloc blocks and write the page."""
    from gupcheck.designs import DESIGNS
    from gupcheck.engine import check
    from gupcheck.kernel.system import KernelModel

    sc = parse('name = "kswapd-delalloc"\ndescription = "t"\nsparse = true\nfree_blocks = 2\n'
               '[[actor]]\nname = "CPU0 app"\n'
               'program = [ { op = "store", page = 0, block = 0, value = "C1" } ]\n'
               '[[actor]]\nname = "kswapd"\ndaemon = true\n'
               'program = [ { op = "kswapd_reclaim", page = 0 } ]\n', "<t>")
    coverage = check(KernelModel(sc, DESIGNS[design])).coverage
    kswapd = [a for a in coverage if a.startswith("kswapd:")]
    assert any("redirty_page_for_writepage" in a for a in kswapd)
    assert not any("submit_bio" in a or "ext4_map_blocks" in a for a in kswapd)
    ends = end_states(sc, design)
    # still dirty, both blocks still only reserved (->page_mkwrite reserved the page's holes)
    assert {(k.cached(0).dirty, k.free_blocks, len(k.holes)) for k in ends} == {(True, 0, 2)}
