"""Long-term pins: an RDMA memory registration (and io_uring fixed buffers) over the mapping.

drivers/infiniband/core/umem.c ``ib_umem_get`` pins the user range with
``pin_user_pages_fast(FOLL_WRITE | FOLL_LONGTERM)``; from then on the NIC writes the pages by DMA
whenever a remote peer sends data — no fault, no ``->page_mkwrite``, no look at PG_writeback —
until ``ib_umem_release`` deregisters with ``unpin_user_pages_dirty_lock(..., make_dirty)``.
mm/gup.c ``unpin_user_pages_dirty_lock``: if the folio is not dirty, ``folio_lock``,
``folio_mark_dirty``, ``folio_unlock``; then the pin is dropped.  It never calls
``->page_mkwrite``: a page cleaned by writeback meanwhile is dirtied behind the filesystem's back
(F5).  Since 6.5 ``check_vma_flags`` refuses the registration of a shared ext4 mapping (-EFAULT).
"""

from __future__ import annotations

from .actor import Blocked, Ctx, Move, Outcome
from .dax import stray_dma_check
from .device import dma_write_check
from .fault import fault_begin, with_lock_taken
from .gup import gup_begin, no_vma, put_user_page_in_task, release, unpin_dirty
from .locks import MMAP_LOCK, can_read, down_read, up_read
from .state import SUBBLOCKS, KState, replace
from .vma import (
    EFAULT,
    FOLL_LONGTERM,
    FOLL_PIN,
    FOLL_WRITE,
    Backing,
    Vma,
    check_vma_flags,
    io_uring_register_buffers,
)

SHARED_EXT4 = Vma(Backing.EXT4, shared=True)
SHARED_SHMEM = Vma(Backing.SHMEM, shared=True)
SHARED_DAX = Vma(Backing.DAX, shared=True)


def _vma(c: Ctx) -> Vma:
    """The VMA of the scenario's mapping: MAP_SHARED of an ext4 file (page cache or FS-DAX)
    or of a memfd."""
    return Vma(c.env.fs.backing, shared=not c.env.private)


def reg_mr(c: Ctx) -> Outcome:
    """("rdma_reg_mr", page): ib_umem_get -> pin_user_pages_fast(FOLL_WRITE|FOLL_LONGTERM);
    with IB_ACCESS_ON_DEMAND (the scenario's ODP driver, or every registration under the odp
    design) ib_umem_odp_get instead."""
    page = c.op[1]
    if c.env.odp_driver and not c.cfg.odp and not c.cfg.odp_hmm:
        k = c.k.with_ghost(unsupported="ODP is modelled as of 5.10 (hmm_range_fault, "
                           "36f30e486dce)")
        return [Move("ib_umem_odp_get: ODP before 5.10 (get_user_pages_remote) is not modelled",
                     c.finish(k, "reg_mr=-ENOSYS"))]
    if c.cfg.odp or c.env.odp_driver:  # ib_umem_odp_get: an mmu interval notifier, no pin
        k = replace(_register(c.k, page, -1), nic_odp=True)
        return [Move(f"ib_umem_odp_get: register page {page} with an mmu interval notifier "
                     "(no pin)", c.finish(k, "reg_mr=0"))]
    if not c.k.has_vma(page):
        return _no_vma(c, "ib_umem_get: pin_user_pages_fast", "reg_mr=-EFAULT")
    err = check_vma_flags(_vma(c), FOLL_WRITE | FOLL_LONGTERM | FOLL_PIN, c.cfg,
                          lease_held=c.k.lease == c.name)
    if err:
        k = c.k.with_ghost(refused=err)
        gup = "pin_user_pages_fast: check_vma_flags" if c.cfg.pin_counting else \
            "get_user_pages_longterm"
        return [Move(f"ib_umem_get: {gup} refuses (-{err})",
                     c.finish(k, f"reg_mr=-{err}"))]
    return gup_begin(c, page, write=True, pin=True, ret="lt:registered", fail="reg_mr=-EFAULT",
                     unlockable=c.cfg.longterm_unlockable)


def _no_vma(c: Ctx, gup: str, result: str) -> Outcome:
    """__get_user_pages finds no VMA (munmap) before check_vma_flags looks at one: -EFAULT."""
    blocked = can_read(MMAP_LOCK, c.k)
    if blocked:
        return blocked
    return [Move(no_vma(gup, c.op[1]), c.finish(c.k, result))]


def stage_registered(c: Ctx) -> Outcome:
    page = c.op[1]
    k = _register(c.k, page, c.var("gfid"))
    return [Move(f"ib_umem_get: page {page} registered, the NIC may write it",
                 c.finish(k, "reg_mr=0"))]


def dereg_mr(c: Ctx) -> Outcome:
    """("rdma_dereg_mr", page): ib_umem_release -> unpin_user_pages_dirty_lock(make_dirty);
    bounce-writeback-mkwrite's put_user_page(page, dirty) locks the folio first, then runs
    ->page_mkwrite (stage ``lt:putmkwrite``, :func:`.gup.put_user_page_mkwrite`)."""
    page = c.op[1]
    k = c.k
    fid = _registered(k, page)
    if fid is None:
        return [Move("ibv_dereg_mr: no registration", c.finish(k, "dereg_mr=-EINVAL"))]
    if k.nic_odp:
        k = replace(_unregister(k, page), nic_mapped=tuple(m for m in k.nic_mapped if m[0] != page))
        return [Move(f"ib_umem_odp_release: drop the device mapping of page {page}",
                     c.finish(k, "dereg_mr=0"))]
    put = put_user_page_in_task(c, page, fid, "lt:putmkwrite", pin=True)
    if isinstance(put, tuple):
        k, func = put
        return [Move(f"ib_umem_release: {func}", c.finish(_unregister(k, page), "dereg_mr=0"))]
    if put is not None:
        return put
    if not c.cfg.pin_counting:  # __ib_umem_release before 5.7: "if (!PageDirty(page) &&
        # umem->writable && dirty) set_page_dirty_lock(page); put_page(page);"
        if k.folio_at(fid).dirty:
            k = _unregister(release(c, k, fid, pin=True), page)
            return [Move(f"ib_umem_release: page {page} dirty, put_page",
                         c.finish(k, "dereg_mr=0"))]
        func, who = "ib_umem_release: set_page_dirty_lock, put_page", "set_page_dirty_lock"
    else:
        who = "put_user_page" if c.cfg.unpin_mkwrite else "unpin_user_pages_dirty_lock"
        func = f"ib_umem_release: {who}"
        if not k.folio_at(fid).dirty:
            func += ": folio_lock, folio_mark_dirty, folio_unlock"
        func += ", unpin"
    k = unpin_dirty(c, k, fid, pin=True, who=f"{c.name} {who}")
    if isinstance(k, Blocked):
        return k
    k = _unregister(k, page)
    return [Move(f"{func} (page {page})", c.finish(k, "dereg_mr=0"))]


def nic_moves(c: Ctx, budget: int) -> Outcome:
    """The NIC writes a registered page whenever a peer sends data (not weakly fair).

    With an ODP registration it can only write through a device mapping it faulted in
    (:func:`odp_fault`); io_uring fixed buffers are always pinned, whatever the design.
    """
    k = c.k
    if k.nic_writes >= budget:
        return []
    value = f"N{k.nic_writes + 1}"
    moves: list[Move] = []
    for page, fid in k.nic_pages:
        if k.nic_odp:
            mapped = [(seq, mfid) for p, seq, mfid in k.nic_mapped if p == page]
            if not mapped:
                moves += odp_fault(c, page)
                continue
            seq, mfid = mapped[0]
            if _gone(c, k, page, mfid):
                moves += [_stray_odp_write(c, page, mfid, value)]
                continue
            moves += [_nic_write(c, page, mfid, b, value, stale=seq != k.notifier_seq)
                      for b in range(SUBBLOCKS)]
        else:
            moves += [_nic_write(c, page, fid, b, value, stale=True) for b in range(SUBBLOCKS)]
    return moves


def _gone(c: Ctx, k: KState, page: int, fid: int) -> bool:
    """The folio a device PTE maps is no longer the page's: freed, or neither the page's
    cached folio nor its MAP_PRIVATE copy (anonymous, never cached) — truncate or hole punch
    took it out of the page cache and its memory may be another folio's now.  On FS-DAX the
    pmem block's owner is checked by stray_dma_check."""
    f = k.folios[fid]
    if c.env.fs.dax:
        return False
    return f is None or (k.cache[page] != fid and not (f.anon and f.index == page))


def odp_fault(c: Ctx, page: int) -> list[Move]:
    """A device page fault (ib_umem_odp_map_dma_and_lock): mmu_interval_read_begin,
    mmap_read_lock, hmm_range_fault(FAULT_FLAG_WRITE) through the CPU write-fault path
    (->page_mkwrite), mmap_read_unlock (:func:`stage_odp_unlock`), then
    :func:`stage_odp_map`.  Beyond EOF or with no VMA (munmap) hmm_range_fault fails,
    -EFAULT: the RDMA operation errors out."""
    if page >= c.k.i_size or not c.k.has_vma(page):
        return []
    k = down_read(c.k, c.name)
    if isinstance(k, Blocked):
        return []
    k = c.goto(k, "", oseq=c.k.notifier_seq, opage=page)
    begin = f"mmu_interval_read_begin, mmap_read_lock, hmm_range_fault(page {page})"
    pte = k.ptes[page]
    if pte is not None and pte.writable:  # present and writable: nothing to fault
        return [Move(f"{begin}: pte writable", c.goto(k, "odp:unlock"))]
    out = fault_begin(c, k, page, ret="odp:unlock", fail_stage="odp:failed")
    return with_lock_taken(c, k, out, begin=begin, sleep="odp:fault")  # no FAULT_FLAG_ALLOW_RETRY


def stage_odp_fault(c: Ctx) -> Outcome:
    """hmm_range_fault's fault, once what it sleeps on is free (mmap_read_lock held)."""
    return fault_begin(c, c.k, c.var("opage"), ret="odp:unlock", fail_stage="odp:failed")


def stage_odp_unlock(c: Ctx) -> Outcome:
    """hmm_range_fault's walk reads the pfn the PTE maps (faulting again if the PTE went
    meanwhile), returns, mmap_read_unlock; the driver then takes umem_mutex."""
    page = c.var("opage")
    if c.k.ptes[page] is None:
        return [Move(f"hmm_range_fault: page {page} unmapped meanwhile, fault again",
                     c.goto(c.k, "odp:fault"))]
    return [Move("hmm_range_fault done, mmap_read_unlock",
                 c.goto(up_read(c.k, c.name), "odp:map", ofid=c.k.mapped_fid(page)))]


def stage_odp_failed(c: Ctx) -> Outcome:
    """hmm_range_fault failed (VM_FAULT_SIGBUS: -EFAULT): the device's access errors out."""
    return [Move("hmm_range_fault: -EFAULT, mmap_read_unlock: the RDMA operation fails",
                 c.goto(up_read(c.k, c.name), ""))]


def stage_odp_map(c: Ctx) -> Outcome:
    """Under the driver lock (umem_mutex): mmu_interval_read_retry, then program the device
    PTE.

    A naive driver skips the retry and maps a page an invalidation may already have cleaned.
    """
    page, seq = c.var("opage"), c.var("oseq")
    k = c.k
    if seq != k.notifier_seq and not c.env.odp_naive_driver:
        return [Move("mmu_interval_read_retry: invalidated meanwhile, retry the fault",
                     c.goto(k, ""))]
    k = replace(k, nic_mapped=tuple(sorted(k.nic_mapped + ((page, seq, c.var("ofid")),))))
    what = "skips mmu_interval_read_retry, " if c.env.odp_naive_driver else \
        "mmu_interval_read_retry ok, "
    return [Move(f"{what}program the device PTE of page {page}", c.goto(k, ""))]


def _stray_odp_write(c: Ctx, page: int, fid: int, value: str) -> Move:
    """A device PTE programmed after the invalidation it missed (a naive driver) maps a folio
    truncate took out of the page cache; ODP holds no reference, so the kernel freed it (and
    may have reused it): the RDMA write lands in memory the file no longer owns."""
    f = c.k.folios[fid]
    now = ("freed" if f is None else "reused for another folio" if f.mapping or f.anon
           else "an orphan someone else still holds")
    k = c.k.violate("no-stray-dma", f"the NIC wrote {value} through a stale device PTE of page "
                    f"{page} into folio #{fid}, which truncate or hole punch removed from the "
                    f"page cache ({now}): ODP holds no page reference")
    if f is not None:  # the memory's new owner gets the data
        k = k.with_folio_at(fid, replace(f, data=(value,) + f.data[1:]))
    k = replace(k, nic_writes=k.nic_writes + 1)
    return Move(f"RDMA write {value} into {'freed ' if f is None else ''}folio #{fid} "
                f"(stale device PTE of page {page})", k, ())


def _nic_write(c: Ctx, page: int, fid: int, block: int, value: str, *, stale: bool) -> Move:
    """One RDMA write into folio ``fid``.  ``stale``: through a pin or a device mapping that
    missed an invalidation, i.e. without ->page_mkwrite since the page was last cleaned."""
    who = "io_uring READ_FIXED (DMA)" if c.k.nic_iouring else "the NIC (RDMA write)"
    # a pin's write access dates from its registration; a stale ODP mapping's is always old
    k = dma_write_check(c.k, fid, block, who, None if c.k.nic_odp else c.me) if stale else c.k
    k = stray_dma_check(c, k, fid, page, who)
    f = k.folio_at(fid)
    k = k.with_folio_at(fid, replace(f, data=f.data[:block] + (value,) + f.data[block + 1:]))
    if f.mapping:  # a write into a truncated orphan is legitimately discarded
        k = k.instant_write(page, (block,), value)
    k = replace(k, nic_writes=k.nic_writes + 1)
    what = "io_uring READ_FIXED writes" if k.nic_iouring else "RDMA write"
    return Move(f"{what} {value} into page {page} block {block} (DMA, CQE)", k, ())


def iouring_register(c: Ctx) -> Outcome:
    """("iouring_register", page): IORING_REGISTER_BUFFERS over the shared ext4 mapping.

    io_uring/rsrc.c ``io_sqe_buffer_register`` -> ``io_pin_pages``: pin_user_pages (6.1) or
    pin_user_pages_fast (6.12) with FOLL_WRITE|FOLL_LONGTERM.  Since 6.5 GUP refuses the
    shared file mapping with -EFAULT before faulting; before, the pin succeeds (write-faulting
    the page through ->page_mkwrite, which dirties it), then io_uring refuses the file-backed
    VMA with -EOPNOTSUPP and ``unpin_user_pages`` the pages it pinned (without dirtying them).
    """
    page = c.op[1]
    if not c.cfg.has_io_uring:
        k = c.k.with_ghost(unsupported="io_uring appeared in 5.1")
        return [Move("io_uring_register: no io_uring before 5.1", c.finish(k, "register=-ENOSYS"))]
    # 6.1's pin_user_pages runs under io_pin_pages' own mmap_read_lock (held, in the kernel,
    # over io_uring's VMA check too), as in every kernel with that check
    slow = c.cfg.iouring_file_check
    gup = "io_sqe_buffer_register: " + ("pin_user_pages" if slow else "pin_user_pages_fast")
    if not c.k.has_vma(page):
        return _no_vma(c, gup, "register=-EFAULT")
    err, _ = io_uring_register_buffers((_vma(c),), c.cfg)
    if err == EFAULT:
        k = c.k.with_ghost(refused=err)
        return [Move(f"{gup}: check_vma_flags refuses (-EFAULT)",
                     c.finish(k, "register=-EFAULT"))]
    return gup_begin(c, page, write=True, pin=True, ret="lt:iouring", fail="register=-EFAULT",
                     fast=not slow, unlockable=not slow and c.cfg.longterm_unlockable)


def stage_iouring(c: Ctx) -> Outcome:
    page = c.op[1]
    err, _ = io_uring_register_buffers((_vma(c),), c.cfg)
    if err:  # pre-6.5: io_uring's own file-backed check, after pinning
        k = release(c, c.k, c.var("gfid"), pin=True)
        k = k.with_ghost(refused=err)
        return [Move(f"io_sqe_buffer_register: file-backed buffer refused (-{err}), "
                     "unpin_user_pages", c.finish(k, f"register=-{err}"))]
    k = replace(_register(c.k, page, c.var("gfid")), nic_iouring=True)
    return [Move(f"io_sqe_buffer_register: page {page} registered as a fixed buffer",
                 c.finish(k, "register=0"))]


def iouring_unregister(c: Ctx) -> Outcome:
    """("iouring_unregister", page): io_buffer_unmap -> unpin_user_page, no dirtying."""
    page = c.op[1]
    k = c.k
    fid = _registered(k, page)
    if fid is None:
        return [Move("io_sqe_buffers_unregister: no buffer", c.finish(k, "unregister=-ENXIO"))]
    # mutation (tests only) unpin-as-put-page: io_buffer_unmap still calling put_page
    k = _unregister(release(c, k, fid, pin=True, mutations=c.cfg.mutations), page)
    return [Move(f"io_buffer_unmap: unpin_user_page(page {page}) (not dirtied)",
                 c.finish(k, "unregister=0"))]


def _register(k: KState, page: int, fid: int) -> KState:
    return replace(k, nic_pages=tuple(sorted(k.nic_pages + ((page, fid),))))


def _registered(k: KState, page: int) -> int | None:
    return next((fid for p, fid in k.nic_pages if p == page), None)


def _unregister(k: KState, page: int) -> KState:
    return replace(k, nic_pages=tuple(r for r in k.nic_pages if r[0] != page))


LONGTERM_STAGES = {"lt:registered": stage_registered, "lt:iouring": stage_iouring,
                   "odp:fault": stage_odp_fault, "odp:unlock": stage_odp_unlock,
                   "odp:map": stage_odp_map, "odp:failed": stage_odp_failed,
                   "lt:putmkwrite": dereg_mr}
