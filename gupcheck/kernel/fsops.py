"""A filesystem as the kernel sees it: its operation tables.

The kernel reaches a filesystem only through tables of function pointers filled in by the
filesystem: ``vm_operations_struct`` for its mappings (``ext4_file_vm_ops = { .fault =
filemap_fault, .page_mkwrite = ext4_page_mkwrite }``), ``address_space_operations`` for its
page cache (``ext4_da_aops = { .dirty_folio = ext4_dirty_folio, .writepages =
ext4_writepages, .release_folio = ext4_release_folio, ... }``), ``file_operations`` and
``inode_operations`` for fsync, fallocate and setattr.  The model does the same: the generic
paths (fault.py, dirty.py, writeback.py, reclaim.py, truncate.py, ...) call the table of the
scenario's filesystem (:attr:`.env.Env.fs`), and each filesystem is one module of
:mod:`gupcheck.kernel.fs` that fills the table in.

A table entry is either a model function (what the kernel function does, as atomic steps) or
the kernel function's name (where the generic step is the same and only its label differs),
plus the few facts of the on-disk format the generic code needs (does a freed block become a
hole, are writes out of place).  This module holds only the table types: it imports no
kernel path, so every path can name them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .actor import Blocked, Ctx, Outcome
    from .config import KernelConfig
    from .state import Folio, KState
    from .vma import Backing

#: ``->page_mkwrite`` and what follows it on a write fault of a present, cached page:
#: (ctx, state, page, where the fault returns, what the operation returns on SIGBUS, or the
#: stage it goes to instead) -> the steps
WriteFault = Callable[["Ctx", "KState", int, str, str, "str | None"], "Outcome"]

#: what ``->fault`` itself waits for before it looks the page up (shmem_fault: a hole punch
#: over the page in progress): (ctx, state, page) -> why it sleeps, or None
FaultWait = Callable[["Ctx", "KState", int], "Blocked | None"]

#: ``->dirty_folio`` of a folio that has a mapping: (ctx, state, folio id, who dirties it,
#: is it the transfer of a PTE dirty bit) -> the state
DirtyFolio = Callable[["Ctx", "KState", int, str, bool], "KState"]

#: what ``->writepages`` decides for one locked, dirty folio before it is cleaned:
#: ("write", state, label), ("skip", state, label) (the folio's data is dropped or kept dirty,
#: the label says which), or ("oops", state, label) (the kernel BUG()s)
WritepageVerdict = tuple[Literal["write", "skip", "oops"], "KState", str]
WritepageCheck = Callable[["Ctx", "KState", int, str], WritepageVerdict]

#: the blocks of a folio the write bio carries, once the filesystem mapped them for I/O:
#: (ctx, state, page, folio) -> (state, blocks written, the folio after, label prefix)
MapForIo = Callable[["Ctx", "KState", int, "Folio"], "tuple[KState, tuple[int, ...], Folio, str]"]

#: ``->write_begin`` .. ``->write_end`` of a buffered write of a whole page: the space the
#: filesystem prepares for the new data (ctx, state, page, folio) -> (state, folio, label) or
#: the ENOSPC label
WriteBegin = Callable[["Ctx", "KState", int, "Folio"], "tuple[KState, Folio, str] | str"]

#: ``->page_mkwrite``'s preparation of a folio for dirtying, run by a design's unpin
#: (bounce-writeback-mkwrite): (state, folio id, page) -> (state, folio) or the name of the
#: reservation that failed and of what ran out
PrepareDirty = Callable[["KState", int, int], "tuple[KState, Folio] | tuple[str, str]"]

#: ->invalidate_folio's release of the reservations of a folio being removed: (state, folio)
InvalidateFolio = Callable[["KState", "Folio"], "KState"]

#: the page is zeroed, or its folio invalidated, when writeback finds it beyond i_size:
#: (state, folio) -> (folio, label)
BeyondEof = Callable[["KState", "Folio"], "tuple[Folio, str]"]


@dataclass(frozen=True, slots=True)
class VmOps:
    """``struct vm_operations_struct`` of a shared mapping of the file."""

    fault: str  # ->fault: its name in the labels (filemap_fault, shmem_fault, dax_iomap_fault)
    #: the write fault from ->fault on (->page_mkwrite, or shmem's fault + finish_fault)
    write_fault: WriteFault
    #: vma_wants_writenotify: a read fault maps the page read-only so that the first store
    #: calls ->page_mkwrite (every filesystem with ->page_mkwrite; not shmem)
    write_notify: bool = True
    #: ->fault is filemap_fault, whose lock_folio_maybe_drop_mmap drops mmap_read_lock to
    #: sleep on a locked folio when the fault may be retried, and which takes invalidate_lock
    #: to add a missing page (fault.fill_waits); not shmem_fault, not DAX
    drops_mmap_lock: bool = True
    #: before 5.15 the filesystem's ->fault wrapper took its truncate lock shared around
    #: filemap_fault (ext4_filemap_fault: i_mmap_sem, 4.5 ea3d7209ca01; XFS
    #: __xfs_filemap_fault: XFS_MMAPLOCK_SHARED, 4.1, "xfs: use i_mmaplock on read faults",
    #: <1420669543-8093-3-git-send-email-david@fromorbit.com>), the lock 5.15's
    #: invalidate_lock replaced (fault.fault_waits); its name, or None (shmem, btrfs)
    fault_lock: str | None = None
    #: ->fault's own wait before it looks the page up (fault.fault_waits), or None
    fault_wait: FaultWait | None = None
    #: ->map_pages (filemap_map_pages): without it a fault under the per-VMA lock returns
    #: VM_FAULT_RETRY at once (mm/memory.c vmf_can_call_fault, 6.12) and is redone under
    #: mmap_read_lock (ext4's DAX vm_ops have none)
    map_pages: bool = True


@dataclass(frozen=True, slots=True)
class Writepages:
    """``->writepages`` as the per-folio steps of ``write_cache_pages``' loop."""

    lookup: str  # the function that finds and locks the tagged folios
    submit: str  # the function that cleans a folio and submits its bio
    check: WritepageCheck  # the filesystem's look at a dirty folio before it is cleaned
    map_for_io: MapForIo  # the blocks the bio writes (allocating delalloc blocks)
    beyond_eof: BeyondEof  # a folio found beyond i_size (a truncate in progress)


@dataclass(frozen=True, slots=True)
class AddressSpaceOps:
    """``struct address_space_operations`` of the file's page cache."""

    dirty_folio: DirtyFolio
    #: None: no writeback at all (shmem: its folios go to swap, which is not modelled)
    writepages: Writepages | None
    #: ->writepage, which kswapd's pageout() calls itself; only ext4's before 6.3 is modelled
    #: (KernelConfig.ext4_writepage), so the name says whose it is
    writepage: str | None = None
    #: ->release_folio's name in labels; None: reclaim of this filesystem is not modelled
    release_folio: str | None = None
    write_begin: WriteBegin | None = None  # buffered write(2) of a page (dio_write.py)
    #: ->invalidate_folio of a folio truncate removes: the space reserved for it is given back
    #: (ext4_da_release_space, xfs_bmap_punch_delalloc_range); None: nothing to give back
    invalidate_folio: InvalidateFolio | None = None


@dataclass(frozen=True, slots=True)
class FileOps:
    """``file_operations`` and ``inode_operations``: the calls the scenarios make."""

    fsync: str | None  # ->fsync; None: noop_fsync (nothing to write back)
    setattr: str  # ->setattr (truncate)
    punch_hole: str  # ->fallocate(FALLOC_FL_PUNCH_HOLE)
    free_truncated: str  # what frees a truncated range's blocks
    free_punched: str  # ... a punched range's
    #: what hole punch calls to write the range back before it removes the page cache, under
    #: the invalidate lock (XFS: xfs_flush_unmap_range -> filemap_write_and_wait_range;
    #: btrfs: btrfs_wait_ordered_range under btrfs_inode_lock(BTRFS_ILOCK_MMAP));
    #: None: no writeback first
    punch_flush: str | None = None
    #: what hole punch calls to write the range back *before* it takes any lock, where the
    #: kernel does (:attr:`~.config.KernelConfig.ext4_punch_flush_unlocked`): ext4's
    #: ``filemap_write_and_wait_range`` when the mapping is tagged dirty
    punch_flush_unlocked: str | None = None
    #: a direct write's ``->iomap_begin``, which gives the page its space (ext4
    #: ``ext4_iomap_alloc``, XFS ``xfs_iomap_write_direct``: unwritten extents over its holes;
    #: btrfs: a new extent for every write), and the ``->end_io`` that converts the unwritten
    #: extents once the data is on disk (btrfs: finishes the ordered extent, freeing the old
    #: one): their names, for the labels (dio_write.direct_space, dio_write.stage_done)
    dio_alloc: str = "iomap_begin"
    dio_end_io: str = "iomap_dio_complete"


def iomap_dio_from_5_5(cfg: KernelConfig) -> bool:
    """ext4's direct I/O (and the model's default): fs/direct-io.c until 5.5, iomap_dio_rw
    since (b1b4705d54ab, :attr:`.config.KernelConfig.dio_iomap`)."""
    return cfg.dio_iomap


@dataclass(frozen=True, slots=True)
class FileSystem:
    """One filesystem: its tables and the facts of its format the generic paths read."""

    name: str
    vm_ops: VmOps
    a_ops: AddressSpaceOps
    f_ops: FileOps
    #: check_vma_flags' and io_uring's view of a mapping of the file
    backing: Backing
    #: the page reaches the disk through writeback of page-cache folios (not shmem, which
    #: has no disk, nor FS-DAX, whose mapping is the storage): what crash-consistent judges
    page_cache_over_disk: bool = True
    #: FS-DAX: the mapping maps pmem blocks; no page cache
    dax: bool = False
    #: a block freed by truncate or hole punch becomes a hole of the file (KState.holes),
    #: read back as zeros; the page cache's folios of a file with holes start without buffers
    block_map: bool = False
    #: buffer_heads are attached to the folios (fs/buffer.c): shown in traces
    buffer_heads: bool = False
    #: writes go out of place with data checksums (btrfs): each writeback allocates, each
    #: completed write frees the old extent; a direct write waits for writeback (stable)
    cow: bool = False
    #: writeback goes through iomap (iomap_writepages): where Jan Kara's RFC applies
    #: (KernelConfig.writeback_pinned "skip-bounce-iomap")
    iomap_writeback: bool = False
    #: a MAP_PRIVATE mapping of the file is modelled (the scenario loader refuses it otherwise)
    private_mappings: bool = True
    #: the page cache uses large folios (shmem with THP in the scenarios that ask for it)
    large_folios: bool = False
    #: ->page_mkwrite's preparation for dirtying, for a design that runs it at unpin
    #: (bounce-writeback-mkwrite); None: nothing to prepare
    prepare_dirty: PrepareDirty | None = None
    #: the file's direct I/O goes through iomap_dio_rw on this kernel (else fs/direct-io.c's
    #: __blockdev_direct_IO): :mod:`.dio`, :mod:`.device`
    iomap_dio: Callable[[KernelConfig], bool] = iomap_dio_from_5_5

    @property
    def writeback(self) -> bool:
        """The filesystem writes dirty folios back (not shmem)."""
        return self.a_ops.writepages is not None


