"""Hypothesis drives random step sequences through the model and checks its bookkeeping."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gupcheck.designs import DESIGNS as KERNELS
from gupcheck.kernel.gup import pin_bias
from gupcheck.kernel.state import KState
from gupcheck.kernel.system import KernelModel
from gupcheck.scenarios import SCENARIOS


def internal_invariants(k: KState, pin_counting: bool, pins_hold_writeback: bool = False,
                        fs: str = "ext4") -> None:
    for fid, f in enumerate(k.folios):
        if f is None:
            assert not any(b.folio == fid for b in k.bios), "I/O to a freed folio"
            assert fid not in k.cache
            continue
        if f.anon:
            # the pipe holds a FOLL_GET ref
            assert f.refcount == f.mapcount + f.gets + pin_bias(f, pin_counting) * f.pins
            continue
        if fs == "fsdax" and fid < len(k.dax_owner):  # a pmem block's struct page
            assert f.refcount == 1 + f.gets + pin_bias(f, pin_counting) * f.pins and f.mapcount == 0
            if k.dax_owner[fid] == f"file:{f.index}" and f.mapping:
                assert k.cache[f.index] == fid
            else:
                assert fid not in k.cache, "a freed or reused block still in the file"
            continue
        cached = k.cache[f.index] == fid
        assert cached == f.mapping, "an orphan is exactly a folio out of the page cache"
        pte = k.ptes[f.index] if cached and k.maps_cache(f.index) else None
        waiters = sum(t.stage == "fault:lockwait" and dict(t.local)["fwait"] == fid
                      for t in k.threads)  # filemap_fault sleeping on the folio lock
        waiters += sum(dict(t.local).get("fref") == fid
                       for t in k.threads)  # a write fault between ->fault and ->page_mkwrite
        expected = (cached + f.mapcount + (f.buffers is not None) + f.gets
                    + pin_bias(f, pin_counting) * f.pins + f.isolated + waiters
                    + k.fixup_work.count(fid))  # btrfs_writepage_cow_fixup's get_page
        assert f.refcount == expected, f"refcount {f.refcount} != {expected}: {f}"
        assert f.mapcount == (pte is not None)
        if pte is not None and pte.writable and fs == "ext4":  # write-notify
            assert f.prepared or f.dirty, "a writable PTE on a page the fs was not told about"
        if f.writeback:  # a write bio in flight, or (block-writeback) the pins holding it
            assert any(b.write and b.folio == fid for b in k.bios) or (
                pins_hold_writeback and f.maybe_dma_pinned())
        if f.locked is not None:
            assert f.mapping
    for page, fid in enumerate(k.cache):
        if fid is None:
            pte = k.ptes[page]
            assert pte is None or pte.cow is not None, "a PTE maps a page that is not cached"
    assert k.ghost.pins_acquired - k.ghost.pins_released == sum(
        f.pins for f in k.folios if f is not None)
    assert all(k.bio(b).done for b in k.dirty_work)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(SCENARIOS)), st.sampled_from(sorted(KERNELS)), st.data())
def test_random_step_sequences_keep_the_models_bookkeeping(scenario: str, design: str,
                                                            data: st.DataObject) -> None:
    model = KernelModel(SCENARIOS[scenario], KERNELS[design])
    k = model.init_states()[0]
    for _ in range(60):
        internal_invariants(k, model.cfg.pin_counting, model.cfg.writeback_pinned == "block",
                            model.env.fs.name)
        succ = list(model.successors(k))
        if not succ:
            assert model.is_end(k) or list(model.waits(k)), "stuck without saying why"
            break
        labels = [lab.text for lab, _ in succ]
        assert len(set(labels)) == len(labels), f"duplicate labels: {labels}"
        _, k = succ[data.draw(st.integers(0, len(succ) - 1))]
