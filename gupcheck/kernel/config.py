"""Which kernel is being modelled: every behaviour that changed between releases is one switch.

Each switch names the release (and commit, where known) that introduced it, so another release
is one line (see :mod:`gupcheck.designs`).  Sources: ../shared/reference/kernel-facts.md §1.3
and modeling-notes.md §1.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KernelConfig:
    name: str
    #: 6.3: block direct I/O takes FOLL_PIN pins (iov_iter_extract_pages, BIO_PAGE_PINNED);
    #: before, FOLL_GET references (iov_iter_get_pages2), invisible to folio_maybe_dma_pinned.
    dio_foll_pin: bool
    #: 5.18, cc5095747edf "ext4: don't BUG if someone dirty pages without asking ext4 first":
    #: writeback warns "page %lu does not have buffers attached" and drops the data; before, BUG.
    ext4_warn_no_buffers: bool
    #: 6.4, d824ec2a1546 "mm: do not reclaim private data from pinned page": shrink_folio_list
    #: activates a folio_maybe_dma_pinned() folio after try_to_unmap, before releasing buffers.
    reclaim_skips_pinned: bool
    #: 5.7, 3faa52c03f44 "mm/gup: track FOLL_PIN pages": GUP_PIN_COUNTING_BIAS accounting.
    pin_counting: bool
    #: 6.5, Lorenzo Stoakes "mm/gup: disallow FOLL_LONGTERM GUP-nonfast writing to file-backed
    #: mappings": check_vma_flags refuses FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE on a dirty-tracked
    #: shared file mapping with -EFAULT.
    longterm_file_refusal: bool = False
    #: ext4 has ->writepage (ext4_writepage) until 6.3 (Jan Kara's ext4 series of Dec 2022
    #: removes it from ext4_aops, modeling-notes [EXT4WP]): kswapd's pageout() can write a
    #: dirty file folio itself; from 6.3 pageout() finds no ->writepage and activates it.
    ext4_writepage: bool = False
    #: 5.1: io_uring exists (IORING_REGISTER_BUFFERS)
    has_io_uring: bool = True
    #: io_uring's own check, until 6.5 (same series, "io_uring: rsrc: delegate VMA file-backed
    #: check to GUP"): after pinning, every file-backed VMA that is neither shmem nor hugetlbfs
    #: is refused with -EOPNOTSUPP, MAP_PRIVATE ones included.
    iouring_file_check: bool = False
    #: ... and before that, every VMA of the buffer must have the first one's vm_file, else
    #: -EINVAL (io_pin_pages: "vmas[i]->vm_file != file", in 6.1; found by a real 6.1 boot:
    #: anonymous memory followed by a shared ext4 mapping is EINVAL, not EOPNOTSUPP).
    iouring_same_file: bool = False
    #: 5.8: process_vm_rw_core pins with pin_user_pages_remote (FOLL_PIN); before, FOLL_GET
    vm_rw_foll_pin: bool = True
    #: a COW filesystem (btrfs) writes a folio dirtied without ->page_mkwrite through
    #: btrfs_writepage_fixup_worker (6.1 and before); 6.12 rejects it with -EUCLEAN.
    cow_fixup_worker: bool = True
    #: What writeback does with a folio_maybe_dma_pinned() folio (the proposals of the debate):
    #: "plain" — nothing special (every shipped kernel); "bounce" — page_mkclean reports "is
    #: pinned" and the bio writes a stable bounce copy (Jérôme Glisse, Dec 2018); "skip-bounce" —
    #: background writeback skips it, data-integrity writeback bounces it (Jan Kara's 2023 RFC);
    #: "block" — it stays under writeback until unpinned, so writers and fsync wait (Dave
    #: Chinner's counter-proposal).
    writeback_pinned: str = "plain"
    #: do_wp_page's rule for reusing an anonymous page on a write fault: "mapcount" (<= 5.8:
    #: reuse if mapped once — CVE-2020-29374), "refcount" (5.9, 09854ba94c6a "mm: do_wp_page()
    #: simplification": reuse only if nobody else holds a reference).
    wp_reuse: str = "refcount"
    #: 5.9 (70e806e4e645, Peter Xu): fork copies a maybe-pinned anonymous page for the child
    #: instead of sharing it copy-on-write (shipped together with the refcount rule).
    fork_copies_pinned: bool = True
    #: 5.11 (57efa1fe5957 "mm/gup: prevent gup_fast from racing with COW during fork"):
    #: GUP-fast samples mm->write_protect_seq and backs off while a fork copies page tables.
    gup_fast_wp_seq: bool = True
    #: 5.18 (6c287605fd56): PG_anon_exclusive; do_wp_page reuses an exclusive page whatever
    #: its refcount, and R/O FOLL_PIN of a shared anonymous page unshares it first.
    anon_exclusive: bool = True
    #: bounce-writeback-mkwrite: ``put_user_page(page, dirty)`` locks the folio and runs the
    #: ->page_mkwrite path (filemap_invalidate_lock_shared, buffers, reservation) before dirtying
    unpin_mkwrite: bool = False
    #: ODP/HMM (the odp design): devices take no long-term pins; they fault pages in through
    #: the normal write-fault path and follow the mmu interval-notifier protocol.
    odp: bool = False
    #: an ODP driver that skips mmu_interval_read_retry (a scenario's choice of driver)
    odp_naive_driver: bool = False
    #: 4.18/4.19 (5fac7408d828 "mm, fs, dax: handle layout changes to pinned dax mappings",
    #: 430657b6be89 "ext4: handle layout changes to pinned DAX pages"): truncate and hole punch
    #: of an FS-DAX file wait in ext4_break_layouts until no page of the range is referenced.
    dax_break_layouts: bool = True
    #: layout-lease (Ira Weiny's 2019 RFC, not merged): FOLL_LONGTERM on FS-DAX needs an
    #: exclusive F_LAYOUT lease, and truncate/hole punch of a leased file fail with -ETXTBSY.
    layout_lease: bool = False
    #: sb/mapping requires stable writes (MD RAID parity, DIF/DIX): folio_wait_stable waits
    stable_writes: bool = False
    #: Test-only mistakes a kernel could make (tests/kernel/mutants.py), to show that a property
    #: can fail; every shipped design leaves it empty.  The names (:data:`MUTATIONS`) are
    #: documented at the code they change.
    mutations: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        unknown = sorted(self.mutations - MUTATIONS)
        if unknown:
            raise ValueError(f"unknown mutations {unknown}; choose from {sorted(MUTATIONS)}")


#: every mutation hook of the kernel model, by name (gup.py grab/release, device.py _complete,
#: vma.py check_vma_flags)
MUTATIONS = frozenset({"pin-without-bias", "unpin-as-put-page", "redirty-in-end-io",
                       "longterm-dax-allowed"})
