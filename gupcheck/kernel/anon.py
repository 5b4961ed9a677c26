"""Private anonymous memory across fork: copy-on-write, GUP references and pins.

mm/memory.c ``copy_present_pte`` (fork): an anonymous page is shared copy-on-write — both PTEs
write-protected, PG_anon_exclusive cleared — unless, since 5.9 (Peter Xu, 70e806e4e645), it may
be pinned (``folio_needs_cow_for_dma``): then the child gets a copy at once and the parent keeps
the pinned page, writable.

``do_wp_page`` on a write to a write-protected anonymous page reuses the page or copies it
(``wp_page_copy``).  The reuse rule is what CVE-2020-29374 is about: up to 5.8 a page mapped
once was reused whatever GUP references it had, so a child that vmspliced a page (a FOLL_GET
reference) and unmapped it saw through the pipe what the parent wrote next (up to 5.7: 5.8's
17839856fd58 made GUP break COW first, which no design here models); 5.9 (09854ba94c6a)
reuses only a page nobody else references; 5.19 (6c287605fd56) reuses a PG_anon_exclusive
page, and unshares a shared page before a read-only FOLL_PIN (31cc5bc4af70).

Processes: 0 is the parent, 1 the child, which exists once the parent has forked.
Values: ``P0`` the parent's data before fork, then what the program writes (``P1``, ``C1``),
``F2`` what an io_uring READ_FIXED puts in the pinned buffer.
"""

from __future__ import annotations

from functools import partial

from .actor import Blocked, Ctx, Move, Outcome
from .fault import wp_can_reuse
from .gup import grab, release
from .locks import MMAP_LOCK, can_read, up_write, write_acquired_then, write_lock_then
from .state import SUBBLOCKS, AnonPte, Folio, KState, replace

WHO = ("parent", "child")


def _pte(k: KState, proc: int) -> AnonPte | None:
    return k.anon_ptes[proc]


def _with_pte(k: KState, proc: int, pte: AnonPte | None) -> KState:
    ptes = k.anon_ptes[:proc] + (pte,) + k.anon_ptes[proc + 1:]
    return replace(k, anon_ptes=ptes)


def _new_anon(k: KState, data: tuple[str, ...]) -> tuple[KState, int]:
    """A fresh exclusive anonymous folio, mapped once (the caller installs the PTE)."""
    return k.add_folio(Folio(index=-1, data=data, mapping=False, refcount=1, mapcount=1,
                             anon=True, anon_exclusive=True))


def _drop_map(k: KState, fid: int) -> KState:
    """One mapping less (folio_remove_rmap_pte + folio_put); the last reference frees it."""
    f = k.folio_at(fid)
    f = replace(f, mapcount=f.mapcount - 1, refcount=f.refcount - 1)
    return k.with_folio_at(fid, None if f.refcount == 0 else f)


def fork(c: Ctx) -> Outcome:
    """("fork",): dup_mmap takes mmap_lock for writing (queued behind its readers, if any:
    from then on new faults and GUP slow paths wait behind it), then :func:`_dup_mmap`."""
    return write_lock_then(c, "dup_mmap", "fork:lock", partial(_dup_mmap, c))


def stage_fork_lock(c: Ctx) -> Outcome:
    return write_acquired_then(c, partial(_dup_mmap, c))


def _dup_mmap(c: Ctx, k: KState, how: str) -> Outcome:
    """dup_mmap holds mmap_lock for writing and opens write_protect_seq; then copy_present_pte
    decides, from whether the page may be pinned, to copy or share it."""
    k = replace(k, fork_in_progress=True)
    pte = _pte(k, 0)
    assert pte is not None
    copy = c.cfg.fork_copies_pinned and k.folio_at(pte.folio).maybe_dma_pinned()
    if not c.cfg.fork_copies_pinned:
        what = "share it (no check for pinned pages before 5.9)"
    else:
        what = "maybe pinned: copy it" if copy else "not pinned: share it"
    seq = "raw_write_seqcount_begin(write_protect_seq), " if c.cfg.gup_fast_wp_seq else ""
    shared, copied = _private_copies(c, k)
    files = "".join(f"; private copy of file page {p}: "
                    + ("maybe pinned: copy it" if p in copied else "share it")
                    for p in shared + copied)
    return [Move(f"dup_mmap: {how}{seq}{_copy_pte(c)}: page {what}{files}",
                 c.goto(k, "fork:copy", fcopy=copy, fshare=shared))]


def _private_copies(c: Ctx, k: KState) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The file pages whose MAP_PRIVATE mapping holds the parent's own anonymous copy
    (``Pte.cow``): copy_present_pte shares each with the child copy-on-write, or, from 5.9,
    copies a maybe-pinned one for the child (the parent keeps its page writable).  The
    child's copy and mapping are not modelled beyond the reference they hold."""
    shared, copied = [], []
    for p, pte in enumerate(k.ptes):
        if pte is not None and pte.cow is not None:
            pinned = c.cfg.fork_copies_pinned and k.folio_at(pte.cow).maybe_dma_pinned()
            (copied if pinned else shared).append(p)
    return tuple(shared), tuple(copied)


def _copy_pte(c: Ctx) -> str:
    """The function that copies a PTE at fork: copy_one_pte until 5.9 made it
    copy_present_pte (with the copy of maybe-pinned pages)."""
    return "copy_present_pte" if c.cfg.fork_copies_pinned else "copy_one_pte"


def stage_fork_copy(c: Ctx) -> Outcome:
    """The copy decided on: a copy for the child, or both PTEs write-protected and shared.

    A GUP-fast that pins the page between the decision and the write-protection (without
    write_protect_seq) leaves a pinned page shared copy-on-write with the child.
    """
    k = up_write(replace(c.k, fork_in_progress=False), c.name)
    pte = _pte(k, 0)
    assert pte is not None
    f = k.folio_at(pte.folio)
    seq = "write_protect_seq end, " if c.cfg.gup_fast_wp_seq else ""
    k = _share_private_copies(k, c.var("fshare", ()))
    if c.var("fcopy"):
        k, fid = _new_anon(k, f.data)
        k = replace(_with_pte(k, 1, AnonPte(fid)), forked=True)
        return [Move("copy_present_pte: folio_needs_cow_for_dma, copy the page for the child; "
                     f"{seq}mmap_write_unlock", c.finish(k, "fork=0"))]
    k = k.with_folio_at(pte.folio, replace(f, mapcount=f.mapcount + 1, refcount=f.refcount + 1,
                                           anon_exclusive=False))
    k = _with_pte(_with_pte(k, 0, AnonPte(pte.folio, writable=False)), 1,
                  AnonPte(pte.folio, writable=False))
    return [Move(f"{_copy_pte(c)}: write-protect the page, share it copy-on-write; "
                 f"{seq}mmap_write_unlock",
                 c.finish(replace(k, forked=True), "fork=0"))]


def _share_private_copies(k: KState, pages: tuple[int, ...]) -> KState:
    """Both PTEs of each private copy write-protected: the child maps it too (a copy a
    truncate zapped meanwhile, under i_mmap_lock rather than mmap_lock, is gone)."""
    for p in pages:
        pte = k.ptes[p]
        if pte is None or pte.cow is None:
            continue
        f = k.folio_at(pte.cow)
        k = k.with_folio_at(pte.cow, replace(f, mapcount=f.mapcount + 1,
                                             refcount=f.refcount + 1, anon_exclusive=False))
        k = k.with_pte(p, replace(pte, writable=False))
    return k


def _mmap_read_lock(k: KState, proc: int) -> Blocked | None:
    """Why a fault or GUP slow path of ``proc`` would wait for mmap_lock: the parent's is the
    one :class:`~.state.KState` holds (fork and munmap write it); the child's, its own, is
    never contended here.  Such a step takes and drops the lock within itself."""
    return can_read(MMAP_LOCK, k) if proc == 0 else None


def _write_fault_waits(c: Ctx, k: KState, proc: int) -> Blocked | None:
    """Why a CPU write fault of ``proc`` would wait: from 6.4 it takes the VMA's own lock
    (lock_vma_under_rcu, :attr:`~.config.KernelConfig.fault_vma_lock`), which only a writer
    holding mmap_lock holds off (fork and munmap write-lock the VMA), not a queued one."""
    if c.cfg.fault_vma_lock:
        writer = k.mmap_lock.writer if proc == 0 else None
        return None if writer is None else Blocked(
            "lock_vma_under_rcu: the VMA is write-locked, mmap_read_lock", (writer,))
    return _mmap_read_lock(k, proc)


def _child_waits(c: Ctx, proc: int) -> bool:
    return proc == 1 and not c.k.forked


def _do_wp_page(c: Ctx, k: KState, proc: int) -> tuple[KState, str]:
    """A write fault on a write-protected anonymous PTE: reuse the page, or copy it."""
    pte = _pte(k, proc)
    assert pte is not None
    f = k.folio_at(pte.folio)
    reuse, why = wp_can_reuse(c, f)
    if reuse:
        k = k.with_folio_at(pte.folio, replace(f, anon_exclusive=True))
        return _with_pte(k, proc, AnonPte(pte.folio)), f"do_wp_page: reuse the page ({why})"
    k, fid = _new_anon(k, f.data)
    k = _with_pte(_drop_map(k, pte.folio), proc, AnonPte(fid))
    return k, f"do_wp_page: wp_page_copy ({why})"


def anon_write(c: Ctx) -> Outcome:
    """("anon_write", proc, value): a store to the process's anonymous page."""
    _, proc, value = c.op
    if _child_waits(c, proc):
        return []
    k = c.k
    func = ""
    pte = _pte(k, proc)
    if pte is None:
        return [Move(f"{WHO[proc]} store: no mapping, SIGSEGV", c.finish(k, "SIGSEGV"))]
    if not pte.writable:
        if blocked := _write_fault_waits(c, k, proc):  # the write fault
            return blocked
        k, func = _do_wp_page(c, k, proc)
        func += ", then "
        pte = _pte(k, proc)
        assert pte is not None
    f = k.folio_at(pte.folio)
    k = k.with_folio_at(pte.folio, replace(f, data=(value,) * SUBBLOCKS))
    if proc == 0 and k.forked:
        k = k.with_ghost(parent_secrets=k.ghost.parent_secrets | {value})
    if proc == 0 and k.anon_pinned is not None and pte.folio != k.anon_pinned:
        k = k.violate("cow-isolation", f"the parent wrote {value} to a copy: the page it pinned "
                      "is no longer the one it maps, so the pin holder sees stale data")
    if proc == 1 and pte.folio == k.anon_pinned:  # before 5.9 fork shared the pinned page
        k = k.violate("cow-isolation", f"the child wrote {value} into the page the parent "
                      "pinned: the device reads the child's data from the parent's buffer")
    return [Move(f"{func}{WHO[proc]} stores {value}", c.finish(k))]


def _observe(c: Ctx, k: KState, proc: int, what: str, data: tuple[str, ...]) -> KState:
    """P6 (a): the child must never see what the parent wrote after fork."""
    leaked = set(data) & k.ghost.parent_secrets
    if proc == 1 and leaked:
        why = ("CVE-2020-29374" if what == "the pipe"
               else "a page shared at fork, which the parent's write or I/O reached")
        k = k.violate("cow-isolation", f"the child reads {min(leaked)} through {what}: "
                      f"the parent wrote it after fork ({why})")
    return k


def anon_read(c: Ctx) -> Outcome:
    """("anon_read", proc): a load from the process's anonymous page; the result is recorded."""
    proc = c.op[1]
    if _child_waits(c, proc):
        return []
    pte = _pte(c.k, proc)
    if pte is None:
        return [Move(f"{WHO[proc]} load: no mapping, SIGSEGV", c.finish(c.k, "SIGSEGV"))]
    data = c.k.folio_at(pte.folio).data
    k = _observe(c, c.k, proc, "its own mapping", data)
    return [Move(f"{WHO[proc]} loads {'|'.join(data)}",
                 c.finish(k, f"{WHO[proc]} read={'|'.join(data)}"))]


def vmsplice(c: Ctx) -> Outcome:
    """("vmsplice", proc): get_user_pages (FOLL_GET, read-only) into a pipe."""
    proc = c.op[1]
    if _child_waits(c, proc):
        return []
    pte = _pte(c.k, proc)
    assert pte is not None
    k = replace(grab(c.k, pte.folio, pin=False, pin_counting=c.cfg.pin_counting),
                pipe=pte.folio, pipe_child=proc == 1)
    return [Move(f"{WHO[proc]} vmsplice: get_user_pages_fast (FOLL_GET) into the pipe",
                 c.finish(k, "vmsplice=4096"))]


def pipe_read(c: Ctx) -> Outcome:
    """("pipe_read", proc): read the spliced page back from the pipe (releases it).

    What the child reads from a pipe the parent filled is the parent's own publication: a
    vmsplice'd page shows its owner's later writes to whoever reads the pipe (as without
    fork, ``vmsplice-then-write``); only a page the child spliced from its copy-on-write
    mapping is the leak (CVE-2020-29374)."""
    proc = c.op[1]
    if _child_waits(c, proc) or c.k.pipe is None:
        return []
    fid = c.k.pipe
    data = c.k.folio_at(fid).data
    k = _observe(c, c.k, proc, "the pipe", data) if c.k.pipe_child else c.k
    k = replace(release(c, k, fid, pin=False), pipe=None, pipe_child=False)
    return [Move(f"{WHO[proc]} reads the pipe: {'|'.join(data)}",
                 c.finish(k, f"pipe={'|'.join(data)}"))]


def munmap_anon(c: Ctx) -> Outcome:
    """("munmap_anon", proc): mmap_write_lock (the parent's queues behind its readers, as
    munmap of the file mapping does), zap the anonymous PTE, mmap_write_unlock."""
    proc = c.op[1]
    if _child_waits(c, proc):
        return []
    if proc == 1:  # the child's own mm: its lock is never contended here
        return _zap_anon(c, c.k, "mmap_write_lock, ")
    return write_lock_then(c, "parent munmap", "mua:wait", partial(_zap_anon, c))


def stage_munmap_anon_wait(c: Ctx) -> Outcome:
    return write_acquired_then(c, partial(_zap_anon, c))


def _zap_anon(c: Ctx, k: KState, how: str) -> Outcome:
    """do_vmi_munmap; a range already unmapped has no VMA, which is not an error."""
    proc = c.op[1]
    pte = _pte(k, proc)
    if pte is not None:
        k = _with_pte(_drop_map(k, pte.folio), proc, None)
    if proc == 0:
        k = up_write(k, c.name)
    zap = "zap_pte_range" if pte is not None else "no VMA"
    return [Move(f"{WHO[proc]} munmap: {how}{zap}, mmap_write_unlock", c.finish(k, "munmap=0"))]


def anon_pin(c: Ctx) -> Outcome:
    """("anon_pin", proc): io_uring registers the anonymous page as a fixed buffer
    (FOLL_WRITE|FOLL_LONGTERM|FOLL_PIN): a write fault first if the PTE is write-protected.

    ("anon_pin_ro", proc): a read-only FOLL_PIN (no FOLL_WRITE).  Since 5.19
    ``gup_must_unshare`` makes GUP unshare a shared anonymous page first (FAULT_FLAG_UNSHARE:
    an exclusive copy); before, the pin lands on the page the child shares.
    """
    proc = c.op[1]
    if _child_waits(c, proc):
        return []
    k = c.k
    if c.op[0] == "anon_pin" and not c.cfg.has_io_uring:
        k = k.with_ghost(unsupported="io_uring appeared in 5.1")
        return [Move("io_uring_register: no io_uring before 5.1", c.finish(k, "register=-ENOSYS"))]
    func = ""
    pte = _pte(k, proc)
    assert pte is not None
    f = k.folio_at(pte.folio)
    # 6.12's io_uring registration is a pin_user_pages_fast; 6.1's a pin_user_pages
    gup_fast = c.op[0] == "anon_pin_fast" or (c.op[0] == "anon_pin"
                                              and not c.cfg.iouring_file_check)
    fast = gup_fast and pte.writable
    if fast and c.cfg.gup_fast_wp_seq and k.fork_in_progress:
        fast = False  # read_seqcount_retry: unpin, fall back to the slow path
        func = "gup_fast: write_protect_seq odd, back off; "
    if not fast and (blocked := _mmap_read_lock(k, proc)):
        return blocked
    if c.op[0] == "anon_pin_ro":
        if c.cfg.anon_exclusive and not f.anon_exclusive:
            k, func = _unshare(c, k, proc)
            func += ", then "
    elif not pte.writable:
        k, func = _do_wp_page(c, k, proc)
        func += ", then "
    pte = _pte(k, proc)
    assert pte is not None
    k = grab(k, pte.folio, pin=True, pin_counting=c.cfg.pin_counting)
    k = replace(k, anon_pinned=pte.folio)
    api = "pin_user_pages_fast" if gup_fast else "pin_user_pages"
    what = {"anon_pin_ro": "pin_user_pages (FOLL_PIN, read-only)",
            "anon_pin_fast": f"{api} (FOLL_PIN|FOLL_WRITE)"}.get(
        c.op[0], f"io_sqe_buffer_register: {api} (FOLL_PIN)")
    if fast:
        what += ": gup_fast_pte_range"
    if not c.cfg.pin_counting:  # FOLL_PIN and pin_user_pages* arrived in 5.6/5.7
        what = what.replace("pin_user_pages", "get_user_pages").replace("FOLL_PIN", "FOLL_GET")
    return [Move(f"{func}{what} the {WHO[proc]}'s page", c.finish(k, "register=0"))]


def _unshare(c: Ctx, k: KState, proc: int) -> tuple[KState, str]:
    """FAULT_FLAG_UNSHARE (5.19, 31cc5bc4af70): do_wp_page without the write.  A page nobody
    else references (:func:`.fault.wp_can_reuse`) becomes exclusive where it is
    (page_move_anon_rmap, then "reuse: if (unlikely(unshare)) return 0"); any other is
    replaced by an exclusive copy, mapped read-only as before (6.1 mm/memory.c)."""
    pte = _pte(k, proc)
    assert pte is not None
    f = k.folio_at(pte.folio)
    reuse, why = wp_can_reuse(c, f)
    if reuse:
        k = k.with_folio_at(pte.folio, replace(f, anon_exclusive=True))
        return k, f"gup_must_unshare: FAULT_FLAG_UNSHARE, page_move_anon_rmap ({why})"
    k, fid = _new_anon(k, f.data)
    k = _with_pte(_drop_map(k, pte.folio), proc, AnonPte(fid, writable=False))
    return k, f"gup_must_unshare: FAULT_FLAG_UNSHARE, an exclusive copy ({why})"


def read_fixed(c: Ctx) -> Outcome:
    """("read_fixed", value): an io_uring READ_FIXED fills the pinned buffer.

    P6 (c): the pinned page must still be the parent's: its mapping reads what the I/O wrote.
    After fork the data is the parent's: before 5.9 (no copy of a pinned page at fork) a child
    sharing the page reads it (P6 (a)).
    """
    value = c.op[1]
    k = c.k
    fid = k.anon_pinned
    if fid is None:  # io_import_fixed: no such registered buffer
        return [Move("READ_FIXED: no registered buffer, -EFAULT",
                     c.finish(k, "read_fixed=-EFAULT"))]
    f = k.folio_at(fid)
    k = k.with_folio_at(fid, replace(f, data=(value,) * SUBBLOCKS))
    if k.forked:  # the parent's I/O: a child still sharing the page (before 5.9) sees it
        k = k.with_ghost(parent_secrets=k.ghost.parent_secrets | {value})
    pte = _pte(k, 0)
    if pte is not None and pte.folio != fid:
        k = k.violate("cow-isolation", f"READ_FIXED wrote {value} into the pinned page, but the "
                      "parent's mapping no longer maps it: the parent lost the device's data")
    return [Move(f"READ_FIXED: the device writes {value} into the pinned buffer",
                 c.finish(k, "read_fixed=4096"))]


ANON_OPS = {"fork": fork, "anon_write": anon_write, "anon_read": anon_read,
            "vmsplice": vmsplice, "pipe_read": pipe_read, "munmap_anon": munmap_anon,
            "anon_pin": anon_pin, "anon_pin_ro": anon_pin, "anon_pin_fast": anon_pin,
            "read_fixed": read_fixed}

ANON_STAGES = {"fork:lock": stage_fork_lock, "fork:copy": stage_fork_copy,
               "mua:wait": stage_munmap_anon_wait}
