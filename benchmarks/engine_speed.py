"""Engine speed and memory on the lost-update model, beside a naive BFS and SPIN, in one run.

    python benchmarks/engine_speed.py                 # N=4 processes, K=2 increments
    python benchmarks/engine_speed.py --n 3 --k 3 --no-naive

Every configuration explores the *whole* state space (the model's property is switched off), so
the search order does not decide the time.  Each runs in its own subprocess so that its peak RSS
is its own.  Rows:

* ``gupcheck bfs`` — the engine: 64-bit fingerprints in a numpy open-addressing table, 6-byte
  parent records, batched successor lookup;
* ``naive`` — the baseline every Python checker starts from: a ``dict`` from state tuple to
  parent state, in this same script, with the cyclic GC paused as gupcheck pauses it, and
  ``naive-gc-on`` the same with the GC left on, as a first attempt usually runs;
* ``gupcheck-encoded`` — the engine with every full frontier block encoded and spilled to a
  temporary file (``Limits(frontier_memory_bytes=0)``; by default blocks are encoded only past
  1 GiB of live states): what the encoding costs, and its bytes per frontier state;
* ``gupcheck-por`` — the same with partial-order reduction (``reduce="por"``, from the
  labels' footprints);
* ``spin`` — SPIN 6.5.2 on ``promela/lost_update.pml`` with its reductions off (``-o1 -o3``,
  ``-DNOREDUCE``), the same state space state for state; and with its default reductions, for
  reference (fewer states, so not comparable per state).

``--repeat R`` runs the rows R times, interleaved (every row once, then again), and keeps each
row's run with the least CPU time: on a shared machine a neighbour can slow one row's run by a
fifth within minutes, and the best of several alternating runs is what two rows' code costs.
It also prints each round's ratio of the naive BFS's CPU time to gupcheck's and their median:
the two run back to back in a round when ``--rows gupcheck,naive`` leaves the others out, so a
drift of the machine's speed over minutes moves both sides of a round's ratio alike.

Memory is reported four ways: visited-set bytes per state, trace-record bytes per state, peak
RSS divided by states (which also counts the frontier and the interpreter), and the frontier's
peak bytes divided by its peak states (``Stats.frontier_bytes / frontier_states``).  The load
average is printed with the table: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections import deque
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def run_gupcheck(n: int, k: int, reduce: str | None = None,
                 frontier_memory: int | None = None) -> dict:
    from gupcheck.classic import LostUpdate
    from gupcheck.engine import Limits, check

    class WholeSpace(LostUpdate):
        def invariants(self) -> tuple:
            return ()

    cpu = time.process_time()
    r = check(WholeSpace(n, k), reduce=reduce,
              limits=Limits(frontier_memory_bytes=frontier_memory))
    cpu = time.process_time() - cpu
    s = r.stats
    return {"states": s.distinct, "transitions": s.generated, "seconds": s.seconds, "cpu": cpu,
            "visited_B": s.visited_bytes / s.distinct, "trace_B": s.trace_bytes / s.distinct,
            "rss_B": s.peak_rss_bytes / s.distinct,
            "frontier_B": s.frontier_bytes / max(s.frontier_states, 1),
            "verdict": r.verdict.value}


def run_naive(n: int, k: int, gc_on: bool = False) -> dict:
    """A plain BFS over the same successor function: set of tuples, dict of parents."""
    import gc

    from gupcheck.classic import LostUpdate

    if not gc_on:
        gc.disable()
    model = LostUpdate(n, k)
    t0, cpu = time.perf_counter(), time.process_time()
    init = model.init_states()[0]
    parent: dict = {init: None}
    queue = deque([init])
    transitions = 0
    while queue:
        s = queue.popleft()
        for _label, t in model.successors(s):
            transitions += 1
            if t not in parent:
                parent[t] = s
                queue.append(t)
    secs, cpu = time.perf_counter() - t0, time.process_time() - cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"states": len(parent), "transitions": transitions, "seconds": secs, "cpu": cpu,
            "visited_B": sys.getsizeof(parent) / len(parent), "trace_B": None,
            "rss_B": rss / len(parent), "verdict": "holds"}


def run_spin_row(n: int, k: int, reductions: bool) -> dict | None:
    sys.path.insert(0, str(HERE))
    from spin_runner import run_spin, spin_available

    if not spin_available():
        return None
    r = run_spin(str(HERE / "promela" / "lost_update.pml"), {"N": n, "K": k},
                 reductions=reductions, search="dfs")
    mem = r.get("total_memory_mb") or 0.0
    return {"states": r["states_stored"], "transitions": r["transitions"],
            "seconds": r.get("pan_elapsed_s") or r.get("wall_s"), "visited_B": None,
            "trace_B": None,
            "rss_B": mem * 2**20 / max(r["states_stored"], 1), "verdict": "holds"}


ROWS = ("gupcheck", "gupcheck-encoded", "gupcheck-por", "naive", "naive-gc-on", "spin",
        "spin-reduced")


def _child(which: str, n: int, k: int) -> None:
    if which == "gupcheck":
        out = run_gupcheck(n, k)
    elif which == "gupcheck-encoded":
        out = run_gupcheck(n, k, frontier_memory=0)
    elif which == "gupcheck-por":
        out = run_gupcheck(n, k, reduce="por")
    elif which == "naive":
        out = run_naive(n, k)
    elif which == "naive-gc-on":
        out = run_naive(n, k, gc_on=True)
    else:
        out = run_spin_row(n, k, reductions=(which == "spin-reduced"))
    print(json.dumps(out))


def _better(new: dict, old: dict | None) -> bool:
    """Whether run ``new`` of a row beats ``old``: less CPU time (SPIN's rows report none:
    less wall time)."""
    if old is None:
        return True
    key = "cpu" if new.get("cpu") is not None else "seconds"
    return new[key] < old[key]


def _fmt(v: float | None, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--k", type=int, default=2)
    ap.add_argument("--no-naive", action="store_true")
    ap.add_argument("--no-spin", action="store_true")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run the rows this many times, interleaved; keep each row's least CPU")
    ap.add_argument("--rows", help="comma-separated rows to run (default: all); one of "
                    + ", ".join(ROWS))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args.child, args.n, args.k)
        return
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    rows = [r for r in ROWS if not (args.no_naive and r.startswith("naive"))
            and not (args.no_spin and r.startswith("spin"))]
    if args.rows:
        wanted = args.rows.split(",")
        unknown = [r for r in wanted if r not in ROWS]
        if unknown:
            ap.error(f"unknown row {unknown[0]!r}; the rows are {', '.join(ROWS)}")
        rows = [r for r in rows if r in wanted]
    results: dict[str, dict] = {}
    ratios: list[float] = []  # per round: naive's CPU time / gupcheck's
    for _ in range(args.repeat):
        this: dict[str, dict] = {}
        for which in rows:
            proc = subprocess.run([sys.executable, __file__, "--child", which, "--n",
                                   str(args.n), "--k", str(args.k)],
                                  capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                print(f"{which}: failed\n{proc.stderr}", file=sys.stderr)
                continue
            run = json.loads(proc.stdout.strip().splitlines()[-1])
            if run is None:  # a SPIN row without SPIN
                continue
            this[which] = run
            if _better(run, results.get(which)):
                results[which] = run
        if "gupcheck" in this and "naive" in this:
            ratios.append(this["naive"]["cpu"] / this["gupcheck"]["cpu"])
    print(f"lost-update N={args.n} K={args.k}, whole state space, one core; "
          f"{platform.processor() or platform.machine()}, Python {platform.python_version()}; "
          f"load average {os.getloadavg()[0]:.2f}"
          + (f"; best of {args.repeat} interleaved runs" if args.repeat > 1 else ""))
    print(f"{'engine':<17}{'states':>13}{'transitions':>14}{'seconds':>9}{'CPU s':>8}"
          f"{'states/s':>12}{'visited B/st':>14}{'trace B/st':>12}{'RSS B/st':>10}"
          f"{'frontier B/st':>15}")
    for which, r in results.items():
        sps = r["states"] / r["seconds"] if r["seconds"] else None
        print(f"{which:<17}{r['states']:>13,}{r['transitions']:>14,}{r['seconds']:>9.2f}"
              f"{_fmt(r.get('cpu'), '.2f'):>8}{_fmt(sps, ',.0f'):>12}"
              f"{_fmt(r['visited_B'], '.1f'):>14}"
              f"{_fmt(r['trace_B'], '.1f'):>12}{_fmt(r['rss_B'], '.0f'):>10}"
              f"{_fmt(r.get('frontier_B'), '.1f'):>15}")
    g = results.get("gupcheck")
    ge = results.get("gupcheck-encoded")
    if g and ge:
        print(f"encoded frontier: {ge['seconds'] / g['seconds']:.2f}x the time, "
              f"{ge['frontier_B']:.1f} vs {g['frontier_B']:.1f} B per frontier state")
    if g and "naive" in results:
        nv = results["naive"]
        print(f"gupcheck vs naive: {nv['seconds'] / g['seconds']:.2f}x faster "
              f"({nv['cpu'] / g['cpu']:.2f}x in CPU seconds, which the other processes of a "
              f"loaded machine distort less), {nv['rss_B'] / g['rss_B']:.2f}x less RSS per state")
    if len(ratios) > 1:
        print("gupcheck vs naive, each round's CPU ratio: "
              + ", ".join(f"{r:.2f}x" for r in ratios)
              + f"; median {statistics.median(ratios):.2f}x")
    if g and "spin" in results:
        sp = results["spin"]
        same = "same" if sp["states"] == g["states"] else "DIFFERENT"
        print(f"gupcheck vs spin (reductions off, {same} state count): "
              f"{g['seconds'] / sp['seconds']:.1f}x slower")
    gp, sr = results.get("gupcheck-por"), results.get("spin-reduced")
    if gp and sr:  # each tool's best exhaustive run: its partial-order reduction
        ratio = gp["seconds"] / sr["seconds"]
        print(f"gupcheck por vs spin with its reductions: {gp['states']:,} vs {sr['states']:,} "
              f"states, {ratio:.1f}x {'slower' if ratio > 1 else 'the time'}")


if __name__ == "__main__":
    main()
