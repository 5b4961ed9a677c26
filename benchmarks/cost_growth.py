"""How a kernel scenario's cost grows: states, seconds and memory per step of one dimension.

    python benchmarks/cost_growth.py                  # the table (Markdown)
    python benchmarks/cost_growth.py --plot docs/cost-growth.svg   # and the plot (needs the
                                                      # `bench` extra: matplotlib)

The base workload is `dio-read-into-mmap` shrunk to its core — a read(O_DIRECT) into a shared
ext4 mapping, then fsync, beside one background writeback pass — checked exhaustively under
linux-6.12 for `pin-accounting` (a property that holds, so the search order does not decide the
cost). Each dimension grows from the base by one: more pages read, more writeback passes, more
CPUs storing to the mapping, more kswapd reclaim attempts. Users can read off what a bigger
configuration of their own will cost before they run it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gupcheck.designs import DESIGNS
from gupcheck.engine import Limits, check
from gupcheck.kernel.system import KernelModel
from gupcheck.scenarios.loader import parse


def scenario(pages: int = 1, passes: int = 1, cpus: int = 0, reclaims: int = 0) -> str:
    """The base workload grown along each dimension."""
    actors = [f'''[[actor]]
name = "CPU0 app"
program = [ {{ op = "dio_read", page = 0, value = "B1", count = {pages} }}, {{ op = "fsync" }} ]
''', f'''[[actor]]
name = "flusher"
daemon = true
program = [ {{ op = "writeback_pass", repeat = {passes} }} ]
''']
    for i in range(cpus):
        actors.append(f'''[[actor]]
name = "CPU{i + 1} app"
program = [ {{ op = "store", page = 0, block = {i % 2}, value = "C{i + 1}" }} ]
''')
    if reclaims:
        actors.append(f'''[[actor]]
name = "kswapd"
daemon = true
program = [ {{ op = "kswapd_reclaim", page = 0, repeat = {reclaims} }} ]
''')
    return (f'name = "growth"\ndescription = "cost growth"\npages = {pages}\n'
            'properties = ["pin-accounting"]\n' + "\n".join(actors))


DIMENSIONS = {
    "pages read": lambda n: scenario(pages=n),
    "writeback passes": lambda n: scenario(passes=n),
    "CPUs storing": lambda n: scenario(cpus=n - 1),
    "kswapd attempts": lambda n: scenario(reclaims=n - 1),
}


def measure(text: str, cap: int) -> tuple[int, float, float, bool]:
    """(distinct states, seconds, bytes per state of the visited set + trace records, whether
    the state cap stopped the search)."""
    model = KernelModel(parse(text, "<growth>"), DESIGNS["linux-6.12"])
    t0 = time.perf_counter()
    result = check(model, liveness=False, limits=Limits(max_states=cap))
    seconds = time.perf_counter() - t0
    s = result.stats
    assert result.verdict.value in ("holds", "incomplete"), result.message
    return s.distinct, seconds, (s.visited_bytes + s.trace_bytes) / s.distinct, \
        result.verdict.value == "incomplete"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=3, help="values 1..N of each dimension")
    ap.add_argument("--plot", type=Path, help="write an SVG plot (needs matplotlib)")
    ap.add_argument("--cap", type=int, default=300_000,
                    help="stop a configuration at this many states (shown as '>')")
    args = ap.parse_args()
    rows: dict[str, list[tuple[int, int, float, float]]] = {}
    print("| dimension | value | states | seconds | states/s | B/state (visited + trace) |")
    print("|---|---:|---:|---:|---:|---:|")
    for dim, make in DIMENSIONS.items():
        rows[dim] = []
        for n in range(1, args.steps + 1):
            states, secs, bps, capped = measure(make(n), args.cap)
            rows[dim].append((n, states, secs, bps))
            more = ">" if capped else ""
            print(f"| {dim} | {n} | {more}{states:,} | {more}{secs:.2f} | {states / secs:,.0f} "
                  f"| {bps:.1f} |", flush=True)
            if capped:
                break
    if args.plot:
        _plot(rows, args.plot)


def _plot(rows: dict[str, list[tuple[int, int, float, float]]], out: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("svg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("the plot needs matplotlib: pip install -e '.[bench]'")
    plt.rcParams["svg.hashsalt"] = "gupcheck"  # deterministic ids in the SVG
    fig, ax = plt.subplots(figsize=(6, 4))
    for dim, pts in rows.items():
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=dim)
    ax.set_yscale("log")
    ax.set_xlabel("value of the dimension (the others at 1)")
    ax.set_ylabel("distinct states (log)")
    ax.set_title("dio-read-into-mmap under linux-6.12: cost growth")
    ax.set_xticks(range(1, max(len(p) for p in rows.values()) + 1))
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, metadata={"Date": None})
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
