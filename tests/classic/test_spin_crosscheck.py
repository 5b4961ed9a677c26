"""gupcheck's classic models against SPIN, run live: the same reachable state spaces.

Each Promela model in ``benchmarks/promela`` takes the same atomic steps as its gupcheck model
(see benchmarks/promela/README.md), so with SPIN's reductions off (``spin -o1 -o3``, ``gcc
-DNOREDUCE``) and ``./pan -c0`` (go on after errors) SPIN's "states, stored" must equal
gupcheck's distinct-state count for the full state space.  SPIN's "transitions" (= stored +
matched = edges + 1) must equal gupcheck's ``generated`` (initial states + successors), so the
edge counts agree too.  For the full space gupcheck runs the model with nothing that stops the
search: no invariants, every stuck state a legitimate end, no wait-for graph.

SPIN must also report an error (assertion violated / invalid end state) exactly where gupcheck
reports a violation or a deadlock: the broken mutex and the dining philosophers.

Skipped when ``spin`` (Debian package spin) or ``gcc`` is not installed.
"""

from __future__ import annotations

import functools
import importlib.util
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from gupcheck.classic import BrokenMutex, LostUpdate, Peterson, Philosophers, StayingLostUpdate
from gupcheck.engine import Model, Verdict, check

ROOT = Path(__file__).resolve().parents[2]
PROMELA = ROOT / "benchmarks" / "promela"


def _load_spin_runner() -> Any:
    """benchmarks/ is not an installed package: load spin_runner.py by path."""
    name = "benchmarks_spin_runner"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "spin_runner.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


spin_runner = _load_spin_runner()

if shutil.which("spin") is None:
    pytestmark = pytest.mark.skip(reason="spin is not installed (Debian package spin)")
elif not spin_runner.spin_available():
    pytestmark = pytest.mark.skip(reason="gcc is not installed (needed to compile SPIN's pan.c)")


@functools.cache
def spin(pml: str, defines: tuple[tuple[str, int], ...] = ()) -> dict[str, Any]:
    """Full state space (-c0), DFS, reductions off; cached so each model is compiled once."""
    r = spin_runner.run_spin(
        PROMELA / pml, dict(defines), reductions=False, search="dfs", extra_pan_flags=("-c0",),
        cc_flags=("-O0",),  # these verifiers run in milliseconds: save the -O2 compile time
        max_depth=10_000, hash_bits=18, timeout=60)
    assert r["search_completed"] and not r["depth_limit_hit"] and not r["memory_limit_hit"], \
        r["output"]
    return r


def full_space(model: Model[Any]) -> Model[Any]:
    """``model`` with nothing that stops the search early, so every reachable state is counted."""
    cls = type(model)
    model.__class__ = type(f"Full{cls.__name__}", (cls,), {
        "invariants": lambda self: (),
        "is_end": lambda self, s: True,
        "waits": lambda self, s: (),
    })
    return model


def assert_same_state_space(model: Model[Any], pml: str, **defines: int) -> dict[str, Any]:
    r = spin(pml, tuple(sorted(defines.items())))
    full = check(full_space(model), exact=True)
    assert full.verdict is Verdict.HOLDS
    assert (full.stats.distinct, full.stats.generated) == (r["states_stored"], r["transitions"]), \
        f"gupcheck distinct/generated vs SPIN stored/transitions for {pml} {defines}"
    return r


# --- lost update: benchmarks/promela/lost_update.pml --------------------------------------------

@pytest.mark.parametrize(("n", "k"), [(2, 1), (2, 2), (3, 1), (3, 2), (4, 1)])
def test_lost_update_matches_spin(n: int, k: int) -> None:
    assert_same_state_space(LostUpdate(n, k), "lost_update.pml", N=n, K=k)


@pytest.mark.parametrize(("n", "k"), [(2, 2), (3, 1), (3, 2)])
def test_staying_lost_update_matches_spin(n: int, k: int) -> None:
    """lost_update_stay.pml: processes end at an end label, never removed."""
    assert_same_state_space(StayingLostUpdate(n, k), "lost_update_stay.pml", N=n, K=k)


# --- Peterson and the broken mutex ----------------------------------------------------------------

def test_peterson_matches_spin_and_both_find_no_error() -> None:
    r = assert_same_state_space(Peterson(), "peterson_gupcheck.pml")
    assert r["states_stored"] == 20
    assert r["errors"] == 0
    assert check(Peterson()).verdict is Verdict.HOLDS


def test_broken_mutex_matches_spin_and_both_find_the_violation() -> None:
    r = assert_same_state_space(BrokenMutex(), "mutex_gupcheck.pml")
    assert r["states_stored"] == 13
    found = check(BrokenMutex())
    assert (found.verdict, found.property) == (Verdict.VIOLATED, "mutual-exclusion")
    assert r["errors"] > 0
    assert "assertion violated (critical<=1)" in r["error_messages"][0]


# --- dining philosophers -------------------------------------------------------------------------

@pytest.mark.parametrize("clock", [False, True], ids=["no-clock", "clock"])
@pytest.mark.parametrize("n", [3, 4])
def test_philosophers_match_spin_and_both_find_the_deadlock(n: int, clock: bool) -> None:
    defines = {"N": n, **({"CLOCK": 1} if clock else {})}
    r = assert_same_state_space(Philosophers(n, clock=clock), "philosophers_gupcheck.pml",
                                **defines)
    assert r["states_stored"] == {3: 14, 4: 34}[n] * (2 if clock else 1)
    found = check(Philosophers(n, clock=clock))
    assert found.verdict is Verdict.DEADLOCK
    assert r["errors"] > 0
    if clock:
        # the clock keeps ticking: no stuck state, so gupcheck sees a wait-for cycle and SPIN the
        # assertion that not every philosopher holds only its left fork
        assert found.property == "wait-for-cycle"
        assert f"assertion violated (hungry<{n})" in r["error_messages"][0]
    else:
        assert found.property == "deadlock"
        assert "invalid end state" in r["error_messages"][0]
