"""read(O_DIRECT) from another file into a shared mapping of the file (the 2018 F1/F2 race).

fs/iomap/direct-io.c ``iomap_dio_rw`` -> ``iomap_dio_bio_iter``: the user buffer's pages are
taken with GUP (``iov_iter_get_pages2``, FOLL_GET, before 6.3; ``iov_iter_extract_pages``,
FOLL_PIN, since 6.3), dirtied at submit (``bio_set_pages_dirty``: ``set_page_dirty_lock`` on each
page, because the DMA will write them), and the bio is submitted.  The device writes the pages
(:mod:`.device`); the completion wakes the waiter and the syscall returns.  The pages' release
and possible re-dirtying happen in the completion or later in ``bio_dirty_work``.

Completion points (modeling-notes §3): the data is written when read() returns (C-user); the
release in ``bio_dirty_fn`` is reported by the trace.
"""

from __future__ import annotations

from .actor import Blocked, Ctx, Move, Outcome
from .dirty import folio_mark_dirty
from .gup import gup_begin
from .state import SUBBLOCKS, Bio, KState, replace
from .writeback import writeback_begin


def _span(c: Ctx) -> range:
    """The pages the read covers: ("dio_read", page, value[, count])."""
    return range(c.op[1], c.op[1] + (c.op[3] if len(c.op) > 3 else 1))


def dio_read(c: Ctx) -> Outcome:
    """("dio_read", page, value[, count]): start: GUP the first destination page for writing."""
    pages = _span(c)
    outcome = _gup(c, c.k, pages.start, got=())
    if isinstance(outcome, Blocked):
        return outcome
    started = frozenset((p, b, c.me) for p in pages for b in range(SUBBLOCKS))
    out = []
    for m in outcome:
        k = m.state
        if k.threads[c.me].pc == c.thread.pc:  # still in this read (not failed at once)
            starts = tuple(k.start_numbers(p, range(SUBBLOCKS)) for p in pages)
            k = c.goto(k, k.threads[c.me].stage, dtrunc=k.truncations, dstarts=starts)
        if not k.private:  # into a MAP_PRIVATE copy: the file is not written
            for p in pages:
                k = k.write_started(p, tuple(range(SUBBLOCKS)), c.op[2])
            k = k.with_ghost(writing=k.ghost.writing | started)
        out.append(replace(m, state=k))
    return out


def _gup(c: Ctx, k: KState, page: int, got: tuple[tuple[int, int, bool], ...]) -> Outcome:
    """GUP of ``page`` (iov_iter_get_pages2 / iov_iter_extract_pages); "dio:got" follows."""
    c2 = replace(c, k=c.goto(k, c.thread.stage if k is c.k else k.threads[c.me].stage,
                            dgot=got, dcur=page))
    return gup_begin(c2, page, write=True, pin=c.cfg.dio_foll_pin, ret="dio:got",
                     fail="read=-EFAULT", fail_stage="dio:partial" if got else None)


def stage_got(c: Ctx) -> Outcome:
    """One page grabbed: take the next one, or dirty them all and submit."""
    got = c.var("dgot") + ((c.var("dcur"), c.var("gfid"), c.var("gpin")),)
    nxt = c.var("dcur") + 1
    if nxt < _span(c).stop:
        return _gup(c, c.k, nxt, got)
    return stage_dirty(replace(c, k=c.goto(c.k, "dio:dirty", dgot=got)))


def stage_partial(c: Ctx) -> Outcome:
    """GUP failed on a later page: the pages already grabbed are read; read() returns -EFAULT."""
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
        k = folio_mark_dirty(k, fid, who=f"{c.name} bio_set_pages_dirty")
    pages = ", ".join(f"page {p}" for p, _, _ in got)
    return [Move(f"bio_set_pages_dirty: set_page_dirty_lock({pages})", c.goto(k, "dio:submit"))]


def stage_submit(c: Ctx) -> Outcome:
    value = c.op[2]
    k = c.k
    ids = []
    for page, fid, pinned in c.var("dgot"):
        bio = Bio(id=k.next_bio, write=False, page=page, folio=fid,
                  pending=tuple(range(SUBBLOCKS)), owner=c.name, waiter=c.me, value=value,
                  pinned=pinned)
        k = replace(k, bios=k.bios + (bio,), next_bio=k.next_bio + 1)
        ids.append(f"read bio #{bio.id} into page {page}")
    return [Move(f"iomap_dio_bio_iter: submit_bio ({'; '.join(ids)})", c.goto(k, "dio:wait"))]


def stage_wait(c: Ctx) -> Outcome:
    return Blocked("completion of its direct-I/O read", ("disk",))


def stage_return(c: Ctx) -> Outcome:
    """iomap_dio_complete: read() returns; the data counts as written (completion C-user),
    also on a partial failure: the pages before the fault got the data."""
    value = c.op[2]
    k = c.k
    done = frozenset((p, b, c.me) for p in _span(c) for b in range(SUBBLOCKS))
    k = k.with_ghost(writing=k.ghost.writing - done)
    if k.truncations == c.var("dtrunc") and not k.private:  # else discarded by a truncate
        for page, _, _ in c.var("dgot"):
            starts = c.var("dstarts")[page - _span(c).start]
            k = k.write_done(page, range(SUBBLOCKS), value, starts)
    result = "read=-EFAULT" if c.var("dfail") else "read=ok"
    return [Move(f"iomap_dio_complete: read() returns {result[5:]}", c.finish(k, result))]


CSUM_FAILED = ("BTRFS warning: csum failed root 5 ino 257 off 0: the data on disk does not "
               "match its checksum (mirror 1)")


def dio_read_file(c: Ctx) -> Outcome:
    """("dio_read_file", page): another process reads the file's page with O_DIRECT.

    ``iomap_dio_rw`` -> ``kiocb_write_and_wait``: ``filemap_write_and_wait_range`` writes the
    dirty pages back and waits; then the device reads the blocks.  On the checksumming COW
    filesystem every block is verified against its data checksum (fs/btrfs/bio.c
    ``btrfs_check_read_bio`` -> ``btrfs_data_csum_ok``): a block written while its page changed
    after ``btrfs_csum_one_bio`` fails with "csum failed" and the read returns -EIO.
    """
    k = writeback_begin(c, c.k, sync=True, ret="drf:wait")
    return [Move("iomap_dio_rw (another process): kiocb_write_and_wait", k)]


def stage_read_file(c: Ctx) -> Outcome:
    page = c.op[1]
    k = c.k
    f = k.cached(page)
    if f is not None and f.writeback:
        return Blocked(f"filemap_fdatawait_range: writeback of page {page}", ("disk",))
    blocks = range(page * SUBBLOCKS, (page + 1) * SUBBLOCKS)
    data = "|".join(k.disk[b] for b in blocks)
    if k.csum and any(k.csum[b] != k.disk[b] for b in blocks):
        k = k.event(CSUM_FAILED)
        return [Move(f"submit_bio (read page {page} of the file), btrfs_check_read_bio: "
                     "csum failed, -EIO", c.finish(k, "read=-EIO"))]
    check = ", btrfs_check_read_bio: csum ok" if k.csum else ""
    return [Move(f"submit_bio (read page {page} of the file){check}: {data}",
                 c.finish(k, f"read={data}"))]


DIO_STAGES = {"drf:wait": stage_read_file,"dio:got": stage_got, "dio:partial": stage_partial, "dio:dirty": stage_dirty,
              "dio:submit": stage_submit, "dio:wait": stage_wait, "dio:return": stage_return}
