"""GUP's VMA checks against what real 6.1 and 6.12 kernels did (docs/conformance.md) and the
FOLL_LONGTERM errors of check_vma_flags() in mm/gup.c (the refusal of writable long-term pins of
file mappings that need dirty tracking is writable_file_mapping_allowed(), 6.5)."""

from __future__ import annotations

import pytest

from gupcheck.designs import DESIGNS
from gupcheck.kernel.vma import (
    EFAULT,
    EINVAL,
    EOPNOTSUPP,
    FOLL_LONGTERM,
    FOLL_PIN,
    FOLL_WRITE,
    Backing,
    Vma,
    check_vma_flags,
    io_uring_register_buffers,
)

LINUX_6_1, LINUX_6_12 = DESIGNS["linux-6.1"], DESIGNS["linux-6.12"]

ANON_RW = Vma(Backing.ANON)
EXT4_SHARED_RW = Vma(Backing.EXT4, shared=True)
EXT4_PRIVATE_RW = Vma(Backing.EXT4)

# probe case -> (mapping(s), 6.1 errno, 6.12 errno); None = registration succeeded
IO_URING_PROBES = {
    "ext4_shared_rw": ((EXT4_SHARED_RW,), EOPNOTSUPP, EFAULT),
    "ext4_shared_rw_prefaulted": ((EXT4_SHARED_RW,), EOPNOTSUPP, EFAULT),
    "ext4_shared_ro": ((Vma(Backing.EXT4, shared=True, writable=False),), EFAULT, EFAULT),
    "ext4_private_rw": ((EXT4_PRIVATE_RW,), EOPNOTSUPP, None),
    "ext4_private_rw_prefaulted_read": ((EXT4_PRIVATE_RW,), EOPNOTSUPP, None),
    "ext4_private_ro": ((Vma(Backing.EXT4, writable=False),), EFAULT, EFAULT),
    "anon_rw": ((ANON_RW,), None, None),
    "anon_ro": ((Vma(Backing.ANON, writable=False),), EFAULT, EFAULT),
    "memfd_shared_rw": ((Vma(Backing.SHMEM, shared=True),), None, None),
    "memfd_private_rw": ((Vma(Backing.SHMEM),), None, None),
    "tmpfs_shared_rw": ((Vma(Backing.SHMEM, shared=True),), None, None),
    "hugetlb_anon_rw": ((Vma(Backing.HUGETLB),), None, None),
    # an earlier observation said EOPNOTSUPP on 6.1, but a real 6.1.0-56 boot of our own probe
    # (docs/conformance.md) gives EINVAL with the anonymous memory first: io_pin_pages requires
    # every VMA to share the first one's vm_file; with the ext4 mapping first it is EOPNOTSUPP
    "anon_plus_ext4_shared": ((ANON_RW, EXT4_SHARED_RW), EINVAL, EFAULT),
    "ext4_shared_plus_anon": ((EXT4_SHARED_RW, ANON_RW), EOPNOTSUPP, EFAULT),
}


@pytest.mark.parametrize("case", sorted(IO_URING_PROBES))
def test_io_uring_registration_errno_matches_the_real_kernels(case: str) -> None:
    vmas, on_61, on_612 = IO_URING_PROBES[case]
    assert io_uring_register_buffers(vmas, LINUX_6_1)[0] == on_61
    assert io_uring_register_buffers(vmas, LINUX_6_12)[0] == on_612


def test_6_1_faults_a_shared_file_buffer_in_before_refusing_it_and_6_12_does_not() -> None:
    assert io_uring_register_buffers((EXT4_SHARED_RW,), LINUX_6_1) == (EOPNOTSUPP, True)
    assert io_uring_register_buffers((EXT4_SHARED_RW,), LINUX_6_12) == (EFAULT, False)


LONGTERM_RW = FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE
LONGTERM_RO = FOLL_PIN | FOLL_LONGTERM


@pytest.mark.parametrize(("vma", "rw", "ro"), [
    (ANON_RW, None, None),
    (EXT4_PRIVATE_RW, None, None),
    (Vma(Backing.SHMEM, shared=True), None, None),
    (Vma(Backing.HUGETLB, shared=True), None, None),
    (EXT4_SHARED_RW, EFAULT, None),
    (Vma(Backing.DAX, shared=True), EOPNOTSUPP, EOPNOTSUPP),
])
def test_foll_longterm_errno_matrix_of_6_5_and_later(vma: Vma, rw: str | None,
                                                    ro: str | None) -> None:
    assert check_vma_flags(vma, LONGTERM_RW, LINUX_6_12) == rw
    assert check_vma_flags(vma, LONGTERM_RO, LINUX_6_12) == ro


def test_short_term_write_pins_of_shared_ext4_stay_allowed_the_unsolved_dio_case() -> None:
    assert check_vma_flags(EXT4_SHARED_RW, FOLL_PIN | FOLL_WRITE, LINUX_6_12) is None
    assert check_vma_flags(EXT4_SHARED_RW, LONGTERM_RW, LINUX_6_1) is None
