"""Running kernel scenarios in tests, and trio-style ordered-subsequence assertions on traces."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gupcheck import lab
from gupcheck.designs import DESIGNS as KERNELS
from gupcheck.engine import Result, check
from gupcheck.kernel.actor import Ctx
from gupcheck.kernel.config import KernelConfig
from gupcheck.kernel.env import Env
from gupcheck.kernel.fs.ext4 import EXT4
from gupcheck.kernel.fsops import FileSystem
from gupcheck.kernel.state import KState
from gupcheck.kernel.system import KernelModel, Scenario
from gupcheck.scenarios import SCENARIOS


def run(scenario: str, design: str, *props: str) -> Result:
    return check(KernelModel(SCENARIOS[scenario], KERNELS[design], props or None))


def assert_steps_in_order(result: Result, fragments: Sequence[str]) -> None:
    """Each fragment matches a step label, in this order (other steps may come between)."""
    assert result.trace is not None, "no trace"
    labels = result.trace.labels()
    i = 0
    for frag in fragments:
        while i < len(labels) and frag not in labels[i]:
            i += 1
        assert i < len(labels), f"{frag!r} not found in order in:\n" + "\n".join(labels)
        i += 1


def _cfg(design: str | KernelConfig) -> KernelConfig:
    return KERNELS[design] if isinstance(design, str) else design


def _sc(scenario: str | Scenario) -> Scenario:
    return SCENARIOS[scenario] if isinstance(scenario, str) else scenario


def end_states(scenario: str | Scenario, design: str | KernelConfig) -> list:
    """Every reachable end state of the scenario (a plain BFS, independent of the engine)."""
    return lab.end_states(_sc(scenario), _cfg(design))


def reachable(scenario: str | Scenario, design: str | KernelConfig) -> list:
    """Every reachable state of the scenario."""
    return lab.reachable_states(_sc(scenario), _cfg(design))


def end_results(scenario: str | Scenario, design: str, actor: int = 0) -> set[tuple[str, ...]]:
    """What actor ``actor``'s operations returned, in every reachable end state."""
    return {k.threads[actor].results for k in end_states(scenario, design)}


#: the environment of a scenario on ext4 with a MAP_SHARED mapping and a plain device
EXT4_ENV = Env(fs=EXT4)


def ctx(k: KState, cfg: KernelConfig | None = None, *, me: int = 0, name: str = "test",
        op: tuple[Any, ...] = (), fs: FileSystem = EXT4) -> Ctx:
    """A step context for thread ``me`` of ``k`` on ``fs``, under ``cfg`` (linux-6.12), for
    tests of single kernel functions."""
    return Ctx(k, me, name, cfg or KERNELS["linux-6.12"], Env(fs=fs), op)
