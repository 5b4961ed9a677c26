"""Ray cluster mode against local processes, on the same machine and the same model.

    python benchmarks/ray_speed.py                 # lost-update N=3 K=3 (493,425 states), 2 workers
    python benchmarks/ray_speed.py --n 4 --k 2 --workers 2

Each run is a fresh subprocess exploring the whole state space (the property is switched off),
and must report the same distinct-state and transition counts as one process.  Rows:

* ``1 process`` — the single-process BFS, the baseline;
* ``processes`` — :mod:`gupcheck.engine.parallel` with ``--workers`` forked processes;
* ``ray`` — :mod:`gupcheck.engine.ray_bfs` with as many actors on a local Ray (``ray.init``
  is timed apart: a cluster is started once and serves many runs).

``overhead`` is the Ray run's time over the local processes' run.  ``batches/s`` is how many
batches went from one worker to another per second of search (three per ordered pair of
workers per level: fingerprints, admitted positions, states); ``MiB/s`` is what they carried
(Ray only: its actors measure it).  Prints the load average too, since other work on the
machine skews every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _child(n: int, k: int, mode: str, workers: int) -> None:
    from gupcheck.classic import LostUpdate
    from gupcheck.engine import check

    class WholeSpace(LostUpdate):
        def invariants(self) -> tuple:
            return ()

    started = 0.0
    if mode == "ray":
        import ray

        t = time.perf_counter()
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                 logging_level="WARNING",
                 runtime_env={"env_vars": {"PYTHONPATH": os.pathsep.join(sys.path)}})
        started = time.perf_counter() - t
    kwargs = {"ray": "auto", "workers": workers} if mode == "ray" else {"workers": workers}
    r = check(WholeSpace(n, k), **kwargs)
    s = r.stats
    note = next((x for x in r.notes if x.startswith("ray: ")), "")
    mib = float(note.split("(")[1].split()[0].replace(",", "")) if note else None
    print(json.dumps({"states": s.distinct, "transitions": s.generated, "seconds": s.seconds,
                      "depth": s.depth, "start": started, "mib": mib}))


def _run(args: argparse.Namespace, mode: str, workers: int) -> dict | None:
    proc = subprocess.run([sys.executable, __file__, "--child", mode, "--n", str(args.n),
                           "--k", str(args.k), "--workers", str(workers)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(f"{mode}: failed\n{proc.stderr}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=3)
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--child", choices=("one", "processes", "ray"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.n, args.k, args.child, 1 if args.child == "one" else args.workers)
        return
    w = args.workers
    print(f"lost-update N={args.n} K={args.k}, whole state space, {w} workers; "
          f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
          f"load average before: {os.getloadavg()[0]:.2f}")
    print(f"{'run':>12}{'states':>11}{'seconds':>9}{'states/s':>10}{'vs procs':>10}"
          f"{'batches/s':>11}{'MiB/s':>8}{'ray.init s':>12}")
    base = procs = None
    for mode in ("one", "processes", "ray"):
        r = _run(args, mode, 1 if mode == "one" else w)
        if r is None:
            continue
        base = base or r
        if mode == "processes":
            procs = r
        same = "" if (r["states"], r["transitions"]) == (base["states"], base["transitions"]) \
            else "  DIFFERENT COUNTS"
        batches = 0 if mode == "one" else 3 * w * (w - 1) * (r["depth"] + 1)
        vs = f"{r['seconds'] / procs['seconds']:>9.2f}x" if procs else f"{'':>10}"
        mib = f"{r['mib'] / r['seconds']:>8.2f}" if r["mib"] is not None else f"{'':>8}"
        start = f"{r['start']:>12.1f}" if mode == "ray" else f"{'':>12}"
        label = {"one": "1 process", "processes": f"{w} processes", "ray": f"ray, {w} actors"}
        print(f"{label[mode]:>12}{r['states']:>11,}{r['seconds']:>9.2f}"
              f"{r['states'] / r['seconds']:>10,.0f}{vs}{batches / r['seconds']:>11,.0f}"
              f"{mib}{start}{same}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
