"""write(O_DIRECT) from a mapped file page: a read-only pin is harmless to the page cache."""

from __future__ import annotations

import pytest

from gupcheck.designs import DESIGNS
from gupcheck.engine import Verdict

from .helpers import end_results, reachable, run


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
