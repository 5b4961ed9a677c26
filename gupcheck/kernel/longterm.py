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

from dataclasses import replace

from .actor import Blocked, Ctx, Move, Outcome
from .device import dma_write_check
from .dirty import folio_mark_dirty
from .gup import gup_begin, release
from .state import SUBBLOCKS
from .vma import FOLL_LONGTERM, FOLL_PIN, FOLL_WRITE, Backing, Vma, check_vma_flags

SHARED_EXT4 = Vma(Backing.EXT4, shared=True)


def reg_mr(c: Ctx) -> Outcome:
    """("rdma_reg_mr", page): ib_umem_get -> pin_user_pages_fast(FOLL_WRITE|FOLL_LONGTERM)."""
    page = c.op[1]
    err = check_vma_flags(SHARED_EXT4, FOLL_WRITE | FOLL_LONGTERM | FOLL_PIN, c.cfg)
    if err:
        k = c.k.with_ghost(refused=err)
        return [Move(f"ib_umem_get: pin_user_pages_fast: check_vma_flags refuses (-{err})",
                     c.finish(k, f"reg_mr=-{err}"))]
    return gup_begin(c, page, write=True, pin=True, ret="lt:registered")


def stage_registered(c: Ctx) -> Outcome:
    page = c.op[1]
    k = replace(c.k, nic_pages=tuple(sorted(c.k.nic_pages + (page,))))
    return [Move(f"ib_umem_get: page {page} registered, the NIC may write it",
                 c.finish(k, "reg_mr=0"))]


def dereg_mr(c: Ctx) -> Outcome:
    """("rdma_dereg_mr", page): ib_umem_release -> unpin_user_pages_dirty_lock(make_dirty)."""
    page = c.op[1]
    k = c.k
    if page not in k.nic_pages:
        return [Move("ibv_dereg_mr: no registration", c.finish(k, "dereg_mr=-EINVAL"))]
    f = k.folio(page)
    func = "ib_umem_release: unpin_user_pages_dirty_lock"
    if not f.dirty:
        if f.locked is not None:
            return Blocked(f"folio lock of page {page}", (f.locked,))
        k = folio_mark_dirty(k, page, who=f"{c.name} unpin_user_pages_dirty_lock")
        func += ": folio_lock, folio_mark_dirty, folio_unlock"
    k = release(k, page, pin=True, pin_counting=c.cfg.pin_counting)
    k = replace(k, nic_pages=tuple(p for p in k.nic_pages if p != page))
    return [Move(f"{func}, unpin (page {page})", c.finish(k, "dereg_mr=0"))]


def nic_moves(c: Ctx, budget: int) -> Outcome:
    """The NIC writes a registered page whenever a peer sends data (not weakly fair)."""
    k = c.k
    if k.nic_writes >= budget:
        return []
    value = f"N{k.nic_writes + 1}"
    moves = []
    for page in k.nic_pages:
        for block in range(SUBBLOCKS):
            moves.append(_nic_write(c, page, block, value))
    return moves


def _nic_write(c: Ctx, page: int, block: int, value: str) -> Move:
    k = dma_write_check(c.k, page, block, "the NIC (RDMA write)")
    f = k.folio(page)
    k = k.with_folio(page, replace(f, data=f.data[:block] + (value,) + f.data[block + 1:]))
    last = k.ghost.last_write
    row = last[page][:block] + (value,) + last[page][block + 1:]
    k = k.with_ghost(last_write=last[:page] + (row,) + last[page + 1:])
    k = replace(k.write_started(page, (block,)), nic_writes=k.nic_writes + 1)
    return Move(f"RDMA write {value} into page {page} block {block} (DMA, CQE)", k, ())


LONGTERM_STAGES = {"lt:registered": stage_registered}
