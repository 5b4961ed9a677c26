"""What each state-space reduction saves: states and seconds without and with it.

    python benchmarks/reductions.py                    # classic models + a subset of scenarios
    python benchmarks/reductions.py --all              # every scenario (several minutes)
    python benchmarks/reductions.py --scenarios dio-vs-reclaim,enospc-after-dma --no-classic

Classic models: one BFS per reduction (``check(model, reduce=...)``), the verdict beside it.
Partial-order reduction (``por``) needs footprints, which only the lost-update models declare;
on a violation its figure includes the re-shortening search (an unreduced BFS to the
counterexample's depth), so it shows its gain on models whose property holds.
Kernel scenarios: the safety search of every design's cell (the matrix's run, keep_going),
states summed over the designs, without and with ``view``; a row is marked if any cell's
outcome differs, which would be a bug.  Liveness is not reduced and not timed here.  A second
table does the same with only the properties that compare no data values (all but
no-lost-write and cow-isolation), where the view also leaves the data values out.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gupcheck.classic import DEMOS
from gupcheck.designs import DESIGNS
from gupcheck.engine import check
from gupcheck.engine.reduce import REDUCTIONS
from gupcheck.kernel.properties import DATA_READERS, LIVENESS
from gupcheck.lab import RefusalProbe
from gupcheck.scenarios import SCENARIOS

SUBSET = ["deferred-redirty-vs-fsync", "dio-read-into-mmap", "vm-writev-vs-dio-invalidate",
          "truncate-while-pinned-memfd", "dio-vs-reclaim", "enospc-after-dma"]


def classic(big: bool) -> None:
    print(f"{'classic model':<28}{'reduction':<18}{'verdict':<10}{'states':>10}{'factor':>8}"
          f"{'seconds':>9}")
    for name, (make, _) in DEMOS.items():
        if name == "lost-update-4x2" and not big:
            continue
        base = None
        # por-check is por verifying the footprints: a debugging aid, not timed here
        for reduce in ((), *((r,) for r in REDUCTIONS if r != "por-check"), ("view", "symmetry"),
                       ("por", "symmetry")):
            t0 = time.perf_counter()
            try:
                r = check(make(), reduce=reduce, liveness=False)
            except ValueError as err:  # a reduction this search cannot use
                print(f"{name:<28}{'+'.join(reduce):<18}{str(err)[:40]}")
                continue
            secs = time.perf_counter() - t0
            base = base or r.stats.distinct
            print(f"{name:<28}{'+'.join(reduce) or 'none':<18}{r.verdict.value:<10}"
                  f"{r.stats.distinct:>10,}{base / r.stats.distinct:>7.2f}x{secs:>9.2f}")


def kernel(names: list[str], data_blind: bool = False) -> None:
    title = ("scenario, data-blind props" if data_blind else "scenario (all designs)")
    print(f"\n{title:<32}{'states':>10}{'view':>10}{'factor':>8}{'seconds':>9}{'view s':>9}")
    for name in names:
        sc = SCENARIOS[name]
        safety = tuple(p for p in sc.properties if p not in LIVENESS
                       and not (data_blind and p in DATA_READERS))
        if not safety:
            continue
        states, secs, outcomes = {}, {}, {}
        for reduce in ((), ("view",)):
            t0 = time.perf_counter()
            runs = [check(RefusalProbe(sc, d, safety), liveness=False, keep_going=True,
                          reduce=reduce) for d in DESIGNS.values()]
            secs[reduce] = time.perf_counter() - t0
            states[reduce] = sum(r.stats.distinct for r in runs)
            outcomes[reduce] = [(r.verdict, sorted(f.property or "" for f in r.findings))
                                for r in runs]
        same = "" if outcomes[()] == outcomes[("view",)] else "  DIFFERENT VERDICTS"
        print(f"{name:<32}{states[()]:>10,}{states[('view',)]:>10,}"
              f"{states[()] / states[('view',)]:>7.2f}x{secs[()]:>9.1f}{secs[('view',)]:>9.1f}"
              f"{same}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenarios", help="comma-separated (default: a subset)")
    ap.add_argument("--all", action="store_true", help="every shipped scenario")
    ap.add_argument("--no-classic", action="store_true")
    ap.add_argument("--big", action="store_true", help="also lost-update-4x2 (5 million states)")
    args = ap.parse_args()
    if not args.no_classic:
        classic(args.big)
    names = (list(SCENARIOS) if args.all else
             args.scenarios.split(",") if args.scenarios else SUBSET)
    kernel(names)
    kernel(names, data_blind=True)


if __name__ == "__main__":
    main()
