"""Independent brute-force enumerator for lost_update.pml (stdlib only).

Reproduces SPIN's "states, stored" for lost_update.pml when SPIN is run
with its reductions off (spin -o1 -o3 -a; gcc -DNOREDUCE), by modelling
the exact step structure of the SPIN verifier:

  Each process P (pid 0..N-1) has 6 control locations (SPIN state ids in
  brackets, as printed by ./pan -d):

    HEAD [8]  loop head        i < K  -> READ      (guard, changes nothing)
                               else   -> END       (guard, changes nothing)
    READ [2]  tmp = counter           -> INC
    INC  [3]  tmp = tmp + 1           -> WRITE
    WRITE[4]  counter = tmp           -> INCI
    INCI [5]  i = i + 1               -> HEAD
    END [11]  '-end-': the process terminates and is removed from the
              state vector -- but ONLY if it is the most recently created
              live process (SPIN's delproc: pid == _nr_pr - 1).  A
              process at END with a live higher pid just waits there.

  Locals i and tmp are never reset (no dead-variable reset): they keep
  their last values, so states differing only in a "dead" tmp are
  distinct.  byte arithmetic wraps mod 256 (irrelevant for these sizes).

  A state is (counter, ((pc, i, tmp) for each live process, in pid order)).
  The state with all processes removed is a state too (counted once).

Usage: python bruteforce_lost_update.py [N K ...]   (default: the table)
"""

import sys
from collections import deque

HEAD, READ, INC, WRITE, INCI, END = range(6)


def successors(state, K, variant="spin"):
    counter, procs = state
    last = len(procs) - 1
    for p, (pc, i, tmp) in enumerate(procs):
        if pc == HEAD:
            new = (READ, i, tmp) if i < K else (END, i, tmp)
            yield counter, procs[:p] + (new,) + procs[p + 1:]
        elif pc == READ:
            yield counter, procs[:p] + ((INC, i, counter),) + procs[p + 1:]
        elif pc == INC:
            yield counter, procs[:p] + ((WRITE, i, (tmp + 1) & 0xFF),) + procs[p + 1:]
        elif pc == WRITE:
            keep = 0 if variant == "reset_tmp" else tmp
            yield tmp, procs[:p] + ((INCI, i, keep),) + procs[p + 1:]
        elif pc == INCI:
            yield counter, procs[:p] + ((HEAD, (i + 1) & 0xFF, tmp),) + procs[p + 1:]
        elif pc == END:
            if variant == "spin":
                if p == last:                 # only the youngest process may die
                    yield counter, procs[:p]
            elif variant == "delete_any":     # (not SPIN) any process may die
                yield counter, procs[:p] + ((None, 0, 0),) + procs[p + 1:]
            elif variant == "reset_tmp" and p == last:
                yield counter, procs[:p]
            # variant "no_delete": (not SPIN) END is a final location, no step


def count(N, K, variant="spin"):
    """Return (states, edges) of a plain BFS over the state graph.

    SPIN's "transitions" line is stored + matched = edges + 1 (the
    initial state is "stored" without a transition leading to it).
    variant: "spin" (the SPIN semantics) or, to show what matters,
    "reset_tmp" (tmp := 0 after the write), "no_delete" (END is final,
    the process stays), "delete_any" (any process at END may die, a dead
    process keeps a slot marked dead).
    """
    init = (0, ((HEAD, 0, 0),) * N)
    seen = {init}
    queue = deque([init])
    transitions = 0
    while queue:
        s = queue.popleft()
        for t in successors(s, K, variant):
            transitions += 1
            if t not in seen:
                seen.add(t)
                queue.append(t)
    return len(seen), transitions


# SPIN 6.5.2, spin -o1 -o3 -a, gcc -O2 -DNOREDUCE: "states, stored" and
# "transitions" (identical for DFS and -DBFS).
SPIN = {
    (2, 1): (96, 159),
    (2, 2): (559, 984),
    (2, 3): (2219, 4027),
    (3, 1): (1737, 4163),
    (3, 2): (46953, 122255),
    (3, 3): (493425, 1334868),
    (4, 1): (43322, 136023),
    (4, 2): (5602275, 19306050),
    (4, 3): (144382810, 518891130),   # ~220 s in SPIN; too big for this script
}


def main(argv):
    variant = "spin"
    if argv and argv[0].startswith("--variant="):
        variant = argv[0].split("=", 1)[1]
        argv = argv[1:]
    if argv:
        cases = [(int(argv[i]), int(argv[i + 1])) for i in range(0, len(argv), 2)]
    else:
        cases = [c for c in sorted(SPIN) if c != (4, 3)]   # (4, 3) needs ~20 GB in Python
    ok = True
    for N, K in cases:
        states, edges = count(N, K, variant)
        ref = SPIN.get((N, K))
        tag = ""
        if ref is not None:
            match = (states, edges + 1) == ref
            ok &= match
            tag = f"  SPIN {ref[0]:d} / {ref[1]:d}  {'OK' if match else 'MISMATCH'}"
        print(f"N={N:d} K={K:d}  states {states:d}  transitions(edges+1) {edges + 1:d}{tag}",
              flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
