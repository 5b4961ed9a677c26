"""The block device, its completions, and the bio_dirty_work kworker.

A write bio reads the page when the device does the transfer, not when it is submitted; a read
bio (direct I/O into user memory) writes the page by DMA, block by block, whatever the page's
flags say: DMA takes no folio lock and does not look at PG_writeback.

Completion runs in interrupt context (``bio->bi_end_io``): it may not sleep or take the folio
lock.  fs/iomap/direct-io.c ``iomap_dio_bio_end_io`` first wakes the task waiting in read() and
only then calls block/bio.c ``bio_check_pages_dirty`` (docs/kernel-rules.md §1), so the woken
task runs concurrently with the rest of the completion.  ``bio_check_pages_dirty``: if every
page of a direct-I/O read is still dirty the pages are released at once
(``bio_release_pages``); otherwise the bio goes on ``bio_dirty_list`` and ``bio_dirty_work``
later runs ``bio_dirty_fn``, which re-dirties the pages with ``set_page_dirty_lock`` and only
then drops the reference or pin (block/bio.c).
The waiting ``read()`` is woken by the completion, so it can return before that re-dirtying.
"""

from __future__ import annotations

from .actor import Blocked, Ctx, Move, Outcome
from .blocks import cow_extent_written
from .dax import stray_dma_check
from .dirty import folio_mark_dirty
from .footprint import bio_unit, transfer
from .fs.cowfs import btrfs_writepage_fixup_worker
from .gup import put_user_page_mkwrite, release
from .state import SUBBLOCKS, Bio, KState, replace

IO_ERROR = ("I/O error: write bio failed its integrity check (the page changed after the "
            "checksum was computed at submit)")

#: mutation redirty-in-end-io (tests only): the completion of a direct-I/O read re-dirties a
#: page cleaned during the DMA itself, in interrupt context, instead of deferring to
#: bio_dirty_work (block/bio.c bio_check_pages_dirty)
REDIRTY_IN_IRQ = ("bio end_io (interrupt context) re-dirties a page cleaned during the DMA "
                  "itself: set_page_dirty_lock sleeps on the folio lock")


def disk_moves(c: Ctx) -> Outcome:
    moves: list[Move] = []
    k = c.k
    for b in k.bios:
        if b.pending:
            moves.append(next_transfer(c, b))
        elif not b.done:  # the completion belongs to the bio's unit too (footprint.py)
            moves.append(replace(_complete(c, b), unit=bio_unit(b.id)))
    return moves


def next_transfer(c: Ctx, b: Bio) -> Move:
    k, block = c.k, b.pending[0]
    rest = replace(b, pending=b.pending[1:])
    unit, touches = bio_unit(b.id), transfer(b.id, b.page, b.folio)
    if b.to_other:  # the device reads the user buffer (a page of the mapping) by DMA
        value = k.folio_at(b.folio).data[block]
        return Move(f"direct write bio #{b.id} reads page {b.page} block {block} ({value}) "
                    "into the other file", k.with_bio(rest, b.id), unit=unit, touches=touches)
    if b.write:
        where = b.page * SUBBLOCKS + block
        value = b.bounce[block] if b.bounce else k.folio_at(b.folio).data[block]
        k = replace(k, disk=k.disk[:where] + (value,) + k.disk[where + 1:])
        if b.csums is not None:  # the extent and its checksum item land together
            k = replace(k, csum=k.csum[:where] + (b.csums[block],) + k.csum[where + 1:])
        if b.checksum is not None and b.checksum[block] != value:
            rest = replace(rest, error=True)  # the checksum taken at submit does not match
        k = k.with_bio(rest, b.id)
        src = ("user buffer" if b.folio < 0 else "bounce copy") if b.bounce else "page"
        return Move(f"write bio #{b.id} transfers {src} {b.page} block {block} ({value}) "
                    "to disk", k, unit=unit, touches=touches)
    f = k.folio_at(b.folio)
    k = dma_write_check(k, b.folio, block, f"DMA of read bio #{b.id} ({b.owner})", b.waiter)
    k = stray_dma_check(c, k, b.folio, b.page, f"DMA of read bio #{b.id} ({b.owner})")
    if c.env.private and k.forked:
        k = _lost_to_the_child(k, b)
    data = f.data[:block] + (b.value,) + f.data[block + 1:]
    k = k.with_folio_at(b.folio, replace(f, data=data)).with_bio(rest, b.id)
    return Move(f"DMA of read bio #{b.id} writes {b.value} into page {b.page} "
                f"block {block}", k, unit=unit, touches=touches)


def _lost_to_the_child(k: KState, b: Bio) -> KState:
    """P6 (c) for a read into a MAP_PRIVATE mapping: the DMA writes the private copy GUP
    took, but fork shared it with the child (a FOLL_GET reference is no pin: no copy at fork)
    and the parent's write fault has since copied it, so the data goes to the page the child
    kept (open(2): O_DIRECT "should never be run concurrently with fork(2)" on a private
    mapping; FOLL_PIN direct I/O, 6.5, makes fork copy the page for the child instead)."""
    pte = k.ptes[b.page]
    if pte is None or pte.cow is None or pte.cow == b.folio:
        return k
    return k.violate("cow-isolation", f"the DMA of read bio #{b.id} writes {b.value} into the "
                     f"private copy of page {b.page} that fork shared with the child, but the "
                     "parent's write fault has copied it: the parent's mapping never gets the "
                     "data read() returns")


def dma_write_check(k: KState, fid: int, block: int, writer: str, who: int | None) -> KState:
    """P1: a write through a GUP reference into a block that a writeback bio has yet to
    transfer from the folio.

    stable-writeback's definition: a folio under writeback must not be modified by a writer that
    did not get write access through ->page_mkwrite after that writeback's submit.  ``who`` is
    the writer's thread slot; a writer that took its reference after the submit went through
    ``folio_mkclean``'s write-protection, so a write fault and ->page_mkwrite, like a CPU store,
    which a plain device tolerates (the page is dirty again and written later).  On a
    stable-writes device (``checksum``) or a checksumming filesystem (``csums``) any change
    counts.  ``who`` None: a writer whose access is stale by construction (an ODP mapping that
    missed an invalidation)."""
    page = k.folio_at(fid).index
    for w in k.bios:
        if (w.write and w.folio == fid and block in w.pending and w.bounce is None
                and not w.to_other
                and (who is None or who in w.early or w.checksum is not None
                     or w.csums is not None)):
            k = k.violate(
                "stable-writeback",
                f"{writer} wrote page {page} block {block} while writeback bio #{w.id} had not "
                "yet transferred it: the disk gets whatever the page holds when the device "
                "reads it (O1)")
    return k


def _complete(c: Ctx, b: Bio) -> Move:
    k = c.k
    if b.to_other:  # bio_release_pages(bio, false): the source pages are not dirtied
        k = release(c, k.with_bio(None, b.id), b.folio, pin=b.pinned)
        k = k.with_thread(b.waiter, replace(k.threads[b.waiter], stage="dwf:done"))
        what = "unpin_user_page" if b.pinned else "put_page"
        return Move(f"iomap_dio_bio_end_io: direct write bio #{b.id} done, bio_release_pages "
                    f"(no dirtying): {what}(page {b.page}), wake write()", k)
    if b.write and b.folio < 0:  # a direct write from a user buffer: no folio involved
        k = k.with_bio(None, b.id).with_thread(
            b.waiter, replace(k.threads[b.waiter], stage="dw:done"))
        return Move(f"iomap_dio_bio_end_io: direct write bio #{b.id} done, wake write()", k)
    if b.write:
        f = k.folio_at(b.folio)
        k = k.with_folio_at(b.folio, replace(f, writeback=False)).with_bio(None, b.id)
        if c.env.fs.cow:  # the new extent is written: the old one is freed
            k = cow_extent_written(k, b.page)
        if b.error:  # mapping_set_error: errseq for fsync/msync to report
            k = replace(k, wb_err=k.wb_err + 1, wb_errno="EIO").event(IO_ERROR)
            return Move(f"end_bio: -EIO (checksum mismatch), mapping_set_error, "
                        f"folio_end_writeback(page {b.page})", k)
        return Move(f"end_bio: folio_end_writeback(page {b.page})", k)
    if not c.iomap_dio:  # fs/direct-io.c (before 5.5)
        return _dio_bio_end_aio(c, b) if _aio(k, b.waiter) else _dio_bio_end_io(c, b)
    if c.cfg.dio_dirty_in_task and not _aio(k, b.waiter):  # the patched iomap: the waiter
        return _dio_bio_end_io(c, b)  # reaps the bio and dirties its pages
    if not b.woken:
        k = _wake(k.with_bio(replace(b, woken=True), b.id), b.waiter)
        if _aio(k, b.waiter):
            return Move(f"iomap_dio_bio_end_io: read bio #{b.id} done, iomap_dio_complete_work: "
                        "ki_complete (the AIO completion event)", k)
        return Move(f"iomap_dio_bio_end_io: read bio #{b.id} done, wake the waiting read()", k)
    if k.folio_at(b.folio).dirty:  # bio_release_pages(bio, false): put_user_page(page, false)
        # dirties nothing, so no design's ->page_mkwrite runs here, in interrupt context
        k = release(c, k, b.folio, pin=b.pinned)
        k = k.with_bio(None, b.id)
        return Move(f"iomap_dio_bio_end_io: read bio #{b.id}: bio_check_pages_dirty: page "
                    f"{b.page} still dirty, bio_release_pages", k)
    if "redirty-in-end-io" in c.cfg.mutations:  # mutant (tests only): no bio_dirty_work
        k = folio_mark_dirty(c, k.violate("no-sleep-in-atomic", REDIRTY_IN_IRQ), b.folio,
                             who="end_io")
        k = release(c, k.with_bio(None, b.id), b.folio, pin=b.pinned)
        return Move(f"end_io: set_page_dirty_lock(page {b.page}), bio_release_pages", k)
    k = k.with_bio(replace(b, done=True), b.id)
    k = replace(k, dirty_work=k.dirty_work + (b.id,))
    return Move(f"iomap_dio_bio_end_io: read bio #{b.id}: bio_check_pages_dirty: page "
                f"{b.page} was cleaned, queue on bio_dirty_list for bio_dirty_work", k)


def _put_user_page_mkwrite(c: Ctx, b: Bio) -> Outcome:
    """bounce-writeback-mkwrite: bio_dirty_work's put_user_page, the folio locked
    (:func:`.gup.put_user_page_mkwrite`); the bio is done with."""
    out = put_user_page_mkwrite(c, c.k, b.folio, b.page, pin=b.pinned)
    if isinstance(out, Blocked):
        return out
    k, func = out
    k = replace(k.with_bio(None, b.id), dirty_work=k.dirty_work[1:])
    return [Move(func, c.goto(k, ""))]


def _aio(k: KState, waiter: int) -> bool:
    """The bio belongs to an AIO read (``aio_read``): its waiter recorded ``daio`` at submit,
    as fs/direct-io.c's ``dio_bio_alloc`` picks ``bi_end_io`` from ``dio->is_async``."""
    return ("daio", True) in k.threads[waiter].local


def _in_flight(k: KState, waiter: int) -> bool:
    """Read bios of ``waiter`` the device has not completed (``dio->refcount`` > 1)."""
    return any(not o.write and not o.to_other and o.waiter == waiter and not o.woken
               for o in k.bios)


def _dio_bio_end_io(c: Ctx, b: Bio) -> Move:
    """fs/direct-io.c ``dio_bio_end_io``, a synchronous read's bi_end_io (4.20): under
    ``dio->bio_lock`` put the bio on ``dio->bio_list`` and, if it was the last in flight
    (``--dio->refcount == 1``), ``wake_up_process(dio->waiter)``.  Nothing is dirtied or
    released here: the waiting task does both in ``dio_bio_complete``
    (:func:`gupcheck.kernel.dio.stage_await`).  The bio leaves the device; the waiter's
    ``dlist`` local is ``dio->bio_list`` (page, folio id, pinned), and the reference stays
    with it."""
    k = c.k.with_bio(None, b.id)
    t = k.threads[b.waiter]
    local = dict(t.local)
    local["dlist"] = local.get("dlist", ()) + ((b.page, b.folio, b.pinned),)
    k = k.with_thread(b.waiter, replace(t, local=tuple(sorted(local.items()))))
    woke = "" if _in_flight(k, b.waiter) else ", wake_up_process(the waiting read())"
    name = "iomap_dio_bio_end_io (dio_dirty_in_task)" if c.iomap_dio else "dio_bio_end_io"
    return Move(f"{name}: read bio #{b.id} done, onto dio->bio_list{woke}", k)


def _dio_bio_end_aio(c: Ctx, b: Bio) -> Move:
    """fs/direct-io.c ``dio_bio_end_aio``, an AIO read's bi_end_io (4.20): first
    ``dio_bio_complete`` -> ``bio_check_pages_dirty`` (every page still dirty: release them;
    else queue the bio on ``bio_dirty_list`` for ``bio_dirty_work``), then, for the last bio
    (``--dio->refcount == 0``), ``dio_complete`` -> ``ki_complete``: the completion event that
    io_getevents reaps.  The reverse of iomap's order (wake, then check)."""
    k = c.k
    if k.folio_at(b.folio).dirty:
        k = release(c, k, b.folio, pin=b.pinned)
        k = k.with_bio(None, b.id)
        what = f"page {b.page} still dirty, bio_release_pages"
    else:
        k = k.with_bio(replace(b, done=True, woken=True), b.id)
        k = replace(k, dirty_work=k.dirty_work + (b.id,))
        what = f"page {b.page} was cleaned, queue on bio_dirty_list for bio_dirty_work"
    last = not _in_flight(k, b.waiter)
    if last:
        k = _wake(k, b.waiter)
    done = "; dio_complete: ki_complete (the AIO completion event)" if last else ""
    return Move(f"dio_bio_end_aio: read bio #{b.id} done, dio_bio_complete: "
                f"bio_check_pages_dirty: {what}{done}", k)


def _wake(k: KState, waiter: int) -> KState:
    """complete(): the direct-I/O waiter may return from read() once its last bio is done."""
    if any(not o.write and o.waiter == waiter and not o.woken for o in k.bios):
        return k
    return k.with_thread(waiter, replace(k.threads[waiter], stage="dio:return"))


def kworker(c: Ctx) -> Outcome:
    """The system's workqueue workers: bio_dirty_work, and btrfs' fixup workers (up to 6.1).
    Two work items run side by side: one that sleeps does not hold up the other."""
    k = c.k
    works = ([bio_dirty_work(c)] if k.dirty_work else []) + \
        ([btrfs_writepage_fixup_worker(c)] if k.fixup_work else [])
    moves = [m for w in works if not isinstance(w, Blocked) for m in w]
    if moves or not works:
        return moves
    blocked = [w for w in works if isinstance(w, Blocked)]
    return Blocked("; ".join(w.on for w in blocked),
                   tuple(sorted({h for w in blocked for h in w.holders})))


def bio_dirty_work(c: Ctx) -> Outcome:
    """bio_dirty_fn: set_page_dirty_lock on each page, then bio_release_pages."""
    k = c.k
    if not k.dirty_work:
        return []
    b = k.bio(k.dirty_work[0])
    if c.thread.stage == "kw:mkwrite":
        return _put_user_page_mkwrite(c, b)
    f = k.folio_at(b.folio)
    if f.locked is not None:
        return Blocked(f"folio lock of page {b.page}", (f.locked,))
    if c.cfg.unpin_mkwrite and f.mapping:
        k = k.with_folio_at(b.folio, replace(f, locked=c.name))
        return [Move(f"put_user_page(page {b.page}, dirty): folio_lock", c.goto(k, "kw:mkwrite"))]
    k = folio_mark_dirty(c, k, b.folio, who="bio_dirty_fn (set_page_dirty_lock)")
    k = release(c, k, b.folio, pin=b.pinned)
    k = replace(k.with_bio(None, b.id), dirty_work=k.dirty_work[1:])
    what = "unpin_user_page" if b.pinned else "put_page"
    return [Move(f"bio_dirty_fn: set_page_dirty_lock(page {b.page}), {what}", k)]
