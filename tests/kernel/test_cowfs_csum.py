"""Data checksums on the copy-on-write filesystem: a DMA between btrfs_csum_one_bio and the
transfer leaves a block that fails its checksum when read back ("csum failed", -EIO)."""

from __future__ import annotations

import pytest

from gupcheck.kernel.dio import CSUM_FAILED

from .helpers import end_states


@pytest.mark.parametrize("design", ["linux-6.1", "linux-6.12"])
def test_a_dma_after_the_checksum_makes_a_later_direct_read_fail_with_eio(design: str) -> None:
    ends = end_states("dio-read-into-mmap-btrfs", design)
    failed = [k for k in ends if k.threads[1].results == ("read=-EIO",)]
    assert failed and all(CSUM_FAILED in k.ghost.events for k in failed)
    bad = failed[0]
    assert any(d != s for d, s in zip(bad.disk, bad.csum, strict=True))
    # other interleavings read whole data: the old, the new, never a torn one that passes
    reads = {k.threads[1].results for k in ends}
    assert {("read=A0|A0",), ("read=B1|B1",)} <= reads


def test_bounce_writeback_checksums_and_writes_the_same_stable_copy() -> None:
    ends = end_states("dio-read-into-mmap-btrfs", "bounce-writeback")
    assert ends and not any(CSUM_FAILED in k.ghost.events for k in ends)
    assert all(k.disk == k.csum for k in ends)
