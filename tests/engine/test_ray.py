"""Ray cluster mode: on a local Ray instance, the single-process answers, counts and traces."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from gupcheck.classic import BrokenMutex, LostUpdate, Peterson, Philosophers, TicketLock
from gupcheck.designs import DESIGNS
from gupcheck.engine import Limits, Verdict, check
from gupcheck.kernel.system import KernelModel
from gupcheck.scenarios import SCENARIOS

from .test_checkpoint import WholeSpace
from .test_parallel import Explodes, answer, counts

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'gupcheck[ray]')")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One local Ray for the module; its workers import the test models from this checkout."""
    if ray.is_initialized():
        ray.shutdown()
    path = os.pathsep.join([str(ROOT), *(p for p in sys.path if p)])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": path}})
    yield
    ray.shutdown()


@pytest.mark.parametrize("model", [WholeSpace(3, 2), Peterson(), TicketLock(fair_release=True)],
                         ids=lambda m: m.name)
def test_complete_runs_have_the_single_process_counts(model) -> None:
    one = check(model)
    for workers in (2, 3):
        r = check(model, ray="auto", workers=workers)
        assert answer(r) == answer(one)
        assert counts(r) == counts(one)


@pytest.mark.parametrize("model", [LostUpdate(3, 2), BrokenMutex(), Philosophers(4),
                                   Philosophers(3, clock=True), TicketLock(fair_release=False)],
                         ids=lambda m: m.name)
def test_counterexamples_are_the_single_process_ones(model) -> None:
    one = check(model)
    assert one.verdict is not Verdict.HOLDS
    r = check(model, ray="auto", workers=2)
    assert answer(r) == answer(one)
    # the local multi-process search explores whole levels too: the same counts
    assert counts(r)[:2] == counts(check(model, workers=2))[:2]


def test_one_actor_per_cpu_by_default_and_one_actor_works() -> None:
    one = check(WholeSpace(2, 2))
    r = check(WholeSpace(2, 2), ray="auto")
    assert "parallel: 2 Ray actors" in r.notes  # num_cpus=2
    single = check(WholeSpace(2, 2), ray="auto", workers=1)
    assert counts(r) == counts(single) == counts(one)


def test_batches_between_actors_are_counted() -> None:
    r = check(WholeSpace(3, 2), ray="auto", workers=2)
    note = next(n for n in r.notes if n.startswith("ray: "))
    batches = int(note.split()[1].replace(",", ""))
    levels = r.stats.depth + 1
    # two exchanges per level (fingerprints to owners, verdicts back), each 2 x 1 batches,
    # plus at most one hand-over of surplus states per level and direction
    assert 2 * 2 * levels <= batches <= 2 * 2 * levels + 2 * levels


def test_a_kernel_scenario_gives_the_single_process_verdicts_and_traces() -> None:
    sc = SCENARIOS["dio-vs-reclaim"]
    for design in ("linux-6.1", "linux-6.12"):
        model = KernelModel(sc, DESIGNS[design], ("dirty-has-backing",))
        one, r = check(model), check(model, ray="auto", workers=2)
        assert answer(r) == answer(one)
        if one.verdict is Verdict.HOLDS:
            assert counts(r) == counts(one)
    assert one.verdict is Verdict.HOLDS and one.stats.distinct > 1000


def test_limits_make_the_run_incomplete() -> None:
    r = check(WholeSpace(3, 2), ray="auto", workers=2, limits=Limits(max_states=5_000))
    assert r.verdict is Verdict.INCOMPLETE and "max-states" in r.bound
    r = check(WholeSpace(3, 2), ray="auto", workers=2, limits=Limits(max_depth=5))
    assert r.verdict is Verdict.INCOMPLETE and "max-depth" in r.bound and r.stats.depth == 5


def test_max_seconds_stops_the_actors_inside_a_level() -> None:
    r = check(WholeSpace(3, 2), ray="auto", workers=2, limits=Limits(max_seconds=1e-9))
    assert r.verdict is Verdict.INCOMPLETE and "max-seconds" in r.bound
    assert (r.stats.distinct, r.stats.depth) == (1, 0)


def test_a_model_that_raises_is_reported_as_one_process_reports_it() -> None:
    one, r = check(Explodes()), check(Explodes(), ray="auto", workers=2)
    assert r.verdict is Verdict.ERROR
    assert (r.message, r.trace.labels()) == (one.message, one.trace.labels())


def test_swarm_on_ray_gives_the_answer_of_local_processes() -> None:
    local = check(LostUpdate(3, 2), strategy="swarm", walks=300, seed=5, workers=2)
    on_ray = check(LostUpdate(3, 2), strategy="swarm", walks=300, seed=5, ray="auto",
                   workers=2)
    assert answer(on_ray) == answer(local)
    assert counts(on_ray) == counts(local)
