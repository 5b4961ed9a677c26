"""KernelModel.view (``reduce=("view",)``): same cells, fewer states, concrete traces.

The view leaves out ghost data that no checked property reads; these tests fail if it drops
something a step or a checked property does read (a verdict or a violated property changes, or
a counterexample gets shorter or stops replaying) or if it keeps nothing out (no reduction).
The whole matrix with and without the view is ``benchmarks/reductions.py --matrix``.
"""

from __future__ import annotations

import pytest

from gupcheck.designs import DESIGNS
from gupcheck.engine import Verdict
from gupcheck.engine.replay import replay
from gupcheck.kernel.properties import DATA_READERS, LIVENESS
from gupcheck.kernel.state import Thread, replace
from gupcheck.kernel.system import KernelModel
from gupcheck.lab import RefusalProbe, reachable_states, run_cell
from gupcheck.scenarios import SCENARIOS

#: the cheaper scenarios (a few seconds for all of them, every design): every filesystem, fork,
#: DAX, io_uring, fsync's no-lost-write bookkeeping, truncation, vectored writes
SUBSET = ["deferred-redirty-vs-fsync", "truncate-while-pinned-memfd", "dax-truncate-longterm",
          "fork-after-pin", "vm-writev-vs-dio-invalidate", "stable-writes-raid",
          "control-cpu-mmap-write", "iouring-private-truncate", "vmsplice-fork-leak",
          "punch-hole-while-pinned", "dio-beyond-eof", "dio-read-into-mmap"]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_view_keeps_every_cell(scenario: str) -> None:
    """Every shipped scenario under every design: the same outcome, the same shortest
    counterexamples, each replaying on the concrete model."""
    sc = SCENARIOS[scenario]
    for design in DESIGNS.values():
        plain = run_cell(sc, design)
        viewed = run_cell(sc, design, reduce=("view",))
        assert viewed.outcome() == plain.outcome(), design.name
        assert viewed.states <= plain.states
        for prop, result in viewed.results.items():
            if result.trace is None or result.verdict not in (Verdict.VIOLATED, Verdict.DEADLOCK):
                continue
            assert len(result.trace) == len(plain.results[prop].trace)  # still shortest
            safety = tuple(p for p in sc.properties if p != "writeback-progress")
            again = replay(RefusalProbe(sc, design, safety), result.trace.init_index,
                           result.trace.labels(), result.property)
            assert again.reproduced, (design.name, prop, again.message)


def test_the_view_reduces_where_ghost_history_is_unread() -> None:
    """deferred-redirty-vs-fsync checks only no-lost-write: events, the cow-isolation and
    mkwrite bookkeeping and the threads' results are left out."""
    sc = SCENARIOS["deferred-redirty-vs-fsync"]
    plain = sum(run_cell(sc, d).states for d in DESIGNS.values())
    viewed = sum(run_cell(sc, d, reduce=("view",)).states for d in DESIGNS.values())
    assert viewed * 5 < plain * 4  # measured 1.34x


def _model(*props: str) -> KernelModel:
    return KernelModel(SCENARIOS["dio-read-into-mmap"], DESIGNS["linux-6.1"], props)


def test_no_lost_write_bookkeeping_is_kept_exactly_when_checked() -> None:
    k = _model().init_states()[0]
    g = k.ghost
    other = replace(k, ghost=replace(g, wstarts=((5, 5),) + g.wstarts[1:],
                                     wnums=frozenset({(0, 0, 0, 4, 5)})),
                    threads=(Thread(stage="x", local=(("dstarts", ((4, 4),)),)),) + k.threads[1:])
    same_stage = replace(k, threads=(Thread(stage="x"),) + k.threads[1:])
    assert _model("dirty-has-backing").view(other) == _model("dirty-has-backing").view(same_stage)
    assert _model("no-lost-write").view(other) != _model("no-lost-write").view(same_stage)


def test_only_checked_violations_are_seen_and_only_by_name() -> None:
    k = _model().init_states()[0]
    a = k.violate("dirty-has-backing", "one sentence").event("WARN")
    b = k.violate("dirty-has-backing", "another sentence")
    c = k.violate("no-lost-write", "x")
    m = _model("dirty-has-backing")
    assert m.view(a) == m.view(b) != m.view(k)
    assert m.view(c) == m.view(k)  # no-lost-write is not checked here
    assert _model("no-lost-write").view(c) != _model("no-lost-write").view(k)


def test_refusal_and_crash_are_always_kept() -> None:
    k = _model().init_states()[0]
    m = _model("dirty-has-backing")
    assert m.view(k.with_ghost(refused="EFAULT")) != m.view(k)
    assert m.view(k.with_ghost(unsupported="no io_uring")) != m.view(k)
    assert m.view(k.with_ghost(crashed=True)) != m.view(k)
    assert m.view(k.event("WARNING: a report-only message")) == m.view(k)


def test_cow_isolation_secrets_follow_the_property() -> None:
    sc = SCENARIOS["vmsplice-fork-leak"]
    k = KernelModel(sc, DESIGNS["legacy"]).init_states()[0]
    leaked = k.with_ghost(parent_secrets=frozenset({"P1"}))
    assert KernelModel(sc, DESIGNS["legacy"], ["cow-isolation"]).view(leaked) != \
        KernelModel(sc, DESIGNS["legacy"], ["cow-isolation"]).view(k)
    assert KernelModel(sc, DESIGNS["legacy"], ["pin-accounting"]).view(leaked) == \
        KernelModel(sc, DESIGNS["legacy"], ["pin-accounting"]).view(k)


DATA_BLIND = DATA_READERS | LIVENESS


FOUR = ("legacy", "linux-6.1", "linux-6.12", "bounce-writeback")


@pytest.mark.parametrize(("scenario", "designs"), [(sc, FOUR) for sc in SUBSET] + [
    ("dio-read-into-mmap-btrfs", ("linux-6.12",))])  # btrfs verifies checksums on reads
def test_without_a_property_that_reads_data_values_the_view_drops_them_soundly(
        scenario: str, designs: tuple[str, ...]) -> None:
    """Each property that does not compare data, checked alone: the same verdict and the same
    shortest counterexample length with the data values left out of the view."""
    from gupcheck.engine import check

    sc = SCENARIOS[scenario]
    for design in designs:
        for prop in (p for p in sc.properties if p not in DATA_BLIND):
            model = KernelModel(sc, DESIGNS[design], (prop,))
            plain, viewed = check(model, liveness=False), check(model, liveness=False,
                                                               reduce="view")
            assert (viewed.verdict, viewed.property) == (plain.verdict, plain.property), \
                (design, prop)
            assert viewed.stats.distinct <= plain.stats.distinct
            if plain.trace is not None:
                assert len(viewed.trace) == len(plain.trace), (design, prop)


def test_data_values_are_kept_exactly_when_compared() -> None:
    k = _model().init_states()[0]
    f = k.folios[0]
    other = replace(k, disk=("X9",) + k.disk[1:],
                    folios=(replace(f, data=("X9",) + f.data[1:]),) + k.folios[1:])
    assert _model("dirty-has-backing").view(other) == _model("dirty-has-backing").view(k)
    assert _model("no-lost-write").view(other) != _model("no-lost-write").view(k)
    raid = KernelModel(SCENARIOS["stable-writes-raid"], DESIGNS["linux-6.1"],
                       ("dirty-has-backing",))  # a checksum mismatch fails the bio there
    k2 = raid.init_states()[0]
    assert raid.view(replace(k2, disk=("X9",) + k2.disk[1:])) != raid.view(k2)


def test_leaving_data_out_shrinks_a_reclaim_race() -> None:
    model = KernelModel(SCENARIOS["dio-vs-reclaim"], DESIGNS["linux-6.12"],
                        ("dirty-has-backing",))
    from gupcheck.engine import check

    plain, viewed = check(model, liveness=False), check(model, liveness=False, reduce="view")
    assert plain.verdict is viewed.verdict is Verdict.HOLDS
    assert viewed.stats.distinct * 2 < plain.stats.distinct


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_renumbering_bios_keeps_every_cell(scenario: str) -> None:
    """KernelModel.canonical (bio ids are names), with and without the view, on every shipped
    scenario under every design."""
    sc = SCENARIOS[scenario]
    for design in DESIGNS.values():
        plain = run_cell(sc, design)
        for reduce in (("symmetry",), ("view", "symmetry")):
            reduced = run_cell(sc, design, reduce=reduce)
            assert reduced.outcome() == plain.outcome(), (design.name, reduce)
            assert reduced.states <= plain.states
            for prop, result in reduced.results.items():
                if result.trace is not None and result.verdict in (Verdict.VIOLATED,
                                                                   Verdict.DEADLOCK):
                    assert len(result.trace) == len(plain.results[prop].trace)


def test_states_that_differ_only_in_bio_numbers_are_one() -> None:
    m = _model("dirty-has-backing")
    k = next(s for s in reachable_states(SCENARIOS["dio-read-into-mmap"], DESIGNS["linux-6.1"])
             if s.bios)
    shifted = replace(k, bios=tuple(replace(b, id=b.id + 7) for b in k.bios),
                      next_bio=k.next_bio + 7, dirty_work=tuple(d + 7 for d in k.dirty_work))
    assert shifted != k
    assert m.canonical(shifted) == m.canonical(k)
    assert [b.id for b in m.canonical(k).bios] == list(range(len(k.bios)))


def test_renumbering_bios_shrinks_the_kernel_benchmark_scenario() -> None:
    """The DIO + msync + reclaim scenario of benchmarks/spin_kernel.py at 1 page, 3 passes,
    3 reclaim attempts: 21,596 states under the view (16,757 before a GUP whose fault sleeps
    took mmap_read_lock in a step of its own, 16,761 before filemap_fault dropped it to sleep
    on a folio that reclaim holds locked, 21,764 before a write fault dropped it at its end,
    fault_dirty_shared_page, 21,391 before a page-cache miss dropped it for the read-ahead,
    21,387 before a fault asleep in ->page_mkwrite held a folio reference and woke there,
    21,560 before it held invalidate_lock asleep on the folio lock),
    fewer with the renumbering too."""
    import importlib.util
    from pathlib import Path

    from gupcheck.engine import check
    from gupcheck.scenarios.loader import parse

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "spin_kernel.py"
    spec = importlib.util.spec_from_file_location("spin_kernel_bench", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    model = KernelModel(parse(bench.scenario(1, 3, 3), "<test>"), DESIGNS["linux-6.12"])
    viewed = check(model, liveness=False, reduce="view")
    both = check(model, liveness=False, reduce="view,symmetry")
    assert viewed.verdict is both.verdict is Verdict.HOLDS
    assert viewed.stats.distinct == 21_596
    assert both.stats.distinct < viewed.stats.distinct


@pytest.mark.parametrize("scenario", ["dio-read-into-mmap", "deferred-redirty-vs-fsync",
                                      "stable-writes-raid", "vm-writev-vs-dio-invalidate"])
def test_the_fused_canonical_view_identifies_what_view_of_canonical_does(scenario: str) -> None:
    """KernelModel.canonical_view (used when both reductions are on) against
    view(canonical(s)), on every reachable state: the same partition, one key for one key."""
    sc, design = SCENARIOS[scenario], DESIGNS["linux-6.1"]
    model = KernelModel(sc, design)
    fused_of: dict[object, object] = {}
    composed_of: dict[object, object] = {}
    states = list(reachable_states(sc, design))
    assert any(s.bios for s in states)
    for s in states:
        fused, composed = model.canonical_view(s), model.view(model.canonical(s))
        assert fused_of.setdefault(composed, fused) == fused
        assert composed_of.setdefault(fused, composed) == composed
    if scenario == "deferred-redirty-vs-fsync":
        assert any(s.dirty_work for s in states)


@pytest.mark.parametrize("scenario", ["deferred-redirty-vs-fsync", "stable-writes-raid",
                                      "fork-after-pin"])
def test_the_encoded_view_identifies_what_the_view_state_does(scenario: str) -> None:
    """KernelModel.view and canonical_view hand the engine bytes built from memoised parts
    (KernelModel._key); on every reachable state they must partition the states exactly as the
    views as KStates do, and not depend on what the memos saw before (a second model, fed the
    states in reverse, gives the same bytes)."""
    sc, design = SCENARIOS[scenario], DESIGNS["linux-6.1"]
    model, fresh = KernelModel(sc, design), KernelModel(sc, design)
    states = list(reachable_states(sc, design))
    for key, as_state in ((model.view, model.view_state),
                          (model.canonical_view, model.canonical_view_state)):
        by_key: dict[object, object] = {}
        by_state: dict[object, object] = {}
        for s in states:
            k, v = key(s), as_state(s)
            assert isinstance(k, bytes)
            assert by_key.setdefault(k, v) == v
            assert by_state.setdefault(v, k) == k
    assert [fresh.view(s) for s in reversed(states)] == [model.view(s) for s in reversed(states)]
    assert [fresh.canonical_view(s) for s in reversed(states)] == \
        [model.canonical_view(s) for s in reversed(states)]
