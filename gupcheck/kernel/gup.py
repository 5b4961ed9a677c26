"""get_user_pages / pin_user_pages: taking and dropping references on user pages.

mm/gup.c.  ``try_grab_folio``: FOLL_GET adds 1 to the refcount; FOLL_PIN on a small folio adds
``GUP_PIN_COUNTING_BIAS`` (1024), so that ``folio_maybe_dma_pinned`` (refcount >= 1024) can see
it — fuzzily: 1024 plain references look pinned too (a false positive the kernel accepts).
Before 5.7 (no pin counting) a pin is a plain reference.

GUP-fast (``gup_fast_pte_range``) walks the page tables without locks: it grabs the folio, then
re-checks the PTE and backs off if it changed; a write GUP never takes a read-only PTE and falls
back to the slow path (``__get_user_pages``), which write-faults the page through
``->page_mkwrite`` (:mod:`.fault`) and then grabs it (``follow_page_mask``).  In this
sequentially consistent model the grab and the re-check are one atomic step.

The slow path runs under ``mmap_read_lock`` (``__gup_longterm_locked`` and
``get_user_pages_unlocked`` take it; ``pin_user_pages_remote``'s caller holds it), so a
``munmap`` waits for it; with no VMA at the address (``gup_vma_lookup``, ``find_extend_vma``
before 6.5) it returns -EFAULT.  Taking the lock and the fault's first step are one step,
unless the fault must sleep: then the lock is taken alone and the fault sleeps holding it.

A call for several pages (a direct-I/O read's range) holds the lock from the first page the
slow path takes to the last: GUP-fast grabs pages from the start of the range until one
needs the slow path (``gup_fast``), and the rest go to ``get_user_pages_unlocked`` (6.1;
``__gup_longterm_locked`` with FOLL_UNLOCKABLE from 6.3), which takes mmap_read_lock once and
runs ``__get_user_pages_locked`` over them.  Only a fault drops it in between: one that
sleeps on a locked folio (VM_FAULT_RETRY), or, from 5.8, a write fault on a shared mapping
once it is done (fault_dirty_shared_page, VM_FAULT_COMPLETED); GUP then takes it again for
that page, with FOLL_TRIED (:func:`stage_retry`), and keeps it for the rest of the range.
"""

from __future__ import annotations

from typing import Any

from .actor import Blocked, Ctx, Move, Outcome
from .dirty import folio_mark_dirty
from .fault import (
    fault_begin,
    fault_done,
    may_drop_lock,
    read_fault,
    vm_fault_sigbus,
    with_lock_taken,
)
from .locks import INVALIDATE_LOCK, can_read, down_read, holds_read, up_read
from .state import GUP_PIN_COUNTING_BIAS, Folio, KState, replace


def pin_bias(f: Folio, pin_counting: bool) -> int:
    """What one FOLL_PIN adds to the refcount: GUP_PIN_COUNTING_BIAS on a small folio; 1 on a
    large folio, whose pins go to the exact _pincount (mm/gup.c try_grab_folio); 1 before 5.7."""
    return GUP_PIN_COUNTING_BIAS if pin_counting and not f.large else 1


def grab(k: KState, fid: int, *, pin: bool, pin_counting: bool,
         hold_writeback: bool = False, mutations: frozenset[str] = frozenset()) -> KState:
    """try_grab_folio: FOLL_PIN or FOLL_GET on one folio.  ``hold_writeback``: block-writeback's
    write pin also marks the folio under writeback (see :func:`holds_writeback`).  Mutation
    (tests only) ``pin-without-bias``: the pin adds 1, not GUP_PIN_COUNTING_BIAS, yet counts in
    nr_foll_pin_acquired — folio_maybe_dma_pinned() misses it."""
    f = k.folio_at(fid)
    if pin:
        bias = pin_bias(f, pin_counting)
        if "pin-without-bias" in mutations:  # mutant: a FOLL_PIN taken as a plain reference
            bias = 1
        f = replace(f, refcount=f.refcount + bias, pins=f.pins + 1,
                    writeback=f.writeback or hold_writeback)
        k = k.with_folio_at(fid, f)
        return k.with_ghost(pins_acquired=k.ghost.pins_acquired + 1)
    return k.with_folio_at(fid, replace(f, refcount=f.refcount + 1, gets=f.gets + 1))


def holds_writeback(c: Ctx, k: KState, fid: int, *, write: bool, pin: bool) -> bool:
    """block-writeback (Dave Chinner, <20181213005119.GD29416@dastard>): "mark pages being
    written to by a GUP as PageWriteback, so all attempts to write the page will block on
    wait_on_page_writeback()".  A FOLL_WRITE pin of a file's page-cache folio on a filesystem
    with writeback (not shmem, not FS-DAX) sets PG_writeback until the last unpin."""
    if c.cfg.writeback_pinned != "block" or not (write and pin and c.cfg.pin_counting):
        return False
    f = k.folio_at(fid)
    return f.mapping and not f.anon and c.env.fs.writeback and not c.env.fs.dax


def pins_hold_writeback(k: KState, fid: int) -> bool:
    """PG_writeback set by block-writeback's pins, not by a write bio in flight."""
    return k.folio_at(fid).writeback and not k.write_bio_in_flight(fid)


def wait_writeback_to_pin(k: KState, fid: int, page: int) -> Blocked | None:
    """block-writeback: PG_writeback is set under the folio lock (as folio_start_writeback
    requires), so the pin takes folio_lock, waits for the writeback bio in flight
    (folio_wait_writeback: no DMA lands in a page the device is still reading), sets the flag
    and unlocks, in one step here.  A folio held by other pins is already "under writeback"
    for them, and the new pin shares it."""
    f = k.folio_at(fid)
    if f.locked is not None:
        return Blocked(f"folio lock of page {page} (block-writeback pin)", (f.locked,))
    if f.writeback and not pins_hold_writeback(k, fid):
        return Blocked(f"folio_wait_writeback (block-writeback pin): writeback of page {page}",
                       ("disk",))
    return None


def release(c: Ctx, k: KState, fid: int, *, pin: bool,
            mutations: frozenset[str] = frozenset()) -> KState:
    """unpin_user_page (gup_put_folio with FOLL_PIN) or put_page.

    The last reference to an orphan (a folio truncate removed from the page cache) frees it.
    Mutation (tests only) ``unpin-as-put-page``: a pin released with put_page — the refcount
    drops by 1, not by the bias, and nr_foll_pin_released does not count it: the pin leaks.
    """
    f = k.folio_at(fid)
    if pin and "unpin-as-put-page" in mutations:
        f = replace(f, refcount=f.refcount - 1, pins=f.pins - 1)  # the user thinks it unpinned
    elif pin:
        f = replace(f, refcount=f.refcount - pin_bias(f, c.cfg.pin_counting), pins=f.pins - 1)
        k = k.with_ghost(pins_released=k.ghost.pins_released + 1)
    else:
        f = replace(f, refcount=f.refcount - 1, gets=f.gets - 1)
    if f.refcount == 0 and not f.mapping:
        return k.with_folio_at(fid, None)  # free_unref_folios
    k = k.with_folio_at(fid, f)
    return end_held_writeback(c, k, fid) if pin else k


def unpin_dirty(c: Ctx, k: KState, fid: int, *, pin: bool, who: str) -> KState | Blocked:
    """Release a page a GUP user wrote: ``unpin_user_pages_dirty_lock(..., make_dirty)`` —
    if the folio is not dirty, folio_lock, folio_mark_dirty, folio_unlock; then unpin (no
    ->page_mkwrite).  A FOLL_GET user (every GUP user before 5.7) does ``set_page_dirty_lock``
    (always) then ``put_page``."""
    f = k.folio_at(fid)
    if not pin or not c.cfg.pin_counting or not f.dirty:
        if f.locked is not None:
            return Blocked(f"folio lock of page {f.index}", (f.locked,))
        k = folio_mark_dirty(c, k, fid, who=who)
    return release(c, k, fid, pin=pin)


def put_user_page_mkwrite(c: Ctx, k: KState, fid: int, page: int, *, pin: bool
                          ) -> tuple[KState, str] | Blocked:
    """bounce-writeback-mkwrite's ``put_user_page(page, dirty)`` once it holds the folio lock:
    the ->page_mkwrite path, then folio_mark_dirty, folio_unlock and the unpin; the state and
    the step's label.  Jérôme Glisse's put_user_page (12 Dec 2018) does "the whole dance ie
    page_mkwrite and all before calling set_page_dirty()" wherever a GUP user releases a page
    it wrote: ``bio_dirty_work`` after a direct-I/O read, RDMA deregistration,
    process_vm_writev.

    ->page_mkwrite needs the VMA (mmap_read_lock) and filemap_invalidate_lock_shared, which
    truncate holds for writing while it waits for this very folio lock: the lock inversion
    Dave Chinner objected to.  It reserves space (btrfs: every rewrite; ext4: the page's
    holes), and at unpin time that is *after* the DMA: with the filesystem full meanwhile,
    -ENOSPC for data the device already wrote ("Think ENOSPC").

    In a fault the error goes back to the faulting task: ``ext4_page_mkwrite`` returns
    ``block_page_mkwrite_return(-ENOSPC)`` and ``btrfs_page_mkwrite`` ``vmf_error(-ENOSPC)``,
    both VM_FAULT_SIGBUS, and neither records anything in the mapping.  put_user_page returns
    nothing to its caller (in bio_dirty_work, read() has long returned), so the only channel
    left is the one the kernel uses for every write that fails after it was acknowledged,
    ``mapping_set_error`` (``errseq_set(&mapping->wb_err, -ENOSPC)``), which the next
    fsync/msync reports; that is what ``btrfs_writepage_fixup_worker`` does when its late
    reservation for a page dirtied without ->page_mkwrite fails.  The folio is not dirtied
    (the set_page_dirty is what ->page_mkwrite was to make legal), so the device's data stays
    only in the page cache until reclaim or truncate drops it."""
    locked = down_read(k, c.name)  # ->page_mkwrite needs the VMA: mmap_read_lock
    if isinstance(locked, Blocked):
        return locked
    blocked = can_read(INVALIDATE_LOCK, k)
    if blocked:
        return blocked
    f = k.folio_at(fid)
    prepare = c.env.fs.prepare_dirty  # ->page_mkwrite's reservation (btrfs, ext4)
    if prepare is not None:
        prepared = prepare(k, fid, page)
        if isinstance(prepared[0], str):
            reserve, what = prepared
            k = k.violate("no-enospc-after-dma",
                          f"put_user_page's ->page_mkwrite cannot reserve {what} for page "
                          f"{page} (-ENOSPC) after the device wrote it: the data is dropped, "
                          "and only a later fsync learns it (mapping_set_error)")
            k = k.with_folio_at(fid, replace(k.folio_at(fid), locked=None))
            k = replace(release(c, k, fid, pin=pin), wb_err=k.wb_err + 1, wb_errno="ENOSPC")
            return k, (f"put_user_page: ->page_mkwrite: {reserve} fails (-ENOSPC), data "
                       f"dropped, mapping_set_error(-ENOSPC), folio_unlock, unpin (page {page})")
        k, f = prepared
    k = k.with_folio_at(fid, replace(f, prepared=True))
    k = folio_mark_dirty(c, k, fid, who="put_user_page (->page_mkwrite)")
    k = k.with_folio_at(fid, replace(k.folio_at(fid), locked=None))
    return release(c, k, fid, pin=pin), (
        "put_user_page: mmap_read_lock, ->page_mkwrite (filemap_invalidate_lock_shared), "
        f"folio_mark_dirty, folio_unlock, mmap_read_unlock, unpin (page {page})")


def put_user_page_in_task(c: Ctx, page: int, fid: int, stage: str, *, pin: bool
                          ) -> Outcome | tuple[KState, str] | None:
    """bounce-writeback-mkwrite's put_user_page(page, dirty) in a task releasing a file page
    it wrote (RDMA deregistration, process_vm_writev): first the folio lock, a step after
    which the caller goes on at ``stage`` (:func:`put_user_page_lock`), then, holding it,
    :func:`put_user_page_mkwrite` (its state and label, or Blocked).  None when the design
    has no such put_user_page or the page is not the file's: the caller's own release."""
    if c.cfg.unpin_mkwrite and c.k.folio_at(fid).locked == c.name:
        return put_user_page_mkwrite(c, c.k, fid, page, pin=pin)
    return put_user_page_lock(c, page, fid, stage)


def put_user_page_lock(c: Ctx, page: int, fid: int, stage: str) -> Outcome | None:
    """bounce-writeback-mkwrite, in a task: put_user_page first takes the folio lock, and the
    caller goes on at ``stage`` holding it; None when the design has no such put_user_page,
    the page is not the file's, or the lock is held."""
    f = c.k.folio_at(fid)
    if not c.cfg.unpin_mkwrite or not f.mapping or f.anon or f.locked == c.name:
        return None
    if f.locked is not None:
        return Blocked(f"folio lock of page {page}", (f.locked,))
    k = c.k.with_folio_at(fid, replace(f, locked=c.name))
    return [Move(f"put_user_page(page {page}, dirty): folio_lock", c.goto(k, stage))]


def end_held_writeback(c: Ctx, k: KState, fid: int) -> KState:
    """block-writeback: the last unpin dirties the folio (set_page_dirty, as every GUP user
    does at release) and ends the writeback its pins held (folio_end_writeback), so that
    writers waiting in folio_wait_writeback/folio_wait_stable and fsync go on.  A folio that
    nobody could clean while it was held is still dirty: the dirtying is a no-op then."""
    if not pins_hold_writeback(k, fid) or k.folio_at(fid).maybe_dma_pinned():
        return k
    if not k.folio_at(fid).dirty:
        k = folio_mark_dirty(c, k, fid, who="unpin (block-writeback)")
    return k.with_folio_at(fid, replace(k.folio_at(fid), writeback=False))


def gup_begin(c: Ctx, page: int, *, write: bool, pin: bool, ret: str,
              fail: str = "-EFAULT", fail_stage: str | None = None,
              fast: bool = True, unlockable: bool = True, last: int | None = None) -> Outcome:
    """The first step of get/pin_user_pages_fast on one page; the thread goes on at ``ret``.

    If the page cannot be faulted in (beyond i_size) the operation returns ``fail``.
    ``fast`` false: a caller without GUP-fast, which takes mmap_read_lock and goes straight
    to __get_user_pages (pin_user_pages_remote).  ``unlockable`` false: the caller holds the
    lock and GUP may not drop it (pin_user_pages without FOLL_UNLOCKABLE; see
    :func:`_faultin`).  ``last``: the call's range ends at that page, and the caller asks for
    its pages one after the other: the slow path keeps mmap_read_lock until ``last`` is
    grabbed, and a page asked for while the thread holds it goes on under it
    (:func:`_next_page`).
    """
    k = c.k
    if last is not None and holds_read(k, c.name):
        return _next_page(c, page, write=write, pin=pin, ret=ret, fail=fail,
                          fail_stage=fail_stage, last=last)
    pte = k.ptes[page]
    pinned = pin and c.cfg.pin_counting  # before 5.7 a "pin" is a get_user_pages reference
    kind = "pin_user_pages_fast" if pinned else "get_user_pages_fast"
    present = pte is not None and (pte.writable or not write)
    if fast and present:
        fid = k.mapped_fid(page)
        hold = holds_writeback(c, k, fid, write=write, pin=pin)
        if hold and (blocked := wait_writeback_to_pin(k, fid, page)):
            return blocked
        k = grab(k, fid, pin=pin, pin_counting=c.cfg.pin_counting, hold_writeback=hold,
                 mutations=c.cfg.mutations)
        what = ("FOLL_PIN" if pinned else "FOLL_GET") + (_HELD if hold else "")
        return [Move(f"{kind}: gup_fast_pte_range grabs page {page} ({what})",
                     c.goto(k, ret, gpin=pin, gfid=fid))]
    # the slow path: under mmap_read_lock, find the VMA, fault the page in (for writing if
    # FOLL_WRITE), then grab it (stage_grab), and mmap_read_unlock
    locked = down_read(k, c.name)
    if isinstance(locked, Blocked):
        return locked
    if not k.has_vma(page):  # __get_user_pages: vma_lookup finds none
        return vm_fault_sigbus(c, k, no_vma("__get_user_pages", page), fail, fail_stage)
    return _locked_walk(c, locked, page, write, pin, "__get_user_pages: mmap_read_lock",
                        gret=ret, gfail=fail, gfailstage=fail_stage,
                        **({} if unlockable else {"gkeeplock": True}),
                        **({} if last is None else {"glast": last}))


def _next_page(c: Ctx, page: int, *, write: bool, pin: bool, ret: str, fail: str,
               fail_stage: str | None, last: int) -> Outcome:
    """__get_user_pages' loop on the next page of the range, under the mmap_read_lock the
    previous page's slow path kept: no GUP-fast, no lock to take; a fault that must sleep
    sleeps here, holding it."""
    k = c.k
    if not k.has_vma(page):
        return vm_fault_sigbus(c, up_read(k, c.name), f"__get_user_pages: no VMA at page "
                               f"{page}: -EFAULT, mmap_read_unlock", fail, fail_stage)
    return _locked_walk(c, k, page, write, pin, "__get_user_pages: next page", held=True,
                        gret=ret, gfail=fail, gfailstage=fail_stage, glast=last)


def no_vma(who: str, page: int) -> str:
    """The label of a GUP that finds no VMA at ``page`` (munmap): -EFAULT."""
    return f"{who}: mmap_read_lock, no VMA at page {page}: -EFAULT, mmap_read_unlock"


def _locked_walk(c: Ctx, k: KState, page: int, write: bool, pin: bool, how: str,
                 held: bool = False, **call: Any) -> Outcome:
    """__get_user_pages in the step that took mmap_read_lock (``k`` holds it; ``how``
    labels that): follow_page_mask grabs the page through a PTE that allows the access,
    else faultin_page.  ``held``: the lock was taken for an earlier page of the range, so a
    fault or pin that must sleep is no step of its own: the thread waits where it is.
    ``call``: the rest of the call (where it returns, how it fails), kept as GUP locals."""
    k = c.goto(k, c.thread.stage, gpage=page, gpin=pin, gwrite=write, **call)
    c = replace(c, k=k)
    pte = k.ptes[page]
    if pte is None or (write and not pte.writable):
        return _faultin(c, k, page, write, begin=f"{how}, faultin_page", held=held)
    out = _grab(c, page, pin, write, how=f"{how}, ")
    if isinstance(out, Blocked) and not held:  # block-writeback: the pin waits, holding the lock
        return [Move(how, c.goto(k, "gup:grab"))]
    return out


def stage_retry(c: Ctx) -> Outcome:
    """__get_user_pages_locked after the fault dropped mmap_read_lock (VM_FAULT_RETRY: it
    slept on the folio; VM_FAULT_COMPLETED: it was done, faultin_page's -EAGAIN):
    mmap_read_lock again and __get_user_pages with FOLL_TRIED, which looks the VMA up again
    (and the page: another thread may have mapped it meanwhile)."""
    locked = down_read(c.k, c.name)
    if isinstance(locked, Blocked):
        return locked
    if not c.k.has_vma(c.var("gpage")):
        return vm_fault_sigbus(c, c.k, no_vma("__get_user_pages_locked: retry",
                                              c.var("gpage")),
                               c.var("gfail"), c.var("gfailstage"))
    return _locked_walk(c, locked, c.var("gpage"), c.var("gwrite"), c.var("gpin"),
                        "__get_user_pages_locked: retry, mmap_read_lock", ftried=True)


def _retry(c: Ctx) -> str | None:
    """Where a fault that drops mmap_read_lock has GUP go on (:func:`stage_retry`), or None:
    this page's fault is already a retry (FOLL_TRIED), or the caller may not drop the lock
    (no FOLL_UNLOCKABLE)."""
    return "gup:retry" if may_drop_lock(c) and not c.var("gkeeplock") else None


def stage_fault(c: Ctx) -> Outcome:
    """faultin_page, once what it sleeps on (a folio lock, invalidate_lock) is free; also
    __get_user_pages' fault again when the PTE went between the fault and the grab."""
    k, page = c.k, c.var("gpage")
    if c.var("gwrite") or page >= k.i_size:
        return fault_begin(c, k, page, ret="gup:grab", fail_stage="gup:failed", retry=_retry(c))
    return read_fault(c, k, page, ret="gup:grab", retry=_retry(c))


def _faultin(c: Ctx, k: KState, page: int, write: bool, *, begin: str,
             held: bool = False) -> Outcome:
    """faultin_page in the step that took mmap_read_lock (``begin``): a write fault (through
    ->page_mkwrite) for FOLL_WRITE, else a read fault; one that must sleep takes the lock
    alone and sleeps holding it (:func:`stage_fault`).  A fault that fails (VM_FAULT_SIGBUS)
    goes on at :func:`stage_fault_failed`.  A GUP that may drop the lock (FOLL_UNLOCKABLE:
    the _fast, _unlocked and _remote-with-locked callers) may return VM_FAULT_RETRY on a first
    attempt, redone at :func:`stage_retry` (FOLL_TRIED)."""
    c = replace(c, k=k)
    if write or page >= k.i_size:
        out = fault_begin(c, k, page, ret="gup:grab", fail_stage="gup:failed", retry=_retry(c))
    else:
        out = read_fault(c, k, page, ret="gup:grab", retry=_retry(c))
    if held and isinstance(out, Blocked):
        return out
    return with_lock_taken(c, k, out, begin=begin, sleep="gup:fault", sep=" -> ")


def stage_fault_failed(c: Ctx) -> Outcome:
    """__get_user_pages: the fault failed; GUP returns -EFAULT (or the pages it got) after
    mmap_read_unlock, and the operation goes on as its caller said."""
    return vm_fault_sigbus(c, up_read(c.k, c.name), "__get_user_pages: -EFAULT, "
                           "mmap_read_unlock", c.var("gfail"), c.var("gfailstage"))


def stage_grab(c: Ctx) -> Outcome:
    """__get_user_pages after faultin_page: follow_page_mask -> try_grab_folio.

    follow_page_mask finds the page only through a PTE that allows the access; if reclaim or
    writeback took it away meanwhile, __get_user_pages faults again.
    """
    page, pin, write = c.var("gpage"), c.var("gpin"), c.var("gwrite")
    pte = c.k.ptes[page]
    if pte is None or (write and not pte.writable):
        return stage_fault(c)
    return _grab(c, page, pin, write, how="__get_user_pages: ")


def _grab(c: Ctx, page: int, pin: bool, write: bool, *, how: str) -> Outcome:
    """follow_page_mask -> try_grab_folio through a PTE that allows the access, then
    mmap_read_unlock (``how``: what the same step did before)."""
    fid = c.k.mapped_fid(page)
    hold = holds_writeback(c, c.k, fid, write=write, pin=pin)
    if hold and (blocked := wait_writeback_to_pin(c.k, fid, page)):
        return blocked
    k = grab(c.k, fid, pin=pin, pin_counting=c.cfg.pin_counting, hold_writeback=hold,
             mutations=c.cfg.mutations)
    kind = ("FOLL_PIN" if pin and c.cfg.pin_counting else "FOLL_GET") + (_HELD if hold else "")
    if c.var("glast", page) > page:  # __get_user_pages_locked goes on with the next page
        k, unlock = c.goto(k, c.var("gret"), gfid=fid), ""
    else:
        k, unlock = c.goto(up_read(k, c.name), c.var("gret"), gfid=fid), ", mmap_read_unlock"
    k = fault_done(c, k)  # FOLL_TRIED: one page
    return [Move(f"{how}follow_page_mask grabs page {page} ({kind}){unlock}", k)]


_HELD = ", folio_lock, PG_writeback set until unpin, folio_unlock (block-writeback)"


GUP_STAGES = {"gup:fault": stage_fault, "gup:grab": stage_grab, "gup:retry": stage_retry,
              "gup:failed": stage_fault_failed}
