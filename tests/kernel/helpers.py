"""Running kernel scenarios in tests, and trio-style ordered-subsequence assertions on traces."""

from __future__ import annotations

from collections.abc import Sequence

from gupcheck.engine import Result, check
from gupcheck.designs import DESIGNS as KERNELS
from gupcheck.kernel.system import KernelModel
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
