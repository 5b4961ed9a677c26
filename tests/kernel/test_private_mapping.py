"""MAP_PRIVATE file mappings: writes go to private anonymous copies, never to the file
(docs/conformance.md, dio_into_mmap/private_mapping and iouring_ext4_private)."""

from __future__ import annotations

import pytest

from gupcheck.engine import Verdict

from .helpers import end_results, end_states, run


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
