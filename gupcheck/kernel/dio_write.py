"""write(O_DIRECT) to the file, which invalidates its page cache; and process_vm_writev.

fs/iomap/direct-io.c ``iomap_dio_rw`` for a write: ``filemap_write_and_wait_range`` writes the
range's dirty pages back and waits, then ``kiocb_invalidate_pages`` ->
``invalidate_inode_pages2_range`` drops the cached folios so that later reads see the new
blocks: for each, ``folio_lock``, ``unmap_mapping_folio`` if mapped, then
``invalidate_complete_folio2``: ``filemap_release_folio`` (buffers; fails if busy), and unless
the folio is dirty, ``__filemap_remove_folio`` — the folio leaves the page cache *whatever its
references or pins* (mm/truncate.c).  If that fails (a dirty folio), the write falls back
to a buffered write (-ENOTBLK), written back and invalidated again before write() returns.
Otherwise the write bio carries the user's data to disk, and ``iomap_dio_complete`` invalidates
once more; a failure there is "Page cache invalidation failure on direct I/O"
(``dio_warn_stale_pagecache``), the message syzbot reports.

mm/process_vm_access.c ``process_vm_rw_core``: the target pages are taken with
``pin_user_pages_remote(FOLL_WRITE)`` (FOLL_GET before 5.8), filled by a CPU copy
(``copy_page_from_iter``) and released with ``unpin_user_pages_dirty_lock(..., true)``
(``set_page_dirty_lock`` + ``put_page`` before).  A page invalidated meanwhile is an orphan: the
copy and the dirtying (``noop_dirty_folio``) are lost, silently, though the call succeeded (F4).
"""

from __future__ import annotations

from .actor import Blocked, Ctx, Move, Outcome
from .blocks import block_of, cow_extent_written, page_holes
from .device import dma_write_check
from .dirty import buffers_busy, folio_mark_dirty
from .gup import gup_begin, put_user_page_in_task, unpin_dirty
from .rmap import clear_pte
from .state import SUBBLOCKS, Bio, Folio, KState, replace
from .writeback import lock_then_wait_writeback, writeback_begin

INVALIDATION_FAILURE = "Page cache invalidation failure on direct I/O"


def dio_write(c: Ctx) -> Outcome:
    """("dio_write", page, value): filemap_write_and_wait_range first."""
    _, page, _ = c.op
    blocks = tuple(range(SUBBLOCKS))
    starts = c.k.start_numbers(page, blocks)
    k = c.k.write_started(page, blocks, c.op[2], me=c.me)
    k = writeback_begin(c, c.goto(k, "", wstart=starts), sync=True, ret="dw:wait")
    return [Move("iomap_dio_rw: filemap_write_and_wait_range", k)]


def stage_wait(c: Ctx) -> Outcome:
    page = c.op[1]
    f = c.k.cached(page)
    if f is not None and f.writeback:
        return Blocked(f"filemap_fdatawait_range: writeback of page {page}",
                       c.k.writeback_holders(c.k.fid(page)))
    return stage_invalidate(c)


def invalidate_folio2(c: Ctx, k: KState, page: int
                      ) -> tuple[KState, str, bool] | Blocked | list[Move]:
    """mm/truncate.c ``invalidate_inode_pages2_range`` for one page: (state, steps, success).

    ``folio_lock``, ``folio_wait_writeback`` (a folio under writeback: the lock is a step of
    its own, the caller's stage goes on holding it, the wait sleeps holding it), then
    ``unmap_mapping_folio`` if mapped, and ``invalidate_complete_folio2``:
    ``filemap_release_folio`` (fails on busy buffers) and, unless the folio is dirty,
    ``__filemap_remove_folio`` whatever its references or pins; ``folio_unlock``.
    """
    f = k.cached(page)
    if f is None:
        return k, "invalidate_inode_pages2_range: nothing cached", True
    if f.locked is not None and f.locked != c.name:
        return Blocked(f"folio lock of page {page}", (f.locked,))
    held = lock_then_wait_writeback(c, k, page, "invalidate_inode_pages2_range: "
                                    f"folio_wait_writeback(page {page}) (folio locked)")
    if isinstance(held, Blocked):
        return held
    if held is not None:
        return [Move(f"invalidate_inode_pages2_range: folio_lock(page {page}), under "
                     "writeback: folio_wait_writeback", held)]
    func = "invalidate_inode_pages2_range: folio_lock"
    if f.locked == c.name:
        func = f"invalidate_inode_pages2_range: folio_wait_writeback(page {page}) returns"
        k = k.with_folio(page, replace(f, locked=None))  # folio_unlock when done
        f = k.folio(page)
    if k.maps_cache(page):
        k, _ = clear_pte(c, k, page, who=c.name)
        func += ", unmap_mapping_folio"
        f = k.folio(page)
    if f.dirty or buffers_busy(f.buffers):
        return k, func + ", invalidate_complete_folio2 fails (-EBUSY)", False
    k, left = k.remove_from_cache(page)
    return k, (func + ", invalidate_complete_folio2: filemap_release_folio, "
               "__filemap_remove_folio" + (" (still referenced: orphaned)" if left else "")), True


def warn_stale_pagecache(k: KState) -> KState:
    """dio_warn_stale_pagecache (mm/filemap.c): ``errseq_set(&filp->f_mapping->wb_err,
    -EIO)``, then the message: the next fsync of the file reports -EIO."""
    return replace(k.event(INVALIDATION_FAILURE), wb_err=k.wb_err + 1, wb_errno="EIO")


def stage_invalidate(c: Ctx) -> Outcome:
    """kiocb_invalidate_pages -> invalidate_inode_pages2_range for the written page.

    A failure does not submit the direct write: ``__iomap_dio_rw`` returns -ENOTBLK ("fall back
    to buffered write", 5.9, 60263d5889e6 "iomap: fall back to buffered writes for
    invalidation failures") and ``ext4_dio_write_iter`` writes through the page cache
    instead; 4.20's ``generic_file_direct_write`` returned 0 for the same fallback in
    ``__generic_file_write_iter``.  iomap before 5.9 (XFS on 4.20, ext4 on 5.5-5.8: the
    legacy and pin-counting designs) warned and wrote anyway (``dio_warn_stale_pagecache``).
    """
    _, page, value = c.op
    out = invalidate_folio2(c, c.k, page)
    if isinstance(out, Blocked | list):
        return out
    k, func, ok = out
    if not ok and c.iomap_dio and not c.cfg.dio_invalidate_fallback:
        k = warn_stale_pagecache(k)
        func += f": fails, dio_warn_stale_pagecache: {INVALIDATION_FAILURE}, the write goes on"
    elif not ok:
        return [Move(f"{func}: kiocb_invalidate_pages fails, __iomap_dio_rw returns -ENOTBLK "
                     "(fall back to buffered write)", c.goto(k, "dw:buffered"))]
    space = direct_space(c, k, page)
    if isinstance(space, str):
        return _enospc(c, k, f"{func}; {space}")
    k, unwritten, alloc = space
    data = (value,) * SUBBLOCKS
    bio = Bio(id=k.next_bio, write=True, page=page, folio=-1, pending=tuple(range(SUBBLOCKS)),
              owner=c.name, waiter=c.me, bounce=data,
              csums=data if c.env.fs.cow else None)  # btrfs_submit_dio_bio: btrfs_csum_one_bio
    k = replace(k, bios=k.bios + (bio,), next_bio=k.next_bio + 1)
    return [Move(f"{func}; {alloc}submit_bio (direct write bio #{bio.id} of {value})",
                 c.goto(k, "dw:io", dunwritten=unwritten))]


def direct_space(c: Ctx, k: KState, page: int) -> tuple[KState, tuple[int, ...], str] | str:
    """The direct write's ``->iomap_begin`` over the page (:attr:`.fsops.FileOps.dio_alloc`):
    the state, the page's blocks it allocated as unwritten extents and the label; or the
    label of its -ENOSPC.

    ext4 (``ext4_iomap_alloc``, EXT4_GET_BLOCKS_IO_CREATE_EXT) and XFS
    (``xfs_iomap_write_direct``, XFS_BMAPI_PREALLOC) allocate the page's holes as *unwritten*
    extents, which read as zeros until ->end_io converts them after the data is on disk
    (:func:`stage_done`); an allocated block is overwritten in place.  btrfs writes every
    direct write to a new extent (``btrfs_new_extent_direct``), its space checked first
    (``btrfs_check_data_free_space``), with the data's checksums computed at submit
    (``btrfs_submit_dio_bio`` -> ``btrfs_csum_one_bio``); the old extent is freed when the
    ordered extent finishes."""
    fs = c.env.fs
    name = fs.f_ops.dio_alloc
    if fs.block_map:
        holes = page_holes(k, page)
        if not holes:
            return k, (), ""
        if len(holes) > k.free_blocks:
            return f"{name} fails (-ENOSPC)"
        return (replace(k, free_blocks=k.free_blocks - len(holes)), holes,
                f"{name} (unwritten extent for block(s) {list(holes)}), ")
    if fs.cow:
        if k.free_blocks == 0:
            return f"{name} fails (-ENOSPC)"
        return replace(k, free_blocks=k.free_blocks - 1), (), f"{name}, "
    return k, (), ""


def stage_io(c: Ctx) -> Outcome:
    return Blocked("completion of its direct-I/O write", ("disk",))


def stage_done(c: Ctx) -> Outcome:
    """iomap_dio_complete: kiocb_invalidate_post_direct_write drops what was cached meanwhile
    (a fault, a GUP); a failure only warns (dio_warn_stale_pagecache) — "the write still
    worked"."""
    page = c.op[1]
    k = c.k
    func = "iomap_dio_complete: "
    if k.cached(page) is not None:  # mapping->nrpages
        out = invalidate_folio2(c, k, page)
        if isinstance(out, Blocked | list):
            return out
        k, inval, ok = out
        func += "kiocb_invalidate_post_direct_write -> " + inval
        if not ok:
            k = warn_stale_pagecache(k)
            func += f", dio_warn_stale_pagecache: {INVALIDATION_FAILURE}"
        func += "; "
    k, end_io = _end_io(c, k)
    return [Move(func + end_io + "write() returns", c.finish(_write_done(c, k), "write=ok"))]


def _end_io(c: Ctx, k: KState) -> tuple[KState, str]:
    """The filesystem's ->end_io (:attr:`.fsops.FileOps.dio_end_io`): the unwritten extents
    :func:`direct_space` allocated hold the data now; btrfs frees the old extent."""
    fs, page = c.env.fs, c.op[1]
    unwritten = c.var("dunwritten", ())
    if unwritten:
        k = replace(k, holes=k.holes - {block_of(page, b) for b in unwritten})
        return k, f"{fs.f_ops.dio_end_io}; "
    if fs.cow:
        return cow_extent_written(k, page), f"{fs.f_ops.dio_end_io}; "
    return k, ""


def _write_done(c: Ctx, k: KState) -> KState:
    _, page, value = c.op
    blocks = tuple(range(SUBBLOCKS))
    k = k.write_ended({(page, b, c.me) for b in blocks})
    return k.write_done(page, blocks, value, c.var("wstart"))


# --- the buffered fallback: ext4_buffered_write_iter, then write back and invalidate -----------

def stage_buffered(c: Ctx) -> Outcome:
    """generic_perform_write -> ext4_da_write_begin (``__filemap_get_folio(FGP_WRITEBEGIN)``:
    folio_lock, folio_wait_stable; ``ext4_da_get_block_prep`` reserves holes), the copy, and
    ``ext4_da_write_end`` -> ``block_write_end``: buffers and folio dirty, folio_unlock.  One
    step: the folio lock covers it (a copy through a GUP reference can still land before or
    after, which is all another actor could see), unless the folio is under writeback on a
    stable-writes device or the COW filesystem: then the lock is a step of its own and the
    wait for writeback sleeps holding it.  btrfs: ``btrfs_buffered_write`` reserves space
    (``btrfs_check_data_free_space``) and waits for writeback in ``prepare_one_folio``.
    """
    _, page, value = c.op
    k = c.k
    f = k.cached(page)
    new = ""
    if f is None:  # dropped meanwhile: __filemap_get_folio(FGP_CREAT) adds a new folio
        k = k.add_to_cache(page, Folio(index=page, data=(value,) * SUBBLOCKS, refcount=1))
        f = k.folio(page)
        new = " (a new folio)"
    if f.locked is not None and f.locked != c.name:
        return Blocked(f"folio lock of page {page}", (f.locked,))
    held = lock_then_wait_writeback(
        c, k, page, f"folio_wait_stable: writeback of page {page} (folio locked)") \
        if c.env.fs.cow or c.env.stable_writes else None
    if isinstance(held, Blocked):
        return held
    if held is not None:
        return [Move(f"__filemap_get_folio(FGP_WRITEBEGIN): folio_lock(page {page}), under "
                     "writeback: folio_wait_stable", c.goto(held, "dw:buffered"))]
    if f.locked == c.name:  # woken: the rest of the write under the lock, then folio_unlock
        k = k.with_folio(page, replace(f, locked=None))
        f = k.folio(page)
    write_begin = c.env.fs.a_ops.write_begin
    assert write_begin is not None, f"{c.env.fs.name}: buffered write not modelled"
    begun = write_begin(c, k, page, f)
    if isinstance(begun, str):
        return _enospc(c, k, begun)
    k, f, func = begun
    func += new
    k = k.with_folio(page, replace(f, data=(value,) * SUBBLOCKS, prepared=True))
    k = folio_mark_dirty(c, k, k.fid(page), who=c.name)
    return [Move(f"{func}, copy {value} into page {page}, write_end: folio_mark_dirty, "
                 "folio_unlock", c.goto(k, "dw:fbsync"))]


def _enospc(c: Ctx, k: KState, func: str) -> Outcome:
    blocks = tuple(range(SUBBLOCKS))
    k = k.write_abandoned({(c.op[1], b, c.me) for b in blocks})
    return [Move(func + ": write() returns -ENOSPC", c.finish(k, "write=-ENOSPC"))]


def stage_fbsync(c: Ctx) -> Outcome:
    """ext4_dio_write_iter after the fallback: filemap_write_and_wait_range, to keep "the
    expected direct I/O semantics"."""
    k = writeback_begin(c, c.k, sync=True, ret="dw:fbinval")
    return [Move("ext4_dio_write_iter: filemap_write_and_wait_range", k)]


def stage_fbinval(c: Ctx) -> Outcome:
    """... then invalidate_mapping_pages -> mapping_evict_folio, which (unlike
    invalidate_inode_pages2) leaves a folio that is locked, dirty, under writeback or
    referenced beyond the page cache and its buffers (mapped, GUP-pinned)."""
    page = c.op[1]
    k = c.k
    f = k.cached(page)
    if f is not None and f.writeback:
        return Blocked(f"filemap_fdatawait_range: writeback of page {page}",
                       k.writeback_holders(k.fid(page)))
    func = "invalidate_mapping_pages: nothing cached"
    if f is not None:
        if f.locked is None and not f.dirty and not buffers_busy(f.buffers) \
                and f.refcount == 1 + (f.buffers is not None):
            k, _ = k.remove_from_cache(page)
            func = "invalidate_mapping_pages: mapping_evict_folio: remove_mapping"
        else:
            func = f"invalidate_mapping_pages: page {page} stays (in use)"
    return [Move(func + "; write() returns", c.finish(_write_done(c, k), "write=ok"))]


def vm_writev(c: Ctx) -> Outcome:
    """("vm_writev", page, value): pin_user_pages_remote(FOLL_WRITE) the target page."""
    page = c.op[1]
    blocks = tuple(range(SUBBLOCKS))
    c2 = replace(c, k=c.goto(c.k, "", vstart=c.k.start_numbers(page, blocks)))
    out = gup_begin(c2, page, write=True, pin=c.cfg.vm_rw_foll_pin, ret="vw:copy",
                    fail="vm_writev=-EFAULT", fast=False)  # pin_user_pages_remote
    if isinstance(out, Blocked) or c.env.private:  # a MAP_PRIVATE copy: no write to the file
        return out
    moves = []
    for m in out:
        k = m.state
        if k.threads[c.me].pc == c.thread.pc:  # unless GUP failed at once (no VMA)
            k = k.write_started(page, blocks, c.op[2], me=c.me)
        moves.append(replace(m, state=k))
    return moves


def stage_copy(c: Ctx) -> Outcome:
    """copy_page_from_iter: a CPU copy into the page through the GUP reference, block by
    block (a writer that never went through ->page_mkwrite for this)."""
    value = c.op[2]
    block = c.var("vblock", 0)
    fid = c.var("gfid")
    k = dma_write_check(c.k, fid, block, f"{c.name} (process_vm_writev copy)", c.me)
    f = k.folio_at(fid)
    k = k.with_folio_at(fid, replace(f, data=f.data[:block] + (value,) + f.data[block + 1:]))
    nxt = "vw:copy" if block + 1 < SUBBLOCKS else "vw:release"
    return [Move(f"process_vm_rw_pages: copy {value} into page {c.op[1]} block {block}",
                 c.goto(k, nxt, vblock=block + 1))]


def stage_release(c: Ctx) -> Outcome:
    """unpin_user_pages_dirty_lock(pages, true) (set_page_dirty_lock + put_page before 5.8);
    bounce-writeback-mkwrite's put_user_page(page, dirty): the folio lock, then
    ->page_mkwrite (:func:`.gup.put_user_page_mkwrite`)."""
    _, page, value = c.op
    fid, pin = c.var("gfid"), c.var("gpin")
    orphan = not c.k.folio_at(fid).mapping
    what = "unpin_user_pages_dirty_lock" if pin else "set_page_dirty_lock, put_page"
    if c.cfg.unpin_mkwrite:  # an orphan: no ->page_mkwrite to run
        what = "put_user_page"
    put = put_user_page_in_task(c, page, fid, "vw:release", pin=pin)
    if isinstance(put, tuple):  # bounce-writeback-mkwrite
        k, func = put
    elif put is not None:
        return put
    else:
        k = unpin_dirty(c, c.k, fid, pin=pin, who=f"{c.name} {what}")
        if isinstance(k, Blocked):
            return k
        func = f"{what}(page {page})"
    blocks = tuple(range(SUBBLOCKS))
    k = k.write_ended({(page, b, c.me) for b in blocks})
    if not c.env.private:  # success: the data counts as written
        k = k.write_done(page, blocks, value, c.var("vstart"))
    return [Move(f"process_vm_rw_core: {func}"
                 + (" — an orphan: noop_dirty_folio" if orphan else ""),
                 c.finish(k, "vm_writev=4096"))]


def dio_write_from(c: Ctx) -> Outcome:
    """("dio_write_from", page): write(O_DIRECT) to another file, the user buffer being page
    ``page`` of the shared mapping.

    ``iomap_dio_bio_iter`` takes the buffer with ``iov_iter_extract_pages`` — a FOLL_PIN without
    FOLL_WRITE since 6.5 (``iov_iter_get_pages2``, FOLL_GET, before): no write fault, no
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


DIO_WRITE_STAGES = {"dw:wait": stage_wait, "dw:io": stage_io, "dw:done": stage_done,
                    "dw:buffered": stage_buffered, "dw:fbsync": stage_fbsync,
                    "dw:fbinval": stage_fbinval,
                    "dwf:submit": stage_submit_from, "dwf:done": stage_done_from,
                    "vw:copy": stage_copy, "vw:release": stage_release}


def fill_fs(c: Ctx) -> Outcome:
    """("fill_fs",): another file's write takes the last free space (a nearly full
    filesystem)."""
    k = c.k
    if k.free_blocks == 0:
        return [Move("another file's write: no space left (-ENOSPC)", c.finish(k, "write=-ENOSPC"))]
    return [Move("another file's write allocates the last free block",
                 c.finish(replace(k, free_blocks=k.free_blocks - 1), "write=ok"))]
