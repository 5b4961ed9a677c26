"""Scenario variants: each is a pure transformation with a fixed shape, skipped where it does not
apply (gupcheck/scenarios/variants.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gupcheck.designs import DESIGNS
from gupcheck.kernel.system import ActorSpec, KernelModel, Scenario
from gupcheck.scenarios import SCENARIOS
from gupcheck.scenarios.variants import (
    VARIANTS,
    apply,
    normalise,
    plus_dio_read,
    plus_fsync,
    plus_msync,
    plus_page,
    plus_reclaim,
    plus_writeback,
    split_name,
    variants,
)

DIO = SCENARIOS["dio-vs-reclaim"]  # CPU0 app (dio_read, fsync), flusher (2 passes), kswapd
CONTROL = SCENARIOS["control-cpu-mmap-write"]  # CPU0 app (2 stores, fsync), flusher


def _added(base: Scenario, v: Scenario) -> ActorSpec:
    """The one actor ``v`` appends to ``base``'s, which it keeps unchanged and in place."""
    assert v.actors[:len(base.actors)] == base.actors
    assert len(v.actors) == len(base.actors) + 1
    return v.actors[-1]


@pytest.mark.parametrize(("fn", "op", "label"), [(plus_fsync, "fsync", "fsync"),
                                                  (plus_msync, "msync", "msync")])
def test_a_syncer_variant_adds_one_user_thread_that_syncs_once(fn, op, label) -> None:
    v = fn(DIO)
    assert v is not None
    actor = _added(DIO, v)
    assert (actor.name, actor.program, actor.daemon) == (f"CPU1 {label}", ((op,),), False)
    assert v.name == f"dio-vs-reclaim+{label}"
    assert (v.npages, v.properties, v.filesystem) == (DIO.npages, DIO.properties, DIO.filesystem)


def test_a_new_threads_name_is_one_above_the_highest_cpu_in_use() -> None:
    sc = SCENARIOS["mkwrite-unpin-vs-munmap"]  # CPU0, CPU1, CPU2
    assert _added(sc, plus_fsync(sc)).name == "CPU3 fsync"


def test_dio_read_reads_every_page_the_scenario_names_or_page_0() -> None:
    sc = SCENARIOS["mkwrite-unpin-vs-munmap"]  # dio_read page 0, store page 0, munmap page 1
    actor = _added(sc, plus_dio_read(sc))
    assert actor.program == (("dio_read_file", 0), ("dio_read_file", 1))
    assert not actor.daemon
    sc = SCENARIOS["vm-writev-vs-dio-invalidate"]
    assert _added(sc, plus_dio_read(sc)).program == (("dio_read_file", 0),)
    # a dio_read of two pages from page 0 names both; a page past EOF is left out
    eof = SCENARIOS["dio-beyond-eof"]  # 2 pages mapped, file of 1 page, dio_read count 2
    assert _added(eof, plus_dio_read(eof)).program == (("dio_read_file", 0),)


@pytest.mark.parametrize("fn", [plus_fsync, plus_msync, plus_dio_read])
def test_syncers_are_skipped_on_fsdax_and_on_anonymous_memory_only(fn) -> None:
    assert fn(SCENARIOS["dax-truncate"]) is None
    assert fn(SCENARIOS["fork-after-pin"]) is None


def test_msync_is_skipped_on_a_private_mapping_and_dio_read_on_shmem() -> None:
    private = SCENARIOS["dio-read-into-private-mapping"]
    assert plus_msync(private) is None and plus_fsync(private) is not None
    memfd = SCENARIOS["truncate-while-pinned-memfd"]
    assert plus_dio_read(memfd) is None and plus_fsync(memfd) is not None


def test_writeback_gives_the_flusher_one_more_pass() -> None:
    v = plus_writeback(DIO)
    flusher = next(a for a in v.actors if a.name == "flusher")
    assert flusher.program == (("writeback_pass",),) * 3 and flusher.daemon
    assert [a for a in v.actors if a.name != "flusher"] == \
        [a for a in DIO.actors if a.name != "flusher"]


def test_writeback_elsewhere_gets_a_new_flusher_and_none_is_skipped() -> None:
    mixed = replace(DIO, actors=(DIO.actors[0], ActorSpec(
        "kthread", (("writeback_pass",), ("kswapd_reclaim", 0)), daemon=True)))
    actor = _added(mixed, plus_writeback(mixed))
    assert (actor.name, actor.program, actor.daemon) == ("flusher2", (("writeback_pass",),), True)
    assert plus_writeback(SCENARIOS["vm-writev-vs-dio-invalidate"]) is None


def test_reclaim_repeats_the_last_attempt_right_after_it() -> None:
    v = plus_reclaim(DIO)
    assert next(a for a in v.actors if a.name == "kswapd").program == \
        (("kswapd_reclaim", 0), ("kswapd_reclaim", 0))
    user = replace(DIO, actors=(ActorSpec("CPU0 app", (
        ("dio_read", 0, "B1"), ("madvise_pageout", 0), ("fsync",))),))
    assert plus_reclaim(user).actors[0].program == (
        ("dio_read", 0, "B1"), ("madvise_pageout", 0), ("madvise_pageout", 0), ("fsync",))
    assert plus_reclaim(CONTROL) is None


def test_page_extends_a_dio_read_into_a_new_page() -> None:
    v = plus_page(DIO)
    assert (v.npages, v.file_pages) == (2, None)
    assert v.actors[0].program == (("dio_read", 0, "B1", 2), ("fsync",))
    assert v.actors[1:] == DIO.actors[1:]  # the flusher's passes cover every page anyway


def test_page_repeats_a_store_to_the_last_page_on_the_new_one() -> None:
    v = plus_page(CONTROL)
    assert v.actors[0].program == (
        ("store", 0, 0, "C1"), ("store", 1, 0, "C1"),
        ("store", 0, 1, "C2"), ("store", 1, 1, "C2"), ("fsync",))


def test_page_keeps_pages_past_eof_past_eof_and_grows_cow_free_space() -> None:
    eof = plus_page(SCENARIOS["dio-beyond-eof"])
    assert (eof.npages, eof.file_pages) == (3, 1)
    assert eof.actors[0].program[0] == ("dio_read", 0, "B1", 3)
    cow = plus_page(SCENARIOS["enospc-after-dma"])  # 1 page, 1 free block
    assert (cow.npages, cow.free_blocks) == (2, 2)


def test_page_is_skipped_at_four_pages_and_when_nothing_moves_data_into_the_last_page() -> None:
    assert plus_page(replace(DIO, npages=4)) is None
    assert plus_page(SCENARIOS["punch-hole-while-pinned"]) is None  # page 1: loads only
    assert plus_page(SCENARIOS["rdma-longterm-file"]) is None  # pins only


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_variant_of_every_shipped_scenario_builds_a_model(name: str) -> None:
    sc = SCENARIOS[name]
    for vname, v in variants(sc):
        assert v.name == sc.name + vname
        assert len({a.name for a in v.actors}) == len(v.actors)
        assert 1 <= v.npages <= 4
        assert KernelModel(v, DESIGNS["linux-6.12"]).init_states()
    assert variants(sc) == variants(sc)  # deterministic


def test_variants_lists_those_that_apply_in_a_fixed_order() -> None:
    assert [n for n, _ in variants(DIO)] == list(VARIANTS)
    assert [n for n, _ in variants(CONTROL)] == ["+fsync", "+msync", "+dio-read", "+writeback",
                                                 "+page"]
    assert [n for n, _ in variants(CONTROL, ("+page", "+reclaim"))] == ["+page"]
    assert variants(SCENARIOS["fork-after-pin"]) == []


def test_names_are_normalised_and_bad_ones_explained() -> None:
    assert normalise("fsync") == normalise("+fsync") == "+fsync"
    assert apply(DIO, "writeback") == plus_writeback(DIO)
    with pytest.raises(KeyError, match="unknown variant 'fsnyc'; choose one of: [+]fsync"):
        apply(DIO, "fsnyc")
    with pytest.raises(ValueError, match="does not apply .* no reclaim attempt"):
        apply(CONTROL, "+reclaim")
    assert split_name("dio-vs-reclaim+fsync+page") == ("dio-vs-reclaim", ["+fsync", "+page"])
    assert split_name("dio-vs-reclaim") == ("dio-vs-reclaim", [])
