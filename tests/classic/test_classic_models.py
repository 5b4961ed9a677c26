"""The engine against classic models whose answers are known.

Reachable-state counts are cross-checked against independent brute-force enumerators written
here, in a different encoding, with a plain Python set (and against SPIN in benchmarks/).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Sequence

import pytest

from gupcheck.classic import BrokenMutex, LostUpdate, Peterson, Philosophers, TicketLock
from gupcheck.engine import Verdict, check


def brute_force_count(init: object, step: Callable[[object], Iterable[object]]) -> int:
    seen = {init}
    queue = deque([init])
    while queue:
        for t in step(queue.popleft()):
            if t not in seen:
                seen.add(t)
                queue.append(t)
    return len(seen)


def peterson_steps(s: tuple[int, ...]) -> Iterable[tuple[int, ...]]:
    """Peterson as a dict-of-variables program, independent of gupcheck.classic.peterson."""
    for i in (0, 1):
        v = dict(zip(("pc0", "pc1", "f0", "f1", "turn"), s, strict=True))
        pc = v[f"pc{i}"]
        if pc == 0:
            v[f"f{i}"], v[f"pc{i}"] = 1, 1
        elif pc == 1:
            v["turn"], v[f"pc{i}"] = 1 - i, 2
        elif pc == 2:
            if not (v[f"f{1 - i}"] == 0 or v["turn"] == i):
                continue
            v[f"pc{i}"] = 3
        else:
            v[f"f{i}"], v[f"pc{i}"] = 0, 0
        yield tuple(v.values())


def lost_update_steps(n: int, k: int) -> Callable[[tuple], Iterable[tuple]]:
    """The same program as lost_update.pml, as (counter, ((pc, tmp, i), ...))."""

    def step(s: tuple) -> Iterable[tuple]:
        counter, procs = s
        for p, (pc, tmp, i) in enumerate(procs):
            c = counter
            if pc == "loop":
                new = ("load", tmp, i) if i < k else ("end", tmp, i)
            elif pc == "load":
                new = ("inc", counter, i)
            elif pc == "inc":
                new = ("store", (tmp + 1) % 256, i)
            elif pc == "store":
                new, c = ("next", tmp, i), tmp
            elif pc == "next":
                new = ("loop", tmp, i + 1)
            elif pc == "end" and all(q[0] == "dead" for q in procs[p + 1:]):
                new = ("dead", 0, 0)  # SPIN removes the highest live pid only
            else:
                continue
            yield c, procs[:p] + (new,) + procs[p + 1:]

    return step


class CountOnly(LostUpdate):
    """Lost update without its property, to count the whole reachable state space."""

    def invariants(self) -> Sequence:
        return ()


def test_peterson_holds_with_its_exact_state_count() -> None:
    result = check(Peterson())
    assert result.verdict is Verdict.HOLDS
    assert result.stats.distinct == 20
    assert result.stats.distinct == brute_force_count((0, 0, 0, 0, 0), peterson_steps)
    assert result.unfired == ()


def test_peterson_counts_agree_in_exact_mode() -> None:
    assert check(Peterson(), exact=True).stats.distinct == 20


# SPIN 6.5.2, `spin -o1 -o3`, pan -DNOREDUCE, "states, stored" (benchmarks/promela/README.md)
SPIN_STORED = {(2, 1): 96, (2, 2): 559, (2, 3): 2219, (3, 1): 1737, (3, 2): 46953}


@pytest.mark.parametrize(("n", "k"), sorted(SPIN_STORED))
def test_lost_update_state_counts_match_brute_force_and_spin(n: int, k: int) -> None:
    init = (0, (("loop", 0, 0),) * n)
    expected = brute_force_count(init, lost_update_steps(n, k))
    result = check(CountOnly(n, k))
    assert result.verdict is Verdict.HOLDS
    assert result.stats.distinct == expected
    assert check(CountOnly(n, k), exact=True).stats.distinct == expected
    assert expected == SPIN_STORED[n, k]


def test_broken_mutex_is_violated_by_the_exact_shortest_trace() -> None:
    result = check(BrokenMutex())
    assert result.verdict is Verdict.VIOLATED
    assert result.property == "mutual-exclusion"
    assert result.trace is not None
    assert result.trace.labels() == [
        "P0: await lock == 0", "P1: await lock == 0", "P0: lock = 1", "P1: lock = 1"]
    assert result.trace.steps[-1].state.pc == (2, 2)


@pytest.mark.parametrize("n", [3, 4])
def test_dining_philosophers_deadlock_with_everyone_holding_a_left_fork(n: int) -> None:
    result = check(Philosophers(n))
    assert result.verdict is Verdict.DEADLOCK
    assert result.property == "deadlock"
    assert result.trace is not None and len(result.trace) == n
    assert all(lab.endswith("take left fork") for lab in result.trace.labels())
    assert {w.actor for w in result.waits} == {f"phil{i}" for i in range(n)}


def test_partial_deadlock_is_found_while_another_actor_keeps_running() -> None:
    result = check(Philosophers(3, clock=True))
    assert result.verdict is Verdict.DEADLOCK
    assert result.property == "wait-for-cycle"
    assert result.trace is not None and len(result.trace) == 3
    assert [w.actor for w in result.waits] == ["phil0", "phil1", "phil2"]
    assert [w.holders for w in result.waits] == [("phil1",), ("phil2",), ("phil0",)]


def test_lost_update_is_found_with_a_shortest_trace() -> None:
    result = check(LostUpdate(2, 1))
    assert result.verdict is Verdict.VIOLATED
    assert result.property == "no-lost-update"
    assert result.trace is not None
    # both loop guards, both loads before either store, both stores, both i++, both breaks;
    # SPIN reports depth 13 for this race with an init process that runs the two workers
    assert len(result.trace) == 12
    labels = result.trace.labels()
    assert labels.index("P1: tmp = counter") < labels.index("P0: counter = tmp")
    assert result.trace.steps[-1].state[0] == 1


def test_ticket_lock_with_fair_release_gives_every_waiter_the_lock() -> None:
    result = check(TicketLock(fair_release=True))
    assert result.verdict is Verdict.HOLDS


def test_ticket_lock_with_unfair_release_starves_a_waiter() -> None:
    result = check(TicketLock(fair_release=False))
    assert result.verdict is Verdict.STARVES
    assert result.trace is not None and result.trace.stutters
    last = result.trace.steps[-1].state
    starved = int(result.property[1])
    assert last.pc[starved] == 1 and last.pc[1 - starved] == 2  # waiting, other holding
    assert [str(w) for w in result.waits] == [
        f"T{starved} waits for the ticket lock held by T{1 - starved}"]
