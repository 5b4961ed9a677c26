"""Parallel BFS speed: distinct states per second with 1 and 2 (or more) worker processes.

    python benchmarks/parallel_speed.py                  # lost-update N=4 K=2, whole space
    python benchmarks/parallel_speed.py --n 3 --k 3 --workers 1,2,3
    python benchmarks/parallel_speed.py --scenario dio-vs-reclaim --design linux-6.12

Each configuration runs in its own subprocess (fresh interpreter, its own peak RSS), explores the
whole state space (the model's property is switched off, so search order decides nothing), and
must report the same distinct-state and transition counts as the 1-worker run.  ``workers=1`` is
the ordinary single-process BFS, the baseline.  Prints states/s per row and the ratio to 1
worker, plus the machine's load average, since other work on the machine skews every figure.
``cpu s`` is the CPU time of the run and its worker processes: ``1-worker cpu / (cpu / workers)``
is the speed-up the run would reach on otherwise idle cores (the parallel overhead shows in it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _model(n: int, k: int, scenario: str | None, design: str) -> object:
    """Lost-update N x K, or a kernel scenario under a design; no property either way."""
    if scenario:
        from gupcheck.designs import DESIGNS
        from gupcheck.kernel.system import KernelModel
        from gupcheck.scenarios import SCENARIOS

        return KernelModel(SCENARIOS[scenario], DESIGNS[design], properties=())
    from gupcheck.classic import LostUpdate

    class WholeSpace(LostUpdate):
        def invariants(self) -> tuple:
            return ()

    return WholeSpace(n, k)


def _child(n: int, k: int, workers: int, scenario: str | None, design: str) -> None:
    import resource

    from gupcheck.engine import check

    r = check(_model(n, k, scenario, design), workers=workers, liveness=False)
    s = r.stats
    cpu = sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                resource.getrusage(resource.RUSAGE_CHILDREN)))
    print(json.dumps({"states": s.distinct, "transitions": s.generated, "seconds": s.seconds,
                      "cpu": cpu, "verdict": r.verdict.value}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--k", type=int, default=2)
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument("--scenario", help="a kernel scenario instead of lost-update")
    ap.add_argument("--design", default="linux-6.12")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.n, args.k, args.child, args.scenario, args.design)
        return
    counts = [int(w) for w in args.workers.split(",")]
    what = (f"{args.scenario} [{args.design}]" if args.scenario
            else f"lost-update N={args.n} K={args.k}")
    print(f"{what}, whole state space; {os.cpu_count()} cores, "
          f"{platform.machine()}, Python {platform.python_version()}, "
          f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"{'workers':>8}{'states':>12}{'transitions':>14}{'seconds':>9}{'states/s':>11}"
          f"{'vs 1':>7}{'cpu s':>8}{'idle-core bound':>17}")
    base = None
    for w in counts:
        extra = ["--scenario", args.scenario, "--design", args.design] if args.scenario else []
        proc = subprocess.run([sys.executable, __file__, "--child", str(w), "--n", str(args.n),
                               "--k", str(args.k), *extra], capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0:
            print(f"{w}: failed\n{proc.stderr}", file=sys.stderr)
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        sps = r["states"] / r["seconds"]
        if base is None:
            base = r
        same = "" if (r["states"], r["transitions"]) == (base["states"], base["transitions"]) \
            else "  DIFFERENT COUNTS"
        print(f"{w:>8}{r['states']:>12,}{r['transitions']:>14,}{r['seconds']:>9.2f}{sps:>11,.0f}"
              f"{sps / (base['states'] / base['seconds']):>6.2f}x{r['cpu']:>8.1f}"
              f"{base['cpu'] / (r['cpu'] / w):>16.2f}x{same}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
