"""VMAs and GUP's permission checks: check_vma_flags and who may take a long-term pin.

mm/gup.c ``check_vma_flags`` runs for every VMA the slow path walks, in this order:
VM_IO|VM_PFNMAP -> -EFAULT; FOLL_LONGTERM on FS-DAX -> -EOPNOTSUPP; with
FOLL_WRITE: a file mapping for which ``writable_file_mapping_allowed`` is false -> -EFAULT (6.5,
Lorenzo Stoakes: FOLL_PIN|FOLL_LONGTERM on a ``vma_needs_dirty_tracking`` mapping), then a
mapping without VM_WRITE -> -EFAULT (no FOLL_FORCE here); without FOLL_WRITE, no VM_READ ->
-EFAULT.

``vma_needs_dirty_tracking`` (mm/mmap.c): shared *and* writable, and either ``->page_mkwrite``
exists or the file's mapping can write back: true for a shared ext4 mapping, false for shmem,
memfd, tmpfs and hugetlbfs (no writeback), and for any private mapping.

io_uring (io_uring/rsrc.c ``io_sqe_buffers_register`` -> ``io_pin_pages``) pins with
FOLL_WRITE|FOLL_LONGTERM.  Before 6.5 it pinned first and then refused every file-backed VMA
that is neither shmem (accepted since 5.14) nor hugetlbfs with -EOPNOTSUPP — MAP_PRIVATE ones
included, and after the pin had already write-faulted (and so dirtied) a shared file page.
Since 6.5 GUP's own check refuses shared ext4 mappings with -EFAULT before faulting, and
MAP_PRIVATE file buffers are allowed.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .config import KernelConfig


class Backing(enum.StrEnum):
    ANON = "anon"
    EXT4 = "ext4"  # a regular file on a filesystem with writeback and ->page_mkwrite
    SHMEM = "shmem"  # tmpfs, memfd
    HUGETLB = "hugetlb"
    DAX = "fsdax"


@dataclass(frozen=True, slots=True)
class Vma:
    backing: Backing
    shared: bool = False  # MAP_SHARED
    writable: bool = True  # PROT_WRITE (VM_WRITE)
    readable: bool = True

    @property
    def file_backed(self) -> bool:
        return self.backing is not Backing.ANON

    @property
    def file(self) -> str | None:
        """vma->vm_file: one file per backing kind here; anonymous memory has none."""
        return None if self.backing is Backing.ANON else self.backing.value

    def needs_dirty_tracking(self) -> bool:
        """vma_needs_dirty_tracking(): shared, writable, and the file writes back."""
        return (self.shared and self.writable
                and self.backing in (Backing.EXT4, Backing.DAX))


FOLL_WRITE = 1 << 0
FOLL_LONGTERM = 1 << 8
FOLL_PIN = 1 << 18  # internal flag; its value does not matter here

EFAULT = "EFAULT"
EOPNOTSUPP = "EOPNOTSUPP"
EPERM = "EPERM"
EINVAL = "EINVAL"


def writable_file_mapping_allowed(vma: Vma, flags: int, cfg: KernelConfig) -> bool:
    """6.5+: a FOLL_PIN|FOLL_LONGTERM write pin of a dirty-tracked file mapping is refused."""
    if not cfg.longterm_file_refusal:
        return True
    if flags & (FOLL_PIN | FOLL_LONGTERM) != (FOLL_PIN | FOLL_LONGTERM):
        return True
    return not vma.needs_dirty_tracking()


def check_vma_flags(vma: Vma, flags: int, cfg: KernelConfig, *,
                    lease_held: bool = False) -> str | None:
    """The errno GUP's slow path returns for this VMA, or None when it may proceed.

    ``lease_held``: the caller holds an exclusive layout lease on the file (layout-lease
    design: FOLL_LONGTERM on FS-DAX is allowed with one, -EPERM without)."""
    # mutation (tests only) longterm-dax-allowed: a GUP that forgets this check
    if flags & FOLL_LONGTERM and vma.backing is Backing.DAX and \
            "longterm-dax-allowed" not in cfg.mutations:
        if cfg.layout_lease:
            return None if lease_held else EPERM
        return EOPNOTSUPP
    if flags & FOLL_WRITE:
        if vma.file_backed and not writable_file_mapping_allowed(vma, flags, cfg):
            return EFAULT
        if not vma.writable:
            return EFAULT
    elif not vma.readable:
        return EFAULT
    return None


def io_uring_register_buffers(vmas: tuple[Vma, ...], cfg: KernelConfig) -> tuple[str | None, bool]:
    """IORING_REGISTER_BUFFERS over a buffer spanning ``vmas``: (errno, pages were faulted in).

    ``faulted`` reports the side effect a user can observe on 6.1: the pin write-faulted the
    pages (through ->page_mkwrite, dirtying shared file pages) before io_uring refused them.
    """
    flags = FOLL_WRITE | FOLL_LONGTERM | FOLL_PIN
    faulted = False
    for vma in vmas:
        err = check_vma_flags(vma, flags, cfg)
        if err:
            return err, faulted
        faulted = True
    if cfg.iouring_file_check:  # io_pin_pages' own check, after pinning (pre-6.5)
        first = vmas[0].file
        for vma in vmas:
            if cfg.iouring_same_file and vma.file != first:
                return EINVAL, faulted  # "vmas[i]->vm_file != file"
            accepted = (Backing.SHMEM, Backing.HUGETLB) if cfg.iouring_shmem else \
                (Backing.HUGETLB,)  # before 5.14: `!is_file_hugepages(vma->vm_file)`
            if vma.file_backed and vma.backing not in accepted:
                return EOPNOTSUPP, faulted
    return None, faulted
