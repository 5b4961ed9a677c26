"""Partial-order reduction on kernel scenarios (kernel/footprint.py): block transfers are
local, the verdicts and the shortest counterexamples are those of the unreduced search, and
the declaration is exact only when no checked property reads what a transfer changes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gupcheck.designs import DESIGNS
from gupcheck.engine import Verdict, check
from gupcheck.engine.bfs import bfs
from gupcheck.engine.replay import replay
from gupcheck.kernel.footprint import TRANSFER_READERS
from gupcheck.kernel.properties import LIVENESS
from gupcheck.kernel.system import KernelModel
from gupcheck.lab import RefusalProbe
from gupcheck.scenarios import SCENARIOS
from gupcheck.scenarios.loader import parse

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from spin_kernel import scenario


def dio_msync_reclaim(pages: int, passes: int, reclaims: int, *properties: str) -> KernelModel:
    text = scenario(pages, passes, reclaims, *((properties,) if properties else ()))
    return KernelModel(parse(text, "<dio-msync-reclaim>"), DESIGNS["linux-6.12"])


def answer(r) -> tuple:
    return (r.verdict, r.property, r.trace.labels() if r.trace else None)


def test_transfers_are_reduced_and_the_holding_verdict_kept() -> None:
    model = dio_msync_reclaim(2, 1, 1)
    plain = check(model, liveness=False, reduce="view,symmetry")
    por = check(model, liveness=False, reduce="por,view,symmetry")
    assert plain.verdict is Verdict.HOLDS and por.verdict is Verdict.HOLDS
    # 50,696 -> 13,678: ample sets, bios transferred at once, and two bios' transfers to one
    # page commuting (22,700 without that: KernelModel.unobserved)
    assert por.stats.distinct < plain.stats.distinct * 0.35
    # no stored state has a transfer left, so no ample set is ever left to choose: the local
    # steps alone (``local``, which workers can take too) store the same states
    local = check(model, liveness=False, reduce="local,view,symmetry")
    assert local.stats.distinct == por.stats.distinct
    assert any(n.startswith("reduction por:") and "ample set" in n for n in por.notes)


def test_a_bio_is_transferred_at_once_and_the_trace_shows_each_block() -> None:
    """With transfers local, the search takes a bio's transfers as soon as it is submitted
    (local steps taken at once); its own trace (before check() re-shortens it) shows each
    block's transfer after the submit, and replays on the unreduced model."""
    model = RefusalProbe(SCENARIOS["dio-vs-reclaim"], DESIGNS["linux-6.12"],
                         ("mkwrite-before-dirty",))
    r = bfs(model, reduce=frozenset({"por", "view"}))
    assert r.verdict is Verdict.VIOLATED and r.trace is not None
    labels = r.trace.labels()
    submit = next(i for i, t in enumerate(labels) if "submit_bio (write bio #0)" in t)
    assert labels[submit + 1:submit + 3] == [
        "disk: write bio #0 transfers page 0 block 0 (A0) to disk",
        "disk: write bio #0 transfers page 0 block 1 (A0) to disk"]
    assert any(n.startswith("reduction por:") and not n.endswith("not stored): 0")
               for n in r.notes)
    assert replay(model, r.trace.init_index, labels, r.property).reproduced


def test_with_data_kept_no_transfer_is_taken_at_once() -> None:
    """Data values kept (``data_values``): the view keeps what a transfer changes, so
    transfers are shared steps (footprint.py) and none is taken at once."""
    text = scenario(2, 1, 0)
    model = KernelModel(parse(text, "<dio-msync-reclaim>"), DESIGNS["linux-6.12"],
                        data_values=True)
    assert not model.local_steps(model.init_states()[0])
    r = check(model, liveness=False, reduce="por,view,symmetry")
    assert r.verdict is Verdict.HOLDS
    assert any(n.endswith("not stored): 0") for n in r.notes)


def test_por_check_confirms_the_declarations_under_the_view() -> None:
    r = check(dio_msync_reclaim(2, 1, 0), liveness=False, reduce="por-check,view,symmetry")
    assert r.verdict is Verdict.HOLDS, r.message


def test_stable_writeback_violation_found_with_the_unreduced_trace() -> None:
    """stable-writeback reads what a DMA does to a folio under writeback: transfers are not
    local then, and the violation and its shortest trace are the unreduced search's."""
    model = dio_msync_reclaim(1, 1, 0, "stable-writeback")
    plain, por = check(model, liveness=False), check(model, liveness=False, reduce="por")
    assert plain.verdict is Verdict.VIOLATED
    assert answer(por) == answer(plain)


def test_declaring_transfers_local_under_stable_writeback_is_caught() -> None:
    """The mutant declaration (transfers local although stable-writeback reads the other
    bios' progress): por-check finds a transfer that does not commute with its neighbour."""
    model = dio_msync_reclaim(1, 1, 0, "stable-writeback")
    model._local_transfers = True
    r = check(model, liveness=False, reduce="por-check,view")
    assert r.verdict is Verdict.ERROR
    assert "por-check" in (r.message or "")


@pytest.mark.parametrize("name", ["dio-vs-reclaim", "dio-read-into-mmap", "munmap-while-dma"])
def test_shipped_scenarios_keep_their_answers(name: str) -> None:
    for design in ("linux-6.1", "linux-6.12"):
        model = KernelModel(SCENARIOS[name], DESIGNS[design])
        plain = check(model, liveness=False)
        por = check(model, liveness=False, reduce="por")
        assert answer(por) == answer(plain), (name, design)


def blind_probe(name: str, design: str) -> RefusalProbe:
    """The matrix's model of a cell, checking only the properties that read nothing a
    transfer changes: transfers are local then."""
    sc = SCENARIOS[name]
    return RefusalProbe(sc, DESIGNS[design], tuple(
        p for p in sc.properties if p not in LIVENESS and p not in TRANSFER_READERS))


@pytest.mark.parametrize("name", ["vm-writev-vs-dio-invalidate", "dio-read-into-private-mapping"])
def test_por_check_accepts_transfers_whose_label_quotes_data_or_that_fill_a_private_copy(
        name: str) -> None:
    """A write bio's transfer label quotes the value it moves ("(A0)"), which a CPU copy into
    the page changes: por-check finds the transfer after the copy as its bio's only step, not
    by its text.  A read bio's DMA into a MAP_PRIVATE page's private copy changes that copy,
    which the transfer's footprint names."""
    r = check(blind_probe(name, "linux-6.12"), liveness=False, reduce="por-check,view,symmetry")
    assert r.verdict is not Verdict.ERROR, r.message


@pytest.mark.slow
def test_por_check_accepts_every_shipped_cell_with_transfer_blind_properties() -> None:
    for name in SCENARIOS:
        for design in DESIGNS:
            r = check(blind_probe(name, design), liveness=False,
                      reduce="por-check,view,symmetry")
            assert r.verdict is not Verdict.ERROR, (name, design, r.message)


@pytest.mark.slow
@pytest.mark.parametrize("blind", [False, True], ids=["all-properties", "transfer-blind"])
def test_every_shipped_scenario_keeps_its_answers_under_por(blind: bool) -> None:
    """benchmarks/por_kernel.py's comparison for one design (the script runs all of them):
    with and without por, with and without view+symmetry, the same verdict, property and
    counterexample steps on every scenario."""
    from por_kernel import SCENARIOS as ALL
    from por_kernel import cell

    for name in ALL:
        _, _, answers, states, _ = cell(name, "linux-6.12", blind)
        assert answers[1] == answers[0] and answers[3] == answers[2], name
        assert states[1] <= states[0] and states[3] <= states[2], name


def test_a_run_with_bios_transferred_at_once_resumes_to_the_uninterrupted_answer(
        tmp_path: Path) -> None:
    """The checkpoint keeps the count of local steps taken at once, and the chains are a
    function of the state: the resumed run stores the same states and says the same."""
    from gupcheck.engine import Limits

    model = dio_msync_reclaim(2, 1, 0)
    full = check(model, liveness=False, reduce="por,view,symmetry")
    path = tmp_path / "run.ckpt"
    first = check(model, liveness=False, reduce="por,view,symmetry", checkpoint=path,
                  checkpoint_every=0, limits=Limits(max_states=full.stats.distinct // 2))
    assert first.verdict is Verdict.INCOMPLETE
    resumed = check(model, liveness=False, reduce="por,view,symmetry", resume=path)
    assert (resumed.verdict, resumed.stats.distinct) == (full.verdict, full.stats.distinct)
    note = next(n for n in full.notes if n.startswith("reduction por:"))
    assert note in resumed.notes and not note.endswith("not stored): 0")


def test_a_transfer_label_names_the_folio_of_its_own_step() -> None:
    """Labels are shared between steps with the same text; a transfer's text names the bio and
    page but not the folio, so the same text seen again with another folio (a reused bio id)
    gets its own label and footprint, not the first one's."""
    from gupcheck.kernel.actor import Move
    from gupcheck.kernel.footprint import transfer

    model = dio_msync_reclaim(1, 1, 0)
    assert model._local_transfers
    k = model.init_states()[0]
    text = "direct write bio #0 reads page 0 block 0 (A0) into the other file"
    one, _ = model._labelled("disk", Move(text, k, unit="bio #0", touches=transfer(0, 0, 3)),
                             True)
    two, _ = model._labelled("disk", Move(text, k, unit="bio #0", touches=transfer(0, 0, 5)),
                             True)
    assert "anon folio #3" in one.writes and "anon folio #5" in two.writes
