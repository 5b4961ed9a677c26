"""CPU seconds (process_time, best of 3) of exhaustive kernel checks: the spin_kernel
benchmark's scenario (2,1,1 with view, data values kept; 2,1,1 and 2,2,1 with view,symmetry as
a user runs it) and dio-vs-reclaim on 6.1 (no reduction); each row prints its states.  CPU time,
not wall time, so that two trees of the code can be compared on a loaded machine: run it in
each (``PYTHONPATH=<tree> python <tree>/benchmarks/kernel_cpu.py``), interleaved.
docs/scaling.md has the figures of the operation-table refactor and of issue 18's."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.spin_kernel import scenario
from gupcheck.designs import DESIGNS
from gupcheck.engine import check
from gupcheck.kernel.system import KernelModel
from gupcheck.scenarios import SCENARIOS
from gupcheck.scenarios.loader import parse


def run(model: KernelModel, **kw: object) -> tuple[int, float]:
    best = None
    for _ in range(3):
        t = time.process_time()
        r = check(model, liveness=False, **kw)
        dt = time.process_time() - t
        best = dt if best is None else min(best, dt)
    return r.stats.distinct, best

def main() -> None:
    out = []
    model = KernelModel(parse(scenario(2, 1, 1), "<kernel_cpu>"), DESIGNS["linux-6.12"],
                        data_values=True)
    n, t = run(model, reduce="view")
    out.append(f"dio-msync-reclaim 2,1,1 view keep-data: {n} states {t:.2f} s cpu "
               f"{1e6 * t / n:.1f} us/state")
    for config in ((2, 1, 1), (2, 2, 1)):
        model = KernelModel(parse(scenario(*config), "<kernel_cpu>"), DESIGNS["linux-6.12"])
        n, t = run(model, reduce="view,symmetry")
        out.append(f"dio-msync-reclaim {','.join(map(str, config))} view,symmetry: {n} states "
                   f"{t:.2f} s cpu {1e6 * t / n:.1f} us/state")
    n, t = run(KernelModel(SCENARIOS["dio-vs-reclaim"], DESIGNS["linux-6.1"]), keep_going=True)
    out.append(f"dio-vs-reclaim linux-6.1: {n} states {t:.2f} s cpu {1e6 * t / n:.1f} us/state")
    print(" | ".join(out) + f" | load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
