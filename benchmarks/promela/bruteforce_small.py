"""Independent brute-force enumerators (stdlib only) for peterson.pml,
mutex_tts.pml and philosophers.pml, reproducing SPIN's "states, stored"
with reductions off (spin -o1 -o3 -a; gcc -DNOREDUCE; ./pan -c0 so the
search does not stop at the first error).  Each Promela statement is
one transition; pc names follow the SPIN state ids printed by ./pan -d.

Usage: python bruteforce_small.py
"""

import sys
from collections import deque


def bfs(init, successors):
    """Return (states, edges+1, error_edges): SPIN's stored / transitions."""
    seen = {init}
    queue = deque([init])
    edges = errors = 0
    while queue:
        s = queue.popleft()
        for t, err in successors(s):
            edges += 1
            errors += err
            if t not in seen:
                seen.add(t)
                queue.append(t)
    return len(seen), edges + 1, errors


def put(tup, i, v):
    return tup[:i] + (v,) + tup[i + 1:]


# ---------------------------------------------------------------- peterson
# state: (flag0, flag1, turn, critical, pc0, pc1); 7 locations per process,
# the loop head is the first statement of the loop body (no separate step).
def peterson_succ(s):
    flag, turn, crit, pcs = (s[0], s[1]), s[2], s[3], (s[4], s[5])
    for p in (0, 1):
        pc, o = pcs[p], 1 - p
        f, t, c, err = flag, turn, crit, 0
        if pc == 8:                      # flag[_pid] = true
            f, npc = put(flag, p, 1), 2
        elif pc == 2:                    # turn = 1 - _pid
            t, npc = o, 3
        elif pc == 3:                    # (flag[1-_pid] == false || turn == _pid)
            if not (flag[o] == 0 or turn == p):
                continue
            npc = 4
        elif pc == 4:                    # critical++
            c, npc = crit + 1, 5
        elif pc == 5:                    # assert(critical <= 1)
            err, npc = int(not crit <= 1), 6
        elif pc == 6:                    # critical--
            c, npc = crit - 1, 7
        elif pc == 7:                    # flag[_pid] = false   (-> loop head)
            f, npc = put(flag, p, 0), 8
        np = put(pcs, p, npc)
        yield (f[0], f[1], t, c, np[0], np[1]), err


# ---------------------------------------------------------------- mutex_tts
# state: (lock, critical, pc0, pc1); 6 locations per process.
def tts_succ(s):
    lock, crit, pcs = s[0], s[1], s[2:]
    for p in (0, 1):
        pc = pcs[p]
        lk, c, err = lock, crit, 0
        if pc == 7:                      # lock == 0   (loop head)
            if lock != 0:
                continue
            npc = 2
        elif pc == 2:                    # lock = 1
            lk, npc = 1, 3
        elif pc == 3:                    # critical++
            c, npc = crit + 1, 4
        elif pc == 4:                    # assert(critical <= 1): violation is
            err, npc = int(not crit <= 1), 5   # reported, the step still happens
        elif pc == 5:                    # critical--
            c, npc = crit - 1, 6
        elif pc == 6:                    # lock = 0   (-> loop head)
            lk, npc = 0, 7
        yield (lk, c) + put(pcs, p, npc), err


# ---------------------------------------------------------------- philosophers
# state: (forks tuple, pcs tuple); 4 stored locations per process (the
# intermediate location inside each atomic is never stored by DFS pan).
def phil_succ_factory(N):
    def succ(s):
        forks, pcs = s
        for p in range(N):
            L, R = p, (p + 1) % N
            pc = pcs[p]
            if pc == 9:                  # atomic { fork[L] == 0 -> fork[L] = 1 }
                if forks[L]:
                    continue
                f, npc = put(forks, L, 1), 6
            elif pc == 6:                # atomic { fork[R] == 0 -> fork[R] = 1 }
                if forks[R]:
                    continue
                f, npc = put(forks, R, 1), 7
            elif pc == 7:                # fork[L] = 0
                f, npc = put(forks, L, 0), 8
            elif pc == 8:                # fork[R] = 0   (-> loop head)
                f, npc = put(forks, R, 0), 9
            yield (f, put(pcs, p, npc)), 0
    return succ


def phil_deadlocks(N):
    succ = phil_succ_factory(N)
    init = ((0,) * N, (9,) * N)
    seen, queue, dead = {init}, deque([init]), 0
    while queue:
        s = queue.popleft()
        nxt = list(succ(s))
        dead += not nxt
        for t, _ in nxt:
            if t not in seen:
                seen.add(t)
                queue.append(t)
    return dead


# SPIN 6.5.2, reductions off, DFS, ./pan -c0: (stored, transitions, errors)
SPIN = {
    "peterson": (38, 65, 0),
    "mutex_tts": (52, 97, 4),
    "philosophers N=3": (26, 52, 1),
    "philosophers N=4": (80, 213, 1),
    "philosophers N=5": (242, 806, 1),
}


def main():
    ok = True
    res = {
        "peterson": bfs((0, 0, 0, 0, 8, 8), peterson_succ),
        "mutex_tts": bfs((0, 0, 7, 7), tts_succ),
    }
    for N in (3, 4, 5):
        st, tr, _ = bfs(((0,) * N, (9,) * N), phil_succ_factory(N))
        res[f"philosophers N={N:d}"] = (st, tr, phil_deadlocks(N))
    for name, got in res.items():
        ref = SPIN[name]
        match = got == ref
        ok &= match
        print(f"{name:<18} states {got[0]:4d}  transitions {got[1]:4d}  errors {got[2]:d}   "
              f"SPIN {ref}  {'OK' if match else 'MISMATCH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
