"""Long-term pins: RDMA memory registration and its release (drivers/infiniband/core/umem.c)."""

from __future__ import annotations

from gupcheck.designs import DESIGNS
from gupcheck.engine import check
from gupcheck.kernel.system import KernelModel
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
