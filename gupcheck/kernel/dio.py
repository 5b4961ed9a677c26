"""read(O_DIRECT) from another file into a shared mapping of the file (the 2018 F1/F2 race).

Two implementations, chosen per filesystem and kernel by
:attr:`~.fsops.FileSystem.iomap_dio` (ext4 moved from the first to the second in 5.5,
b1b4705d54ab "ext4: introduce direct I/O read using iomap infrastructure"; btrfs in 5.9; XFS
used iomap on every kernel modelled); docs/kernel-rules.md, Rule 1 and Rule 7.  The file read
from is taken to be on the mapped file's filesystem: its direct I/O decides the path.

iomap (5.5 and later), fs/iomap/direct-io.c ``iomap_dio_rw`` -> ``iomap_dio_bio_iter``: the user
buffer's pages are taken with GUP (``iov_iter_get_pages2``, FOLL_GET, before 6.5;
``iov_iter_extract_pages``, FOLL_PIN, since 6.5, a7e689dd1c06), dirtied at submit
(``bio_set_pages_dirty``: ``set_page_dirty_lock`` on each page, because the DMA will write
them), and the bio is
submitted.  The device writes the pages (:mod:`.device`); the completion wakes the waiter and
the syscall returns.  The pages' release and possible re-dirtying happen in the completion or
later in ``bio_dirty_work``.

fs/direct-io.c (4.20) ``__blockdev_direct_IO`` -> ``do_blockdev_direct_IO``: GUP with FOLL_GET
(``dio_refill_pages`` -> ``iov_iter_get_pages``), then ``dio_bio_submit``.  A synchronous read
(``is_sync_kiocb``: ``dio->is_async`` false) does *not* dirty at submit: its bios end in
``dio_bio_end_io``, which only puts the bio on ``dio->bio_list`` and wakes the waiter; the
waiting task itself, in ``dio_await_completion`` -> ``dio_bio_complete``, runs
``set_page_dirty_lock`` and ``put_page`` on each page, and only then does read() return
(``dio_complete``).  An AIO read (``aio_read``: io_submit of an O_DIRECT ``IOCB_CMD_PREAD``,
then io_getevents) dirties at submit (``dio_bio_submit``: ``bio_set_pages_dirty``) and its bios
end in ``dio_bio_end_aio``: ``dio_bio_complete`` -> ``bio_check_pages_dirty`` (release, or defer
to ``bio_dirty_work``), then ``dio_complete`` posts the completion event.

Completion points: the data counts as written when read() returns, or when io_getevents reaps
the AIO completion (C-user); the release in ``bio_dirty_fn`` is reported by the trace.
"""

from __future__ import annotations

from .actor import Blocked, Ctx, Move, Outcome
from .dirty import folio_mark_dirty
from .gup import gup_begin, release
from .state import SUBBLOCKS, Bio, KState, replace
from .writeback import writeback_begin


def _span(c: Ctx) -> range:
    """The pages the read covers: ("dio_read" or "aio_read", page, value[, count])."""
    return range(c.op[1], c.op[1] + (c.op[3] if len(c.op) > 3 else 1))


def _aio(c: Ctx) -> bool:
    """An AIO read (``aio_read``): ``is_sync_kiocb`` is false."""
    return c.op[0] == "aio_read"


def _legacy_sync(c: Ctx) -> bool:
    """A synchronous read dirtied in the waiting task: fs/direct-io.c with ``dio->is_async``
    false (the waiter's dio_bio_complete dirties after the DMA), or iomap with the
    ``dio_dirty_in_task`` patch; no dirtying at submit either way."""
    return (not c.iomap_dio or c.cfg.dio_dirty_in_task) and not _aio(c)


def dio_read(c: Ctx) -> Outcome:
    """("dio_read" | "aio_read", page, value[, count]): start: GUP the first destination page
    for writing."""
    pages = _span(c)
    outcome = _gup(c, c.k, pages.start, got=())
    if isinstance(outcome, Blocked):
        return outcome
    out = []
    for m in outcome:
        k = m.state
        if k.threads[c.me].pc != c.thread.pc:  # GUP failed at once (no VMA): no write began
            out.append(m)
            continue
        starts = tuple(k.start_numbers(p, range(SUBBLOCKS)) for p in pages)
        k = c.goto(k, k.threads[c.me].stage, dstarts=starts)
        if not c.env.private:  # into a MAP_PRIVATE copy: the file is not written
            for p in pages:
                k = k.write_started(p, tuple(range(SUBBLOCKS)), c.op[2], me=c.me)
        out.append(replace(m, state=k))
    return out


def _gup(c: Ctx, k: KState, page: int, got: tuple[tuple[int, int, bool], ...]) -> Outcome:
    """GUP of ``page`` (iov_iter_get_pages2 / iov_iter_extract_pages: one GUP call for the
    whole range, which holds mmap_read_lock from the first page its slow path takes to the
    last, :func:`.gup.gup_begin`); "dio:got" follows."""
    c2 = replace(c, k=c.goto(k, c.thread.stage if k is c.k else k.threads[c.me].stage,
                            dgot=got, dcur=page))
    return gup_begin(c2, page, write=True, pin=c.cfg.dio_foll_pin, ret="dio:got",
                     fail="read=-EFAULT", fail_stage="dio:partial" if got else None,
                     last=_span(c).stop - 1)


def stage_got(c: Ctx) -> Outcome:
    """One page grabbed: take the next one, or dirty them all and submit."""
    got = c.var("dgot") + ((c.var("dcur"), c.var("gfid"), c.var("gpin")),)
    nxt = c.var("dcur") + 1
    if nxt < _span(c).stop:
        return _gup(c, c.k, nxt, got)
    if _legacy_sync(c):  # dio_bio_submit: no bio_set_pages_dirty for a synchronous read
        return stage_submit(replace(c, k=c.goto(c.k, "dio:submit", dgot=got)))
    return stage_dirty(replace(c, k=c.goto(c.k, "dio:dirty", dgot=got)))


def stage_partial(c: Ctx) -> Outcome:
    """GUP failed on a later page: the pages already grabbed are read; iomap's read() returns
    -EFAULT, fs/direct-io.c's the bytes done (see :func:`stage_await`)."""
    if _legacy_sync(c):
        return stage_submit(replace(c, k=c.goto(c.k, "dio:submit", dfail=True)))
    return stage_dirty(replace(c, k=c.goto(c.k, "dio:dirty", dfail=True)))


def stage_dirty(c: Ctx) -> Outcome:
    """bio_set_pages_dirty -> set_page_dirty_lock: folio_lock, folio_mark_dirty, folio_unlock."""
    k = c.k
    got = c.var("dgot")
    for page, fid, _ in got:
        f = k.folio_at(fid)
        if f.locked is not None and f.locked != c.name:
            return Blocked(f"folio lock of page {page}", (f.locked,))
    for _, fid, _ in got:
        k = folio_mark_dirty(c, k, fid, who=f"{c.name} bio_set_pages_dirty")
    pages = ", ".join(f"page {p}" for p, _, _ in got)
    where = "" if c.iomap_dio else "dio_bio_submit: "
    return [Move(f"{where}bio_set_pages_dirty: set_page_dirty_lock({pages})",
                 c.goto(k, "dio:submit"))]


def stage_submit(c: Ctx) -> Outcome:
    """submit_bio of one read bio per page; the thread then waits for their completion.

    An AIO read records ``daio`` so that the completion (:mod:`.device`) takes the AIO path."""
    value = c.op[2]
    k = c.k
    ids = []
    for page, fid, pinned in c.var("dgot"):
        bio = Bio(id=k.next_bio, write=False, page=page, folio=fid,
                  pending=tuple(range(SUBBLOCKS)), owner=c.name, waiter=c.me, value=value,
                  pinned=pinned)
        k = replace(k, bios=k.bios + (bio,), next_bio=k.next_bio + 1)
        ids.append(f"read bio #{bio.id} into page {page}")
    where = "iomap_dio_bio_iter" if c.iomap_dio else "dio_bio_submit"
    nxt = "dio:await" if _legacy_sync(c) else "dio:wait"
    extra = {"daio": True} if _aio(c) else {}
    return [Move(f"{where}: submit_bio ({'; '.join(ids)})", c.goto(k, nxt, **extra))]


def stage_wait(c: Ctx) -> Outcome:
    return Blocked("completion of its direct-I/O read", ("disk",))


def stage_await(c: Ctx) -> Outcome:
    """fs/direct-io.c ``dio_await_completion``, a synchronous read's waiter: ``dio_await_one``
    takes the next bio off ``dio->bio_list`` (sleeping while it is empty and bios are in
    flight; ``dio_bio_end_io`` wakes it) and ``dio_bio_complete`` runs on it in this task:
    ``set_page_dirty_lock`` (folio_lock, folio_mark_dirty, folio_unlock; not for a compound
    page) and ``put_page`` on each page.  With every bio reaped, ``dio_complete``: read()
    returns.

    A waiter that slept until the last bio completed and one that came late to find bios on
    the list are one behaviour here: it holds no lock while it waits, so nobody can tell them
    apart (dio_await_one wakes it only when ``dio->refcount`` drops to 1)."""
    k = c.k
    reaped = c.var("dlist", ())
    if reaped:
        page, fid, pinned = reaped[0]
        f = k.folio_at(fid)
        if f.locked is not None and f.locked != c.name:
            return Blocked(f"folio lock of page {page}", (f.locked,))
        if not f.large or c.iomap_dio:  # dio_bio_complete: "!PageCompound(page)"
            k = folio_mark_dirty(c, k, fid, who=f"{c.name} dio_bio_complete (set_page_dirty_lock)")
        k = release(c, k, fid, pin=pinned)
        what = "" if f.large and not c.iomap_dio else f"set_page_dirty_lock(page {page}), "
        where = ("__iomap_dio_rw (dio_dirty_in_task): bio_set_pages_dirty, bio_release_pages"
                 if c.iomap_dio else "dio_await_completion: dio_bio_complete")
        return [Move(f"{where}: {what}put_page(page {page})",
                     c.goto(k, "dio:await", dlist=reaped[1:]))]
    if any(b.waiter == c.me and not b.write and not b.to_other for b in k.bios):
        return Blocked("dio_await_one: completion of its direct-I/O read", ("disk",))
    if not c.iomap_dio:
        # dio_complete: "ignore EFAULT if some IO has been done": a short read, not -EFAULT
        result = "read=short" if c.var("dfail") else "read=ok"
        return _returns(c, f"dio_complete: read() returns {result[5:]}", result)
    result = "read=-EFAULT" if c.var("dfail") else "read=ok"
    return _returns(c, f"iomap_dio_complete: read() returns {result[5:]}", result)


def stage_return(c: Ctx) -> Outcome:
    """iomap_dio_complete: read() returns; or, for an AIO read, io_getevents reaps the
    completion that ``dio_complete`` / ``iomap_dio_complete_work`` posted (``ki_complete``).
    fs/direct-io.c's AIO read that fails part-way completes in the submitting task with the
    bytes done (``dio_complete`` ignores -EFAULT after some I/O), iomap's with -EFAULT."""
    if c.var("dfail"):
        result = "read=-EFAULT" if c.iomap_dio else "read=short"
    else:
        result = "read=ok"
    if _aio(c):
        return _returns(c, f"io_getevents: reaps the AIO read's completion ({result[5:]})",
                        result)
    return _returns(c, f"iomap_dio_complete: read() returns {result[5:]}", result)


def _returns(c: Ctx, label: str, result: str) -> Outcome:
    """read() returns (or the AIO completion is reaped): the data counts as written
    (completion C-user), also on a partial failure: the pages before the fault got the data,
    the others never will.  A truncate or punch of a page while the read ran overlaps its
    write (:meth:`.KState.write_started`), so no fsync promises the read's data there."""
    value = c.op[2]
    k = c.k
    got = {page for page, _, _ in c.var("dgot")}
    entries = {(p, b, c.me) for p in _span(c) for b in range(SUBBLOCKS)}
    ended = {e for e in entries if e[0] in got}
    k = k.write_ended(ended).write_abandoned(entries - ended)
    if not c.env.private:
        for page in sorted(got):
            starts = c.var("dstarts")[page - _span(c).start]
            k = k.write_done(page, range(SUBBLOCKS), value, starts)
    return [Move(label, c.finish(k, result))]


CSUM_FAILED = ("BTRFS warning: csum failed root 5 ino 257 off 0: the data on disk does not "
               "match its checksum (mirror 1)")


def dio_read_file(c: Ctx) -> Outcome:
    """("dio_read_file", page): another process reads the file's page with O_DIRECT.

    ``iomap_dio_rw`` -> ``kiocb_write_and_wait``: ``filemap_write_and_wait_range`` writes the
    dirty pages back and waits; then the device reads the blocks.  On the checksumming COW
    filesystem every block is verified against its data checksum (fs/btrfs/bio.c
    ``btrfs_check_read_bio`` -> ``btrfs_data_csum_ok``): a block written while its page changed
    after ``btrfs_csum_one_bio`` fails with "csum failed" and the read returns -EIO.

    A page at or past i_size (after a truncate) reads nothing: ``__iomap_dio_rw`` checks
    ``iomi.pos >= dio->i_size`` before it writes back (fs/direct-io.c
    ``do_blockdev_direct_IO``: "check for reads beyond EOF"), and read() returns 0.
    """
    page = c.op[1]
    if page >= c.k.i_size:
        where = "__iomap_dio_rw" if c.iomap_dio else "do_blockdev_direct_IO"
        return [Move(f"{where} (another process): page {page} at or past i_size "
                     f"({c.k.i_size} pages): read() returns 0", c.finish(c.k, "read=0"))]
    k = writeback_begin(c, c.k, sync=True, ret="drf:wait")
    return [Move("iomap_dio_rw (another process): kiocb_write_and_wait", k)]


def stage_read_file(c: Ctx) -> Outcome:
    page = c.op[1]
    k = c.k
    f = k.cached(page)
    if f is not None and f.writeback:
        return Blocked(f"filemap_fdatawait_range: writeback of page {page}",
                       k.writeback_holders(k.fid(page)))
    blocks = range(page * SUBBLOCKS, (page + 1) * SUBBLOCKS)
    data = "|".join(k.disk[b] for b in blocks)
    if k.csum and any(k.csum[b] != k.disk[b] for b in blocks):
        k = k.event(CSUM_FAILED)
        return [Move(f"submit_bio (read page {page} of the file), btrfs_check_read_bio: "
                     "csum failed, -EIO", c.finish(k, "read=-EIO"))]
    check = ", btrfs_check_read_bio: csum ok" if k.csum else ""
    return [Move(f"submit_bio (read page {page} of the file){check}: {data}",
                 c.finish(k, f"read={data}"))]


DIO_STAGES = {"drf:wait": stage_read_file, "dio:got": stage_got, "dio:partial": stage_partial,
              "dio:dirty": stage_dirty, "dio:submit": stage_submit, "dio:wait": stage_wait,
              "dio:return": stage_return,
              "dio:await": stage_await}
