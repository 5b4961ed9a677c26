"""FS-DAX: a file on persistent memory, mapped without a page cache.

With ``-o dax`` the file's pages *are* its blocks: a mapping points straight at the pmem page
frame (fs/dax.c ``dax_iomap_fault`` -> ``vmf_insert_mixed_mkwrite``), stores and DMA write the
file's storage, and there is no writeback, no bounce copy and no buffer to strip.  Each frame
has a ``struct page`` (ZONE_DEVICE) that GUP references and pins like any other, and that is
*idle* at refcount 1: the PTEs of a DAX mapping take no reference (``dax_page_is_idle``, 4.18 to
6.14; 6.15 reworked fsdax refcounts so that idle is 0).

So a truncate or hole punch cannot orphan a pinned page as it does in the page cache: the page
is the block, and once the block is freed another file can get it, and a device still writing
through the pin corrupts that other file (the reason for 5fac7408d828).  Since 4.18/4.19
(Dan Williams, "mm, fs, dax: handle layout changes to pinned dax mappings"; Ross Zwisler,
"ext4: handle layout changes to pinned DAX pages") ``ext4_setattr`` and ``ext4_punch_hole``
call ``ext4_break_layouts`` with ``filemap_invalidate_lock`` held: ``dax_layout_busy_page``
unmaps the range (``unmap_mapping_pages``) and returns a page whose refcount is above 1;
``___wait_var_event`` sleeps until it is idle, dropping the lock meanwhile
(``ext4_wait_dax_page``), and the loop repeats until no page is busy.  Only then are the DAX
entries deleted (``dax_delete_mapping_entry``) and the blocks freed.  Long-term pins would make
that wait unbounded, so ``check_vma_flags`` refuses FOLL_LONGTERM on FS-DAX (-EOPNOTSUPP;
``get_user_pages_longterm`` since 4.15).

The ``layout-lease`` proposal (Ira Weiny, 2019 RFC, never merged) instead lets a process that
holds an exclusive layout lease take long-term pins, and makes a truncate or hole punch of the
leased file fail with -ETXTBSY.

Property ``no-stray-dma`` is checked here: a DMA into a pmem block must land in a block that
the file page it was set up for still owns.
"""

from __future__ import annotations

from .actor import Blocked, Ctx, Move, Outcome
from .locks import INVALIDATE_LOCK, down_write_queue, up_write
from .state import SUBBLOCKS, KState, replace

#: dax_page_is_idle(): the refcount of an unused fsdax page (4.18 to 6.14)
DAX_IDLE_REFCOUNT = 1

DISASSOCIATE_WARN = ("WARNING at fs/dax.c dax_disassociate_entry: "
                     "WARN_ON_ONCE(trunc && page_ref_count(page) > 1)")


def owner(page: int) -> str:
    return f"file:{page}"


def stray_dma_check(c: Ctx, k: KState, fid: int, page: int, writer: str) -> KState:
    """P5: DMA meant for file page ``page`` reaches pmem block ``fid``; is it still that
    page's block?  (Page-cache folios are kept alive by the reference itself.)"""
    if not c.env.fs.dax or k.dax_owner[fid] == owner(page):
        return k
    now = k.dax_owner[fid]
    whose = ("which truncate freed" if now is None else
             f"which truncate freed and another file now owns (its data "
             f"{'|'.join(k.folio_at(fid).data)} is overwritten)")
    return k.violate("no-stray-dma", f"{writer} wrote pmem block {fid}, set up for page {page} "
                     f"of the file, {whose}: DMA through a reference that outlived the layout")


def allocate(k: KState, block: int, who: str, page: int) -> KState:
    """ext4_map_blocks with EXT4_GET_BLOCKS_ZERO: a free pmem block, zeroed, for ``who``."""
    f = k.folio_at(block)
    k = k.with_folio_at(block, replace(f, index=page, data=("Z0",) * SUBBLOCKS,
                                       mapping=who.startswith("file:")))
    return replace(k, dax_owner=k.dax_owner[:block] + (who,) + k.dax_owner[block + 1:])


# --- truncate and hole punch: ext4_break_layouts ----------------------------------------------

def break_layouts(c: Ctx) -> Outcome:
    """ext4_break_layouts, with filemap_invalidate_lock held for writing:
    ``dax_layout_busy_page(inode->i_mapping)`` unmaps and scans the whole file, for a hole
    punch too, and before 6.15 not at all when no VMA maps the file (6.1 fs/dax.c, fs/ext4/
    inode.c; :attr:`.KernelConfig.dax_busy_unmapped`).

    layout-lease (RFC 00/10 and 07/10): a page of the range that is GUP-pinned
    (``page_gup_pinned``) fails the truncate or punch with -ETXTBSY; otherwise it goes on
    ("Truncation of pages which are not actively pinned will succeed").  Whether it also breaks
    the lease (a SIGIO, and a lease to take again before the next pin) is not modelled: the
    lease is kept."""
    k = c.k
    start, end = c.var("trange")
    broke = ""
    if c.cfg.layout_lease and k.lease is not None:
        pinned = next((p for p in range(start, end) if k.cache[p] is not None
                       and k.folio(p).maybe_dma_pinned()), None)
        if pinned is not None:
            k = up_write(k, c.name, INVALIDATE_LOCK).with_ghost(refused="ETXTBSY")
            k = k.pages_written(c.me, range(start, end), "Z0", None)  # nothing was zeroed
            what = c.var("twhat")
            return [Move(f"ext4_break_layouts: page {pinned} is pinned under the exclusive "
                         f"layout lease of {k.lease}: -ETXTBSY, filemap_invalidate_unlock",
                         c.finish(k, f"{what}=-ETXTBSY"))]
        broke = f"layout lease of {k.lease}, no page pinned: "
    if not c.cfg.dax_break_layouts:  # before 4.18/4.19: nothing waited for DMA
        return delete_entries(c)
    if not c.cfg.dax_busy_unmapped and not k.mapping_mapped():
        k = c.goto(k, "tr:daxdelete")
        return [Move(f"{broke}dax_layout_busy_page: mapping_mapped() is false (no VMA maps "
                     "the file): no page looked at", k)]
    # ext4_break_layouts passes the whole mapping (dax_layout_busy_page), not the range
    pages = range(len(k.cache))
    for p in pages:
        if k.ptes[p] is not None:
            k = k.with_pte(p, None).mmu_notifier_invalidate(p)
    busy = next((p for p in pages if k.cache[p] is not None
                 and k.folio(p).refcount > DAX_IDLE_REFCOUNT), None)
    if busy is None:
        k = c.goto(k, "tr:daxdelete")
        return [Move(f"{broke}dax_layout_busy_page: unmap_mapping_pages, no busy page", k)]
    k = c.goto(up_write(k, c.name, INVALIDATE_LOCK), "tr:daxwait", tbusy=busy)
    return [Move(f"{broke}dax_layout_busy_page: unmap_mapping_pages, page {busy} busy (refcount "
                 f"{k.folio(busy).refcount}): ext4_wait_dax_page: filemap_invalidate_unlock, "
                 "schedule", k)]


def stage_wait(c: Ctx) -> Outcome:
    """___wait_var_event(page, dax_page_is_idle(page)), then filemap_invalidate_lock again."""
    k, page = c.k, c.var("tbusy")
    fid = k.cache[page]
    if fid is not None and k.folio_at(fid).refcount > DAX_IDLE_REFCOUNT:
        return Blocked(f"___wait_var_event: page {page} busy (refcount "
                       f"{k.folio_at(fid).refcount})", _holders(k, fid))
    k = down_write_queue(k, c.name, INVALIDATE_LOCK)
    if k.invalidate_lock.writer != c.name:
        return [Move(f"page {page} idle: filemap_invalidate_lock: queued behind the readers",
                     c.goto(k, "tr:lock", tnext="tr:daxbreak"))]
    k = c.goto(k, "tr:daxbreak")
    return [Move(f"page {page} idle: filemap_invalidate_lock, ext4_break_layouts again", k)]


def _holders(k: KState, fid: int) -> tuple[str, ...]:
    """Who must act for the page to go idle: the disk for a bio, the kworker for its release."""
    out = {"disk" for b in k.bios if b.folio == fid}
    return tuple(sorted(out))


def stage_break(c: Ctx) -> Outcome:
    return break_layouts(c)


def delete_entries(c: Ctx) -> Outcome:
    """truncate_pagecache_range -> dax_delete_mapping_entry for each page of the range, then
    the blocks are freed (ext4_truncate / ext4_punch_hole) and the lock dropped."""
    k = c.k
    start, end = c.var("trange")
    freed = []
    for p in range(start, end):
        if k.ptes[p] is not None:  # no ext4_break_layouts (pre-4.18): truncate_pagecache unmaps
            k = k.with_pte(p, None).mmu_notifier_invalidate(p)
        fid = k.cache[p]
        if fid is None:
            continue
        f = k.folio_at(fid)
        if f.refcount > DAX_IDLE_REFCOUNT and c.cfg.dax_break_layouts:
            k = k.event(DISASSOCIATE_WARN)
        k = k.with_folio_at(fid, replace(f, mapping=False))
        k = replace(k, cache=k.cache[:p] + (None,) + k.cache[p + 1:],
                    dax_owner=k.dax_owner[:fid] + (None,) + k.dax_owner[fid + 1:])
        freed.append(str(fid))
    what = c.var("twhat")
    k = up_write(replace(k, i_size=0 if what == "truncate" else k.i_size), c.name,
                 INVALIDATE_LOCK)
    k = k.pages_written(c.me, range(start, end), "Z0", c.var("tstarts"))
    blocks = f"free pmem blocks {', '.join(freed)}" if freed else "no blocks to free"
    func = ("i_size_write(0), truncate_pagecache: dax_delete_mapping_entry, ext4_truncate"
            if what == "truncate" else
            "truncate_pagecache_range: dax_delete_mapping_entry, ext4_ext_remove_space")
    return [Move(f"{func}: {blocks}, filemap_invalidate_unlock", c.finish(k, f"{what}=0"))]


# --- other users of the filesystem and of leases ----------------------------------------------

def write_other_file(c: Ctx) -> Outcome:
    """("write_other_file", value): another file's write(2) on the same filesystem:
    ext4_dax_write_iter -> ext4_iomap_begin allocates a block (zeroed) -> dax_iomap_rw copies
    the data in.  On a full filesystem, -ENOSPC."""
    value = c.op[1]
    k = c.k
    block = next((b for b, o in enumerate(k.dax_owner) if o is None), None)
    if block is None:
        return [Move("ext4_dax_write_iter (another file): ext4_iomap_begin: -ENOSPC",
                     c.finish(k, "write=-ENOSPC"))]
    k = allocate(k, block, "other", -1)
    f = k.folio_at(block)
    k = k.with_folio_at(block, replace(f, data=(value,) * SUBBLOCKS))
    return [Move(f"ext4_dax_write_iter (another file): ext4_iomap_begin allocates pmem block "
                 f"{block}, dax_iomap_rw writes {value}", c.finish(k, "write=ok"))]


def layout_lease(c: Ctx) -> Outcome:
    """("layout_lease",): fcntl(fd, F_SETLEASE, F_LAYOUT), an exclusive layout lease (Ira
    Weiny's 2019 RFC).  Kernels without it reject the lease type with -EINVAL."""
    if not c.cfg.layout_lease:
        return [Move("fcntl(F_SETLEASE, F_LAYOUT): unknown lease type, -EINVAL",
                     c.finish(c.k, "lease=-EINVAL"))]
    k = replace(c.k, lease=c.name)
    return [Move("fcntl(F_SETLEASE, F_LAYOUT): exclusive layout lease granted",
                 c.finish(k, "lease=0"))]


DAX_STAGES = {"tr:daxbreak": stage_break, "tr:daxwait": stage_wait,
              "tr:daxdelete": delete_entries}
