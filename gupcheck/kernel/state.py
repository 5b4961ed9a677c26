"""The kernel state: one file's page cache, a process's shared mapping of it, anonymous
memory across fork, the disk.

Everything is an immutable value, so a state can be fingerprinted, compared and replayed.

Scope of this model (what a state holds):

* one file (ext4-like, or shmem) of ``npages`` pages, each page ``SUBBLOCKS`` blocks; an ext4
  file is fully allocated on disk (block ``page * SUBBLOCKS + sub`` holds its data);
* every live folio by id (order-0 folios, as ext4's page cache is in 6.1 and 6.12), and the
  page cache mapping page indexes to folio ids; a folio truncated or invalidated while
  referenced lives on as an orphan;
* one process that maps the whole file ``MAP_SHARED`` (a :class:`Pte` per page) and may own a
  page of private anonymous memory, shared copy-on-write with a child after fork
  (:class:`AnonPte`);
* the block device: disk contents and the bios in flight; long-term registrations (NIC,
  io_uring); ODP device mappings;
* each actor's position in what it is doing (:class:`Thread`);
* ghost bookkeeping that only the properties read (:class:`Ghost`).

Page contents are symbolic: ``"A0"`` is the file's original data, ``"B1"`` what a direct-I/O
read brought in, ``"C1"``, ``"C2"`` successive CPU stores.  Properties compare values only for
equality, so a few symbols per block stand for all data (Wolper's data independence).
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from .fsops import FileSystem


class Value(msgspec.Struct, frozen=True, array_like=True, gc=False, cache_hash=True):
    """An immutable, hashable record of the kernel state.

    A frozen ``msgspec.Struct`` rather than a frozen dataclass: the model copies a folio, a
    bio or the whole state several times per step, and a Struct's ``replace``, ``__hash__``,
    ``__eq__`` and msgpack encoding are written in C (``replace`` of the 37-field
    :class:`KState` 0.3 µs against 2.3 µs for the fastest dataclass copy).  ``array_like``:
    encoded as a tuple of its fields; ``gc=False``: states hold no reference cycles;
    ``cache_hash``: a record shared by many states (a thread, a folio) is hashed once, which
    the view's memo (``KernelModel._parts``) relies on.
    """


def fields_of(value: Value) -> tuple[str, ...]:
    """The field names of a state record, in declaration order."""
    return value.__struct_fields__


#: blocks per page: at least two, so a torn page (half old, half new) is visible
SUBBLOCKS = 2

#: include/linux/mm.h: a FOLL_PIN on a small folio adds this to the refcount
GUP_PIN_COUNTING_BIAS = 1024

#: who a waiter on PG_writeback waits for when block-writeback's pins hold it: not an actor
#: (the unpin comes from whoever holds the pin: a user's deregistration, a direct-I/O
#: completion); ``PIN_HOLDER#<folio id>``, which KernelModel.waits names in the actors' terms
PIN_HOLDER = "the unpin (block-writeback)"

#: buffer_head states (fs/buffer.c): mapped to a disk block, clean or dirty
BH_CLEAN = "mapped"
BH_DIRTY = "mapped,dirty"


class Folio(Value):
    """struct folio of one page-cache page (order 0).

    ``refcount`` is the real ``_refcount``; the kernel cannot tell its parts apart, the model
    can: page cache 1 + ``mapcount`` + 1 for attached buffers (``folio_attach_private``) +
    ``gets`` + ``GUP_PIN_COUNTING_BIAS * pins`` (``pins`` for a large folio, whose pins are
    also counted exactly in ``_pincount``) + 1 while isolated by reclaim.
    """

    index: int
    data: tuple[str, ...]  # contents of each block of the page
    mapping: bool = True  # folio->mapping is the file's; False once truncated/invalidated
    locked: str | None = None  # PG_locked, and which actor holds the lock
    dirty: bool = False  # PG_dirty
    writeback: bool = False  # PG_writeback
    buffers: tuple[str, ...] | None = None  # PG_private: buffer_heads, one per block
    refcount: int = 1
    mapcount: int = 0
    isolated: bool = False  # taken off the LRU by shrink_folio_list (holds a reference)
    anon: bool = False  # an anonymous folio (private memory), not a page-cache one
    reserved: bool = False  # a COW filesystem reserved space for its next writeback
    checked: bool = False  # PG_checked: btrfs queued its writepage fixup for the folio
    anon_exclusive: bool = False  # PG_anon_exclusive (5.19): mapped by one process only
    large: bool = False  # part of a large folio (THP): FOLL_PIN counts in the exact _pincount
    # ghost: not in the kernel
    pins: int = 0  # FOLL_PIN pins held (the kernel only sees refcount >= 1024)
    gets: int = 0  # FOLL_GET references held by GUP users
    prepared: bool = False  # ->page_mkwrite ran since the folio was last cleaned

    def maybe_dma_pinned(self) -> bool:
        """folio_maybe_dma_pinned(): for a large folio the exact ``_pincount`` (5.7
        hpage_pinned_refcount, folio->_pincount since 5.18); for a small one the refcount
        against GUP_PIN_COUNTING_BIAS — fuzzy, false positives allowed."""
        if self.large:
            return self.pins > 0
        return self.refcount >= GUP_PIN_COUNTING_BIAS


class Pte(Value):
    """The process's page-table entry for one page of its mapping of the file (present).

    In a MAP_PRIVATE mapping a write fault replaces the page-cache folio with a private
    anonymous copy (``wp_page_copy`` / ``do_cow_fault``): ``cow`` is that copy's folio id.
    """

    writable: bool = False
    dirty: bool = False
    cow: int | None = None


class AnonPte(Value):
    """A process's PTE for its page of private anonymous memory."""

    folio: int
    writable: bool = True


class Bio(Value):
    """A bio in flight.  The device moves each block when it does the transfer, not at submit.

    ``write``: page -> disk (writeback); otherwise disk/file B -> page (a direct-I/O read into
    user memory).  ``pending`` are the blocks not yet transferred.
    """

    id: int
    write: bool
    page: int  # the file page it is for
    folio: int  # the folio (by id) it reads or writes: DMA reaches an orphan too
    pending: tuple[int, ...]
    owner: str  # the actor that submitted it
    waiter: int = -1  # a read: the thread its completion wakes
    value: str = ""  # a read: the data it brings in
    pinned: bool = False  # a read: BIO_PAGE_PINNED (FOLL_PIN) rather than BIO_PAGE_REFFED
    woken: bool = False  # a read: end_io has completed the waiting read()
    bounce: tuple[str, ...] | None = None  # a write from a bounce copy taken at submit
    checksum: tuple[str, ...] | None = None  # stable-writes device: what was checksummed at submit
    error: bool = False  # the device failed the bio (-EIO)
    done: bool = False  # completed (end_io ran); still queued for bio_dirty_work
    to_other: bool = False  # a direct write *from* the folio (a user buffer) to another file
    csums: tuple[str, ...] | None = None  # COW fs: data checksums computed at submit
    # a write: the threads that held the folio through GUP at submit (GUP writers whose write
    # access predates this writeback: stable-writeback counts their DMA; see write_gup_holders)
    early: tuple[int, ...] = ()


class RwSemState(Value):
    """A ``struct rw_semaphore`` (kernel/locking/rwsem.c): its holders and its queued writers,
    by actor name; the rules are :mod:`.locks`'."""

    writer: str | None = None  # held for writing
    readers: tuple[str, ...] = ()  # held for reading, sorted
    queued: tuple[str, ...] = ()  # writers waiting for it, in order (they block new readers)


class Thread(Value):
    """Where one actor is: which operation of its program, and where inside it."""

    pc: int = 0  # index of the current operation in the actor's program
    stage: str = ""  # the step it will take next inside that operation ("" = not started)
    local: tuple[Any, ...] = ()  # the operation's local variables
    results: tuple[str, ...] = ()  # what finished operations returned ("read=0", "SIGBUS")
    errseq: int = 0  # the file's f_wb_err: the mapping's error count this thread has seen


class Ghost(Value):
    """Bookkeeping for the properties; the kernel has none of it."""

    # (property, why), in the order they happened: a property is violated once it is here
    violations: tuple[tuple[str, str], ...] = ()
    # kernel messages seen: WARNs, ext4 warnings, BUGs, signals (what a user would see)
    events: tuple[str, ...] = ()
    # value of the last *completed* write to each block, by page then block
    last_write: tuple[tuple[str, ...], ...] = ()
    # writes started so far on each block, and the start number of the write last_write holds:
    # an fsync promises last_write only if no write started after that one (P3)
    wstarts: tuple[tuple[int, ...], ...] = ()
    wfrom: tuple[tuple[int, ...], ...] = ()
    # writes in flight: (page, block, thread); a block may have several
    writing: frozenset[tuple[int, int, int]] = frozenset()
    # the start numbers of each write in flight: (page, block, thread, wstarts before its
    # start, after it), to give them back if it fails (KState.write_abandoned)
    wnums: frozenset[tuple[int, int, int, int, int]] = frozenset()
    # what each data-integrity sync in progress must find on disk when it returns 0, by the
    # thread running it (sorted): (thread, rows by page then block; None: not promised).  One
    # promise per sync call: a second fsync/msync in another thread keeps its own (P3)
    fsync_expect: tuple[tuple[int, tuple[tuple[str | None, ...], ...]], ...] = ()
    # what a power failure may leave in each block on disk, by page then block: the value the
    # last fsync that returned 0 made durable (the file's synced data at first), and the values
    # of the writes started since, which may legally have replaced it (crash-consistent)
    crash_legal: tuple[tuple[tuple[str, frozenset[str]], ...], ...] = ()
    crashed: bool = False  # a BUG() oopsed the kernel: nothing runs any more
    refused: str | None = None  # the errno with which the scenario's request was refused
    unsupported: str | None = None  # the scenario needs something this kernel does not have
    parent_secrets: frozenset[str] = frozenset()  # values the parent wrote after fork (P6)
    pins_acquired: int = 0  # nr_foll_pin_acquired
    pins_released: int = 0  # nr_foll_pin_released


class KState(Value):
    """The whole state.  Folios live in ``folios`` by *folio id* (a slot: ``None`` once freed);
    the page cache ``cache`` maps a page index to the id of its folio.  A folio truncated while
    someone holds a reference stays in ``folios`` with no cache entry: an orphan, which bios,
    pins and registrations still reach by its id."""

    folios: tuple[Folio | None, ...]  # every live folio, by folio id
    cache: tuple[int | None, ...]  # the file's page cache: page index -> folio id
    ptes: tuple[Pte | None, ...]  # the process's shared mapping of the file, by page index
    disk: tuple[str, ...]  # the file's blocks on disk
    bios: tuple[Bio, ...] = ()
    next_bio: int = 0
    threads: tuple[Thread, ...] = ()
    i_size: int = 0  # the file's size in pages (set from the scenario)
    #: mapping->invalidate_lock: ->page_mkwrite reads, truncate and hole punch write
    invalidate_lock: RwSemState = RwSemState()
    #: the process's mm->mmap_lock: page faults and GUP's slow path read, munmap and fork write
    mmap_lock: RwSemState = RwSemState()
    #: the pages munmap took out of the file's mapping: no VMA covers them any more
    unmapped: tuple[int, ...] = ()
    wb_err: int = 0  # errseq_t of the mapping: bumped by mapping_set_error
    wb_errno: str = "EIO"  # the error it records
    free_blocks: int = 0  # free space: in pages on the COW filesystem, in blocks on ext4
    holes: frozenset[int] = frozenset()  # the file's disk blocks with no block (not shmem, DAX)
    # a checksumming COW filesystem: for each disk block, the data its stored checksum was
    # computed over (equal to ``disk`` unless the page changed between checksum and transfer)
    csum: tuple[str, ...] = ()
    dirty_work: tuple[int, ...] = ()  # bio_dirty_list: read bios waiting for bio_dirty_work
    #: btrfs' fixup_workers queue: folio ids waiting for btrfs_writepage_fixup_worker, each
    #: holding a folio reference (btrfs_writepage_cow_fixup's get_page)
    fixup_work: tuple[int, ...] = ()
    # registrations with the NIC / io_uring: (page, id of the folio pinned, or -1 for ODP)
    nic_pages: tuple[tuple[int, int], ...] = ()
    nic_writes: int = 0  # DMA writes the NIC has made
    nic_odp: bool = False  # the registration is ODP (faults, no pin) rather than a pin
    nic_iouring: bool = False  # the registration is an io_uring fixed buffer (READ_FIXED writes)
    notifier_seq: int = 0  # the mmu interval notifier's sequence (bumped by invalidations)
    #: ODP device PTEs: (page, notifier seq when mapped, the folio whose pfn it maps)
    nic_mapped: tuple[tuple[int, int, int], ...] = ()
    # one page of private anonymous memory per process: parent (0) and, after fork, child (1)
    anon_ptes: tuple[AnonPte | None, ...] = (None, None)
    forked: bool = False
    fork_in_progress: bool = False  # dup_mmap copying: write_protect_seq is odd
    pipe: int | None = None  # the folio a pipe holds after vmsplice (a FOLL_GET reference)
    pipe_child: bool = False  # ... which the child spliced (else the parent, its own data)
    anon_pinned: int | None = None  # the folio an io_uring fixed buffer pins
    # FS-DAX: who owns each pmem block (folio id = block): "file:<page>", "other" (another
    # file), or None (free); and the holder of an exclusive layout lease (layout-lease design)
    dax_owner: tuple[str | None, ...] = ()
    lease: str | None = None
    ghost: Ghost = msgspec.field(default_factory=Ghost)

    # --- small immutable updates, named for what they change -----------------------------

    def cached(self, page: int) -> Folio | None:
        """filemap_get_folio: the folio at ``page`` in the page cache, if any."""
        fid = self.cache[page]
        return None if fid is None else self.folios[fid]

    def fid(self, page: int) -> int:
        fid = self.cache[page]
        assert fid is not None, f"page {page} is not in the page cache"
        return fid

    def folio(self, page: int) -> Folio:
        f = self.folios[self.fid(page)]
        assert f is not None
        return f

    def folio_at(self, fid: int) -> Folio:
        f = self.folios[fid]
        assert f is not None, f"folio {fid} was freed"
        return f

    def with_folio(self, page: int, folio: Folio | None) -> KState:
        """Update the folio cached at ``page``; ``None`` removes it from the page cache and
        frees it (__remove_mapping of an unreferenced folio)."""
        fid = self.fid(page)
        return replace(self, folios=_put(self.folios, fid, folio),
                       cache=self.cache if folio is not None else _put(self.cache, page, None))

    def with_folio_at(self, fid: int, folio: Folio | None) -> KState:
        return replace(self, folios=_put(self.folios, fid, folio))

    def add_folio(self, folio: Folio) -> tuple[KState, int]:
        """A newly allocated folio, in the lowest free slot: the state and its id."""
        try:
            fid = self.folios.index(None)
            folios = _put(self.folios, fid, folio)
        except ValueError:
            fid = len(self.folios)
            folios = self.folios + (folio,)
        return replace(self, folios=folios), fid

    def add_to_cache(self, page: int, folio: Folio) -> KState:
        """filemap_add_folio: a new folio in the lowest free slot, cached at ``page``."""
        k, fid = self.add_folio(folio)
        return replace(k, cache=_put(k.cache, page, fid))

    def mapped_fid(self, page: int) -> int:
        """The folio the process's PTE for ``page`` maps: its private copy, or the cached one."""
        pte = self.ptes[page]
        if pte is not None and pte.cow is not None:
            return pte.cow
        return self.fid(page)

    def maps_cache(self, page: int) -> bool:
        """The process's PTE for ``page`` maps the page-cache folio (not a private copy)."""
        pte = self.ptes[page]
        return pte is not None and pte.cow is None

    def remove_from_cache(self, page: int) -> tuple[KState, int]:
        """filemap_remove_folio after the buffers were released: the folio loses its mapping,
        the page cache's and the buffers' references; a folio still referenced (a GUP user)
        lives on as an orphan.  Returns the new state and the references left (0: freed)."""
        fid = self.fid(page)
        f = self.folio(page)
        refs = 1 + (f.buffers is not None)
        f = replace(f, mapping=False, dirty=False, buffers=None, prepared=False,
                    refcount=f.refcount - refs)
        k = replace(self, cache=_put(self.cache, page, None))
        return k.with_folio_at(fid, None if f.refcount == 0 else f), f.refcount

    def cached_folios(self) -> list[tuple[int, Folio]]:
        """(page, folio) for every page in the page cache, in page order."""
        return [(p, self.folios[fid]) for p, fid in enumerate(self.cache)  # type: ignore[misc]
                if fid is not None]

    def with_pte(self, page: int, pte: Pte | None) -> KState:
        return replace(self, ptes=_put(self.ptes, page, pte))

    def has_vma(self, page: int) -> bool:
        """find_vma: a VMA of the file's mapping still covers ``page`` (munmap removes it;
        truncate's unmap_mapping_range only zaps the PTE)."""
        return page not in self.unmapped

    def mapping_mapped(self) -> bool:
        """mapping_mapped(): some VMA still maps the file (its i_mmap tree is not empty).  The
        process's own: a forked child's copy of the shared file mapping is not modelled."""
        return len(self.unmapped) < len(self.cache)

    def without_vma(self, page: int) -> KState:
        """munmap: the VMA no longer covers ``page``."""
        return replace(self, unmapped=tuple(sorted({*self.unmapped, page})))

    def with_thread(self, me: int, thread: Thread) -> KState:
        return replace(self, threads=_put(self.threads, me, thread))

    def with_bio(self, bio: Bio | None, bio_id: int) -> KState:
        """Replace (or, with ``None``, remove) the bio with id ``bio_id``; ``bios`` stays
        sorted by id."""
        bios = self.bios
        for i, b in enumerate(bios):
            if b.id == bio_id:
                if bio is None or bio.id == bio_id:  # in place: the order is unchanged
                    new = () if bio is None else (bio,)
                    return replace(self, bios=bios[:i] + new + bios[i + 1:])
                bios = bios[:i] + bios[i + 1:]
                break
        if bio is not None:
            bios = tuple(sorted(bios + (bio,), key=lambda b: b.id))
        return replace(self, bios=bios)

    def bio(self, bio_id: int) -> Bio:
        return next(b for b in self.bios if b.id == bio_id)

    def with_ghost(self, **changes: Any) -> KState:
        return replace(self, ghost=replace(self.ghost, **changes))

    def violate(self, prop: str, why: str) -> KState:
        if any(p == prop for p, _ in self.ghost.violations):
            return self
        return self.with_ghost(violations=self.ghost.violations + ((prop, why),))

    def in_flight(self, page: int, block: int) -> bool:
        return any(w[0] == page and w[1] == block for w in self.ghost.writing)

    def promised(self, page: int, block: int) -> str | None:
        """What an fsync starting now promises for the block (P3): the last completed write's
        value, unless a write is in flight or started after it (or overlapped it)."""
        g = self.ghost
        if self.in_flight(page, block) or g.wstarts[page][block] != g.wfrom[page][block] + 1:
            return None
        return g.last_write[page][block]

    def start_numbers(self, page: int, blocks: Sequence[int]) -> tuple[int, ...]:
        """The numbers the next writes to these blocks will start with (see write_done)."""
        return tuple(self.ghost.wstarts[page][b] for b in blocks)

    def write_started(self, page: int, blocks: Sequence[int], value: str,
                      me: int | None = None) -> KState:
        """A write of ``value`` to these blocks began: count it, no data-integrity sync in
        progress promises them any more (P3), and a power failure may leave its value on disk
        from now on (crash-consistent: the device may already have it, whole or per block).

        A write that starts while another write to the block is in flight *overlaps* it: either
        may take effect last (the other's copy or DMA can land after its own), so fsync promises
        neither.  "No write started since W" alone excludes only writes started *after* W; the
        overlap with one started before W and still running is excluded here by giving the
        overlapping write two numbers, so that its completion never finds "no write started
        since" (found by conformance: vm_writev_vs_dio, docs/conformance.md).  ``me``: the
        thread whose write stays in flight until :meth:`write_ended` or
        :meth:`write_abandoned` (``ghost.writing``); None for a write that completes at once.
        """
        g = self.ghost
        row = tuple(n + 1 + self.in_flight(page, b) if b in blocks else n
                    for b, n in enumerate(g.wstarts[page]))
        changes: dict[str, Any] = {"wstarts": _put(g.wstarts, page, row)}
        if me is not None:
            changes["writing"] = g.writing | {(page, b, me) for b in blocks}
            changes["wnums"] = g.wnums | {(page, b, me, g.wstarts[page][b], row[b])
                                          for b in blocks}
        if g.fsync_expect:
            changes["fsync_expect"] = tuple(
                (t, _put(rows, page, tuple(None if b in blocks else v
                                           for b, v in enumerate(rows[page]))))
                for t, rows in g.fsync_expect)
        if g.crash_legal:
            changes["crash_legal"] = _put(g.crash_legal, page, tuple(
                (d, later | {value}) if b in blocks else (d, later)
                for b, (d, later) in enumerate(g.crash_legal[page])))
        return self.with_ghost(**changes)

    def sync_started(self, me: int) -> KState:
        """A data-integrity sync (fsync, msync(MS_SYNC)) by thread ``me`` starts: record what it
        promises for every block (:meth:`promised`), beside the promises of other syncs in
        progress."""
        rows = tuple(tuple(self.promised(p, b) for b in range(SUBBLOCKS))
                     for p in range(len(self.cache)))
        g = self.ghost
        mine = tuple(e for e in g.fsync_expect if e[0] != me) + ((me, rows),)
        return self.with_ghost(fsync_expect=tuple(sorted(mine, key=lambda e: e[0])))

    def sync_promise(self, me: int) -> tuple[tuple[str | None, ...], ...]:
        """What the sync of thread ``me`` in progress still promises."""
        return next(rows for t, rows in self.ghost.fsync_expect if t == me)

    def sync_returned(self, me: int, *, durable: bool) -> KState:
        """The sync of thread ``me`` returns: its promise ends; returning 0 (``durable``) makes
        every block it still promises durable: a power failure from now on may leave that value
        or a later write's (crash-consistent)."""
        g = self.ghost
        rows = self.sync_promise(me)
        k = self.with_ghost(fsync_expect=tuple(e for e in g.fsync_expect if e[0] != me))
        if not durable or not g.crash_legal:
            return k
        legal = tuple(tuple((v, frozenset()) if v is not None else old
                            for v, old in zip(row, g.crash_legal[p], strict=True))
                      for p, row in enumerate(rows))
        return k.with_ghost(crash_legal=legal)

    def write_ended(self, entries: AbstractSet[tuple[int, int, int]]) -> KState:
        """The writes ``entries`` ((page, block, thread)) are no longer in flight."""
        g = self.ghost
        if not entries:
            return self
        return self.with_ghost(writing=g.writing - entries,
                               wnums=frozenset(w for w in g.wnums if w[:3] not in entries))

    def write_abandoned(self, entries: AbstractSet[tuple[int, int, int]]) -> KState:
        """The writes ``entries`` failed before any of their data reached the file (SIGBUS,
        -EFAULT, -ENOSPC, a refused truncate, the pages a partial read never got): each that
        no later write followed is as if it never started, its start numbers given back, so
        it takes no promise from the write before it.  One that a later write followed stays
        counted (fewer promises, never a wrong one).  A sync that its start found in progress
        keeps the promise it lost then; crash-consistent keeps allowing its value."""
        starts = self.ghost.wstarts
        for p, b, me, before, after in self.ghost.wnums:
            if (p, b, me) in entries and starts[p][b] == after:
                starts = _put(starts, p, _put(starts[p], b, before))
        return self.with_ghost(wstarts=starts).write_ended(entries)

    def write_done(self, page: int, blocks: Sequence[int], value: str,
                   starts: Sequence[int]) -> KState:
        """A write (started with ``starts``) completed: its value is what fsync must keep."""
        g = self.ghost
        last, src = list(g.last_write[page]), list(g.wfrom[page])
        for b, n in zip(blocks, starts, strict=True):
            last[b], src[b] = value, n
        return self.with_ghost(
            last_write=g.last_write[:page] + (tuple(last),) + g.last_write[page + 1:],
            wfrom=g.wfrom[:page] + (tuple(src),) + g.wfrom[page + 1:])

    def pages_written(self, me: int, pages: Sequence[int], value: str,
                      starts: Sequence[Sequence[int]] | None) -> KState:
        """Thread ``me``'s write of ``value`` to whole ``pages`` ends (a truncate's zeros):
        with its ``starts`` it completes (:meth:`write_done`); without, it never took effect
        (the truncate was refused: :meth:`write_abandoned`)."""
        blocks = range(SUBBLOCKS)
        entries = {(p, b, me) for p in pages for b in blocks}
        if starts is None:
            return self.write_abandoned(entries)
        k = self.write_ended(entries)
        for p, row in zip(pages, starts, strict=False):
            k = k.write_done(p, blocks, value, row)
        return k

    def instant_write(self, page: int, blocks: Sequence[int], value: str) -> KState:
        """A write that starts and completes in one step (a CPU store, an RDMA write)."""
        starts = self.start_numbers(page, blocks)
        return self.write_started(page, blocks, value).write_done(page, blocks, value, starts)

    def mmu_notifier_invalidate(self, page: int) -> KState:
        """mmu_notifier_invalidate_range_start/end around a PTE change: ODP drivers drop their
        device mappings of the page (and wait for DMA in flight, which is atomic here)."""
        if not self.nic_mapped and not self.nic_pages:
            return self
        return replace(self, notifier_seq=self.notifier_seq + 1,
                       nic_mapped=tuple(m for m in self.nic_mapped if m[0] != page))

    def write_gup_holders(self, fid: int) -> tuple[int, ...]:
        """The threads holding folio ``fid`` through a GUP reference or pin now, by thread
        slot: a thread between its grab and its release (``gfid``, or the pages ``dgot`` of a
        direct-I/O read not yet submitted), the waiter of a read bio into the folio, and the
        NIC (its slot follows the actors') for a pinned registration.  A writeback bio submitted
        now records them: their write access did not come through ->page_mkwrite after it."""
        out = {b.waiter for b in self.bios if not b.write and b.folio == fid}
        out |= self.gup_threads(fid)
        if any(f == fid for _, f in self.nic_pages):
            out.add(len(self.threads) - 2)
        return tuple(sorted(out))

    def gup_threads(self, fid: int) -> set[int]:
        """The thread slots between a GUP grab of folio ``fid`` and their release, by their
        locals: ``gfid`` (the page grabbed) or ``dgot`` (a direct-I/O read's pages, before its
        bios are submitted)."""
        return {i for i, t in enumerate(self.threads) for key, v in t.local
                if (key == "gfid" and v == fid) or (key == "dgot" and any(g[1] == fid for g in v))}

    def write_bio_in_flight(self, fid: int) -> bool:
        """A writeback bio of folio ``fid`` has not completed (PG_writeback is the disk's)."""
        for b in self.bios:
            if b.write and b.folio == fid and not b.to_other:
                return True
        return False

    def read_back(self, page: int, block: int) -> str:
        """What reading the block back from disk gives: zeros beyond EOF (a truncated page)
        and in a hole (a punched or never-allocated block of a filesystem that keeps a block
        map), else the disk's data; what no-lost-write and crash-consistent compare with a
        promise."""
        i = page * SUBBLOCKS + block
        if page >= self.i_size or i in self.holes:
            return "Z0"
        return self.disk[i]

    def writeback_holders(self, fid: int) -> tuple[str, ...]:
        """Who ends the folio's writeback, for a task waiting on it: the disk completing the
        write bio, or (block-writeback) the last unpin of the pins that hold PG_writeback."""
        if self.write_bio_in_flight(fid):
            return ("disk",)
        return (f"{PIN_HOLDER}#{fid}",)

    def event(self, text: str) -> KState:
        if text in self.ghost.events:
            return self
        return self.with_ghost(events=self.ghost.events + (text,))


#: a copy of a state record with some fields changed (``dataclasses.replace`` for Structs)
replace = msgspec.structs.replace


def _put(t: tuple[Any, ...], i: int, v: Any) -> tuple[Any, ...]:
    """``t`` with element ``i`` replaced by ``v`` (one list copy: cheaper than three slices)."""
    out = list(t)
    out[i] = v
    return tuple(out)


def initial_state(npages: int, nthreads: int, *, cached: bool, mapped: bool,
                  fs: FileSystem, anon: bool = False, file_pages: int | None = None,
                  free_blocks: int = 0, private: bool = False, sparse: bool = False,
                  large: bool = False) -> KState:
    """A file of ``npages`` pages of data ``A0``, written and synced before the scenario.

    ``cached``: its pages are in the page cache, clean, with buffers (as after a read);
    shmem's are dirty (its page cache is the only copy of the data, :mod:`.fs.shmem`);
    ``mapped``: the process has already read-faulted them (present, read-only PTEs: the
    write-notify of a shared ext4 mapping, ``vma_wants_writenotify``);
    ``fs``: the filesystem (:mod:`.fs`); ``private``: the process maps it MAP_PRIVATE;
    ``sparse``: a file of that size with no blocks (``ftruncate`` of an empty file): it
    reads as zeros and its cached pages have no buffers;
    ``large``: the shmem file's and the anonymous memory's folios are large (THP): their pins are
    counted exactly (``_pincount``).
    """
    data = ("Z0",) * SUBBLOCKS if sparse else ("A0",) * SUBBLOCKS
    size = npages if file_pages is None else file_pages  # the mapping may run past EOF
    folios: list[Folio | None] = []
    ptes: list[Pte | None] = []
    dax = fs.dax
    for i in range(npages):
        if dax:  # pmem block i holds page i; struct page idle at refcount 1, DAX PTEs take none
            folios.append(Folio(index=i, data=data if i < size else ("Z0",) * SUBBLOCKS,
                                refcount=1))
            ptes.append(Pte() if mapped and i < size else None)  # write-notify: read-only
        elif cached and i < size:
            maps = 1 if mapped else 0
            bufs = (BH_CLEAN,) * SUBBLOCKS if fs.buffer_heads and not sparse else None
            folios.append(Folio(index=i, data=data, buffers=bufs, large=large and fs.large_folios,
                                refcount=1 + (bufs is not None) + maps, mapcount=maps,
                                dirty=not fs.page_cache_over_disk and not sparse))
            # a shared ext4 mapping is write-notify: read faults map read-only; shmem's is not;
            # a private mapping maps the page-cache folio read-only until a write copies it
            ptes.append(Pte(writable=not fs.vm_ops.write_notify and not private) if mapped
                        else None)
        else:
            ptes.append(None)
    cache = tuple(i if (cached or dax) and i < size else None for i in range(npages))
    anon_ptes: tuple[AnonPte | None, ...] = (None, None)
    if anon:  # the parent's page of private memory, holding P0
        anon_ptes = (AnonPte(len(folios)), None)
        folios.append(Folio(index=-1, data=("P0",) * SUBBLOCKS, mapping=False, refcount=1,
                            mapcount=1, anon=True, anon_exclusive=True, large=large))
    return KState(
        folios=tuple(folios), cache=cache, ptes=tuple(ptes), i_size=size,
        anon_ptes=anon_ptes, free_blocks=free_blocks,
        csum=("A0",) * (size * SUBBLOCKS) + ("Z0",) * ((npages - size) * SUBBLOCKS)
        if fs.cow else (),
        dax_owner=tuple(f"file:{i}" if i < size else None for i in range(npages)) if dax else (),
        disk=data * size + ("Z0",) * ((npages - size) * SUBBLOCKS),
        holes=frozenset(range(0 if sparse else size * SUBBLOCKS, npages * SUBBLOCKS))
        if fs.block_map or fs.cow else frozenset(),
        threads=(Thread(),) * nthreads,
        ghost=Ghost(last_write=(data,) * size + (("Z0",) * SUBBLOCKS,) * (npages - size),
                    crash_legal=tuple(tuple((v, frozenset()) for v in row)
                                      for row in (data,) * size
                                      + (("Z0",) * SUBBLOCKS,) * (npages - size)),
                    wstarts=((0,) * SUBBLOCKS,) * npages, wfrom=((-1,) * SUBBLOCKS,) * npages),
    )
