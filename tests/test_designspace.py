"""The design space (gupcheck/designspace.py): enumeration, pruning, classes, minimality."""

from __future__ import annotations

import pytest

from gupcheck.designs import DESIGNS, PROPOSAL_BASE
from gupcheck.designspace import (
    AXIS_BY_NAME,
    GOOD,
    REFUSES,
    VIOLATED,
    ClassSearch,
    Member,
    analyse,
    combinations,
    combo_spec,
    config,
    minimal,
    observable,
    parse_spec,
    plan,
    scenario_class,
    search,
)
from gupcheck.kernel.system import ActorSpec, Scenario
from gupcheck.lab import Cell, run_cell
from gupcheck.scenarios import SCENARIOS

WB, UNPIN, ODP = AXIS_BY_NAME["writeback"], AXIS_BY_NAME["unpin-mkwrite"], AXIS_BY_NAME["odp"]


def _scenario(name: str, *ops: tuple, **fields: object) -> Scenario:
    return Scenario(name, "test", (ActorSpec("CPU0 app", tuple(ops)),), **fields)


# -- enumeration --------------------------------------------------------------------------------

def test_combinations_are_the_product_of_the_axes_with_base_values_left_out() -> None:
    combos = combinations((WB, UNPIN))
    assert len(combos) == 4 * 2 == len(set(combos))
    assert combos[0] == ()  # proposal-base itself first
    assert ("writeback", "bounce") in [c[0] for c in combos if c]
    assert all(v != AXIS_BY_NAME[a].base for c in combos for a, v in c)


def test_a_combination_sets_its_fields_over_proposal_base_and_relaxes_nothing() -> None:
    cfg = config((("writeback", "bounce"), ("unpin-mkwrite", "yes")))
    assert cfg.writeback_pinned == "bounce" and cfg.unpin_mkwrite
    assert cfg.relaxes == frozenset()
    # equal to the shipped bounce-writeback-mkwrite in every switch but the name
    shipped = DESIGNS["bounce-writeback-mkwrite"]
    assert {f: getattr(cfg, f) for f in cfg.__dataclass_fields__ if f != "name"} == \
        {f: getattr(shipped, f) for f in shipped.__dataclass_fields__ if f != "name"}
    assert config(()).longterm_file_refusal == PROPOSAL_BASE.longterm_file_refusal


def test_a_spec_round_trips_and_bad_specs_name_the_valid_choices() -> None:
    combo = (("writeback", "block"), ("odp", "yes"))
    assert parse_spec(combo_spec(combo)) == combo
    assert parse_spec("proposal-base+odp") == (("odp", "yes"),)
    assert parse_spec("proposal-base+writeback=plain") == ()  # the base value is no mechanism
    with pytest.raises(ValueError, match="unknown axis 'nope'; choose one of: writeback"):
        parse_spec("proposal-base+nope=yes")
    with pytest.raises(ValueError, match="choose one of: plain, bounce"):
        parse_spec("proposal-base+writeback=sometimes")
    with pytest.raises(ValueError, match="given twice"):
        parse_spec("proposal-base+odp+odp=no")


# -- pruning ------------------------------------------------------------------------------------

def test_an_axis_is_observed_only_by_scenarios_that_reach_its_switch() -> None:
    anon = _scenario("anon", ("anon_write", 0, "B1"), anon=True)
    dio = _scenario("dio", ("dio_read", 0, "B1"), ("fsync",))
    rdma = _scenario("rdma", ("rdma_reg_mr", 0), nic_writes=1)
    assert observable(anon) == ()
    assert [a.name for a in observable(dio)] == ["writeback", "unpin-mkwrite", "dio-dirty"]
    assert "odp" in [a.name for a in observable(rdma)]
    assert "odp" not in [a.name for a in observable(dio)]


def test_plan_fixes_unobserved_axes_and_runs_each_projection_once() -> None:
    scs = [SCENARIOS["control-cpu-mmap-write"], SCENARIOS["dio-read-into-mmap"]]
    classes, runs = plan(scs, (WB, UNPIN, ODP))
    (cs,) = classes
    assert cs.name == "ext4-short-term"
    assert [a.name for a in cs.axes] == ["writeback", "unpin-mkwrite"]  # no NIC: odp fixed
    assert cs.enumerated == 4 * 2 * 2 and len(cs.combos) == 4 * 2
    # the control has no direct-I/O read: its 8 combinations are 4 runs
    assert sum(name == "control-cpu-mmap-write" for name, _ in runs) == 4
    assert sum(name == "dio-read-into-mmap" for name, _ in runs) == 8


def test_an_unobserved_axis_does_not_change_the_verdict() -> None:
    """The pruning rule checked against the checker on a cheap scenario: the axes the
    control does not observe leave its cell as it is under proposal-base."""
    sc = SCENARIOS["control-cpu-mmap-write"]
    seen = {a.name for a in observable(sc)}
    base = run_cell(sc, config(()))
    for axis in AXIS_BY_NAME.values():
        if axis.name in seen:
            continue
        for value in axis.values[1:]:
            cell = run_cell(sc, config(((axis.name, value),)))
            assert (cell.outcome(), cell.states) == (base.outcome(), base.states), axis.name


# -- classes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, cls", [
    ("dio-read-into-mmap", "ext4-short-term"), ("rdma-longterm-file", "ext4-long-term"),
    ("iouring-fixed-file-buffer", "ext4-long-term"), ("enospc-after-dma", "cowfs-short-term"),
    ("dax-truncate-longterm", "fsdax"), ("truncate-while-pinned-memfd", "shmem"),
    ("fork-after-pin", "anon-private"), ("dio-read-into-private-mapping", "anon-private"),
    ("odp-naive-driver", "driver-bug"), ("odp-device-file", "ext4-long-term")])
def test_the_class_comes_from_the_scenarios_own_fields(name: str, cls: str) -> None:
    assert scenario_class(SCENARIOS[name]) == cls


# -- minimality on synthetic results (no checker) -----------------------------------------------

def test_minimal_keeps_only_combinations_without_a_proper_subset() -> None:
    a, b = ("writeback", "bounce"), ("unpin-mkwrite", "yes")
    c = ("writeback", "block")
    assert minimal([(a,), (a, b), (c, b)]) == [(a,), (c, b)]
    assert minimal([(), (a,)]) == [()]


def _search_of(verdicts: dict[tuple, list[tuple[str, tuple[str, ...]]]]) -> ClassSearch:
    """A class of two scenarios whose cells are given: combo -> [(verdict, violated)] in
    member order."""
    members = [Member(_scenario(n), n) for n in ("s1", "s2")]
    cs = ClassSearch("test", members, (WB, UNPIN), 8, list(verdicts))
    for combo, cells in verdicts.items():
        for m, (verdict, broken) in zip(members, cells, strict=True):
            cs.cells[m.name, combo] = Cell(m.name, combo_spec(combo), verdict,
                                           "EFAULT" if verdict == "refused" else None, broken,
                                           {})
    return cs


BOUNCE, BLOCK, MKW = ("writeback", "bounce"), ("writeback", "block"), ("unpin-mkwrite", "yes")
OK = ("holds", ())


def test_the_minimal_good_sets_are_reported_and_refusals_apart() -> None:
    cs = _search_of({
        (): [("violated", ("no-lost-write",)), OK],
        (BOUNCE,): [OK, OK],
        (BOUNCE, MKW): [OK, OK],
        (BLOCK,): [OK, ("refused", ())],
        (MKW,): [("violated", ("stable-writeback",)), OK]})
    r = analyse(cs)
    assert [o.combo for o in r.good] == [(BOUNCE,)]
    assert [o.combo for o in r.refusing] == [(BLOCK,)] and r.best == []
    assert r.counts == {GOOD: 2, REFUSES: 1, VIOLATED: 2, "incomplete": 0}


def test_where_nothing_is_good_the_best_break_the_fewest_properties() -> None:
    cs = _search_of({
        (): [("violated", ("no-lost-write",)), ("violated", ("stable-writeback",))],
        (BOUNCE,): [("violated", ("no-lost-write",)), OK],
        (BOUNCE, MKW): [("violated", ("no-lost-write",)), OK],
        (BLOCK,): [("deadlock", ("deadlock",)), OK]})
    r = analyse(cs)
    assert r.good == []
    assert [(o.combo, o.properties) for o in r.best] == [
        ((BOUNCE,), ("no-lost-write",)), ((BLOCK,), ("deadlock",))]
    assert r.best[0].violated[0][1].name == "s1"


def test_an_incomplete_run_is_no_claim_of_good() -> None:
    cs = _search_of({(): [OK, ("incomplete", ())]})
    assert analyse(cs).good == [] and analyse(cs).counts["incomplete"] == 1


# -- a real search on a tiny space --------------------------------------------------------------

def test_a_tiny_search_finds_what_the_checker_says() -> None:
    """Two axes, two cheap scenarios: every verdict of the report is its cell's."""
    scs = [SCENARIOS["control-cpu-mmap-write"], SCENARIOS["truncate-while-pinned-memfd"]]
    result = search(scs, (WB, AXIS_BY_NAME["longterm-refusal"]))
    assert [cs.name for cs in result.classes] == ["ext4-short-term", "shmem"]
    ext4, shmem = (analyse(cs) for cs in result.classes)
    assert ext4.checked == 4 and shmem.checked == 2
    for cs, r in zip(result.classes, (ext4, shmem), strict=True):
        good = {c for c in cs.combos
                if all(cs.cell(m, c).verdict == "holds" for m in cs.members)}
        assert r.counts[GOOD] == len(good)
        assert [o.combo for o in r.good] == minimal(sorted(good, key=cs.combos.index))


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_no_shipped_scenario_observes_an_axis_the_pruning_fixes(name: str) -> None:
    """The observability rules against the checker on every shipped scenario: each value of
    each axis it does not observe leaves its cell as under proposal-base."""
    sc = SCENARIOS[name]
    seen = {a.name for a in observable(sc)}
    base = run_cell(sc, config(()))
    for axis in AXIS_BY_NAME.values():
        if axis.name not in seen:
            for value in axis.values[1:]:
                cell = run_cell(sc, config(((axis.name, value),)))
                assert (cell.outcome(), cell.states) == (base.outcome(), base.states), \
                    (axis.name, value)
