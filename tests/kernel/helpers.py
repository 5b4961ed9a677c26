"""Running kernel scenarios in tests, and trio-style ordered-subsequence assertions on traces."""

from __future__ import annotations

from collections.abc import Sequence

from gupcheck.designs import DESIGNS as KERNELS
from gupcheck.engine import Result, check
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


def end_states(scenario: str | Scenario, design: str) -> list:
    """Every reachable end state of the scenario (a plain BFS, independent of the engine)."""
    from collections import deque

    sc = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
    model = KernelModel(sc, KERNELS[design], ())
    start = model.init_states()[0]
    seen, queue, out = {start}, deque([start]), []
    while queue:
        k = queue.popleft()
        succ = [t for _, t in model.successors(k)]
        if not succ and model.is_end(k):
            out.append(k)
        for t in succ:
            if t not in seen:
                seen.add(t)
                queue.append(t)
    return out


def end_results(scenario: str | Scenario, design: str, actor: int = 0) -> set[tuple[str, ...]]:
    """What actor ``actor``'s operations returned, in every reachable end state."""
    return {k.threads[actor].results for k in end_states(scenario, design)}
