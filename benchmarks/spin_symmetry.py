"""gupcheck's symmetry + partial-order reduction against SPIN's reductions, on a model both write.

    python benchmarks/spin_symmetry.py                    # N x K = 4x2, 4x3, 5x2
    python benchmarks/spin_symmetry.py --config 3x2 --config 4x2 --spin-full

The model is the lost update with finished processes that *stay* (gupcheck's
``StayingLostUpdate``, ``promela/lost_update_stay.pml``): the two have the same reachable
states, state for state (tests/classic/test_spin_crosscheck.py), and its processes are
interchangeable.  SPIN (``-DN -DK``, DFS, its default partial-order reduction) cannot use that
symmetry; gupcheck can (``reduce=("por", "symmetry")``).  Every run explores the whole state
space (no property), so the search order decides nothing.  Rows per configuration:

* ``spin-por`` — SPIN with its reductions (states stored, seconds of ``pan``, MB);
* ``spin-full`` — with ``--spin-full``: SPIN without reductions, the unreduced state count;
* ``gupcheck por+sym`` — gupcheck's BFS with both reductions (visited-set bytes per state);

and the ratio of SPIN's seconds to gupcheck's (above 1: gupcheck is faster).  gupcheck runs in
this process, one configuration after the other; print the load average with the figures, since
other work on the machine slows both tools.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def gupcheck_row(n: int, k: int) -> dict:
    from gupcheck.classic import StayingLostUpdate
    from gupcheck.engine import check

    class WholeSpace(StayingLostUpdate):
        def invariants(self) -> tuple:
            return ()

    t0 = time.perf_counter()
    r = check(WholeSpace(n, k), reduce=("por", "symmetry"))
    return {"states": r.stats.distinct, "seconds": time.perf_counter() - t0,
            "mem": f"{r.stats.visited_bytes / r.stats.distinct:.1f} B/state visited set"}


def spin_row(n: int, k: int, reductions: bool) -> dict | None:
    from spin_runner import run_spin, spin_available

    if not spin_available():
        return None
    r = run_spin(str(HERE / "promela" / "lost_update_stay.pml"), {"N": n, "K": k},
                 reductions=reductions, search="dfs")
    mb = r.get("total_memory_mb") or 0.0
    return {"states": r["states_stored"], "seconds": r.get("pan_elapsed_s") or r.get("wall_s"),
            "mem": f"{mb:,.0f} MB total"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", action="append", help="N x K, e.g. 4x2 (repeatable)")
    ap.add_argument("--spin-full", action="store_true", help="also run SPIN without reductions")
    args = ap.parse_args()
    configs = [tuple(int(v) for v in c.lower().split("x")) for c in
               (args.config or ["4x2", "4x3", "5x2"])]
    print(f"lost-update-stay, whole state space, one core; load average "
          f"{os.getloadavg()[0]:.2f} at start")
    print(f"{'N x K':<7}{'run':<18}{'states':>13}{'seconds':>9}  memory")
    for n, k in configs:
        rows = {"spin-por": spin_row(n, k, True)}
        if args.spin_full:
            rows["spin-full"] = spin_row(n, k, False)
        rows["gupcheck por+sym"] = gupcheck_row(n, k)
        for name, r in rows.items():
            if r is None:
                print(f"{n}x{k:<5}{name:<18}{'(spin or gcc not installed)':>22}")
                continue
            print(f"{n}x{k:<5}{name:<18}{r['states']:>13,}{r['seconds']:>9.2f}  {r['mem']}")
        sp, g = rows["spin-por"], rows["gupcheck por+sym"]
        if sp is not None:
            ratio = sp["seconds"] / g["seconds"]
            print(f"{'':<7}SPIN-por / gupcheck: {sp['states'] / g['states']:.0f}x the states, "
                  f"{ratio:.2f}x the time ({'gupcheck faster' if ratio > 1 else 'SPIN faster'})")
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
