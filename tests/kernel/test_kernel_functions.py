"""Single kernel functions of the model against their documented behaviour."""

from __future__ import annotations

from gupcheck.designs import DESIGNS
from gupcheck.kernel.actor import Ctx
from gupcheck.kernel.device import bio_dirty_work
from gupcheck.kernel.dirty import folio_mark_dirty
from gupcheck.kernel.fs.ext4 import EXT4, EXT4_DIRTY_FOLIO_WARN
from gupcheck.kernel.gup import grab, release
from gupcheck.kernel.locks import MMAP_LOCK, read_acquired
from gupcheck.kernel.properties import invariants
from gupcheck.kernel.reclaim import stage_release
from gupcheck.kernel.state import (
    BH_CLEAN,
    BH_DIRTY,
    GUP_PIN_COUNTING_BIAS,
    Bio,
    Thread,
    initial_state,
    replace,
)
from tests.kernel.helpers import EXT4_ENV, ctx

LINUX_6_1, LINUX_6_12 = DESIGNS["linux-6.1"], DESIGNS["linux-6.12"]


def cached() -> object:
    return initial_state(1, 1, cached=True, mapped=False, fs=EXT4)


def test_a_pin_adds_the_bias_and_an_unpin_removes_it() -> None:
    k = grab(cached(), 0, pin=True, pin_counting=True)
    f = k.folio(0)
    assert f.refcount == 2 + GUP_PIN_COUNTING_BIAS and f.pins == 1 and f.maybe_dma_pinned()
    k = release(ctx(k), k, 0, pin=True)
    assert k.folio(0).refcount == 2 and not k.folio(0).maybe_dma_pinned()
    assert (k.ghost.pins_acquired, k.ghost.pins_released) == (1, 1)


def test_1024_plain_references_look_pinned_a_false_positive_the_kernel_accepts() -> None:
    k = cached()
    for _ in range(GUP_PIN_COUNTING_BIAS - 2):
        k = grab(k, 0, pin=False, pin_counting=True)
    assert k.folio(0).refcount == GUP_PIN_COUNTING_BIAS
    assert k.folio(0).maybe_dma_pinned() and k.folio(0).pins == 0
    [check] = invariants(("pin-accounting",), pin_counting=True, on_disk=True)
    assert check.check(k) is None  # false positives are allowed


def _large() -> object:
    k = cached()
    return k.with_folio(0, replace(k.folio(0), large=True))


def test_a_pin_of_a_large_folio_counts_once_in_refcount_and_exactly_in_pincount() -> None:
    k = grab(_large(), 0, pin=True, pin_counting=True)
    f = k.folio(0)
    assert f.refcount == 3 and f.pins == 1 and f.maybe_dma_pinned()
    k = release(ctx(k), k, 0, pin=True)
    assert k.folio(0).refcount == 2 and not k.folio(0).maybe_dma_pinned()


def test_a_large_folio_has_no_false_positive_at_1024_references() -> None:
    k = _large()
    for _ in range(GUP_PIN_COUNTING_BIAS):
        k = grab(k, 0, pin=False, pin_counting=True)
    assert k.folio(0).refcount > GUP_PIN_COUNTING_BIAS and not k.folio(0).maybe_dma_pinned()


def test_before_pin_counting_a_pin_is_invisible_to_maybe_dma_pinned() -> None:
    k = grab(cached(), 0, pin=True, pin_counting=False)
    assert k.folio(0).refcount == 3 and not k.folio(0).maybe_dma_pinned()


def test_pin_accounting_catches_a_pin_without_the_bias() -> None:
    k = cached()
    k = k.with_folio(0, replace(k.folio(0), pins=1))
    [check] = invariants(("pin-accounting",), pin_counting=True, on_disk=True)
    assert "folio_maybe_dma_pinned() is false" in (check.check(k) or "")


def test_dirtying_a_page_with_buffers_dirties_every_buffer() -> None:
    k = cached()
    k = k.with_folio(0, replace(k.folio(0), prepared=True))
    k = folio_mark_dirty(ctx(k), k, 0, who="test")
    assert k.folio(0).dirty and k.folio(0).buffers == (BH_DIRTY, BH_DIRTY)
    assert k.ghost.violations == ()


def test_dirtying_a_page_without_buffers_is_ext4s_warning() -> None:
    k = cached()
    k = k.with_folio(0, replace(k.folio(0), buffers=None, refcount=1, prepared=True))
    k = folio_mark_dirty(ctx(k), k, 0, who="test")
    assert k.folio(0).dirty
    assert EXT4_DIRTY_FOLIO_WARN in k.ghost.events
    assert [p for p, _ in k.ghost.violations] == ["dirty-has-backing"]


def test_dirtying_a_truncated_folio_is_noop_dirty_folio() -> None:
    k = cached()
    k = k.with_folio(0, replace(k.folio(0), mapping=False, buffers=None))
    k = folio_mark_dirty(ctx(k), k, 0, who="test")
    assert k.folio(0).dirty and k.ghost.violations == () and k.ghost.events == ()


def test_clean_to_dirty_without_page_mkwrite_breaks_the_protocol_but_a_pte_transfer_does_not(
) -> None:
    k = folio_mark_dirty(ctx(k0 := cached()), k0, 0, who="test", pte_transfer=True)
    assert k.ghost.violations == ()
    k = folio_mark_dirty(ctx(k0 := cached()), k0, 0, who="test")
    assert [p for p, _ in k.ghost.violations] == ["mkwrite-before-dirty"]


def _reclaim_ctx(k: object, cfg: object = LINUX_6_12) -> Ctx:
    return Ctx(k, 0, "kswapd", cfg, EXT4_ENV, ("kswapd_reclaim", 0))


def _isolated(k: object) -> object:
    f = k.folio(0)
    return k.with_folio(0, replace(f, isolated=True, locked="kswapd", refcount=f.refcount + 1))


def test_try_to_free_buffers_refuses_busy_buffers() -> None:
    k = cached()
    k = _isolated(k.with_folio(0, replace(k.folio(0), buffers=(BH_DIRTY, BH_CLEAN))))
    [move] = stage_release(_reclaim_ctx(k))
    assert "try_to_free_buffers fails" in move.func
    assert move.state.folio(0).buffers == (BH_DIRTY, BH_CLEAN)


def test_try_to_free_buffers_ignores_references_held_by_gup() -> None:
    k = _isolated(grab(cached(), 0, pin=False, pin_counting=True))
    [move] = stage_release(_reclaim_ctx(k, LINUX_6_1))
    assert "strips the buffers" in move.func
    assert move.state.folio(0).buffers is None


def test_reclaim_skips_a_maybe_pinned_folio_since_6_4() -> None:
    k = _isolated(grab(cached(), 0, pin=True, pin_counting=True))
    [move] = stage_release(_reclaim_ctx(k, LINUX_6_12))
    assert "folio_maybe_dma_pinned -> activate_locked" in move.func
    assert move.state.folio(0).buffers is not None and not move.state.folio(0).isolated


def test_bio_dirty_work_redirties_then_unpins_and_never_calls_page_mkwrite() -> None:
    k = grab(cached(), 0, pin=True, pin_counting=True)
    bio = Bio(id=0, write=False, page=0, folio=0, pending=(), owner="CPU0", waiter=0, value="B1",
              pinned=True, woken=True, done=True)
    k = replace(k, bios=(bio,), dirty_work=(0,), threads=(Thread(), Thread()))
    [move] = bio_dirty_work(Ctx(k, 1, "kworker bio_dirty_work", LINUX_6_12, EXT4_ENV, ()))
    f = move.state.folio(0)
    assert f.dirty and f.pins == 0 and f.refcount == 2 and not f.prepared
    assert [p for p, _ in move.state.ghost.violations] == ["mkwrite-before-dirty"]
    assert move.state.bios == () and move.state.dirty_work == ()


def test_bio_dirty_work_sleeps_on_a_locked_folio() -> None:
    k = cached()
    k = k.with_folio(0, replace(k.folio(0), locked="flusher"))
    bio = Bio(id=0, write=False, page=0, folio=0, pending=(), owner="CPU0", done=True)
    k = replace(k, bios=(bio,), dirty_work=(0,), threads=(Thread(), Thread()))
    out = bio_dirty_work(Ctx(k, 1, "kworker bio_dirty_work", LINUX_6_12, EXT4_ENV, ()))
    assert out.on == "folio lock of page 0" and out.holders == ("flusher",)


def _dirty_isolated(buffers: tuple | None) -> object:
    k = cached()
    f = replace(k.folio(0), dirty=True, buffers=buffers,
                refcount=k.folio(0).refcount - (buffers is None))
    return _isolated(k.with_folio(0, f))


def test_kswapd_writes_a_dirty_ext4_folio_itself_before_6_3_and_activates_it_after() -> None:
    [old] = stage_release(_reclaim_ctx(_dirty_isolated((BH_DIRTY, BH_DIRTY)), LINUX_6_1))
    assert old.func.startswith("pageout: ext4_writepage: folio_clear_dirty_for_io")
    f = old.state.folio(0)
    assert f.writeback and not f.dirty and not f.isolated and old.state.bios[0].write
    [new] = stage_release(_reclaim_ctx(_dirty_isolated((BH_DIRTY, BH_DIRTY)), LINUX_6_12))
    assert "dirty file folio -> activate_locked" in new.func and not new.state.bios


def test_madvise_pageout_never_writes_a_dirty_folio_even_before_6_3() -> None:
    k = read_acquired(_dirty_isolated((BH_DIRTY, BH_DIRTY)), "CPU0", MMAP_LOCK)
    [move] = stage_release(Ctx(k, 0, "CPU0", LINUX_6_1, EXT4_ENV, ("madvise_pageout", 0)))
    assert "activate_locked" in move.func and not move.state.bios
    assert move.state.mmap_lock.readers == ()  # madvise returns: mmap_read_unlock


def test_kswapd_pageout_of_a_dirty_folio_without_buffers_warns_on_6_1_and_bugs_on_4_20() -> None:
    [warn] = stage_release(_reclaim_ctx(_dirty_isolated(None), LINUX_6_1))
    assert "ext4_writepage: page 0 does not have buffers attached" in " ".join(
        warn.state.ghost.events)
    assert not warn.state.folio(0).dirty and not warn.state.ghost.crashed
    [bug] = stage_release(_reclaim_ctx(_dirty_isolated(None), DESIGNS["legacy"]))
    assert bug.state.ghost.crashed and "BUG" in bug.func


def test_kswapd_pageout_keeps_a_dirty_folio_a_gup_user_still_references() -> None:
    k = grab(_dirty_isolated((BH_DIRTY, BH_DIRTY)), 0, pin=False, pin_counting=True)
    [move] = stage_release(_reclaim_ctx(k, LINUX_6_1))
    assert "is_page_cache_freeable fails" in move.func
    assert move.state.folio(0).dirty and not move.state.bios
