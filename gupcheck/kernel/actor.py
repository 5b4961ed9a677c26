"""How a kernel path is written as atomic steps.

An actor (a user thread, the flusher, kswapd, the disk, a kworker) runs operations.  An
operation is a small state machine: its :class:`~.state.Thread` says at which *stage* it is, and
the stage function returns the steps it can take from there.  Each step is named after the kernel
function it models and is atomic: a lock-free actor (DMA, GUP-fast, a CPU store through an
existing PTE) can run between any two steps, so a kernel function is split wherever such an actor
could observe an intermediate state.

A stage that cannot proceed returns :class:`Blocked`, naming what it waits for and who holds it:
the engine's deadlock detection builds its wait-for graph from these.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from .config import KernelConfig
from .env import Env
from .state import KState, Thread, replace


class Move(msgspec.Struct, frozen=True, gc=False):
    """One atomic step: the kernel function it models and the state it leads to.

    For partial-order reduction (:mod:`.footprint`): ``unit``, the independent part of the actor
    the step belongs to (the disk's bio), ``""`` for the actor itself; ``touches``, the objects
    it reads and writes, ``None`` for the whole shared kernel state."""

    func: str
    state: KState
    choice: tuple[Any, ...] = ()
    unit: str = ""
    touches: frozenset[str] | None = None


class Blocked(msgspec.Struct, frozen=True, gc=False):
    """The actor sleeps: on what, held by whom (actors)."""

    on: str
    holders: tuple[str, ...] = ()


Outcome = list[Move] | Blocked


class Ctx(msgspec.Struct, frozen=True, gc=False):
    """What a stage function needs: the state, who is running, the kernel being modelled, the
    scenario's environment (its filesystem's operation tables).

    Frozen msgspec Structs like the state (:class:`~.state.Value`): stage functions copy them
    with ``replace`` on every step."""

    k: KState
    me: int
    name: str
    cfg: KernelConfig
    env: Env
    op: tuple[Any, ...]  # the operation being run, e.g. ("store", page, block)

    @property
    def thread(self) -> Thread:
        return self.k.threads[self.me]

    @property
    def iomap_dio(self) -> bool:
        """The file's direct I/O goes through iomap_dio_rw on this kernel, not fs/direct-io.c
        (:attr:`.fsops.FileSystem.iomap_dio`)."""
        return self.env.fs.iomap_dio(self.cfg)

    def var(self, key: str, default: Any = None) -> Any:
        """The operation's local ``key`` (a thread has a handful of locals: a scan)."""
        for kv in self.k.threads[self.me].local:
            if kv[0] == key:
                return kv[1]
        return default

    def goto(self, k: KState, stage: str, **local: Any) -> KState:
        """Continue the same operation at ``stage``, updating the named locals."""
        t = k.threads[self.me]
        merged = dict(t.local)
        merged.update(local)
        return k.with_thread(self.me, replace(t, stage=stage, local=tuple(sorted(merged.items()))))

    def forget(self, k: KState, key: str) -> KState:
        """Drop the local ``key``: the state equals one where it was never set."""
        t = k.threads[self.me]
        return k.with_thread(self.me, replace(t, local=tuple(kv for kv in t.local
                                                             if kv[0] != key)))

    def finish(self, k: KState, result: str | None = None) -> KState:
        """The operation returns (with ``result``, if it reports one); the next one may start."""
        t = k.threads[self.me]
        results = t.results + ((result,) if result else ())
        return k.with_thread(self.me, Thread(pc=t.pc + 1, results=results, errseq=t.errseq))


Stage = Callable[[Ctx], Outcome]
