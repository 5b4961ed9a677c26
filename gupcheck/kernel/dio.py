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
from .state import SUBBLOCKS, Bio, replace


def dio_read(c: Ctx) -> Outcome:
    """("dio_read", page, value): start: GUP the destination page for writing."""
    _, page, _value = c.op
    outcome = gup_begin(c, page, write=True, pin=c.cfg.dio_foll_pin, ret="dio:dirty",
                        fail="read=-EFAULT")
    if isinstance(outcome, Blocked):
        return outcome
    blocks = tuple(range(SUBBLOCKS))
    started = frozenset((page, b) for b in blocks)
    return [replace(m, state=c.goto(m.state, m.state.threads[c.me].stage,
                                    dtrunc=m.state.truncations)
                    .with_ghost(writing=m.state.ghost.writing | started)
                    .write_started(page, blocks)) for m in outcome]


def stage_dirty(c: Ctx) -> Outcome:
    """bio_set_pages_dirty -> set_page_dirty_lock: folio_lock, folio_mark_dirty, folio_unlock."""
    page = c.op[1]
    f = c.k.folio_at(c.var("gfid"))
    if f.locked is not None and f.locked != c.name:
        return Blocked(f"folio lock of page {page}", (f.locked,))
    k = folio_mark_dirty(c.k, c.var("gfid"), who=f"{c.name} bio_set_pages_dirty")
    return [Move(f"bio_set_pages_dirty: set_page_dirty_lock(page {page})",
                 c.goto(k, "dio:submit"))]


def stage_submit(c: Ctx) -> Outcome:
    _, page, value = c.op
    k = c.k
    bio = Bio(id=k.next_bio, write=False, page=page, folio=c.var("gfid"),
              pending=tuple(range(SUBBLOCKS)),
              owner=c.name, waiter=c.me, value=value, pinned=c.var("gpin"))
    k = replace(k, bios=k.bios + (bio,), next_bio=k.next_bio + 1)
    return [Move(f"iomap_dio_bio_iter: submit_bio (read bio #{bio.id} into page {page})",
                 c.goto(k, "dio:wait"))]


def stage_wait(c: Ctx) -> Outcome:
    return Blocked("completion of its direct-I/O read", ("disk",))


def stage_return(c: Ctx) -> Outcome:
    """iomap_dio_complete: read() returns; the data counts as written (completion C-user)."""
    _, page, value = c.op
    k = c.k
    last = k.ghost.last_write
    done = frozenset((page, b) for b in range(SUBBLOCKS))
    k = k.with_ghost(writing=k.ghost.writing - done)
    if k.truncations == c.var("dtrunc"):  # else truncated meanwhile: legitimately discarded
        k = k.with_ghost(last_write=last[:page] + ((value,) * SUBBLOCKS,) + last[page + 1:])
    return [Move("iomap_dio_complete: read() returns", c.finish(k, "read=ok"))]


DIO_STAGES = {"dio:dirty": stage_dirty, "dio:submit": stage_submit, "dio:wait": stage_wait,
              "dio:return": stage_return}
