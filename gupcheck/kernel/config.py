"""Which kernel is being modelled: every behaviour that changed between releases is one switch.

Each switch names the release, and the commit where it is known, that changed the behaviour;
a shipped release is the release before it plus the switches that changed (see
:mod:`gupcheck.designs`: 4.20 -> 5.7 -> 6.1 -> 6.12).  Proposal switches belong to the designs
of the 2018-2023 debate; each proposal module cites its mail or RFC.  docs/kernel-rules.md has
the source lines behind each rule.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields


class WritebackPinned(enum.StrEnum):
    """KernelConfig.writeback_pinned: what writeback does with a folio_maybe_dma_pinned()
    folio (see the field)."""

    PLAIN = "plain"
    BOUNCE = "bounce"
    SKIP_BOUNCE = "skip-bounce"
    SKIP_BOUNCE_IOMAP = "skip-bounce-iomap"
    BLOCK = "block"


class WpReuse(enum.StrEnum):
    """KernelConfig.wp_reuse: do_wp_page's rule for reusing an anonymous page."""

    MAPCOUNT = "mapcount"
    REFCOUNT = "refcount"


#: the values of each string switch, as users write them
WRITEBACK_PINNED = tuple(WritebackPinned)
WP_REUSE = tuple(WpReuse)


@dataclass(frozen=True, slots=True)
class KernelConfig:
    name: str
    #: 6.5, a7e689dd1c06 "block: Convert bio_iov_iter_get_pages to use iov_iter_extract_pages":
    #: block direct I/O takes FOLL_PIN pins (BIO_PAGE_PINNED); before, FOLL_GET references
    #: (iov_iter_get_pages2), invisible to folio_maybe_dma_pinned.
    dio_foll_pin: bool
    #: 5.18, cc5095747edf "ext4: don't BUG if someone dirty pages without asking ext4 first":
    #: writeback warns "page %lu does not have buffers attached" and drops the data; before, BUG.
    ext4_warn_no_buffers: bool
    #: 6.4, d824ec2a1546 "mm: do not reclaim private data from pinned page" (in 6.1.y as
    #: 4de10ff707c3): shrink_folio_list activates a folio_maybe_dma_pinned() folio after
    #: try_to_unmap, before releasing its buffers.
    reclaim_skips_pinned: bool
    #: 5.7, 3faa52c03f44 "mm/gup: track FOLL_PIN pages": GUP_PIN_COUNTING_BIAS accounting.
    pin_counting: bool
    #: 6.5, Lorenzo Stoakes "mm/gup: disallow FOLL_LONGTERM GUP-nonfast writing to file-backed
    #: mappings": check_vma_flags refuses FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE on a dirty-tracked
    #: shared file mapping with -EFAULT.
    longterm_file_refusal: bool = False
    #: ext4 has ->writepage (ext4_writepage) until 6.3, when Jan Kara's data=journal cleanup
    #: series removed it from ext4_aops: kswapd's pageout() can write a dirty file folio itself;
    #: from 6.3 pageout() finds no ->writepage and activates it.
    ext4_writepage: bool = False
    #: 5.1: io_uring exists (IORING_REGISTER_BUFFERS)
    has_io_uring: bool = True
    #: io_uring's own check, until 6.5 (same series, "io_uring: rsrc: delegate VMA file-backed
    #: check to GUP"): after pinning, every file-backed VMA that io_uring does not accept (see
    #: ``iouring_shmem``) is refused with -EOPNOTSUPP, MAP_PRIVATE ones included.
    iouring_file_check: bool = False
    #: 5.14 (Pavel Begunkov, io_uring registered buffers on shmem/memfd; axboe/liburing#358):
    #: the file-backed check accepts shmem as well as hugetlbfs; from 5.1 to 5.13 only
    #: hugetlbfs (``vma->vm_file && !is_file_hugepages(vma->vm_file)`` -> -EOPNOTSUPP).
    iouring_shmem: bool = True
    #: ... and before that, every VMA of the buffer must have the first one's vm_file, else
    #: -EINVAL (io_pin_pages: "vmas[i]->vm_file != file", in 6.1; found by a real 6.1 boot:
    #: anonymous memory followed by a shared ext4 mapping is EINVAL, not EOPNOTSUPP).
    iouring_same_file: bool = False
    #: 6.3, f04740f54594 "mm/gup: add FOLL_UNLOCKABLE" (Jason Gunthorpe): the slow path of
    #: pin_user_pages_fast(FOLL_LONGTERM) (ibv_reg_mr, io_uring) may drop mmap_lock in a fault
    #: and retry; before, __gup_longterm_unlocked takes mmap_read_lock and passes no
    #: ``locked``, so the fault sleeps holding it.
    longterm_unlockable: bool = True
    #: 5.8, 89b15332af7c "mm: drop mmap_sem before calling balance_dirty_pages() in write
    #: fault" (Johannes Weiner): a write fault on a shared file mapping ends in
    #: fault_dirty_shared_page, which, on a first attempt that may be retried, drops
    #: mmap_read_lock before balance_dirty_pages (VM_FAULT_RETRY; VM_FAULT_COMPLETED from
    #: 5.19): a CPU store returns to user space, and GUP takes the lock again and redoes the
    #: page with FOLL_TRIED (faultin_page: -EAGAIN).  Before, the fault ended holding it.
    dirty_fault_unlocks: bool = True
    #: 5.1, 6b4c9f446981 "filemap: drop the mmap_sem for all blocking operations" (Josef
    #: Bacik, <20181130195812.19536-4-josef@toxicpanda.com>): filemap_fault on a page that is
    #: not cached drops mmap_read_lock for the read-ahead I/O (do_sync_mmap_readahead) on a
    #: first attempt that may be retried.  Before, it read the page holding the lock (a locked
    #: page was already waited for without it: lock_page_or_retry).
    readahead_unlocks: bool = True
    #: 5.15, 730633f0b7f9 "mm: Protect operations adding pages to page cache with
    #: invalidate_lock" (Jan Kara): filemap_fault (retry_find) and the read-ahead
    #: (page_cache_ra_unbounded) take filemap_invalidate_lock_shared to add a missing page
    #: to the page cache, so a fault waits for a truncate or hole punch holding it before
    #: it reads a page back in.  Before, ext4 (i_mmap_sem) and XFS (XFS_MMAPLOCK) took a lock
    #: of their own around ->fault (fsops.VmOps.fault_lock, fault.fault_waits).
    fault_fill_locked: bool = True
    #: The per-VMA lock: 6.4 for anonymous memory (Suren Baghdasaryan), 6.7 for read, shared
    #: and COW faults of file mappings (Matthew Wilcox, "mm: Allow per-VMA locks on
    #: file-backed VMAs", <20230404135850.3673404-2-willy@infradead.org>, and the series
    #: after it).  A CPU page fault first takes the faulting VMA's own read lock
    #: (arch/x86/mm/fault.c do_user_addr_fault -> lock_vma_under_rcu, FAULT_FLAG_VMA_LOCK),
    #: not mmap_read_lock: it waits only while a writer holds mmap_lock and has write-locked
    #: the VMA (munmap, fork: vma_start_write), not for one queued behind mmap_lock's
    #: readers; munmap and fork then wait for it in vma_start_write.  A fault redone after
    #: VM_FAULT_RETRY takes mmap_read_lock (lock_mm_and_find_vma); GUP always does.
    fault_vma_lock: bool = True
    #: 5.8: process_vm_rw_core pins with pin_user_pages_remote (FOLL_PIN); before, FOLL_GET
    vm_rw_foll_pin: bool = True
    #: a COW filesystem (btrfs) skips a folio dirtied without ->page_mkwrite, leaving it dirty,
    #: and queues btrfs_writepage_fixup_worker, which reserves space late (6.1 and before);
    #: Debian's 6.12.118 rejects it with -EUCLEAN (designs/linux_6_12.py).
    cow_fixup_worker: bool = True
    #: What writeback does with a folio_maybe_dma_pinned() folio (the proposals of the debate):
    #: "plain" — nothing special (every shipped kernel); "bounce" — page_mkclean reports "is
    #: pinned" and the bio writes a stable bounce copy (Jérôme Glisse, Dec 2018);
    #: "skip-bounce-iomap" — Jan Kara's 2023 RFC as posted: iomap and btrfs writeback skip a
    #: pinned folio in background writeback (after folio_mkclean), iomap's bounces it in
    #: data-integrity writeback; ext4 calls folio_clear_dirty_for_io without a wbc (unchanged);
    #: "skip-bounce" — the same rule applied to ext4's and the COW filesystem's writeback too
    #: (this project's extension, design skip-and-bounce-all); "block" — a write pin holds the
    #: folio under writeback until the unpin (Dave Chinner, Dec 2018).
    writeback_pinned: WritebackPinned = WritebackPinned.PLAIN
    #: do_wp_page's rule for reusing an anonymous page on a write fault: "mapcount" (<= 5.8:
    #: reuse if mapped once — CVE-2020-29374, which 5.8 closed in GUP instead, 17839856fd58),
    #: "refcount" (5.9, 09854ba94c6a "mm: do_wp_page() simplification": reuse only if nobody
    #: else holds a reference).
    wp_reuse: WpReuse = WpReuse.REFCOUNT
    #: 5.9 (70e806e4e645, Peter Xu): fork copies a maybe-pinned anonymous page for the child
    #: instead of sharing it copy-on-write (shipped together with the refcount rule).
    fork_copies_pinned: bool = True
    #: 5.11 (57efa1fe5957 "mm/gup: prevent gup_fast from racing with COW during fork"):
    #: GUP-fast samples mm->write_protect_seq and backs off while a fork copies page tables.
    gup_fast_wp_seq: bool = True
    #: 5.19 (6c287605fd56 "mm: remember exclusively mapped anonymous pages with
    #: PG_anon_exclusive"): do_wp_page reuses an exclusive page whatever its refcount, and R/O
    #: FOLL_PIN of a shared anonymous page unshares it first.
    anon_exclusive: bool = True
    #: bounce-writeback-mkwrite: ``put_user_page(page, dirty)`` locks the folio and runs the
    #: ->page_mkwrite path (filemap_invalidate_lock_shared, buffers, reservation) before dirtying
    unpin_mkwrite: bool = False
    #: ODP/HMM (the odp design): devices take no long-term pins; they fault pages in through
    #: the normal write-fault path and follow the mmu interval-notifier protocol.
    odp: bool = False
    #: 5.10, 36f30e486dce "IB/core: Improve ODP to use hmm_range_fault()": an ODP
    #: registration faults pages in through hmm_range_fault under mmu_interval notifiers, as
    #: modelled; before, ODP used get_user_pages_remote and the older notifiers (not modelled)
    odp_hmm: bool = True
    #: 4.18/4.19 (5fac7408d828 "mm, fs, dax: handle layout changes to pinned dax mappings",
    #: 430657b6be89 "ext4: handle layout changes to pinned DAX pages"): truncate and hole punch
    #: of an FS-DAX file wait in ext4_break_layouts until no page of the range is referenced.
    dax_break_layouts: bool = True
    #: 6.15 (Alistair Popple's fsdax refcount rework; first posted by Dan Williams, "fsdax:
    #: Include unmapped inodes for page-idle detection",
    #: <166329932730.2786261.8645669907699123863.stgit@dwillia2-xfh.jf.intel.com>):
    #: dax_layout_busy_page_range also scans a file no VMA maps.  Before (4.18 to 6.14) it
    #: returned at once, ``if (!dax_mapping(mapping) || !mapping_mapped(mapping)) return
    #: NULL;`` (6.1 fs/dax.c): a page still pinned after munmap was not waited for.
    dax_busy_unmapped: bool = False
    #: layout-lease (Ira Weiny's 2019 RFC, not merged): FOLL_LONGTERM on FS-DAX needs an
    #: exclusive F_LAYOUT lease, and truncate/hole punch of a leased file fail with -ETXTBSY.
    layout_lease: bool = False
    #: 5.5, b1b4705d54ab "ext4: introduce direct I/O read using iomap infrastructure"
    #: (Matthew Bobrowski): ext4 direct I/O goes through iomap_dio_rw, which dirties a read's
    #: pages at submit (bio_set_pages_dirty) and re-checks them at completion.  Before, through
    #: __blockdev_direct_IO (fs/direct-io.c): a synchronous read dirties its pages only after
    #: the DMA, in the waiting task (dio_await_completion -> dio_bio_complete:
    #: set_page_dirty_lock, put_page); only an AIO read dirties at submit (dio_bio_submit) and
    #: checks at completion (dio_bio_end_aio -> bio_check_pages_dirty).
    dio_iomap: bool = True
    #: 5.9, f85781fb505e "btrfs: switch to iomap for direct IO" (Goldwyn Rodrigues): btrfs's
    #: direct I/O as ext4's after dio_iomap; before, __blockdev_direct_IO (fs/direct-io.c).
    #: XFS used iomap_dio_rw on every kernel modelled (since 4.10).  FileSystem.iomap_dio
    btrfs_dio_iomap: bool = True
    #: 5.9, 60263d5889e6 "iomap: fall back to buffered writes for invalidation failures": a
    #: direct write whose page cache cannot be invalidated returns -ENOTBLK and the filesystem
    #: writes through the page cache; before, iomap warned (dio_warn_stale_pagecache) and
    #: wrote anyway
    dio_invalidate_fallback: bool = True
    #: iomap, patched (patches/ext4-bounce-pinned 0002, not merged): a synchronous direct read
    #: no longer dirties its pages at submit; iomap_dio_bio_end_io links each completed bio on
    #: the dio, and the waiting task dirties (bio_set_pages_dirty) and releases the pages after
    #: the DMA, before read() returns — fs/direct-io.c's timing, with iomap's -EFAULT for a
    #: read that fails part-way; AIO reads unchanged.
    dio_dirty_in_task: bool = False
    #: ext4_punch_hole writes the range back (``filemap_write_and_wait_range``, if any page of
    #: the file is dirty) before it takes inode_lock and the invalidate lock, so a fault can
    #: dirty the range again before the page cache is truncated: until 43d0105e2c75 "ext4:
    #: don't write back data before punch hole in nojournal mode" (6.14, in 6.12.y and 6.6.y
    #: stable; Debian's 6.1.192 still flushes first), which keeps a flush for data=journal
    #: only, under the locks.
    ext4_punch_flush_unlocked: bool = True
    #: properties the design gives up on purpose (its author says the rule need not hold,
    #: and other properties measure the consequences); the matrix marks their violations
    relaxes: frozenset[str] = frozenset()

    #: Test-only mistakes a kernel could make (tests/kernel/mutants.py), to show that a property
    #: can fail; every shipped design leaves it empty.  The names (:data:`MUTATIONS`) are
    #: documented at the code they change.
    mutations: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        """Every switch is checked when a design is built: a typo in a string switch, a string
        where a yes/no switch belongs ("no" is true in Python) or an unknown mutation name must
        not silently select some behaviour.  String switches become their enum."""
        for name, kind in ((f.name, f.type) for f in fields(self)):
            value = getattr(self, name)
            if kind == "bool" and not isinstance(value, bool):
                raise ValueError(f"design {self.name!r}: {name}={value!r}; expected True or "
                                 "False")
        for name, enum_type in (("writeback_pinned", WritebackPinned), ("wp_reuse", WpReuse)):
            value = getattr(self, name)
            try:
                object.__setattr__(self, name, enum_type(value))
            except ValueError:
                raise ValueError(f"design {self.name!r}: {name}={value!r}; choose one of "
                                 f"{', '.join(e.value for e in enum_type)}") from None
        if not isinstance(self.relaxes, frozenset) or not isinstance(self.mutations, frozenset):
            raise ValueError(  # noqa: TRY004 - callers report a bad design as a ValueError
                f"design {self.name!r}: relaxes and mutations are frozensets of names")
        unknown = sorted(self.mutations - MUTATIONS)
        if unknown:
            raise ValueError(f"unknown mutations {unknown}; choose from {sorted(MUTATIONS)}")


#: every mutation hook of the kernel model, by name (gup.py grab/release, device.py _complete,
#: vma.py check_vma_flags)
MUTATIONS = frozenset({"pin-without-bias", "unpin-as-put-page", "redirty-in-end-io",
                       "longterm-dax-allowed"})
