"""FS-DAX: the pinned page is the file's block, so truncate must wait (F6 on DAX)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gupcheck.designs import DESIGNS
from gupcheck.engine import Verdict, check
from gupcheck.kernel.config import KernelConfig
from gupcheck.kernel.system import KernelModel
from gupcheck.kernel.vma import (
    EOPNOTSUPP,
    EPERM,
    FOLL_LONGTERM,
    FOLL_PIN,
    FOLL_WRITE,
    Backing,
    Vma,
    check_vma_flags,
)
from gupcheck.scenarios import SCENARIOS

from .helpers import assert_steps_in_order, end_results, end_states, reachable, run

#: ext4 before 4.18/4.19: truncate of a DAX file freed blocks without waiting for DMA
PRE_4_18 = replace(DESIGNS["legacy"], name="linux-4.17", dax_break_layouts=False)


def _check(scenario: str, cfg: KernelConfig, *props: str):
    return check(KernelModel(SCENARIOS[scenario], cfg, props or None))


def test_without_break_layouts_a_dio_writes_into_the_block_truncate_freed() -> None:
    result = _check("dax-truncate", PRE_4_18, "no-stray-dma")
    assert result.verdict is Verdict.VIOLATED
    assert result.property == "no-stray-dma"
    assert_steps_in_order(result, ["submit_bio (read bio #0 into page 0)",
                                   "ext4_setattr: filemap_invalidate_lock",
                                   "ext4_truncate: free pmem blocks 0",
                                   "DMA of read bio #0 writes B1"])


def test_without_break_layouts_the_dma_can_corrupt_the_file_that_reused_the_block() -> None:
    model = KernelModel(SCENARIOS["dax-truncate"], PRE_4_18, ("no-stray-dma",))
    result = check(model, keep_going=True)
    assert result.verdict is Verdict.VIOLATED
    # the reuse itself is reachable before the stray DMA: some state has both
    corrupted = [k for k in reachable("dax-truncate", PRE_4_18)
                 if any("another file now owns" in why for _, why in k.ghost.violations)]
    assert corrupted, "no interleaving where the DMA lands in the other file's block"


@pytest.mark.parametrize("design", ["legacy", "linux-6.1", "linux-6.12"])
def test_ext4_break_layouts_waits_for_the_dio_pin_so_no_dma_strays(design: str) -> None:
    assert run("dax-truncate", design).verdict is Verdict.HOLDS


def test_truncate_waits_for_the_busy_page_with_the_invalidate_lock_dropped() -> None:
    waiting = [k for k in reachable("dax-truncate", "linux-6.12")
               if k.threads[1].stage == "tr:daxwait"]
    assert waiting and all(k.invalidate_lock.writer is None for k in waiting)
    assert all(k.folio(0).refcount > 1 for k in waiting if k.threads[1].stage == "tr:daxwait"
               and k.bios)


@pytest.mark.parametrize("design", ["legacy", "pin-counting", "linux-6.1", "linux-6.12",
                                    "proposal-base"])
def test_every_kernel_refuses_a_long_term_pin_of_fsdax(design: str) -> None:
    from gupcheck.designs import PROPOSAL_BASE
    cfg = PROPOSAL_BASE if design == "proposal-base" else DESIGNS[design]
    results = {k.threads[0].results for k in end_states("dax-truncate-longterm", cfg)}
    assert results == {("lease=-EINVAL", "reg_mr=-EOPNOTSUPP", "dereg_mr=-EINVAL")}


def test_layout_lease_grants_the_pin_and_fails_the_truncate_of_a_pinned_page_with_etxtbsy(
) -> None:
    """RFC 07/10: ext4_break_layouts returns -ETXTBSY for a page_gup_pinned page; "Truncation
    of pages which are not actively pinned will succeed" (a lease alone refused every truncate,
    before the pin and after the deregistration too)."""
    ends = end_states("dax-truncate-longterm", "layout-lease")
    outcomes = {(k.threads[0].results, k.threads[1].results) for k in ends}
    assert outcomes == {
        # the pin came first: the truncate is refused
        (("lease=0", "reg_mr=0", "dereg_mr=0"), ("truncate=-ETXTBSY", "write=-ENOSPC")),
        # the truncate came after the deregistration: nothing pinned, it succeeds
        (("lease=0", "reg_mr=0", "dereg_mr=0"), ("truncate=0", "write=ok")),
        # the truncate came first (with or without the lease): the registration faults
        # beyond EOF
        (("lease=0", "reg_mr=-EFAULT", "dereg_mr=-EINVAL"), ("truncate=0", "write=ok")),
    }
    assert all(not k.ghost.violations for k in ends)


def test_check_vma_flags_on_fsdax() -> None:
    dax = Vma(Backing.DAX, shared=True)
    longterm = FOLL_WRITE | FOLL_LONGTERM | FOLL_PIN
    assert check_vma_flags(dax, longterm, DESIGNS["linux-6.12"]) == EOPNOTSUPP
    assert check_vma_flags(dax, FOLL_WRITE | FOLL_PIN, DESIGNS["linux-6.12"]) is None
    lease = DESIGNS["layout-lease"]
    assert check_vma_flags(dax, longterm, lease) == EPERM
    assert check_vma_flags(dax, longterm, lease, lease_held=True) is None


def test_a_dio_that_loses_the_race_to_truncate_gets_efault_and_the_block_goes_to_the_other_file(
) -> None:
    results = end_results("dax-truncate", "linux-6.12", actor=1)
    assert results == {("truncate=0", "write=ok")}
    assert end_results("dax-truncate", "linux-6.12") == {("read=ok",), ("read=-EFAULT",)}


@pytest.mark.parametrize("other", ['{ op = "truncate" }', '{ op = "punch_hole", page = 0 }'])
def test_a_dax_load_that_slept_behind_a_truncate_sees_the_new_size_or_the_hole(
        other: str) -> None:
    """The load's fault waits for invalidate_lock; when it wakes the truncate has set i_size
    to 0 (VM_FAULT_SIGBUS) or the punch has made a hole (dax_load_hole): it maps nothing."""
    from gupcheck.scenarios.loader import parse

    from .helpers import end_results

    sc = parse('name = "dax-load"\ndescription = "t"\nfilesystem = "fsdax"\n'
               '[[actor]]\nname = "a"\nprogram = [ { op = "load", page = 0 } ]\n'
               f'[[actor]]\nname = "b"\nprogram = [ {other} ]\n', "<t>")
    result = check(KernelModel(sc, DESIGNS["linux-6.12"]))
    assert result.verdict is Verdict.HOLDS, result.message
    assert {r[0] for r in end_results(sc, "linux-6.12")} >= {"load=A0|A0"}
    assert {r[0] for r in end_results(sc, "linux-6.12")} - {"load=A0|A0"} in (
        {"SIGBUS"}, {"load=Z0|Z0"})


@pytest.mark.parametrize("design", ["legacy", "linux-6.1", "linux-6.12"])
def test_before_6_15_truncate_finds_no_busy_page_once_no_vma_maps_the_file(design: str) -> None:
    """dax_layout_busy_page_range: ``if (!dax_mapping(mapping) || !mapping_mapped(mapping))
    return NULL;`` (6.1 fs/dax.c): the pin the DIO still holds is not waited for."""
    result = run("dax-truncate-unmapped", design)
    assert result.verdict is Verdict.VIOLATED and result.property == "no-stray-dma"
    assert_steps_in_order(result, ["grabs page 0 (FOLL_", "submit_bio (read bio #0",
                                   "munmap: mmap_write_lock, detach the VMA",
                                   "mapping_mapped() is false",
                                   "ext4_truncate: free pmem blocks 0",
                                   "DMA of read bio #0 writes B1"])


def test_from_6_15_truncate_waits_for_a_pinned_page_of_an_unmapped_file() -> None:
    fixed = replace(DESIGNS["linux-6.12"], name="6.12+unmapped-busy-scan", dax_busy_unmapped=True)
    assert _check("dax-truncate-unmapped", fixed).verdict is Verdict.HOLDS


def test_a_dax_hole_punch_waits_for_a_busy_page_anywhere_in_the_file() -> None:
    """ext4_break_layouts -> dax_layout_busy_page(inode->i_mapping): the whole file, not the
    punched range (6.1 fs/ext4/inode.c)."""
    from gupcheck.scenarios.loader import parse

    sc = parse('name = "dax-punch-other"\ndescription = "t"\nfilesystem = "fsdax"\npages = 2\n'
               '[[actor]]\nname = "a"\nprogram = [ { op = "dio_read", page = 0, value = "B1" } ]\n'
               '[[actor]]\nname = "b"\nprogram = [ { op = "punch_hole", page = 1 } ]\n', "<t>")
    waits = [k for k in reachable(sc, "linux-6.12")
             if k.threads[1].stage == "tr:daxwait"
             and dict(k.threads[1].local).get("tbusy") == 0]
    assert waits, "the punch of page 1 never waited for the pinned page 0"
