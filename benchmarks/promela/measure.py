"""Regenerate the SPIN reference table in README.md (reductions off).

Usage: python benchmarks/promela/measure.py [--big]     (--big adds lost_update N=4 K=3, ~4 min, ~9 GB)
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

from benchmarks.spin_runner import run_spin, spin_available  # noqa: E402

LOST = [(2, 1), (2, 2), (2, 3), (3, 1), (3, 2), (3, 3), (4, 1), (4, 2)]


def cases(big):
    for n, k in LOST + ([(4, 3)] if big else []):
        yield "lost_update.pml", {"N": n, "K": k}, ()
    yield "peterson.pml", {}, ()
    yield "mutex_tts.pml", {}, ()          # stops at the first error
    yield "mutex_tts.pml", {}, ("-c0",)    # full state space
    for n in (3, 4):
        yield "philosophers.pml", {"N": n}, ()
        yield "philosophers.pml", {"N": n}, ("-c0",)


def main(argv):
    if not spin_available():
        print("spin or gcc not found")
        return 1
    big = "--big" in argv
    print("| model | params | pan flags | states stored | matched | transitions | depth | errors | pan time (s) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for model, d, flags in cases(big):
        r = run_spin(os.path.join(HERE, model), d, reductions=False, search="dfs",
                     extra_pan_flags=flags, hash_bits=28 if big and d.get("K") == 3 and d.get("N") == 4 else 24)
        params = " ".join("%s=%s" % kv for kv in d.items()) or "-"
        err = r["errors"]
        if r["error_messages"]:
            err = "%d (%s)" % (err, r["error_messages"][0].split(": ", 1)[1].split(" (at")[0])
        print("| %s | %s | %s | %d | %d | %d | %d | %s | %s |" % (
            model, params, " ".join(flags) or "-", r["states_stored"], r["states_matched"],
            r["transitions"], r["depth_reached"], err, r["pan_elapsed_s"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
