"""The write fault on a file mapping, and CPU stores through the mapping.

mm/memory.c: a store to a page whose PTE is absent goes ``handle_mm_fault`` -> ``do_fault`` ->
``do_shared_fault`` (``__do_fault`` -> ``vma->vm_ops->fault`` reads the page if it is not
cached); a store to a present read-only PTE goes ``do_wp_page`` -> ``wp_page_shared``.  Both
call ``do_page_mkwrite`` -> ``vma->vm_ops->page_mkwrite`` before the PTE is made writable and
dirty (``wp_page_reuse``/``finish_fault``) and ``fault_dirty_shared_page`` unlocks the folio.
A shared mapping of a filesystem with ->page_mkwrite is write-notify
(``vma_wants_writenotify``), so a read fault maps the page read-only and the first store always
takes this path.  What ->fault and ->page_mkwrite do is the filesystem's (``Ctx.env.fs.vm_ops``,
:mod:`.fs`); a ->page_mkwrite that returns with the folio locked (VM_FAULT_LOCKED) goes on at
:func:`stage_install`.  A MAP_PRIVATE mapping copies the page instead (``do_cow_fault``).

The same path serves GUP's slow path (``faultin_page`` with FAULT_FLAG_WRITE): the caller names
the stage to return to.
"""

from __future__ import annotations

from collections.abc import Callable

from .actor import Blocked, Ctx, Move, Outcome
from .dirty import folio_mark_dirty
from .locks import (
    INVALIDATE_LOCK,
    MMAP_LOCK,
    can_read,
    down_read,
    holds_read,
    read_acquired,
    up_read,
)
from .state import SUBBLOCKS, Folio, KState, Pte, replace


def fault_begin(c: Ctx, k: KState, page: int, ret: str, *, fail: str = "SIGBUS",
                fail_stage: str | None = None, retry: str | None = None) -> Outcome:
    """The first step of a write fault on ``page``; afterwards the thread goes on at ``ret``.

    Beyond i_size the fault is VM_FAULT_SIGBUS: a CPU store gets SIGBUS, GUP returns -EFAULT
    (``fail`` is what the operation then returns, or ``fail_stage`` where it goes on).
    ``retry``: the fault may drop mmap_read_lock to sleep and return VM_FAULT_RETRY
    (FAULT_FLAG_ALLOW_RETRY without FAULT_FLAG_TRIED), and the operation redoes it at that
    stage; None: it sleeps holding the lock.
    """
    fs = c.env.fs
    if page >= k.i_size:
        return vm_fault_sigbus(c, k, f"{fs.vm_ops.fault}: page {page} beyond i_size, "
                               "VM_FAULT_SIGBUS", fail, fail_stage)
    if k.ptes[page] is None:  # do_cow_fault / do_shared_fault: __do_fault -> ->fault first
        how = "do_cow_fault" if c.env.private else "do_shared_fault"
        waits = fault_waits(c, k, page) or filemap_lock_wait(c, k, page, retry,
                                                             who=f"{how}: __do_fault")
        if waits is not None:
            return waits
    if c.env.private:
        return _private_write_fault(c, k, page, ret)
    if retry is not None and c.cfg.dirty_fault_unlocks and not fs.dax:
        k = c.goto(k, k.threads[c.me].stage, fretry=retry)  # for fault_dirty_shared_page
    return fs.vm_ops.write_fault(c, k, page, ret, fail, fail_stage)


def fault_dirty_shared_page(c: Ctx, k: KState, ret: str, *,
                            dirtied: bool = True) -> tuple[KState, str]:
    """The end of a write fault on a shared mapping (mm/memory.c fault_dirty_shared_page, after
    folio_unlock): ``k`` going on at ``ret``, and what to add to the step's label.  From 5.8
    (:attr:`~.config.KernelConfig.dirty_fault_unlocks`), on a first attempt that may be
    retried, it drops mmap_read_lock before balance_dirty_pages when the filesystem has
    ->page_mkwrite or the folio was newly dirtied (``dirtied``): the fault is complete
    (VM_FAULT_COMPLETED) and the operation goes on at the ``fretry`` :func:`fault_begin`
    recorded — a CPU store returns to user space, GUP takes the lock again and looks the page
    up with FOLL_TRIED (gup.stage_retry)."""
    c = replace(c, k=k)
    retry = c.var("fretry")  # also recorded by an earlier filemap_lock_wait of the operation
    if retry is None or not dirtied or not c.cfg.dirty_fault_unlocks or not may_drop_lock(c):
        return c.goto(k, ret), ""
    return (c.goto(up_read(k, c.name), retry),
            f", {fault_unlock(c)}, balance_dirty_pages (VM_FAULT_COMPLETED)")


def filemap_lock_wait(c: Ctx, k: KState, page: int, retry: str | None, *,
                      who: str) -> Outcome | None:
    """What filemap_fault does before it holds the page's folio locked, on a first attempt
    that may be retried (``retry``: where the operation redoes the fault) and a filesystem
    whose ->fault is filemap_fault (shmem_fault and DAX never drop the lock):

    * the page is not cached: ``do_sync_mmap_readahead`` drops mmap_read_lock
      (``maybe_unlock_mmap_for_io``) for the read-ahead I/O, and the fault returns
      VM_FAULT_RETRY once the page is read: one step here, the page read in, and the
      operation goes on at ``retry`` with FAULT_FLAG_TRIED (mm/filemap.c 3103-3165; from 5.1,
      :attr:`~.config.KernelConfig.readahead_unlocks`).  If a truncate or hole punch holds
      invalidate_lock, the read-ahead sleeps on it without mmap_read_lock
      (:func:`stage_readahead_wait`);
    * the folio is locked by another task: ``lock_folio_maybe_drop_mmap`` drops the lock and
      sleeps without it, holding a folio reference (:func:`stage_lock_wait`).

    A retry (or a caller that may not drop the lock) reads a missing page in under the lock
    (the caller's step) and sleeps on a locked folio holding it.  None: no sleep and no drop
    (the fault takes and releases the folio lock within its own step)."""
    f = k.cached(page)
    drops = retry is not None and c.env.fs.vm_ops.drops_mmap_lock
    if f is None:
        if not drops or not c.cfg.readahead_unlocks:
            return None
        func = (f"{who}: {c.env.fs.vm_ops.fault}: page {page} not cached, "
                f"do_sync_mmap_readahead: {fault_unlock(c)}, ")
        if fill_waits(c, k):
            return [Move(func + "page_cache_ra_unbounded: filemap_invalidate_lock_shared "
                         "sleeps", c.goto(up_read(k, c.name), "fault:rawait", fretry=retry,
                                          fra=page))]
        k = filemap_fault(k, page)
        return [Move(func + "read it in, VM_FAULT_RETRY",
                     c.goto(up_read(k, c.name), retry, fretry=retry, ftried=True))]
    if f.locked is None or f.locked == c.name:
        return None
    if not drops:
        return Blocked(f"folio lock of page {page}", (f.locked,))
    k = k.with_folio(page, replace(f, refcount=f.refcount + 1))  # filemap_get_folio
    return [Move(f"{who}: {c.env.fs.vm_ops.fault}: page {page} locked, "
                 f"lock_folio_maybe_drop_mmap: {fault_unlock(c)}",
                 c.goto(up_read(k, c.name), "fault:lockwait", fwait=k.fid(page),
                        fretry=retry))]


def fault_waits(c: Ctx, k: KState, page: int) -> Blocked | None:
    """Why ->fault on ``page`` cannot start now, where the fault calls it (no PTE, or a read
    fault fault-around cannot serve: :func:`read_fault`).

    * The filesystem's own wait (:attr:`.fsops.VmOps.fault_wait`): shmem_fault's while a hole
      punch covers the page.
    * Before 5.15 an ext4 or XFS ->fault's wrapper took the filesystem's truncate lock shared
      around filemap_fault (:attr:`.fsops.VmOps.fault_lock`), which truncate and hole punch
      hold for writing from before they unmap the range to after they free the blocks, so no
      ->fault ran meanwhile.  A read fault on a cached, unlocked page calls no ->fault:
      fault-around (``filemap_map_pages``, no such lock: XFS took MMAPLOCK there only from
      5.10) maps it.  The model's INVALIDATE_LOCK stands for the lock.  Not modelled: that
      lock held while the fault sleeps in filemap_fault (on a locked folio, or the
      read-ahead I/O)."""
    vm_ops = c.env.fs.vm_ops
    if vm_ops.fault_wait is not None:
        blocked = vm_ops.fault_wait(c, k, page)
        if blocked is not None:
            return blocked
    lock = vm_ops.fault_lock
    if c.cfg.fault_fill_locked or lock is None:
        return None
    blocked = can_read(INVALIDATE_LOCK, k)
    return None if blocked is None else Blocked(lock, blocked.holders)


def fill_waits(c: Ctx, k: KState) -> Blocked | None:
    """Why filemap_fault cannot add a missing page to the page cache now: it takes
    filemap_invalidate_lock_shared for that (at retry_find, and page_cache_ra_unbounded for
    the read-ahead; 5.15, :attr:`~.config.KernelConfig.fault_fill_locked`), which a truncate or
    hole punch holds for writing from before it unmaps the range to after it frees the
    blocks: so no fault reads a page back in, from blocks about to be freed, meanwhile.
    shmem_fault and DAX take no such lock.  btrfs's punch holds its own i_mmap_lock instead
    (the model's INVALIDATE_LOCK stands for it) and, once the range is truncated, the extent
    lock, on which btrfs_read_folio (lock_extent) waits: the read-in waits for them all the
    same, at another point of filemap_fault.  btrfs's truncate (btrfs_setsize) takes neither
    before truncate_pagecache, but sets i_size first: no fault reads the range back in."""
    fs = c.env.fs
    if not c.cfg.fault_fill_locked or not fs.vm_ops.drops_mmap_lock:
        return None
    return can_read(INVALIDATE_LOCK, k)


def filemap_fill(c: Ctx, k: KState, page: int) -> KState | Blocked:
    """filemap_fault's page-cache fill: ``k`` with ``page`` read in if it was not cached, or
    why it must wait first (:func:`fill_waits`)."""
    if k.cached(page) is not None:
        return k
    return fill_waits(c, k) or filemap_fault(k, page)


def stage_readahead_wait(c: Ctx) -> Outcome:
    """A first attempt's read-ahead, without mmap_read_lock, waits for invalidate_lock, reads
    the page in (none beyond i_size: a truncate ran) and the fault returns VM_FAULT_RETRY:
    the operation redoes it at ``fretry`` with FAULT_FLAG_TRIED."""
    blocked = can_read(INVALIDATE_LOCK, c.k)
    if blocked:
        return blocked
    k, page = c.k, c.var("fra")
    read = k.cached(page) is None and page < k.i_size
    if read:
        k = filemap_fault(k, page)
    k = c.forget(c.goto(k, c.var("fretry"), ftried=True), "fra")
    return [Move("page_cache_ra_unbounded: filemap_invalidate_lock_shared, "
                 + (f"read page {page} in, " if read else "nothing to read, ")
                 + "filemap_invalidate_unlock_shared, VM_FAULT_RETRY", k)]


def with_lock_taken(c: Ctx, k: KState, out: Outcome, *, begin: str, sleep: str,
                    sep: str = ": ") -> list[Move]:
    """``out``, a fault's first step computed on ``k``, in the step that took mmap_read_lock
    (``k`` holds it; labelled ``begin``).  A fault that must sleep first (a folio lock,
    invalidate_lock) takes the lock alone and sleeps holding it at stage ``sleep``."""
    if isinstance(out, Blocked):
        return [Move(begin, c.goto(k, sleep))]
    return [replace(m, func=f"{begin}{sep}{m.func}") for m in out]


def read_fault(c: Ctx, k: KState, page: int, ret: str, retry: str | None = None) -> Outcome:
    """A read fault inside i_size: ``do_read_fault`` -> ``__do_fault`` -> ``filemap_fault``
    (reading the page in if it is not cached: a hole or truncated range reads as zeros), which
    returns the folio locked, ``finish_fault`` maps it, ``unlock_page``; a shared ext4 mapping
    is write-notify, so read-only (shmem: writable).  A folio another task holds locked is
    waited for (:func:`filemap_lock_wait`; ``retry`` as for :func:`fault_begin`).  FS-DAX:
    ``dax_iomap_fault`` maps the pmem block read-only, without a page reference."""
    if c.env.fs.dax:
        blocked = can_read(INVALIDATE_LOCK, k)
        if blocked:
            return blocked
        return [Move(f"dax_iomap_fault (read): map page {page} read-only",
                     c.goto(k.with_pte(page, Pte()), ret))]
    f = k.cached(page)
    if f is None or f.locked not in (None, c.name):  # else do_fault_around maps it
        locked = fault_waits(c, k, page)
        if locked is not None:
            return locked
    waits = filemap_lock_wait(c, k, page, retry, who="do_read_fault: __do_fault")
    if waits is not None:
        return waits
    filled = filemap_fill(c, k, page)
    if isinstance(filled, Blocked):
        return filled
    k = filled
    f = k.folio(page)
    k = k.with_folio(page, replace(f, mapcount=f.mapcount + 1, refcount=f.refcount + 1))
    k = k.with_pte(page, Pte(writable=not c.env.fs.vm_ops.write_notify and not c.env.private))
    return [Move(f"{c.env.fs.vm_ops.fault} (read): map page {page}", c.goto(k, ret))]


def vm_fault_sigbus(c: Ctx, k: KState, func: str, fail: str,
                    fail_stage: str | None) -> Outcome:
    """The fault ends in VM_FAULT_SIGBUS (beyond EOF, ENOSPC): the operation goes on at
    ``fail_stage`` if it has one, else returns ``fail`` and its writes never happen."""
    if fail_stage is not None:
        return [Move(func, c.goto(k, fail_stage))]
    return [Move(func, c.finish(writes_abandoned(c, k), fail))]


def lock_mm_and_find_vma(c: Ctx, page: int) -> KState | Outcome:
    """do_user_addr_fault's first step (lock_mm_and_find_vma, 6.5; mmap_read_lock and
    find_vma before): the state holding mmap_read_lock, or what the access does instead:
    wait for the lock, or :func:`bad_area` where munmap left no VMA.

    Under the per-VMA lock (:func:`under_vma_lock`) ``lock_vma_under_rcu`` comes first: the
    VMA's read lock is taken past a writer queued for mmap_lock, which has not write-locked
    the VMA yet, but not while one holds it (``vma_start_read`` fails, and the fault falls
    back to mmap_read_lock).  gupcheck records that lock as a reader of mmap_lock: the
    queued munmap or fork waits for it, as ``vma_start_write`` waits for the VMA lock."""
    k = c.k
    if under_vma_lock(c) and k.has_vma(page) and k.mmap_lock.writer is None:
        return read_acquired(k, c.name, MMAP_LOCK)
    locked = down_read(k, c.name)
    if isinstance(locked, Blocked):
        return locked
    if not c.k.has_vma(page):
        return bad_area(c, c.k, page)
    return locked


def bad_area(c: Ctx, k: KState, page: int) -> list[Move]:
    """A CPU access faults where munmap left no VMA: lock_mm_and_find_vma fails, bad_area,
    SIGSEGV; the access never happens."""
    return [Move(f"do_user_addr_fault(page {page}): lock_mm_and_find_vma: no VMA, bad_area: "
                 "SIGSEGV", c.finish(writes_abandoned(c, k), "SIGSEGV"))]


def writes_abandoned(c: Ctx, k: KState) -> KState:
    """The operation fails before its data reaches the page (SIGBUS, SIGSEGV, -EFAULT): the
    writes it started never took effect (:meth:`.KState.write_abandoned`)."""
    return k.write_abandoned({w for w in k.ghost.writing if w[2] == c.me})


def wp_can_reuse(c: Ctx, f: Folio) -> tuple[bool, str]:
    """do_wp_page on a write-protected anonymous folio: reuse it, or copy it; and why.
    PageAnonExclusive (5.19, 6c287605fd56) reuses whatever the references; else up to 5.8 a
    folio mapped once is reused (reuse_swap_page), from 5.9 (09854ba94c6a) only a folio
    nobody else references (refcount 1)."""
    if c.cfg.anon_exclusive and f.anon_exclusive:
        return True, "PageAnonExclusive"
    if c.cfg.wp_reuse == "mapcount":
        return f.mapcount == 1, f"mapcount {f.mapcount}"
    return f.refcount == 1, f"refcount {f.refcount}"


def _wp_private_copy(c: Ctx, k: KState, page: int, ret: str) -> Outcome:
    """A write fault on the process's private copy of a file page that fork write-protected
    (shared with the child): ``do_wp_page`` on an anonymous folio, as for any anonymous
    page (:func:`wp_can_reuse`): reuse it, or copy it (``wp_page_copy``) and leave the old
    one to the child and to whoever holds a GUP reference on it."""
    pte = k.ptes[page]
    assert pte is not None and pte.cow is not None
    f = k.folio_at(pte.cow)
    reuse, why = wp_can_reuse(c, f)
    if reuse:
        k = k.with_folio_at(pte.cow, replace(f, anon_exclusive=True))
        k = k.with_pte(page, Pte(writable=True, dirty=True, cow=pte.cow))
        return [Move(f"do_wp_page: reuse private folio #{pte.cow} of page {page} ({why}), "
                     "pte writable+dirty", c.goto(k, ret))]
    k = k.with_folio_at(pte.cow, replace(f, mapcount=f.mapcount - 1, refcount=f.refcount - 1))
    k, fid = k.add_folio(Folio(index=page, data=f.data, mapping=False, refcount=1,
                               mapcount=1, anon=True, anon_exclusive=True))
    k = k.with_pte(page, Pte(writable=True, dirty=True, cow=fid)).mmu_notifier_invalidate(page)
    return [Move(f"do_wp_page: wp_page_copy ({why}: private folio #{pte.cow} of page {page} "
                 f"-> #{fid}), pte writable+dirty", c.goto(k, ret))]


def _private_write_fault(c: Ctx, k: KState, page: int, ret: str) -> Outcome:
    """A write fault in a MAP_PRIVATE mapping of the file: no ->page_mkwrite, no dirtying of
    the page cache.  mm/memory.c ``do_cow_fault`` (no PTE: ``__do_fault`` -> filemap_fault
    returns the page-cache folio locked, ``copy_user_highpage`` into a new anonymous folio,
    ``finish_fault``, ``unlock_page``) or ``do_wp_page`` -> ``wp_page_copy`` (a read-only PTE
    of the page-cache folio: copy it without its lock, replace the PTE, drop the old mapping).
    The copy is exclusive to the process (PG_anon_exclusive).  ``do_cow_fault`` holds the
    folio filemap_fault locked from the copy to unlock_page: its only sleep on that lock is
    filemap_fault's (:func:`filemap_lock_wait`, in :func:`fault_begin`)."""
    pte = k.ptes[page]
    if pte is not None and pte.writable:  # another thread's copy, mapped while this slept
        return [Move(f"page {page} mapped writable meanwhile (finish_fault: VM_FAULT_NOPAGE, "
                     "wp_page_copy: !pte_same): nothing to copy", c.goto(k, ret))]
    if pte is not None and pte.cow is not None:  # fork shares the copy with the child
        return _wp_private_copy(c, k, page, ret)
    filled = filemap_fill(c, k, page)
    if isinstance(filled, Blocked):
        return filled
    k = filled
    src = k.folio(page)
    if pte is not None and pte.cow is None:  # the PTE mapped the page-cache folio
        k = k.with_folio(page, replace(src, mapcount=src.mapcount - 1, refcount=src.refcount - 1))
    k, fid = k.add_folio(Folio(index=page, data=src.data, mapping=False, refcount=1,
                               mapcount=1, anon=True, anon_exclusive=True))
    k = k.with_pte(page, Pte(writable=True, dirty=True, cow=fid)).mmu_notifier_invalidate(page)
    func = ("do_wp_page: wp_page_copy" if pte is not None else "do_cow_fault: __do_fault, "
            "copy_user_highpage") + f" (page {page} -> private anonymous folio #{fid}), " \
        "pte writable+dirty"
    return [Move(func, c.goto(k, ret))]


#: the operations whose faults are CPU page faults (do_user_addr_fault), not GUP's
CPU_ACCESSES = frozenset({"store", "load"})


def under_vma_lock(c: Ctx) -> bool:
    """Whether this fault holds the VMA's own read lock, not mmap_read_lock
    (:attr:`~.config.KernelConfig.fault_vma_lock`): a CPU access's first attempt, on a
    mapping with ->map_pages (FS-DAX's fault is redone under mmap_read_lock at once:
    :attr:`.fsops.VmOps.map_pages`); a retry after VM_FAULT_RETRY and every GUP fault take
    mmap_read_lock."""
    return (c.cfg.fault_vma_lock and bool(c.op) and c.op[0] in CPU_ACCESSES
            and c.env.fs.vm_ops.map_pages and may_drop_lock(c))


def fault_lock(c: Ctx) -> str:
    """How do_user_addr_fault took the lock its fault holds, for a label."""
    return ("lock_vma_under_rcu (the VMA's read lock)" if under_vma_lock(c)
            else "lock_mm_and_find_vma (mmap_read_lock)")


def fault_unlock(c: Ctx) -> str:
    """How a fault releases that lock (release_fault_lock), for a label."""
    return "vma_end_read" if under_vma_lock(c) else "mmap_read_unlock"


def may_drop_lock(c: Ctx) -> bool:
    """Whether this operation's next fault may drop mmap_read_lock to sleep and return
    VM_FAULT_RETRY: not on a retry (FAULT_FLAG_TRIED)."""
    return not c.var("ftried")


def fault_done(c: Ctx, k: KState) -> KState:
    """The retried fault is over: FAULT_FLAG_TRIED does not carry over to the next fault."""
    if c.var("ftried"):
        return c.goto(k, k.threads[c.me].stage, ftried=False)
    return k


def stage_lock_wait(c: Ctx) -> Outcome:
    """filemap_fault's first attempt sleeps in __folio_lock_killable without mmap_read_lock,
    holding a reference to the folio (``fwait``: reclaim cannot free it meanwhile); once it
    has the folio it unlocks it, drops the reference and returns VM_FAULT_RETRY: the
    operation redoes the fault at ``fretry`` with FAULT_FLAG_TRIED (that attempt sleeps
    holding the lock).  A folio truncate removed meanwhile is freed by this last put."""
    fid = c.var("fwait")
    f = c.k.folio_at(fid)
    if f.locked is not None and f.locked != c.name:
        return Blocked(f"folio lock of page {f.index} (mmap_lock dropped)", (f.locked,))
    f = replace(f, refcount=f.refcount - 1)
    k = c.k.with_folio_at(fid, None if f.refcount == 0 and not f.mapping else f)
    return [Move("filemap_fault: __folio_lock_killable, folio_unlock, folio_put, "
                 "VM_FAULT_RETRY", c.goto(k, c.var("fretry"), ftried=True))]


def filemap_fault(k: KState, page: int) -> KState:
    """filemap_fault -> filemap_read_folio: a new uptodate folio, read from disk.

    ext4 reads with mpage_readahead, which attaches no buffer_heads to fully mapped pages.
    """
    data = k.disk[page * SUBBLOCKS:(page + 1) * SUBBLOCKS]
    return k.add_to_cache(page, Folio(index=page, data=tuple(data), refcount=1))


#: a ->page_mkwrite's own preparation of the locked folio for dirtying: (ctx, state, page,
#: folio) -> (state, folio, what it did: a label fragment) or the label of its -ENOSPC
Prepare = Callable[[Ctx, KState, int, Folio], "tuple[KState, Folio, str] | str"]


def mkwrite_fault(c: Ctx, k: KState, page: int, ret: str, fail: str, fail_stage: str | None,
                  *, stage: str, page_mkwrite: Callable[[Ctx], Outcome]) -> Outcome:
    """A write fault on a filesystem whose ->page_mkwrite returns with the folio locked (ext4,
    XFS): ->fault reads the page in if it is not cached (a step of its own), then
    ``page_mkwrite`` — the filesystem's stage ``stage``, which calls :func:`locked_mkwrite`.
    A ``page_mkwrite`` that must sleep (the folio lock, invalidate_lock) sleeps at ``stage``,
    past ->fault (:func:`mkwrite_sleeps`)."""
    k2 = c.goto(k, stage, fpage=page, fret=ret, ffail=fail, ffailstage=fail_stage)
    if k.cached(page) is None:
        filled = filemap_fill(c, k2, page)
        if isinstance(filled, Blocked):
            return filled
        return [Move(f"{c.env.fs.vm_ops.fault}: read the page into the page cache",
                     fault_hold(c, filled, page))]
    return mkwrite_sleeps(c, k2, page, page_mkwrite(replace(c, k=k2)))


def mkwrite_sleeps(c: Ctx, k: KState, page: int, out: Outcome) -> Outcome:
    """``out``, what ->page_mkwrite does from ``k`` (which has the thread at its stage); if it
    must sleep, a step into that sleep, holding the folio reference the fault took
    (:func:`fault_hold`).  The sleeping fault is past ->fault: when it wakes it goes on in
    ->page_mkwrite (holding mmap_read_lock throughout), not back through filemap_fault, whose
    first attempt would drop the lock where the folio is locked and no PTE maps it."""
    if not isinstance(out, Blocked):
        return out
    if c.var("fref") is not None:  # already asleep: it took its reference then
        return [Move(f"->page_mkwrite sleeps ({out.on})", k)]
    return [Move(f"do_page_mkwrite: folio_get, ->page_mkwrite sleeps ({out.on})",
                 fault_hold(c, k, page))]


def mkwrite_nopage(c: Ctx, k: KState, why: str) -> list[Move]:
    """->page_mkwrite finds the fault's folio truncated since ->fault (``why``), releases its
    locks and returns VM_FAULT_NOPAGE: the fault is over with nothing mapped, and the
    operation goes on at ``fret`` as after any fault, where it finds no PTE and faults again
    (a CPU store is retried, GUP's follow_page_mask fails once more)."""
    return [Move(f"{why}, VM_FAULT_NOPAGE", c.goto(k, c.var("fret")))]


def fault_hold(c: Ctx, k: KState, page: int) -> KState:
    """The folio reference a write fault holds between ->fault and the end of ->page_mkwrite
    (__do_fault's, or do_wp_page's folio_get in wp_page_shared), kept as the local ``fref``
    where the fault takes steps in between: reclaim cannot free the folio meanwhile
    (is_page_cache_freeable fails), truncate can still remove it from the page cache."""
    fid = k.fid(page)
    f = k.folio_at(fid)
    k = k.with_folio_at(fid, replace(f, refcount=f.refcount + 1))
    return c.goto(k, k.threads[c.me].stage, fref=fid)


def fault_put(c: Ctx, k: KState) -> KState:
    """->page_mkwrite is past its sleeps: folio_put of :func:`fault_hold`'s reference, if the
    fault took one, which frees a folio truncate removed meanwhile."""
    fid = c.var("fref")
    if fid is None:
        return k
    f = k.folio_at(fid)
    f = replace(f, refcount=f.refcount - 1)
    k = k.with_folio_at(fid, None if f.refcount == 0 and not f.mapping else f)
    return c.forget(k, "fref")


def locked_mkwrite(c: Ctx, *, name: str, nopage: str, prepare: Prepare) -> Outcome:
    """What ext4_page_mkwrite and iomap_page_mkwrite share: filemap_invalidate_lock_shared
    (XFS_MMAPLOCK_SHARED), folio_lock, a folio truncated since ->fault retries the fault
    (VM_FAULT_NOPAGE, ``nopage`` names the check: the fault's own folio, ``fref``, left the
    page cache), the filesystem's ``prepare`` (-ENOSPC is VM_FAULT_SIGBUS: SIGBUS for a
    store, -EFAULT for GUP), folio_mark_dirty; the fault goes on at fault:install
    (folio_wait_stable, the PTE) with the folio locked (VM_FAULT_LOCKED).  It sleeps
    (:func:`mkwrite_sleeps`) on invalidate_lock holding nothing more, and on the folio lock
    holding invalidate_lock too: a truncate cannot start meanwhile."""
    k, page, own = c.k, c.var("fpage"), c.var("fref")
    held = holds_read(k, c.name, INVALIDATE_LOCK)
    if not held:
        blocked = can_read(INVALIDATE_LOCK, k)
        if blocked:
            return blocked
        k = read_acquired(k, c.name, INVALIDATE_LOCK)
    f = k.cached(page)
    if f is not None and own in (None, k.cache[page]) and f.locked not in (None, c.name):
        if held:
            return Blocked(f"folio lock of page {page}", (f.locked,))
        return mkwrite_sleeps(c, k, page, Blocked(
            f"filemap_invalidate_lock_shared, folio lock of page {page}", (f.locked,)))
    k = fault_put(c, k)
    if f is None or own not in (None, k.cache[page]):
        return mkwrite_nopage(c, up_read(k, c.name, INVALIDATE_LOCK), f"{name}: {nopage}")
    prepared = prepare(c, k, page, k.folio(page))
    if isinstance(prepared, str):
        return vm_fault_sigbus(c, up_read(k, c.name, INVALIDATE_LOCK),
                               f"{name}: folio_lock, {prepared}, VM_FAULT_SIGBUS",
                               c.var("ffail"), c.var("ffailstage"))
    k, f, did = prepared
    k = k.with_folio(page, replace(f, locked=c.name, prepared=True))
    k = folio_mark_dirty(c, k, k.fid(page), who=c.name)
    return [Move(f"{name}: {did}folio_mark_dirty", c.goto(k, "fault:install"))]


def stage_install(c: Ctx) -> Outcome:
    """folio_wait_stable (a stable-writes device only: also under block-writeback, whose
    author relied on it "on the devices that require stable pages"), then
    wp_page_reuse/finish_fault and fault_dirty_shared_page."""
    k, page = c.k, c.var("fpage")
    f = k.folio(page)
    if c.env.stable_writes and f.writeback:
        return Blocked(f"folio_wait_stable: writeback of page {page}",
                       k.writeback_holders(k.fid(page)))
    pte = k.ptes[page]
    if pte is None:  # finish_fault maps the folio: one more mapping, one more reference
        f = replace(f, mapcount=f.mapcount + 1, refcount=f.refcount + 1)
    k = k.with_folio(page, replace(f, locked=None))
    k = k.with_pte(page, Pte(writable=True, dirty=True))
    k = up_read(k, c.name, INVALIDATE_LOCK)  # filemap_invalidate_unlock_shared
    k, unlock = fault_dirty_shared_page(c, k, c.var("fret"))
    func = ("wp_page_reuse: pte writable+dirty" if pte is not None
            else "finish_fault: map pte writable+dirty") + \
        ", fault_dirty_shared_page: folio_unlock, filemap_invalidate_unlock_shared" + unlock
    return [Move(func, k)]


#: + STORE_STAGES; ->page_mkwrite's are the fs's
FAULT_STAGES = {"fault:install": stage_install, "fault:lockwait": stage_lock_wait,
                "fault:rawait": stage_readahead_wait}


# --- the user operations: a CPU store and a CPU load -----------------------------------------

def store(c: Ctx) -> Outcome:
    """("store", page, block, value): a CPU store through the mapping.

    Through a writable PTE it is one step, with no kernel involvement: the MMU sets the PTE
    dirty bit.  Otherwise the store faults (``do_user_addr_fault``: ``lock_mm_and_find_vma``
    takes mmap_read_lock, held across the whole fault, ->page_mkwrite included) and is retried
    once the fault is handled; with no VMA there (munmap) it is ``bad_area``: SIGSEGV.
    """
    _, page, block, value = c.op
    k = c.k
    pte = k.ptes[page]
    if pte is not None and pte.writable:
        fid = k.mapped_fid(page)
        f = k.folio_at(fid)
        data = f.data[:block] + (value,) + f.data[block + 1:]
        k = k.with_folio_at(fid, replace(f, data=data))
        k = k.with_pte(page, replace(pte, dirty=True))
        if not c.env.private:  # a private copy's data never reaches the file
            k = k.instant_write(page, (block,), value)
        return [Move(f"store {value} to page {page} block {block} (pte writable)",
                     c.finish(k))]
    locked = lock_mm_and_find_vma(c, page)
    if not isinstance(locked, KState):
        return locked
    return [Move(f"do_user_addr_fault(page {page}): {fault_lock(c)}",
                 c.goto(locked, "st:fault"))]


def stage_store_fault(c: Ctx) -> Outcome:
    """handle_mm_fault; a first attempt may drop mmap_read_lock and be redone (the store is
    retried from its start)."""
    return fault_begin(c, c.k, c.op[1], ret="st:unlock", fail_stage="st:sigbus",
                       retry="" if may_drop_lock(c) else None)


def stage_store_unlock(c: Ctx) -> Outcome:
    """The fault is handled: mmap_read_unlock; the store is retried."""
    k = fault_done(c, c.goto(up_read(c.k, c.name), ""))
    return [Move(f"{fault_unlock(c)}, return to user space (retry the store)", k)]


def stage_store_sigbus(c: Ctx) -> Outcome:
    k = writes_abandoned(c, up_read(c.k, c.name))
    return [Move(f"{fault_unlock(c)}, force_sig(SIGBUS)", c.finish(k, "SIGBUS"))]


def load(c: Ctx) -> Outcome:
    """("load", page): a CPU load through the mapping; the result is what it read.  With no
    PTE it faults (``do_user_addr_fault``: mmap_read_lock, find_vma — SIGSEGV after munmap —
    the read fault, mmap_read_unlock) in one step, and the load is retried.  A first attempt
    that finds the folio locked drops the lock and waits (:func:`filemap_lock_wait`); the
    retry, if it must sleep too, takes the lock in a step of its own and sleeps holding it
    (:func:`stage_load_fault`)."""
    page = c.op[1]
    k = c.k
    pte = k.ptes[page]
    if pte is not None:
        data = "|".join(k.folio_at(k.mapped_fid(page)).data)
        return [Move(f"load page {page}: {data}", c.finish(k, f"load={data}"))]
    locked = lock_mm_and_find_vma(c, page)
    if not isinstance(locked, KState):
        return locked
    ended = _load_ends(c, k, page, "")
    if ended is not None:
        return ended
    out = read_fault(c, locked, page, ret="", retry="" if may_drop_lock(c) else None)
    if isinstance(out, Blocked):
        return [Move(f"do_user_addr_fault(page {page}): {fault_lock(c)}",
                     c.goto(locked, "ld:fault"))]
    return [replace(m, state=fault_done(c, up_read(m.state, c.name)))
            if holds_read(m.state, c.name) else m for m in out]  # not if it dropped the lock


def _load_ends(c: Ctx, k: KState, page: int, unlock: str) -> list[Move] | None:
    """The fault of a load that ends without mapping the page: beyond i_size (filemap_fault
    or dax_iomap_fault: VM_FAULT_SIGBUS), or an FS-DAX hole (dax_load_hole maps the zero
    page).  Checked again after a sleep: a truncate or hole punch may have run meanwhile.
    ``unlock``: the label of the release of mmap_read_lock, which the load then holds, or
    "" (not taken yet)."""
    if page >= k.i_size:
        func, result = f"{c.env.fs.vm_ops.fault}: page {page} beyond i_size, VM_FAULT_SIGBUS", \
            "SIGBUS"
    elif c.env.fs.dax and k.cache[page] is None:
        func = f"dax_iomap_fault: page {page} is a hole, dax_load_hole (zero page)"
        result = "load=" + "|".join(("Z0",) * SUBBLOCKS)
    else:
        return None
    return [Move(func + unlock, c.finish(up_read(k, c.name) if unlock else k, result))]


def stage_load_fault(c: Ctx) -> Outcome:
    """The read fault sleeps holding mmap_read_lock (a retry on a locked folio; any attempt
    on a pre-5.15 ext4 or XFS truncate lock, after which a first attempt may still drop the
    lock: :func:`filemap_lock_wait`); then mmap_read_unlock, and the load is retried."""
    ended = _load_ends(c, c.k, c.op[1], f", {fault_unlock(c)}")
    if ended is not None:
        return ended
    out = read_fault(c, c.k, c.op[1], ret="", retry="" if may_drop_lock(c) else None)
    if isinstance(out, Blocked):
        return out
    return [replace(m, func=f"{m.func}, {fault_unlock(c)}",
                    state=fault_done(c, up_read(m.state, c.name)))
            if holds_read(m.state, c.name) else m for m in out]


STORE_STAGES = {"st:fault": stage_store_fault, "st:unlock": stage_store_unlock,
                "st:sigbus": stage_store_sigbus, "ld:fault": stage_load_fault}
