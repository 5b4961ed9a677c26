"""gupcheck and SPIN side by side on a kernel scenario: DIO into a shared mapping vs msync vs
reclaim, under linux-6.12, exhaustive, on the same configurations.

    python benchmarks/spin_kernel.py                         # the default configurations
    python benchmarks/spin_kernel.py --config 1,3,3 --config 2,1,1
    python benchmarks/spin_kernel.py --config 2,2,2 --no-gupcheck
    python benchmarks/spin_kernel.py --validate              # state counts equal, violations found
    python benchmarks/spin_kernel.py --config 2,2,2 --row "gupcheck view,sym w2" --max-seconds 900
    python benchmarks/spin_kernel.py --config 2,2,1 --row "gupcheck por,view,sym" \
        --row "spin dfs por" --repeat 3              # best of 3 interleaved runs each

A configuration ``P,W,R`` is: the app reads ``P`` pages with read(O_DIRECT) into its MAP_SHARED
ext4 mapping and then calls msync(MS_SYNC); the flusher runs ``W`` background writeback passes;
kswapd makes ``R`` reclaim attempts, attempt ``j`` on page ``j % P``.  gupcheck checks the
generated scenario (:func:`scenario`) for ``dirty-has-backing`` and ``pin-accounting``, which
linux-6.12 satisfies, so every run explores the whole state space and the search order does not
decide the time.  SPIN checks ``promela/dio_msync_reclaim.pml``, our step-for-step translation of
the same scenario, for the same two properties (assertions) and for deadlocks.

Rows (each run in its own subprocess, so its peak RSS is its own):

* ``gupcheck``            — BFS, no reduction;
* ``gupcheck view keep-data`` — BFS with ``reduce=("view",)`` and
  ``KernelModel(data_values=True)``: the view drops the ghost history no checked property
  reads but keeps the data values;
* ``gupcheck view,sym``   — as a user runs it (``--reduce view,symmetry``): neither checked
  property compares data, so the view also leaves the data values out (data independence),
  and symmetry renumbers the bios (``KernelModel.canonical``: bio ids are names) — two
  reductions SPIN does not have;
* ``gupcheck view,sym w2`` — that over ``workers=2`` processes;
* ``gupcheck por,view,sym`` — one process, with partial-order reduction as well: the disk's
  block transfers are independent of every other step when no checked property reads data
  values (gupcheck/kernel/footprint.py), as here; each bio's transfers taken as soon as it is
  submitted (local steps taken at once);
* ``gupcheck local,view,sym w2`` — only those local steps (``--reduce local``), over
  ``workers=2`` processes: the states ``por`` stores, on both cores;
* ``spin dfs noreduce``   — ``spin -o1 -o3``, ``gcc -DNOREDUCE``: the same state space as
  ``gupcheck view keep-data`` state for state (the state counts must be equal);
* ``spin bfs``, ``spin dfs por`` — SPIN with its defaults (statement merging, partial-order
  reduction), BFS and DFS;
* ``spin dfs por collapse`` (not in the default rows) — DFS and POR with ``-DCOLLAPSE``, SPIN's
  state-vector compression, for sizes whose plain state vectors do not fit in memory.

``--validate`` also runs ``-DHISTORY`` (the ghost history gupcheck keeps, ``spin -o2`` so that
SPIN keeps the write-only variables) against unreduced gupcheck, and the violated variant
(stable-writeback: DMA, by a thread that held the page through GUP when the writeback bio was
submitted, into a block that bio has yet to transfer) in both tools: the verdicts, and the full
state counts with stable-writeback checked (gupcheck ``--reduce view`` with ``keep_going``,
which keeps each write bio's ``early`` set and the violated property's name, against SPIN
``-DCHECK_SW`` with ``pan -c0``).

Seconds are the search only (SPIN: pan's "elapsed time", compilation excluded; gupcheck:
``stats.seconds``).  Bytes per state: gupcheck's visited set + trace records
(``stats.visited_bytes + stats.trace_bytes``) and peak RSS; SPIN's "actual memory usage for
states" (the stored state vectors) and "total actual memory usage" (with the hash table of
``2^--spin-hash-bits`` slots and the DFS stack or BFS queue).
The load average is printed with every row: the machine may be shared.  ``--repeat R`` runs a
configuration's rows R times, interleaved (every row once, then again), and keeps each row's
fastest run: a busy neighbour slows one run of a row, not all R.  After each configuration a line
compares the fastest one-process gupcheck row that completed with SPIN's fastest complete row
(issue 18's first goal: gupcheck on one core no slower than SPIN's best), and with ``--repeat``
the next line gives that ratio in each round and its median (a round's rows run minutes apart
at most, so a drift of the machine's speed moves both sides of a round's ratio alike).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PML = HERE / "promela" / "dio_msync_reclaim.pml"
PROPERTIES = ("dirty-has-backing", "pin-accounting")
DEFAULT_CONFIGS = ("1,1,1", "1,2,2", "1,3,3", "2,1,0", "2,1,1")


def scenario(pages: int, passes: int, reclaims: int,
             properties: tuple[str, ...] = PROPERTIES) -> str:
    """The gupcheck scenario (TOML) that promela/dio_msync_reclaim.pml translates."""
    props = ", ".join(f'"{p}"' for p in properties)
    text = f'''name = "dio-msync-reclaim"
description = "read(O_DIRECT) into a shared mapping, msync, beside writeback and reclaim"
pages = {pages}
properties = [{props}]

[[actor]]
name = "CPU0 app"
program = [ {{ op = "dio_read", page = 0, value = "B1", count = {pages} }}, {{ op = "msync" }} ]

[[actor]]
name = "flusher"
daemon = true
program = [ {{ op = "writeback_pass", repeat = {passes} }} ]
'''
    if reclaims:
        attempts = ", ".join(f'{{ op = "kswapd_reclaim", page = {j % pages} }}'
                             for j in range(reclaims))
        text += f'''
[[actor]]
name = "kswapd"
daemon = true
program = [ {attempts} ]
'''
    return text


def _load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


# --- gupcheck ----------------------------------------------------------------------------------

def run_gupcheck(pages: int, passes: int, reclaims: int, reduce: str | None, workers: int,
                 properties: tuple[str, ...] = PROPERTIES,
                 max_seconds: float | None = None, data_values: bool = False,
                 keep_going: bool = False, frontier_memory: int | None = None) -> dict:
    sys.path.insert(0, str(ROOT))
    from gupcheck.designs import DESIGNS
    from gupcheck.engine import Limits, check
    from gupcheck.kernel.system import KernelModel
    from gupcheck.scenarios.loader import parse

    model = KernelModel(parse(scenario(pages, passes, reclaims, properties), "<spin_kernel>"),
                        DESIGNS["linux-6.12"], data_values=data_values)
    t0 = time.perf_counter()
    r = check(model, liveness=False, workers=workers, reduce=reduce, keep_going=keep_going,
              limits=Limits(max_seconds=max_seconds, frontier_memory_bytes=frontier_memory))
    wall = time.perf_counter() - t0
    s = r.stats
    rss = max(s.peak_rss_bytes or 0,
              resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
              resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
    return {"states": s.distinct, "transitions": s.generated, "seconds": s.seconds or wall,
            "bytes": (s.visited_bytes or 0) + (s.trace_bytes or 0), "rss": rss,
            "frontier": s.frontier_bytes / max(s.frontier_states, 1),
            "verdict": r.verdict.value, "property": r.property}


# --- SPIN --------------------------------------------------------------------------------------

def run_spin_row(pages: int, passes: int, reclaims: int, mode: str,
                 defines: dict | None = None, hash_bits: int = 24,
                 memlim_mb: int = 16384) -> dict | None:
    sys.path.insert(0, str(HERE))
    from spin_runner import run_spin, spin_available

    if not spin_available():
        return None
    d = {"NP": pages, "NW": passes, "NR": reclaims, **(defines or {})}
    kw: dict = {"hash_bits": hash_bits, "memlim_mb": memlim_mb, "extra_pan_flags": ("-c0",)}
    if mode == "noreduce":  # -o2: keep the write-only variables (folio index, bio owner)
        r = run_spin(PML, d, reductions=False, search="dfs", spin_flags=("-o2",), **kw)
    elif mode == "check_sw":  # stable-writeback asserted; -c0 goes on past the violations
        r = run_spin(PML, {**d, "CHECK_SW": 1}, reductions=False, search="dfs",
                     spin_flags=("-o2",), **kw)
    elif mode == "history":
        r = run_spin(PML, {**d, "HISTORY": 1}, reductions=False, search="dfs",
                     spin_flags=("-o2",), **kw)
    elif mode == "collapse":  # POR with SPIN's state-vector compression (less memory, slower)
        r = run_spin(PML, d, reductions=True, search="dfs", cc_flags=("-DCOLLAPSE",), **kw)
    elif mode == "bfs":  # pan's BFS does not allow hidden (scratch) variables
        r = run_spin(PML, {**d, "NOHIDDEN": 1}, reductions=True, search="bfs", **kw)
    else:
        r = run_spin(PML, d, reductions=True, search="dfs", **kw)
    mb = r.get("total_memory_mb") or 0.0
    m = re.search(r"^\s*([0-9.]+)\s+actual memory usage for states", r["output"], re.MULTILINE)
    store_mb = float(m.group(1)) if m else mb
    complete = r["search_completed"] and not r["memory_limit_hit"]
    return {"states": r["states_stored"], "transitions": r["transitions"],
            "seconds": r.get("pan_elapsed_s") or r["wall_s"], "bytes": store_mb * 2**20,
            "rss": mb * 2**20, "errors": r["errors"], "messages": r["error_messages"][:2],
            "complete": complete,
            "verdict": ("violated" if r["errors"] else "holds") if complete else "incomplete"}


ROWS = {
    "gupcheck": lambda p, w, r, a: run_gupcheck(p, w, r, None, 1, max_seconds=a.max_seconds),
    "gupcheck view,sym": lambda p, w, r, a: run_gupcheck(p, w, r, "view,symmetry", 1,
                                                         max_seconds=a.max_seconds,
                                                         frontier_memory=a.frontier_memory),
    "gupcheck view,sym w2": lambda p, w, r, a: run_gupcheck(p, w, r, "view,symmetry", 2,
                                                            max_seconds=a.max_seconds),
    "gupcheck por,view,sym": lambda p, w, r, a: run_gupcheck(p, w, r, "por,view,symmetry", 1,
                                                             max_seconds=a.max_seconds),
    "gupcheck local,view,sym w2": lambda p, w, r, a: run_gupcheck(
        p, w, r, "local,view,symmetry", 2, max_seconds=a.max_seconds),
    "gupcheck view keep-data": lambda p, w, r, a: run_gupcheck(
        p, w, r, "view", 1, max_seconds=a.max_seconds, data_values=True),
    "spin dfs noreduce": lambda p, w, r, a: run_spin_row(p, w, r, "noreduce",
                                                         hash_bits=a.spin_hash_bits),
    "spin bfs": lambda p, w, r, a: run_spin_row(p, w, r, "bfs", hash_bits=a.spin_hash_bits),
    "spin dfs por": lambda p, w, r, a: run_spin_row(p, w, r, "dfs", hash_bits=a.spin_hash_bits,
                                                    memlim_mb=a.spin_memlim_mb),
    "spin dfs por collapse": lambda p, w, r, a: run_spin_row(
        p, w, r, "collapse", hash_bits=a.spin_hash_bits, memlim_mb=a.spin_memlim_mb),
    # --validate only
    "spin dfs noreduce HISTORY": lambda p, w, r, a: run_spin_row(p, w, r, "history",
                                                                 hash_bits=a.spin_hash_bits),
    "gupcheck stable-writeback": lambda p, w, r, a: run_gupcheck(
        p, w, r, None, 1, properties=("stable-writeback",)),
    "gupcheck view keep-data +sw": lambda p, w, r, a: run_gupcheck(
        p, w, r, "view", 1, properties=PROPERTIES + ("stable-writeback",), data_values=True,
        keep_going=True),
    "spin dfs noreduce CHECK_SW": lambda p, w, r, a: run_spin_row(p, w, r, "check_sw",
                                                                 hash_bits=a.spin_hash_bits),
    "spin dfs CHECK_SW": lambda p, w, r, a: run_spin_row(p, w, r, "dfs", {"CHECK_SW": 1},
                                                         a.spin_hash_bits),
}
BENCH = ("gupcheck", "gupcheck view keep-data", "gupcheck view,sym", "gupcheck view,sym w2",
         "gupcheck por,view,sym", "gupcheck local,view,sym w2",
         "spin dfs noreduce", "spin bfs", "spin dfs por")
VALIDATE = ("gupcheck", "gupcheck view keep-data", "spin dfs noreduce",
            "spin dfs noreduce HISTORY",
            "gupcheck stable-writeback", "spin dfs CHECK_SW",
            "gupcheck view keep-data +sw", "spin dfs noreduce CHECK_SW")


#: the rows that check the two properties exhaustively in one process (issue 18's goal 1
#: compares the fastest of them with SPIN's fastest complete row)
ONE_CORE = ("gupcheck", "gupcheck view keep-data", "gupcheck view,sym", "gupcheck por,view,sym")
SPIN_EXHAUSTIVE = ("spin dfs noreduce", "spin bfs", "spin dfs por", "spin dfs por collapse")


def _fastest(got: dict[str, dict], rows: tuple[str, ...]) -> str | None:
    """The fastest of ``rows`` that ran and found that the properties hold (a complete search:
    the row's verdict is ``holds``), or ``None``."""
    done = [r for r in rows if r in got and got[r]["verdict"] == "holds"]
    return min(done, key=lambda r: got[r]["seconds"], default=None)


def _child(row: str, config: str, args: argparse.Namespace) -> None:
    p, w, r = (int(x) for x in config.split(","))
    print(json.dumps(ROWS[row](p, w, r, args)))


def _run(row: str, config: str, args: argparse.Namespace) -> dict | None:
    cmd = [sys.executable, __file__, "--child", row, "--config", config]
    if args.max_seconds:
        cmd += ["--max-seconds", str(args.max_seconds)]
    if args.frontier_memory is not None:
        cmd += ["--frontier-memory", str(args.frontier_memory)]
    cmd += ["--spin-hash-bits", str(args.spin_hash_bits),
            "--spin-memlim-mb", str(args.spin_memlim_mb)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    if proc.returncode != 0:
        print(f"{row} {config}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    line = proc.stdout.strip().splitlines()[-1]
    return None if line == "null" else json.loads(line)


def _fmt_row(config: str, row: str, res: dict, load: str) -> str:
    st = res["states"]
    frontier = f"{res['frontier']:.0f}" if res.get("frontier") else "-"
    return (f"| {config} | {row} | {res['verdict']} | {st:,} | {res['seconds']:.2f} | "
            f"{res['bytes'] / max(st, 1):.1f} | {res['rss'] / max(st, 1):.0f} | {frontier} "
            f"| {load} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", action="append", help="P,W,R (repeatable)")
    ap.add_argument("--no-gupcheck", action="store_true")
    ap.add_argument("--no-spin", action="store_true")
    ap.add_argument("--validate", action="store_true",
                    help="check the state counts and the violated variant instead")
    ap.add_argument("--row", action="append",
                    help="run only this row (repeatable; default: all of the benchmark's, or "
                    "of --validate's)")
    ap.add_argument("--max-seconds", type=float, default=None,
                    help="stop each gupcheck run after this long (then 'incomplete')")
    ap.add_argument("--spin-hash-bits", type=int, default=24,
                    help="pan -w: a hash table of 2^N slots (8 bytes each); default 24")
    ap.add_argument("--spin-memlim-mb", type=int, default=16384,
                    help="pan -DMEMLIM for 'spin dfs por' and 'spin dfs por collapse' (MiB); "
                    "default 16384")
    ap.add_argument("--frontier-memory", type=int, default=None,
                    help="gupcheck view,sym: Limits.frontier_memory_bytes, the bytes of live "
                    "frontier states before blocks are encoded (0: encode every block)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run each configuration's rows this many times, interleaved; keep each "
                         "row's fastest run")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    configs = args.config or list(DEFAULT_CONFIGS)
    if args.child:
        _child(args.child, configs[0], args)
        return 0
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    rows = [r for r in (VALIDATE if args.validate else BENCH)
            if not (args.no_gupcheck and r.startswith("gupcheck"))
            and not (args.no_spin and r.startswith("spin"))]
    if args.row:
        rows = args.row
        unknown = [r for r in rows if r not in ROWS]
        if unknown:
            ap.error(f"unknown rows {unknown}; choose from {list(ROWS)}")
    print(f"dio-msync-reclaim under linux-6.12, P pages, W writeback passes, R reclaim attempts; "
          f"{os.cpu_count()} CPUs"
          + (f"; best of {args.repeat} interleaved runs" if args.repeat > 1 else ""))
    print("| P,W,R | tool | verdict | states stored | seconds | B/state (store) "
          "| B/state (RSS) | B/frontier state | load avg |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    failures = 0
    for config in configs:
        got: dict[str, dict] = {}
        loads: dict[str, str] = {}
        ratios: list[float] = []  # per round: gupcheck's fastest one-core row / SPIN's fastest
        for _ in range(args.repeat):
            this: dict[str, dict] = {}
            for row in rows:
                res = _run(row, config, args)
                if res is None:
                    continue
                this[row] = res
                if row in got and got[row]["seconds"] <= res["seconds"]:
                    continue
                got[row], loads[row] = res, _load()
                if args.repeat == 1:  # a long run's rows as they finish
                    print(_fmt_row(config, row, res, loads[row]), flush=True)
            best, spin_best = _fastest(this, ONE_CORE), _fastest(this, SPIN_EXHAUSTIVE)
            if best and spin_best:
                ratios.append(this[best]["seconds"] / this[spin_best]["seconds"])
        if args.repeat > 1:
            for row, res in got.items():
                print(_fmt_row(config, row, res, loads[row]), flush=True)
        checks = []
        if "gupcheck view keep-data" in got and "spin dfs noreduce" in got:
            checks.append(("view (data kept) states == SPIN noreduce states",
                           got["gupcheck view keep-data"]["states"],
                           got["spin dfs noreduce"]["states"]))
        if "gupcheck" in got and "spin dfs noreduce HISTORY" in got:
            checks.append(("unreduced states == SPIN -DHISTORY states",
                           got["gupcheck"]["states"], got["spin dfs noreduce HISTORY"]["states"]))
        if "gupcheck view keep-data +sw" in got and "spin dfs noreduce CHECK_SW" in got:
            checks.append(("view with stable-writeback (keep_going) states == SPIN -DCHECK_SW",
                           got["gupcheck view keep-data +sw"]["states"],
                           got["spin dfs noreduce CHECK_SW"]["states"]))
        if "gupcheck stable-writeback" in got and "spin dfs CHECK_SW" in got:
            checks.append(("stable-writeback violated in both",
                           got["gupcheck stable-writeback"]["verdict"],
                           got["spin dfs CHECK_SW"]["verdict"]))
        for what, a, b in checks:
            ok = a == b
            failures += not ok
            print(f"  {config}: {what}: {a} / {b} {'ok' if ok else 'MISMATCH'}")
        g, s = got.get("gupcheck view,sym"), got.get("spin dfs por")
        if g and s and g["verdict"] == "holds":
            print(f"  {config}: gupcheck view,sym / spin dfs por: "
                  f"{g['seconds'] / s['seconds']:.2f}x the time, "
                  f"{g['states'] / s['states']:.2f}x the states")
        best = _fastest(got, ONE_CORE)
        spin_best = _fastest(got, SPIN_EXHAUSTIVE)
        if best and spin_best:
            print(f"  {config}: gupcheck on one core / SPIN's best: "
                  f"{got[best]['seconds'] / got[spin_best]['seconds']:.2f}x the time "
                  f"({best} {got[best]['seconds']:.2f} s, {spin_best} "
                  f"{got[spin_best]['seconds']:.2f} s)")
        if len(ratios) > 1:  # the rounds' rows ran minutes apart at most: drift cancels more
            print(f"  {config}: each round's ratio: " + ", ".join(f"{r:.2f}x" for r in ratios)
                  + f"; median {statistics.median(ratios):.2f}x")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
