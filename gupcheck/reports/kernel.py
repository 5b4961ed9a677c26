"""The report of a kernel check: the generic report, plus what the violated property means."""

from __future__ import annotations

from gupcheck.engine import Result
from gupcheck.kernel.properties import PROPERTIES
from gupcheck.kernel.system import KernelModel
from gupcheck.reports.text import render

KERNEL_ASSUMPTIONS = ("Model assumptions: every step is atomic and sequentially consistent, TLB "
                      "shootdown is immediate; barrier-dependent protocols (GUP-fast vs unmap, "
                      "write_protect_seq) are modelled at the level of their documented protocol.")


def explanation(result: Result) -> str | None:
    """What the violated property protects and which real failure it stands for; shared by the
    text and HTML reports so that both say the same thing."""
    # a liveness property is checked per thread: "writeback-progress (CPU0 app)"
    info = PROPERTIES.get((result.property or "").split(" (")[0])
    if info is None:
        return None
    return f"Property {info.name} ({info.objective}): {info.summary}.\n  {info.explain}"


def heading(model: KernelModel) -> str:
    return f"Scenario {model.scenario.name} under {model.cfg.name}: {model.scenario.description}"


def render_kernel(result: Result, model: KernelModel) -> str:
    return render(result, heading=heading(model), explain=explanation(result),
                  assumptions=KERNEL_ASSUMPTIONS)
