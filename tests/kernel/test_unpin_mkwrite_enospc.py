"""bounce-writeback-mkwrite: ->page_mkwrite at put_user_page fails with ENOSPC after the DMA.

No task is there to take the SIGBUS a fault would get, so on ext4 and on the COW filesystem
alike the data is not dirtied and the error is recorded with mapping_set_error for the next
fsync/msync (gup.py ``put_user_page_mkwrite``).  No shipped ext4 workload reaches it
(ext4_page_mkwrite reserved the page's blocks when GUP faulted it in, and writeback allocated
them), so both filesystems are tested from a state set up by hand: the kworker holds the folio
lock, about to run ->page_mkwrite, on a filesystem with no free space left and a page with no
space reserved.
"""

from __future__ import annotations

import pytest

from gupcheck.designs import DESIGNS
from gupcheck.kernel.blocks import BH_HOLE
from gupcheck.kernel.state import SUBBLOCKS, KState, replace
from gupcheck.kernel.system import KWORKER, KernelModel
from gupcheck.lab import explore
from gupcheck.scenarios import SCENARIOS

from .helpers import end_states, reachable

DESIGN = "bounce-writeback-mkwrite"


def _lose_the_reservation(k: KState, fs: str) -> KState:
    """The filesystem is full and page 0 has no space reserved any more."""
    fid = k.fid(0)
    f = k.folio_at(fid)
    if fs == "cowfs":
        f = replace(f, reserved=False)
    else:  # ext4: the page's blocks are holes again
        f = replace(f, buffers=(BH_HOLE,) * SUBBLOCKS)
        k = replace(k, holes=frozenset(range(SUBBLOCKS)))
    return replace(k.with_folio_at(fid, f), free_blocks=0)


@pytest.mark.parametrize(("scenario", "fs", "reserve", "sync"), [
    ("dio-read-into-mmap", "ext4", "ext4_da_reserve_space", "fsync"),
    ("dio-read-into-mmap-btrfs", "cowfs", "btrfs_delalloc_reserve_space", "msync"),
])
def test_enospc_at_unpin_drops_the_data_and_reports_it_to_the_next_fsync(
        scenario: str, fs: str, reserve: str, sync: str) -> None:
    sc = SCENARIOS[scenario]
    model = KernelModel(sc, DESIGNS[DESIGN], ())
    kw = len(sc.actors) + 1
    # the kworker is in put_user_page with the folio locked; the app's read() has returned and
    # its sync has not started
    at = [k for k in reachable(sc, DESIGNS[DESIGN])
          if k.threads[kw].stage == "kw:mkwrite" and k.threads[0].pc == 1
          and k.threads[0].stage == ""]
    assert at and model.env.fs.name == fs
    for k in at[:3]:
        k = _lose_the_reservation(k, fs)
        moves = [(label, t) for label, t in model.successors(k) if label.actor == KWORKER]
        assert len(moves) == 1
        label, t = moves[0]
        assert f"{reserve} fails (-ENOSPC)" in label.action
        assert "mapping_set_error(-ENOSPC)" in label.action
        assert "no-enospc-after-dma" in {p for p, _ in t.ghost.violations}
        assert (t.wb_err, t.wb_errno) == (k.wb_err + 1, "ENOSPC")
        before, f = k.folio_at(k.fid(0)), t.folio_at(k.fid(0))
        assert not f.dirty and f.locked is None  # not dirtied; unlocked
        assert (f.pins + f.gets, f.refcount) < (before.pins + before.gets, before.refcount)
        assert t.dirty_work == k.dirty_work[1:] and t.free_blocks == 0
        # no SIGBUS to anyone: the app learns it from its next sync, through the errseq
        ends = explore(model, [t])[1]
        assert ends and {e.threads[0].results[1] for e in ends} == {f"{sync}=-ENOSPC"}


def test_enospc_at_unpin_on_the_cow_filesystem_reaches_fsync_in_the_shipped_scenario() -> None:
    ends = end_states("enospc-after-dma", DESIGN)
    lost = [k for k in ends if k.threads[0].results == ("read=ok", "fsync=-ENOSPC")]
    assert lost and all(k.wb_errno == "ENOSPC" for k in lost)
