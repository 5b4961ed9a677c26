"""Regenerate the SPIN reference tables in README.md (reductions off).

Usage: python benchmarks/promela/measure.py [--big] [--gupcheck]

  --big       adds lost_update N=4 K=3 (~4 min, ~9 GB)
  --gupcheck  also prints the second table: SPIN against gupcheck's classic
              models (the *_gupcheck.pml files and lost_update.pml), full
              state spaces, with gupcheck's distinct/generated counts
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

from benchmarks.spin_runner import run_spin, spin_available

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
    yield "peterson_gupcheck.pml", {}, ()
    yield "mutex_gupcheck.pml", {}, ()
    yield "mutex_gupcheck.pml", {}, ("-c0",)
    for n in (3, 4, 5):
        for clock in (False, True):
            d = {"N": n, **({"CLOCK": 1} if clock else {})}
            yield "philosophers_gupcheck.pml", d, ()
            yield "philosophers_gupcheck.pml", d, ("-c0",)


def _error(r):
    err = r["errors"]
    if r["error_messages"]:
        err = f"{err:d} ({r['error_messages'][0].split(': ', 1)[1].split(' (at')[0]})"
    return err


def spin_table(big):
    print("| model | params | pan flags | states stored | matched | transitions | depth | errors "
          "| pan time (s) |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for model, d, flags in cases(big):
        r = run_spin(os.path.join(HERE, model), d, reductions=False, search="dfs",
                     extra_pan_flags=flags,
                     hash_bits=28 if big and d.get("K") == 3 and d.get("N") == 4 else 24)
        params = " ".join(f"{k}={v}" for k, v in d.items()) or "-"
        print(f"| {model} | {params} | {' '.join(flags) or '-'} | {r['states_stored']:d} "
              f"| {r['states_matched']:d} | {r['transitions']:d} | {r['depth_reached']:d} "
              f"| {_error(r)} | {r['pan_elapsed_s']} |", flush=True)


def gupcheck_cases():
    """(label, pml, defines, gupcheck model factory) for the step-for-step equivalent models."""
    from gupcheck.classic import BrokenMutex, LostUpdate, Peterson, Philosophers

    for n, k in [(2, 1), (2, 2), (2, 3), (3, 1), (3, 2), (4, 1)]:
        yield "lost_update", "lost_update.pml", {"N": n, "K": k}, lambda n=n, k=k: LostUpdate(n, k)
    yield "peterson", "peterson_gupcheck.pml", {}, Peterson
    yield "mutex", "mutex_gupcheck.pml", {}, BrokenMutex
    for n in (3, 4, 5):
        for clock in (False, True):
            d = {"N": n, **({"CLOCK": 1} if clock else {})}
            yield "philosophers", "philosophers_gupcheck.pml", d, \
                lambda n=n, clock=clock: Philosophers(n, clock=clock)


def full_space(model):
    """The same model with nothing that stops the search: no invariants, no deadlocks, no waits."""
    cls = type(model)
    full = type("Full" + cls.__name__, (cls,), {
        "invariants": lambda self: (),
        "is_end": lambda self, s: True,
        "waits": lambda self, s: (),
    })
    model.__class__ = full
    return model


def gupcheck_table():
    from gupcheck.engine import check

    print("| model | params | gupcheck distinct | SPIN stored (DFS, -c0) | SPIN nominal (BFS, -c0) "
          "| gupcheck generated | SPIN transitions | gupcheck verdict | SPIN errors (DFS, -c0) |")
    print("|---|---|---:|---:|---:|---:|---:|---|---|")
    for label, pml, d, factory in gupcheck_cases():
        verdict = check(factory(), exact=True)
        full = check(full_space(factory()), exact=True)
        path = os.path.join(HERE, pml)
        kw = {"reductions": False, "extra_pan_flags": ("-c0",), "max_depth": 100_000,
              "hash_bits": 20}
        dfs = run_spin(path, d, search="dfs", **kw)
        bfs = run_spin(path, d, search="bfs", **kw)
        params = " ".join(f"{k}={v}" for k, v in d.items()) or "-"
        v = verdict.verdict.value + (f" ({verdict.property})" if verdict.property else "")
        print(f"| {label} | {params} | {full.stats.distinct:d} | {dfs['states_stored']:d} "
              f"| {bfs['nominal_states']:d} | {full.stats.generated:d} | {dfs['transitions']:d} "
              f"| {v} | {_error(dfs)} |", flush=True)


def main(argv):
    if not spin_available():
        print("spin or gcc not found")
        return 1
    spin_table("--big" in argv)
    if "--gupcheck" in argv:
        print()
        gupcheck_table()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
