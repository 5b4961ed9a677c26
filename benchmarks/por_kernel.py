"""Partial-order reduction on every shipped kernel scenario: same answers, and what it saves.

    python benchmarks/por_kernel.py                      # every scenario x design, 2 processes
    python benchmarks/por_kernel.py --scenarios dio-vs-reclaim,munmap-while-dma --workers 1

For every cell (scenario x design, the matrix's model: ``RefusalProbe`` with the scenario's
safety properties) four searches run to the first violation or to the end: no reduction,
``por``, ``view,symmetry`` and ``por,view,symmetry``.  A cell's *answer* is its verdict, the
violated property and the counterexample's steps (re-shortened under ``por``); the script
fails (exit 1) if ``por`` changes any answer, against the same search without it.  Then the
same with only the scenario's properties that read nothing a block transfer changes (all but
``no-lost-write``, ``cow-isolation`` and ``crash-consistent``, which compare data values, and
``stable-writeback`` and ``no-stray-dma``, which a DMA records): then transfers are local
(gupcheck/kernel/footprint.py) and the reduction has something to reduce.  Printed per
scenario: states summed over the designs and the factor ``por`` saves, with and without
``view,symmetry``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gupcheck.designs import DESIGNS
from gupcheck.engine import check
from gupcheck.kernel.footprint import TRANSFER_READERS
from gupcheck.kernel.properties import LIVENESS
from gupcheck.lab import RefusalProbe
from gupcheck.scenarios import SCENARIOS

RUNS = ((), ("por",), ("view", "symmetry"), ("por", "view", "symmetry"))


def cell(name: str, design: str, blind: bool) -> tuple[str, str, list, list, float]:
    sc = SCENARIOS[name]
    safety = tuple(p for p in sc.properties if p not in LIVENESS
                   and not (blind and p in TRANSFER_READERS))
    answers, states, t0 = [], [], time.process_time()
    for reduce in RUNS:
        r = check(RefusalProbe(sc, DESIGNS[design], safety), liveness=False, reduce=reduce)
        answers.append((r.verdict.value, r.property,
                        tuple(r.trace.labels()) if r.trace else None))
        states.append(r.stats.distinct)
    return name, design, answers, states, time.process_time() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenarios", help="comma-separated (default: every shipped scenario)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    names = args.scenarios.split(",") if args.scenarios else list(SCENARIOS)
    bad = 0
    print(f"load average {os.getloadavg()[0]:.2f}")
    for blind in (False, True):
        jobs = [(n, d, blind) for n in names for d in DESIGNS
                if any(p not in LIVENESS and not (blind and p in TRANSFER_READERS)
                       for p in SCENARIOS[n].properties)]
        with ProcessPoolExecutor(args.workers) as pool:
            results = list(pool.map(cell, *zip(*jobs)))
        title = "transfer-blind properties" if blind else "all properties"
        print(f"\n{title}: scenario{'':<22}{'states':>10}{'por':>10}{'factor':>7}"
              f"{'view,sym':>10}{'+por':>9}{'factor':>7}  answers")
        for name in names:
            rows = [r for r in results if r[0] == name]
            if not rows:
                continue
            tot = [sum(r[3][i] for r in rows) for i in range(len(RUNS))]
            diff = [r[1] for r in rows if r[2][1] != r[2][0] or r[2][3] != r[2][2]]
            bad += len(diff)
            print(f"{name:<41}{tot[0]:>10,}{tot[1]:>10,}{tot[0] / tot[1]:>6.2f}x"
                  f"{tot[2]:>10,}{tot[3]:>9,}{tot[2] / tot[3]:>6.2f}x  "
                  + (f"DIFFERENT under {', '.join(diff)}" if diff else "same"), flush=True)
    print(f"\n{'every answer the same' if not bad else f'{bad} cells differ'}; "
          f"load average {os.getloadavg()[0]:.2f}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
