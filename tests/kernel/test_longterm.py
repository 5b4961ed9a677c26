"""Long-term pins: RDMA memory registration and its release (drivers/infiniband/core/umem.c)."""

from __future__ import annotations

from gupcheck.designs import DESIGNS
from gupcheck.engine import check
from gupcheck.kernel.system import KernelModel
from gupcheck.lab import run_cell
from gupcheck.scenarios import SCENARIOS
from gupcheck.scenarios.loader import parse

#: the registration's write fault dirties the page; the flusher may clean it before the release
REG_DEREG = parse("""
name = "reg-dereg"
description = "register a page of a MAP_SHARED ext4 mapping, then deregister it"
[[actor]]
name = "CPU0 app"
program = [ { op = "rdma_reg_mr", page = 0 }, { op = "rdma_dereg_mr", page = 0 } ]
[[actor]]
name = "flusher"
daemon = true
program = [ { op = "writeback_pass" } ]
""", "<test>")


def _coverage(design: str) -> dict[str, int]:
    return check(KernelModel(REG_DEREG, DESIGNS[design]), keep_going=True).coverage


def test_before_5_7_deregistration_dirties_only_a_clean_page() -> None:
    """4.20 __ib_umem_release: ``if (!PageDirty(page) && umem->writable && dirty)
    set_page_dirty_lock(page); put_page(page);``: a dirty page is only released."""
    cover = _coverage("legacy")
    assert any("ib_umem_release: page 0 dirty, put_page" in lab for lab in cover)
    assert any("ib_umem_release: set_page_dirty_lock, put_page" in lab for lab in cover)


def test_unpin_user_pages_dirty_lock_dirties_only_a_clean_page_too() -> None:
    cover = _coverage("linux-6.1")
    assert any("ib_umem_release: unpin_user_pages_dirty_lock, unpin" in lab for lab in cover)
    assert any("unpin_user_pages_dirty_lock: folio_lock, folio_mark_dirty" in lab
               for lab in cover)


def test_an_on_demand_registration_takes_no_pin_on_6_12_where_a_pinning_one_is_refused() -> None:
    """IB_ACCESS_ON_DEMAND never reaches GUP's check_vma_flags: ib_umem_odp_get registers an
    mmu interval notifier, so 6.5's refusal of long-term pins of shared file mappings does not
    apply (nic_driver = "odp")."""
    odp = run_cell(SCENARIOS["odp-device-file"], DESIGNS["linux-6.12"])
    assert odp.verdict == "holds"
    assert any("ib_umem_odp_get: register page 0" in lab
               for r in odp.results.values() for lab in r.coverage)
    pinned = run_cell(SCENARIOS["rdma-longterm-file"], DESIGNS["linux-6.12"])
    assert (pinned.verdict, pinned.errno) == ("refused", "EFAULT")


def test_odp_before_5_10_is_not_modelled() -> None:
    cell = run_cell(SCENARIOS["odp-device-file"], DESIGNS["pin-counting"])
    assert cell.verdict == "n/a" and "5.10" in (cell.errno or "")
