"""The kernel model as something the engine can explore: actors, their steps, ends and waits.

Actors:

* user threads (``CPU0 app``, ``CPU1 ...``) run a program of operations (a CPU store, a direct-
  I/O read, fsync, msync, madvise);
* ``flusher`` runs background writeback passes, ``kswapd`` reclaim attempts (each a bounded
  program, so the state space stays finite);
* ``disk`` transfers and completes bios, ``kworker bio_dirty_work`` re-dirties and releases the
  pages of direct-I/O reads whose pages were cleaned meanwhile, and (btrfs up to 6.1) runs
  ``btrfs_writepage_fixup_worker`` for folios writeback found dirty without a reservation.

Fairness (for liveness): kernel threads, I/O completion and the kernel half of a syscall in
progress are weakly fair; a user starting a new operation is not (a user may never unpin).
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import replace as dc_replace
from typing import Any

import msgspec

from gupcheck.engine import Invariant, Label, LeadsTo, Model, Wait

from . import (
    anon,
    dax,
    device,
    dio,
    dio_write,
    fault,
    gup,
    longterm,
    reclaim,
    sync,
    truncate,
    writeback,
)
from .actor import Blocked, Ctx, Move, Outcome, Stage
from .config import KernelConfig
from .env import Env
from .footprint import SHARED, TRANSFER_READERS, bio_footprint, bio_unit, data_object
from .fs import STAGES as FS_STAGES
from .fs import filesystem
from .properties import DATA_READERS, PROPERTIES, WRITE_READERS, invariants
from .state import PIN_HOLDER, SUBBLOCKS, Bio, Ghost, KState, Thread, initial_state
from .state import replace as kreplace

Op = tuple  # ("store", page, block, value), ("dio_read", page, value), ("fsync",), ...

OPERATIONS: dict[str, Stage] = {
    "store": fault.store,
    "dio_read": dio.dio_read,
    "aio_read": dio.dio_read,  # the same path with is_sync_kiocb false (dio.py)
    "dio_read_file": dio.dio_read_file,
    "fsync": sync.fsync,
    "msync": sync.fsync,
    "madvise_pageout": reclaim.shrink,
    "kswapd_reclaim": reclaim.shrink,
    "writeback_pass": writeback.background_pass,
    "rdma_reg_mr": longterm.reg_mr,
    "rdma_dereg_mr": longterm.dereg_mr,
    "iouring_register": longterm.iouring_register,
    "iouring_unregister": longterm.iouring_unregister,
    "truncate": truncate.truncate,
    "punch_hole": truncate.punch_hole,
    "write_other_file": dax.write_other_file,
    "layout_lease": dax.layout_lease,
    "ftruncate_grow": truncate.grow,
    "load": fault.load,
    "munmap": truncate.munmap,
    "dio_write": dio_write.dio_write,
    "dio_write_from": dio_write.dio_write_from,
    "vm_writev": dio_write.vm_writev,
    "fill_fs": dio_write.fill_fs,
    **anon.ANON_OPS,
}

STAGES: dict[str, Stage] = {
    **fault.FAULT_STAGES, **fault.STORE_STAGES, **gup.GUP_STAGES, **dio.DIO_STAGES,
    **writeback.WRITEBACK_STAGES,
    **sync.SYNC_STAGES, **reclaim.RECLAIM_STAGES, **longterm.LONGTERM_STAGES,
    **truncate.TRUNCATE_STAGES, **anon.ANON_STAGES, **dio_write.DIO_WRITE_STAGES, **FS_STAGES,
}

#: thread locals that only carry no-lost-write's ghost bookkeeping (the write start numbers)
#: into the step that completes the write
NO_LOST_WRITE_LOCALS = frozenset({"dstarts", "wstart", "vstart", "tstarts"})

#: operations that writeback-progress requires to return once started
WAITED_FOR = frozenset({"fsync", "msync", "truncate", "punch_hole"})

DISK = "disk"
KWORKER = "kworker bio_dirty_work"
NIC = "NIC"

#: the built-in actors' names, compared without case or surrounding blanks: a scenario actor
#: called ``disk`` would share the device's name in labels, waits and traces and be merged
#: with it (a deadlock where the same scenario with another name is violated)
#: Scenario.nic_driver: "plain" (the registration pins), "odp" (IB_ACCESS_ON_DEMAND: the NIC
#: faults pages in and follows the mmu notifiers), or an ODP driver that skips
#: mmu_interval_read_retry
NIC_DRIVERS = ("plain", "odp", "odp-naive")

RESERVED_ACTOR_NAMES = frozenset(n.casefold() for n in (DISK, KWORKER, NIC))


def reserved_actor_name(name: str) -> bool:
    """Whether ``name`` is, or reads as, the name of a built-in actor (disk, kworker, NIC)."""
    return name.strip().casefold() in RESERVED_ACTOR_NAMES


@dataclass(frozen=True, slots=True)
class ActorSpec:
    name: str
    program: tuple[Op, ...]
    daemon: bool = False  # a kernel thread: weakly fair, and need not finish its program


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    actors: tuple[ActorSpec, ...]
    npages: int = 1
    cached: bool = True  # the file's pages start in the page cache
    mapped: bool = True  # ... and read-faulted into the mapping (read-only PTEs)
    properties: tuple[str, ...] = tuple(PROPERTIES)
    nic_writes: int = 0  # DMA writes an RDMA NIC makes into its registered pages
    stable_writes: bool = False  # the block device needs stable pages (RAID parity, DIF/DIX)
    nic_driver: str = "plain"  # NIC_DRIVERS
    filesystem: str = "ext4"  # a name in gupcheck.kernel.fs.FILESYSTEMS
    anon: bool = False  # the parent process has a page of private anonymous memory
    file_pages: int | None = None  # the file's size if shorter than the mapping (npages)
    free_blocks: int = 0  # free space of a COW filesystem, in pages
    private: bool = False  # the process maps the file MAP_PRIVATE rather than MAP_SHARED
    sparse: bool = False  # an ext4 file with no blocks allocated (a hole), e.g. after ftruncate
    large_folios: bool = False  # shmem and anonymous memory in large folios (THP)

    def __post_init__(self) -> None:
        """Refuse an actor named like a built-in one (for Python callers; the scenario
        loader reports it with the file, line and field)."""
        for a in self.actors:
            if reserved_actor_name(a.name):
                raise ValueError(f"actor name {a.name!r} is reserved for a built-in actor "
                                 f"({DISK!r}, {KWORKER!r}, {NIC!r}; case is ignored)")
        filesystem(self.filesystem)  # a ValueError naming the valid ones
        if self.nic_driver not in NIC_DRIVERS:
            raise ValueError(f"nic_driver {self.nic_driver!r}; choose one of "
                             f"{', '.join(NIC_DRIVERS)}")

    def environment(self) -> Env:
        """What the kernel's steps read of the scenario and never change (:mod:`.env`)."""
        return Env(fs=filesystem(self.filesystem), private=self.private,
                   stable_writes=self.stable_writes, nic_writes=self.nic_writes,
                   odp_driver=self.nic_driver != "plain",
                   odp_naive_driver=self.nic_driver == "odp-naive")


class KernelModel(Model[KState]):
    def __init__(self, scenario: Scenario, cfg: KernelConfig,
                 properties: Sequence[str] | None = None, *, data_values: bool = False) -> None:
        """``data_values``: keep the data values in :meth:`view` even where nothing compares
        them, to count states like a model that keeps them (the Promela translation in
        benchmarks/promela)."""
        self.scenario = scenario
        self.cfg = cfg
        self.env = scenario.environment()
        self.name = f"{scenario.name} [{cfg.name}]"
        self.properties = tuple(properties) if properties is not None else scenario.properties
        unknown = [p for p in self.properties if p not in PROPERTIES]
        if unknown:
            raise ValueError(f"unknown properties {unknown}; choose from {list(PROPERTIES)}")
        self.actors = scenario.actors
        active = set(self.properties)
        # what each write and each sync promised: read by no-lost-write and crash-consistent
        self._keep_writes = bool(active & WRITE_READERS)
        self._keep_crash = "crash-consistent" in active
        self._keep_pins = "pin-accounting" in active
        self._keep_secrets = "cow-isolation" in active
        self._keep_prepared = "mkwrite-before-dirty" in active
        # data values: compared by DATA_READERS and by a stable-writes device (a checksum
        # mismatch fails the bio, which fsync reports); else never in a guard or in the
        # update of a kept field
        self._keep_data = data_values or bool(active & DATA_READERS) or self.env.stable_writes
        self._violations = frozenset(active)
        folio_drop = ({"data": ()} if not self._keep_data else {}) | \
            ({"prepared": False} if not self._keep_prepared else {})
        self._folio_view = (lambda f: kreplace(f, **folio_drop)) if folio_drop else None
        # a write bio's GUP holders at submit are read only to record stable-writeback
        keep_early = "stable-writeback" in active
        self._bio_view = _bio_view(self._keep_data, keep_early, anonymous=False)
        self._bio_anon_view = _bio_view(self._keep_data, keep_early, anonymous=True)
        self._thread_view = self._thread_keep_writes if self._keep_writes else \
            self._thread_no_writes
        # what view() sets to constants in the state itself
        self._dropped = {} if self._keep_data else {"disk": (), "csum": ()}
        self._reset_caches()
        # the fields _key encodes together: all but the four parts it encodes on their own,
        # the dropped ones, and the two canonical_view renumbers
        separate = {"ghost", "threads", "folios", "bios", "next_bio", "dirty_work",
                    *self._dropped}
        self._kept = operator.attrgetter(*(f for f in KState.__struct_fields__
                                           if f not in separate))
        self._labels: dict[tuple[Any, ...], Label] = {}
        self._devices = 3 if scenario.nic_writes else 2  # disk, kworker[, NIC]
        self._names = tuple(a.name for a in self.actors) + (DISK, KWORKER, NIC)[:self._devices]
        self._lengths = tuple(len(a.program) for a in self.actors)
        self._daemons = tuple(a.daemon for a in self.actors)
        # partial-order reduction (footprint.py): a transfer is local unless a checked
        # property reads what it changes besides its bio's progress
        self._local_transfers = not (self._keep_data or active & TRANSFER_READERS)

    def _reset_caches(self) -> None:
        """The per-process caches, empty: the view's memos, the encodings of the viewed parts,
        the last outcomes and the footprints."""
        self._ghost_memo: dict[Ghost, Ghost] = {}
        self._bio_memo: dict[Any, Any] = {}
        self._bio_anon_memo: dict[Any, Any] = {}
        self._thread_memo: dict[Any, Any] = {}
        self._folio_memo: dict[Any, Any] = {None: None}
        # the encodings of the viewed parts, by the part (:meth:`_key`)
        self._ghost_keys: dict[Ghost, bytes] = {}
        self._thread_keys: dict[Any, bytes] = {}
        self._folio_keys: dict[Any, bytes] = {}
        self._bio_keys: dict[Any, tuple[bytes, tuple[int, ...]]] = {}  # and the bios' ids
        self._bio_anon_keys: dict[Any, tuple[bytes, tuple[int, ...]]] = {}
        # _key's last parts and their keys, for view (False) and canonical_view (True)
        self._last: dict[bool, list[Any]] = {False: [None] * 10, True: [None] * 10}
        self._cache: tuple[KState | None, list[tuple[int, Outcome]]] = (None, [])
        self._feet: dict[tuple[tuple[int, int, int], ...], dict[str, Footprint]] = {}

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (for a worker process or a Ray actor) without the per-process caches."""
        twin = object.__new__(type(self))
        twin.__dict__.update(self.__dict__)
        twin._reset_caches()
        return twin.__dict__

    def identity(self) -> tuple[Scenario, KernelConfig, tuple[str, ...]]:
        """What a checkpoint must match: the scenario, the design's switches, the properties."""
        return (self.scenario, self.cfg, self.properties)

    def init_states(self) -> list[KState]:
        s = self.scenario
        # one thread slot per actor, then the NIC's (device faults) and the kworker's
        return [initial_state(s.npages, len(self.actors) + 2, cached=s.cached, mapped=s.mapped,
                              fs=self.env.fs, anon=s.anon, file_pages=s.file_pages,
                              free_blocks=s.free_blocks, private=s.private,
                              sparse=s.sparse, large=s.large_folios)]

    # --- the actors' steps ----------------------------------------------------------------------

    def _outcomes(self, k: KState) -> list[tuple[int, Outcome]]:
        """The outcome of each actor that has something to do in ``k`` (moves, or a
        :class:`Blocked`), by actor index; the engine asks twice per state (steps, then
        waits).  Skipped without a call: a user actor whose program is done, the disk
        without bios, the kworker with an empty bio_dirty_list and no btrfs fixup queued
        (:func:`device.kworker` returns no step then)."""
        cached, out = self._cache
        if cached is k:
            return out
        out = []
        threads = k.threads
        for i, length in enumerate(self._lengths):
            if threads[i].pc < length:
                o = self._outcome(k, i)
                if o:
                    out.append((i, o))
        n = len(self._lengths)
        if k.bios:
            o = self._outcome(k, n)
            if o:
                out.append((n, o))
        if k.dirty_work or k.fixup_work:
            o = self._outcome(k, n + 1)
            if o:
                out.append((n + 1, o))
        if self._devices == 3:
            o = self._outcome(k, n + 2)
            if o:
                out.append((n + 2, o))
        self._cache = (k, out)
        return out

    def _outcome(self, k: KState, i: int) -> Outcome:
        n = len(self.actors)
        if i == n:
            return device.disk_moves(Ctx(k, i, DISK, self.cfg, self.env, ()))  # no thread
        if i == n + 1:
            return device.kworker(Ctx(k, n + 1, KWORKER, self.cfg, self.env, ()))
        if i == n + 2:  # the NIC; thread slot n holds its ODP device faults
            c = Ctx(k, n, NIC, self.cfg, self.env, ())
            if k.threads[n].stage:
                return STAGES[k.threads[n].stage](c)
            return longterm.nic_moves(c, self.scenario.nic_writes)
        spec = self.actors[i]
        t = k.threads[i]
        if t.pc >= len(spec.program):
            return []
        c = Ctx(k, i, spec.name, self.cfg, self.env, spec.program[t.pc])
        if t.stage == "":
            return OPERATIONS[c.op[0]](c)
        return STAGES[t.stage](c)

    def _name(self, i: int) -> str:
        """Actor ``i``'s name, the devices included."""
        return self._names[i]

    def successors(self, k: KState) -> list[tuple[Label, KState]]:
        if k.ghost.crashed:
            return []
        out = []
        labels = self._labels
        for i, outcome in self._outcomes(k):
            if outcome.__class__ is Blocked:
                continue
            name = self._names[i]
            fair = self._fair(k, i)
            for m in outcome:  # the hot loop: the label looked up inline
                label = labels.get((name, m.func, m.choice, fair, m.unit, m.touches))
                out.append((label or self._labelled(name, m, fair)[0], m.state))
        return out

    def _labelled(self, name: str, m: Move, fair: bool) -> tuple[Label, KState]:
        """``m`` as the engine's pair; labels are immutable: one object per distinct step (the
        same text can touch other objects: a bio id and page seen again with another folio)."""
        key = (name, m.func, m.choice, fair, m.unit, m.touches)
        label = self._labels.get(key)
        if label is None:
            label = self._labels[key] = self._label(name, m, fair)
        return label, m.state

    def unobserved(self, obj: str) -> bool:
        """The data values, when :meth:`view` leaves them out (nothing compares them): two
        bios' transfers to or from one page then commute, as a transfer and a CPU store do."""
        return not self._keep_data and data_object(obj)

    def local_steps(self, k: KState) -> list[tuple[Label, KState]]:
        """The disk's next transfer of each bio that has blocks left (its unit's only step
        until they are all moved, :func:`device.disk_moves`), when transfers are local
        (:mod:`.footprint`): partial-order reduction takes them as soon as the bio is
        submitted, so no stored state has a bio half transferred."""
        if not self._local_transfers or k.ghost.crashed or not k.bios:
            return []
        c = Ctx(k, len(self.actors), DISK, self.cfg, self.env, ())
        return [self._labelled(DISK, device.next_transfer(c, b), True)  # the disk is fair
                for b in k.bios if b.pending]

    def _label(self, name: str, m: Move, fair: bool) -> Label:
        touches = (m.touches if m.touches is not None and self._local_transfers
                   else _SHARED)
        return Label(name, m.func, m.choice, reads=touches, writes=touches, fair=fair,
                     unit=m.unit)

    #: wait-for cycles read who is blocked on what: the shared kernel state (footprint.py)
    waits_reads = frozenset({SHARED})

    def footprints(self, k: KState) -> dict[str, Footprint]:
        """Every actor may touch the whole shared kernel state from here on, except the disk,
        whose units are its bios: each may also touch its own transfer progress
        (:mod:`.footprint`)."""
        key = tuple(map(_BIO_WHERE, k.bios))
        feet = self._feet.get(key)
        if feet is None:
            feet = {self._name(i): _SHARED_FOOT
                    for i in range(len(self.actors) + self._devices)}
            for bio_id, page, fid in key:
                feet[bio_unit(bio_id)] = bio_footprint(bio_id, page, fid)
            self._feet[key] = feet
        return feet

    def _fair(self, k: KState, i: int) -> bool:
        """Weak fairness: the disk and the kworker yes, the NIC no; a user thread only inside
        an operation it started (the kernel half of a syscall), never to start one."""
        n = len(self.actors)
        if i >= n:  # the NIC only inside a device fault it started (kernel code)
            return i < n + 2 or k.threads[n].stage != ""
        return self._daemons[i] or k.threads[i].stage != ""

    def waits(self, k: KState) -> list[Wait]:
        out: list[Wait] = []
        if k.ghost.crashed:
            return out
        for i, outcome in self._outcomes(k):
            if outcome.__class__ is Blocked:
                out.append(Wait(self._names[i], outcome.on,
                                tuple(self._unpinner(k, h) if h.startswith(PIN_HOLDER) else h
                                      for h in outcome.holders)))
        return out

    def _unpinner(self, k: KState, holder: str) -> str:
        """``PIN_HOLDER#fid`` in the actors' terms: who would release the pins that hold the
        folio under writeback (block-writeback).  Not an actor name, so no wait-for edge: the
        unpin is an operation the holder may never start (a user's deregistration)."""
        fid = int(holder.rsplit("#", 1)[1])
        who = set()
        for b in k.bios:
            if not b.write and b.folio == fid:  # a direct-I/O read: its completion unpins
                who.add(KWORKER if b.done else DISK)
        who |= {self.actors[i].name for i in k.gup_threads(fid) if i < len(self.actors)}
        pages = {p for p, f in k.nic_pages if f == fid}
        for spec in self.actors:  # a registration: whoever deregisters it
            if any(op[0] in ("rdma_dereg_mr", "iouring_unregister") and op[1] in pages
                   for op in spec.program):
                who.add(spec.name)
        names = ", ".join(sorted(who)) or "nobody in this scenario"
        return f"{PIN_HOLDER.removesuffix(' (block-writeback)')} by {names} (block-writeback)"

    def is_end(self, k: KState) -> bool:
        """Every user program done, daemons idle, no I/O in flight; or the kernel crashed (the
        crash itself is reported by the property that saw it)."""
        if k.ghost.crashed:
            return True
        for i, spec in enumerate(self.actors):
            t = k.threads[i]
            if t.stage != "" or (not spec.daemon and t.pc < len(spec.program)):
                return False
        n = len(self.actors)
        return (not k.bios and not k.dirty_work and not k.fixup_work and not k.threads[n].stage
                and not k.threads[n + 1].stage)

    def invariants(self) -> list[Invariant[KState]]:
        """Each reads the shared kernel state (:mod:`.footprint`): when one reads what a
        transfer changes, transfers are not declared local."""
        return [dc_replace(inv, reads=_SHARED) for inv in invariants(
            self.properties, pin_counting=self.cfg.pin_counting,
            on_disk=self.env.fs.page_cache_over_disk)]

    def liveness(self) -> list[LeadsTo[KState]]:
        """writeback-progress: for each user thread, "in fsync/msync/truncate/hole punch ~>
        returned from it"."""
        if "writeback-progress" not in self.properties:
            return []
        out = []
        for i, spec in enumerate(self.actors):
            syncs = {pc for pc, op in enumerate(spec.program) if op[0] in WAITED_FOR}
            if spec.daemon or not syncs:
                continue

            def in_sync(k: KState, i: int = i, syncs: frozenset[int] = frozenset(syncs)) -> bool:
                t = k.threads[i]  # a crashed kernel is reported by the property that saw it
                return t.pc in syncs and t.stage != "" and not k.ghost.crashed

            out.append(LeadsTo(f"writeback-progress ({spec.name})", in_sync,
                               lambda k, f=in_sync: not f(k),
                               "every started fsync/msync/truncate/hole punch returns"))
        return out

    def view(self, k: KState) -> bytes:
        """The state without the history no checked property and no step reads (``--reduce
        view``; data independence, Wolper 1986).

        Who reads what (every reader is in gupcheck/kernel):

        * ``ghost.events`` and each thread's ``results``: written by steps, read only by
          reports and tests — always dropped;
        * ``ghost.pins_acquired/released`` (the vmstat counters): ``pin-accounting`` reads only
          their difference — kept as that difference when it is checked, else dropped;
        * ``ghost.violations``: read by the event properties, each for its own name — reduced
          to the names of the *checked* properties (the sentences are for the report);
        * ``ghost.last_write/wstarts/wfrom/writing/wnums/fsync_expect`` and the
          thread locals in :data:`NO_LOST_WRITE_LOCALS`: read only to compute what an fsync
          must find on disk, to record ``no-lost-write`` and what a returned fsync made durable
          — dropped unless ``no-lost-write`` or ``crash-consistent`` is checked;
        * ``ghost.crash_legal``: read only by ``crash-consistent``;
        * ``ghost.parent_secrets``: read only to record ``cow-isolation``;
        * ``Folio.prepared``: read only to record ``mkwrite-before-dirty``;
        * the data values — ``Folio.data``, ``disk``, ``csum`` and the bios' ``value``,
          ``bounce``, ``checksum`` and ``csums`` (whether a bio has a bounce copy, a checksum or
          data checksums is kept): compared only to record ``no-lost-write`` (fsync's check)
          and ``cow-isolation`` (a leaked value), by a stable-writes device (a checksum
          mismatch fails the bio: kept then), and by the btrfs read's checksum verification,
          which changes only that read's result and the kernel log — dropped unless one of
          those is checked.  The step labels that quote values then differ between states of
          one view; only their text does;
        * everything else (``crashed``, ``refused``, ``unsupported``, which the refusal probe
          reads, pins and gets, which ``pin-accounting`` and the steps read) is kept.

        A dropped field is never read by a guard or by the update of a kept field, so states
        with equal views enable the same steps, reach states with equal views, and agree on
        every checked property, ``is_end`` and ``waits``: a bisimulation.

        Symbolic data values are not renamed: they are the program's own constants (``C1`` is
        the value a store of the scenario writes), so renaming them in a state without renaming
        the program is not a symmetry, and the values a run can create are already few.

        The view is a KState with what it leaves out set to constants (:meth:`view_state`),
        handed to the engine as its canonical msgpack encoding, built from parts: the ghost,
        the threads, the folios and the bios are viewed and encoded once each and memoised by
        value (a step replaces one or two of them and shares the rest with the state it came
        from), and only the remaining small fields are encoded per state (:meth:`_key`).
        """
        return self._key(k, False, self._bio_view, self._bio_memo, self._bio_keys)

    def view_state(self, k: KState) -> KState:
        """The view as a KState (what :meth:`view` encodes), for tests and readers."""
        return self._view(k, self._bio_view, self._bio_memo, k.dirty_work, k.next_bio)

    def canonical_view(self, k: KState) -> bytes:
        """``view(canonical(k))`` without building the canonical state: every bio's id is set
        to 0 (their order in ``bios`` is their rank, and the canonical ids are the ranks),
        ``next_bio`` to 0 (it is the number of bios), and ``dirty_work`` is written in ranks.
        tests/kernel/test_view.py compares the two."""
        return self._key(k, True, self._bio_anon_view, self._bio_anon_memo, self._bio_anon_keys)

    def canonical_view_state(self, k: KState) -> KState:
        """:meth:`canonical_view` as a KState (what it encodes)."""
        return self._view(k, self._bio_anon_view, self._bio_anon_memo, self._ranks(k), 0)

    @staticmethod
    def _ranks(k: KState) -> tuple[int, ...]:
        """``dirty_work`` with each bio id replaced by the bio's rank in ``bios``."""
        work = k.dirty_work
        if work:
            ids = [b.id for b in k.bios]
            work = tuple(map(ids.index, work))
        return work

    def _view(self, k: KState, bio_view: Callable[[Bio], Bio] | None, memo: dict[Any, Any],
              work: tuple[int, ...], next_bio: int) -> KState:
        ghost = self._ghost_memo.get(k.ghost)
        if ghost is None:
            ghost = _remember(self._ghost_memo, k.ghost, self._ghost_view(k.ghost))
        return kreplace(k, ghost=ghost,
                        threads=self._parts(k.threads, self._thread_view, self._thread_memo),
                        folios=self._parts(k.folios, self._folio_view, self._folio_memo),
                        bios=self._parts(k.bios, bio_view, memo),
                        dirty_work=work, next_bio=next_bio, **self._dropped)

    def _key(self, k: KState, renumbered: bool, bio_view: Callable[[Bio], Bio] | None,
             bio_memo: dict[Any, Any],
             bio_keys: dict[Any, tuple[bytes, tuple[int, ...]]]) -> bytes:
        """The encoding of the view: the memoised encodings of its ghost, threads, folios and
        bios, then the encoding of the other fields it keeps.  msgpack values are
        self-delimiting, so the concatenation is as injective as the encoding of the whole
        view: two states get one key exactly when their views are equal
        (tests/kernel/test_view.py).  ``renumbered`` (canonical_view): ``next_bio`` is 0 and
        ``dirty_work`` in ranks, as :meth:`_ranks` computes it."""
        g, threads, folios, bios = k.ghost, k.threads, k.folios, k.bios
        # the previous call's parts first: the engine keys a state's successors one after
        # the other, and siblings share most of their parts (identity: no hashing)
        last = self._last[renumbered]
        if g is last[0]:
            gk = last[1]
        else:
            gk = self._ghost_keys.get(g)
            if gk is None:
                gk = _remember(self._ghost_keys, g, _encode(self._ghost_view(g)))
            last[0], last[1] = g, gk
        if threads is last[2]:
            tk = last[3]
        else:
            tk = self._thread_keys.get(threads)
            if tk is None:
                tk = _remember(self._thread_keys, threads, _encode(
                    self._parts(threads, self._thread_view, self._thread_memo)))
            last[2], last[3] = threads, tk
        if folios is last[4]:
            fk = last[5]
        else:
            fk = self._folio_keys.get(folios)
            if fk is None:
                fk = _remember(self._folio_keys, folios, _encode(
                    self._parts(folios, self._folio_view, self._folio_memo)))
            last[4], last[5] = folios, fk
        if bios is last[6]:
            bk, ids = last[7]
        else:
            e = bio_keys.get(bios)
            if e is None:
                e = _remember(bio_keys, bios, (_encode(self._parts(bios, bio_view, bio_memo)),
                                               tuple(b.id for b in bios)))
            last[6], last[7] = bios, e
            bk, ids = e
        work, next_bio = k.dirty_work, k.next_bio
        if renumbered:
            work, next_bio = tuple(map(ids.index, work)), 0
        kept = (self._kept(k), work, next_bio)
        if kept == last[8]:  # mostly the same objects: compared by identity, element-wise
            kk = last[9]
        else:
            kk = _encode(kept)
            last[8], last[9] = kept, kk
        return b"".join((kk, tk, fk, bk, gk))

    def _ghost_view(self, g: Ghost) -> Ghost:
        # pin-accounting reads only nr_foll_pin_acquired - nr_foll_pin_released
        pins = ({"pins_acquired": g.pins_acquired - g.pins_released, "pins_released": 0}
                if self._keep_pins else _PINS_DROPPED)
        return kreplace(g, violations=tuple(sorted({p for p, _ in g.violations
                                                    if p in self._violations})),
                        **_GHOST_DROPPED, **pins,
                        **({} if self._keep_secrets else _SECRETS_DROPPED),
                        **({} if self._keep_writes else _WRITES_DROPPED),
                        **({} if self._keep_crash else _CRASH_DROPPED))

    @staticmethod
    def _parts(objs: tuple[Any, ...], fn: Callable[[Any], Any] | None,
               memo: dict[Any, Any]) -> tuple[Any, ...]:
        """``fn`` of each object, memoised: a step replaces one thread, folio or bio and
        shares the others with the state it came from.  The memo is keyed by the objects
        themselves (their hashes are cached, and a dict compares identity first), the tuple's
        view and each object's; it is emptied when it grows large."""
        if fn is None:
            return objs
        out = memo.get(objs)
        if out is not None:
            return out
        out = tuple(map(memo.get, objs, _MISSES))
        if _MISS in out:
            out = tuple(v if v is not _MISS else memo.setdefault(o, fn(o))
                        for o, v in zip(objs, out, strict=True))
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
            memo[None] = None  # a freed folio's slot
        memo[objs] = out
        return out

    @staticmethod
    def _thread_keep_writes(t: Thread) -> Thread:
        return kreplace(t, results=())

    @staticmethod
    def _thread_no_writes(t: Thread) -> Thread:
        return kreplace(t, results=(), local=tuple(kv for kv in t.local
                                                   if kv[0] not in NO_LOST_WRITE_LOCALS))

    def canonical(self, k: KState) -> KState:
        """Bio ids are names (``--reduce symmetry``): renumber the bios in submission order.

        A bio's id is only ever compared for equality (``KState.bio``, ``with_bio``,
        ``dirty_work``) and by order (``with_bio`` keeps the bios sorted, new ids are
        ``next_bio``, above every live one), so renaming the live bios 0..n-1 in their order,
        with ``next_bio = n``, maps steps to steps: two states that differ only in how many bios
        came and went before are the same state.  Traces keep the concrete ids.
        """
        n = len(k.bios)
        if k.next_bio == n and all(b.id == i for i, b in enumerate(k.bios)):
            return k
        rank = {b.id: i for i, b in enumerate(k.bios)}
        return kreplace(k, bios=tuple(b if b.id == i else kreplace(b, id=i)
                                      for i, b in enumerate(k.bios)),
                       next_bio=n, dirty_work=tuple(rank[d] for d in k.dirty_work))

    def fields(self, k: KState) -> dict[str, object]:
        """The state in kernel notation, for traces that show only what changed."""
        out: dict[str, object] = {}
        for i in range(len(k.cache)):
            p = f"page {i}"
            f = k.cached(i)
            if f is None:
                out[p] = "not cached"
                continue
            flags = [n for n, on in (("locked", f.locked), ("dirty", f.dirty),
                                     ("writeback", f.writeback), ("private", f.buffers),
                                     ("isolated", f.isolated)) if on]
            if not f.mapping:
                flags.append("orphan")
            out[f"{p} flags"] = " ".join(flags) or "-"
            out[f"{p} refcount"] = f.refcount
            out[f"{p} pins"] = f.pins
            out[f"{p} data"] = "|".join(f.data)
            out[f"{p} prepared"] = f.prepared
            if f.buffers is not None and self.env.fs.buffer_heads:
                out[f"{p} buffers"] = " ".join(f.buffers)
            pte = k.ptes[i]
            out[f"{p} pte"] = ("none" if pte is None else
                               ("rw" if pte.writable else "ro") + (",dirty" if pte.dirty else "")
                               + ("" if pte.cow is None else f" -> private copy #{pte.cow}"))
            if pte is not None and pte.cow is not None:
                cow = k.folio_at(pte.cow)
                out[f"{p} private copy"] = (f"{'|'.join(cow.data)} refcount {cow.refcount}"
                                            + (f" pins {cow.pins}" if cow.pins else ""))
            if self.env.fs.dax:
                out[f"{p} pmem block"] = k.fid(i)
            else:
                out[f"{p} disk"] = "|".join(k.disk[i * SUBBLOCKS:(i + 1) * SUBBLOCKS])
        for fid, who in enumerate(k.dax_owner):
            f = k.folios[fid]
            if f is not None:
                out[f"pmem block {fid}"] = (f"{who or 'free'}: {'|'.join(f.data)} "
                                            f"refcount {f.refcount}")
        if k.lease is not None:
            out["layout lease"] = k.lease
        for proc, pte in enumerate(k.anon_ptes):
            if pte is not None or (proc == 1 and k.forked):
                who = ("parent", "child")[proc]
                if pte is None:
                    out[f"{who} anon pte"] = "none"
                    continue
                f = k.folio_at(pte.folio)
                out[f"{who} anon pte"] = f"folio #{pte.folio} " + ("rw" if pte.writable else "ro")
                out[f"anon folio #{pte.folio}"] = (
                    f"{'|'.join(f.data)} refcount {f.refcount} mapcount {f.mapcount}"
                    + (" exclusive" if f.anon_exclusive else "")
                    + (" pinned" if k.anon_pinned == pte.folio else "")
                    + (" in pipe" if k.pipe == pte.folio else ""))
        for b in k.bios:
            out[f"bio #{b.id}"] = (f"{'write' if b.write else 'read'} page {b.page}, "
                                   + (f"blocks {list(b.pending)} pending" if b.pending
                                      else "transferred" if not b.done else "on bio_dirty_list"))
        if self.scenario.nic_writes:
            out["NIC registered pages"] = ", ".join(str(p) for p, _ in k.nic_pages) or "-"
            out["NIC device ptes"] = ", ".join(
                f"page {p}" + (" (stale)" if seq != k.notifier_seq else "")
                for p, seq, _ in k.nic_mapped) or "-"
        for i in range(len(self.actors)):
            t = k.threads[i]
            out[f"{self.actors[i].name} results"] = ", ".join(t.results) or "-"
        out["events"] = "; ".join(k.ghost.events) or "-"
        return out


Footprint = tuple[frozenset[str], frozenset[str]]  # (reads, writes)
_SHARED = frozenset({SHARED})
_BIO_WHERE = operator.attrgetter("id", "page", "folio")  # what a bio's footprint names
_SHARED_FOOT = (_SHARED, _SHARED)
#: Ghost fields no property reads (reports and tests do), and those only some properties read
_GHOST_DROPPED = {"events": ()}
_PINS_DROPPED = {"pins_acquired": 0, "pins_released": 0}
_SECRETS_DROPPED = {"parent_secrets": frozenset()}
_WRITES_DROPPED = {"last_write": (), "wstarts": (), "wfrom": (), "writing": frozenset(),
                   "wnums": frozenset(), "fsync_expect": ()}
_CRASH_DROPPED = {"crash_legal": ()}
_MEMO_SIZE = 1 << 18  # entries per view memo (each holds one thread, folio or bio alive)
_MISS = object()
_MISSES = itertools.repeat(_MISS)
#: the engine's canonical encoding (gupcheck/engine/fingerprint.py): sets sorted
_encode = msgspec.msgpack.Encoder(order="deterministic").encode


def _remember(memo: dict[Any, Any], key: Any, value: Any) -> Any:
    """``memo[key] = value``, emptying the memo first when it has grown large."""
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo[key] = value
    return value


def _bio_no_data(b: Bio) -> Bio:
    """A bio without its data values; whether it carries a copy or checksums is kept."""
    return kreplace(b, value="", bounce=None if b.bounce is None else (),
                    checksum=None if b.checksum is None else (),
                    csums=None if b.csums is None else ())


def _bio_view(keep_data: bool, keep_early: bool, *,
              anonymous: bool) -> Callable[[Bio], Bio] | None:
    """What the view keeps of a bio: its data values if a checked property compares them, its
    GUP holders at submit (``early``) if stable-writeback is checked, its id unless bios are
    renumbered (``anonymous``)."""
    steps: list[Callable[[Bio], Bio]] = []
    if not keep_data:
        steps.append(_bio_no_data)
    if not keep_early:
        steps.append(lambda b: kreplace(b, early=()) if b.early else b)
    if anonymous:
        steps.append(lambda b: kreplace(b, id=0))
    if not steps:
        return None
    if len(steps) == 1:
        return steps[0]

    def view(b: Bio) -> Bio:
        for step in steps:
            b = step(b)
        return b

    return view
