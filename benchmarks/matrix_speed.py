"""The verdict matrix's cost: states and seconds per cell, and the speed-up from worker processes.

    python benchmarks/matrix_speed.py                 # every scenario x design
    python benchmarks/matrix_speed.py --scenarios dio-vs-reclaim,enospc-after-dma

Prints, per scenario, the states of its largest cell and the time to compute its row, then the
whole matrix with 1 worker and with every core, and their ratio (same cells either way).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gupcheck.designs import DESIGNS
from gupcheck.lab import run_cell, run_matrix
from gupcheck.scenarios import SCENARIOS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenarios", help="comma-separated (default: all)")
    args = ap.parse_args()
    names = args.scenarios.split(",") if args.scenarios else list(SCENARIOS)
    scenarios = [SCENARIOS[n] for n in names]
    designs = list(DESIGNS.values())
    print(f"{'scenario':<30}{'max states':>12}{'row seconds':>13}{'states/s':>10}")
    for sc in scenarios:
        t0 = time.perf_counter()
        cells = [run_cell(sc, d) for d in designs]
        secs = time.perf_counter() - t0
        total = sum(sum(r.stats.distinct for r in c.results.values()) for c in cells)
        print(f"{sc.name:<30}{max(c.states for c in cells):>12,}{secs:>13.2f}"
              f"{total / secs if secs else 0:>10,.0f}")
    runs = {}
    for workers in (1, os.cpu_count() or 1):
        t0 = time.perf_counter()
        cells = run_matrix(scenarios, designs, workers=workers)
        runs[workers] = (time.perf_counter() - t0, [c.outcome() for c in cells])
    (t1, o1), (tn, on) = runs[1], runs[max(runs)]
    same = "same cells" if o1 == on else "DIFFERENT CELLS"
    print(f"whole matrix: {t1:.1f} s with 1 worker, {tn:.1f} s with {max(runs)} "
          f"({t1 / tn:.2f}x, {same})")


if __name__ == "__main__":
    main()
