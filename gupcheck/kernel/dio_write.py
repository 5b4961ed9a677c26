"""write(O_DIRECT) to the file, which invalidates its page cache; and process_vm_writev.

fs/iomap/direct-io.c ``iomap_dio_rw`` for a write: ``filemap_write_and_wait_range`` writes the
range's dirty pages back and waits, then ``kiocb_invalidate_pages`` ->
``invalidate_inode_pages2_range`` drops the cached folios so that later reads see the new
blocks: for each, ``folio_lock``, ``unmap_mapping_folio`` if mapped, then
``invalidate_complete_folio2``: ``filemap_release_folio`` (buffers; fails if busy), and unless
the folio is dirty, ``__filemap_remove_folio`` — the folio leaves the page cache *whatever its
references or pins* (modeling-notes §1.3).  A failure is "Page cache invalidation failure on
direct I/O" (``dio_warn_stale_pagecache``).  The write bio carries the user's data to disk.

mm/process_vm_access.c ``process_vm_rw_core``: the target pages are taken with
``pin_user_pages_remote(FOLL_WRITE)`` (FOLL_GET before 5.8), filled by a CPU copy
(``copy_page_from_iter``) and released with ``unpin_user_pages_dirty_lock(..., true)``
(``set_page_dirty_lock`` + ``put_page`` before).  A page invalidated meanwhile is an orphan: the
copy and the dirtying (``noop_dirty_folio``) are lost, silently, though the call succeeded (F4).
"""

from __future__ import annotations

from .actor import Blocked, Ctx, Move, Outcome
from .device import dma_write_check
from .gup import gup_begin, unpin_dirty
from .rmap import clear_pte
from .state import SUBBLOCKS, Bio, replace
from .writeback import writeback_begin

INVALIDATION_FAILURE = "Page cache invalidation failure on direct I/O"


def dio_write(c: Ctx) -> Outcome:
    """("dio_write", page, value): filemap_write_and_wait_range first."""
    _, page, _ = c.op
    blocks = tuple(range(SUBBLOCKS))
    starts = c.k.start_numbers(page, blocks)
    k = c.k.write_started(page, blocks)
    k = k.with_ghost(writing=k.ghost.writing | {(page, b, c.me) for b in blocks})
    k = writeback_begin(c, c.goto(k, "", wstart=starts), sync=True, ret="dw:wait")
    return [Move("iomap_dio_rw: filemap_write_and_wait_range", k)]


def stage_wait(c: Ctx) -> Outcome:
    page = c.op[1]
    f = c.k.cached(page)
    if f is not None and f.writeback:
        return Blocked(f"filemap_fdatawait_range: writeback of page {page}", ("disk",))
    return stage_invalidate(c)


def stage_invalidate(c: Ctx) -> Outcome:
    """kiocb_invalidate_pages -> invalidate_inode_pages2_range for the written page."""
    _, page, value = c.op
    k = c.k
    f = k.cached(page)
    if f is not None:
        if f.locked is not None and f.locked != c.name:
            return Blocked(f"folio lock of page {page}", (f.locked,))
        func = "invalidate_inode_pages2_range: folio_lock"
        if k.maps_cache(page):
            k, _ = clear_pte(k, page, who=c.name)
            func += ", unmap_mapping_folio"
            f = k.folio(page)
        busy = f.buffers is not None and any("dirty" in b for b in f.buffers)
        if f.dirty or busy:
            k = k.event(INVALIDATION_FAILURE)
            func += f", invalidate_complete_folio2 fails: {INVALIDATION_FAILURE}"
        else:
            k, left = k.remove_from_cache(page)
            func += (", invalidate_complete_folio2: filemap_release_folio, "
                     "__filemap_remove_folio" + (" (still referenced: orphaned)" if left else ""))
    else:
        func = "invalidate_inode_pages2_range: nothing cached"
    bio = Bio(id=k.next_bio, write=True, page=page, folio=-1, pending=tuple(range(SUBBLOCKS)),
              owner=c.name, waiter=c.me, bounce=(value,) * SUBBLOCKS)
    k = replace(k, bios=k.bios + (bio,), next_bio=k.next_bio + 1)
    return [Move(f"{func}; submit_bio (direct write bio #{bio.id} of {value})",
                 c.goto(k, "dw:io"))]


def stage_io(c: Ctx) -> Outcome:
    return Blocked("completion of its direct-I/O write", ("disk",))


def stage_done(c: Ctx) -> Outcome:
    _, page, value = c.op
    blocks = tuple(range(SUBBLOCKS))
    k = c.k.with_ghost(writing=c.k.ghost.writing - {(page, b, c.me) for b in blocks})
    k = k.write_done(page, blocks, value, c.var("wstart"))
    return [Move("iomap_dio_complete: write() returns", c.finish(k, "write=ok"))]


def vm_writev(c: Ctx) -> Outcome:
    """("vm_writev", page, value): pin_user_pages_remote(FOLL_WRITE) the target page."""
    page = c.op[1]
    blocks = tuple(range(SUBBLOCKS))
    starts = c.k.start_numbers(page, blocks)
    k = c.k
    if not k.private:  # into a MAP_PRIVATE copy: the file is not written
        k = k.write_started(page, blocks)
        k = k.with_ghost(writing=k.ghost.writing | {(page, b, c.me) for b in blocks})
    c2 = replace(c, k=c.goto(k, "", vtrunc=k.truncations, vstart=starts))
    out = gup_begin(c2, page, write=True, pin=c.cfg.vm_rw_foll_pin, ret="vw:copy",
                    fail="vm_writev=-EFAULT")
    return out


def stage_copy(c: Ctx) -> Outcome:
    """copy_page_from_iter: a CPU copy into the page through the GUP reference, block by
    block (a writer that never went through ->page_mkwrite for this)."""
    value = c.op[2]
    block = c.var("vblock", 0)
    fid = c.var("gfid")
    k = dma_write_check(c.k, fid, block, f"{c.name} (process_vm_writev copy)")
    f = k.folio_at(fid)
    k = k.with_folio_at(fid, replace(f, data=f.data[:block] + (value,) + f.data[block + 1:]))
    nxt = "vw:copy" if block + 1 < SUBBLOCKS else "vw:release"
    return [Move(f"process_vm_rw_pages: copy {value} into page {c.op[1]} block {block}",
                 c.goto(k, nxt, vblock=block + 1))]


def stage_release(c: Ctx) -> Outcome:
    """unpin_user_pages_dirty_lock(pages, true) (set_page_dirty_lock + put_page before 5.8)."""
    _, page, value = c.op
    fid, pin = c.var("gfid"), c.var("gpin")
    orphan = not c.k.folio_at(fid).mapping
    what = "unpin_user_pages_dirty_lock" if pin else "set_page_dirty_lock, put_page"
    k = unpin_dirty(c.k, fid, pin=pin, pin_counting=c.cfg.pin_counting, who=f"{c.name} {what}")
    if isinstance(k, Blocked):
        return k
    blocks = tuple(range(SUBBLOCKS))
    k = k.with_ghost(writing=k.ghost.writing - {(page, b, c.me) for b in blocks})
    if k.truncations == c.var("vtrunc") and not k.private:  # success: the data counts as written
        k = k.write_done(page, blocks, value, c.var("vstart"))
    return [Move(f"process_vm_rw_core: {what}(page {page})"
                 + (" — an orphan: noop_dirty_folio" if orphan else ""),
                 c.finish(k, "vm_writev=4096"))]


def dio_write_from(c: Ctx) -> Outcome:
    """("dio_write_from", page): write(O_DIRECT) to another file, the user buffer being page
    ``page`` of the shared mapping.

    ``iomap_dio_bio_iter`` takes the buffer with ``iov_iter_extract_pages`` — a FOLL_PIN without
    FOLL_WRITE since 6.3 (``iov_iter_get_pages2``, FOLL_GET, before): no write fault, no
    ->page_mkwrite, and ``bio_release_pages(bio, false)`` at completion dirties nothing.  The
    device reads the page when it transfers, so a page that writeback, reclaim or a proposal's
    pin policy touches meanwhile is only ever *read* through the pin.
    """
    return gup_begin(c, c.op[1], write=False, pin=c.cfg.dio_foll_pin, ret="dwf:submit",
                     fail="write=-EFAULT")


def stage_submit_from(c: Ctx) -> Outcome:
    page, fid, pin = c.op[1], c.var("gfid"), c.var("gpin")
    k = c.k
    bio = Bio(id=k.next_bio, write=True, page=page, folio=fid, pending=tuple(range(SUBBLOCKS)),
              owner=c.name, waiter=c.me, pinned=pin, to_other=True)
    k = replace(k, bios=k.bios + (bio,), next_bio=k.next_bio + 1)
    return [Move(f"iomap_dio_bio_iter: submit_bio (direct write bio #{bio.id} from page {page} "
                 "to the other file)", c.goto(k, "dw:io"))]


def stage_done_from(c: Ctx) -> Outcome:
    return [Move("iomap_dio_complete: write() returns", c.finish(c.k, "write=ok"))]


DIO_WRITE_STAGES = {"dwf:submit": stage_submit_from, "dwf:done": stage_done_from,"dw:wait": stage_wait, "dw:io": stage_io, "dw:done": stage_done,
                    "vw:copy": stage_copy, "vw:release": stage_release}
