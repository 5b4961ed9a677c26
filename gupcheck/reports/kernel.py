"""The report of a kernel check: the generic report, plus what the violated property means."""

from __future__ import annotations

from gupcheck.engine import Result
from gupcheck.kernel.properties import PROPERTIES
from gupcheck.kernel.system import KernelModel
from gupcheck.reports.text import render

KERNEL_ASSUMPTIONS = ("Model assumptions: every step is atomic and sequentially consistent, TLB "
                      "shootdown is immediate; barrier-dependent protocols (GUP-fast vs unmap, "
                      "write_protect_seq) are modelled at the level of their documented protocol.")


def render_kernel(result: Result, model: KernelModel) -> str:
    info = PROPERTIES.get(result.property or "")
    explain = None
    if info is not None:
        explain = f"Property {info.name} ({info.objective}): {info.summary}.\n  {info.explain}"
    head = f"Scenario {model.scenario.name} under {model.cfg.name}: {model.scenario.description}"
    return render(result, heading=head, explain=explain, assumptions=KERNEL_ASSUMPTIONS)
