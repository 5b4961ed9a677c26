"""Test-only mutant kernels: real mistakes a kernel could make, each a shipped design with one
thing changed, to show that a property can fail (tests/kernel/test_witnesses.py).

A mutant is an existing :class:`KernelConfig` switch set the wrong way where one expresses the
mistake, else a name in ``KernelConfig.mutations`` (gupcheck.kernel.config.MUTATIONS), whose
hook is documented at the code it changes.  No shipped design sets a mutation.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gupcheck.designs import DESIGNS
from gupcheck.kernel.config import KernelConfig

BASE = DESIGNS["linux-6.12"]


@dataclass(frozen=True, slots=True)
class Mutant:
    name: str
    mistake: str  # what the kernel gets wrong, and where
    cfg: KernelConfig


def _mutant(name: str, mistake: str, base: KernelConfig = BASE, **changes: object) -> Mutant:
    return Mutant(name, mistake, replace(base, name=f"{base.name}+{name}", **changes))


MUTANTS: dict[str, Mutant] = {m.name: m for m in (
    _mutant("pin-without-bias",
            "try_grab_folio takes a FOLL_PIN as a plain reference (+1, not "
            "GUP_PIN_COUNTING_BIAS): folio_maybe_dma_pinned() misses the pin",
            mutations=frozenset({"pin-without-bias"})),
    _mutant("unpin-as-put-page",
            "io_buffer_unmap releases the pages io_sqe_buffer_register pinned with put_page, "
            "not unpin_user_page: half of John Hubbard's conversion \"fs/io_uring: set FOLL_PIN "
            "via pin_user_pages()\" (5.6, <20191209225344.99740-16-jhubbard@nvidia.com>); the "
            "pin leaks",
            mutations=frozenset({"unpin-as-put-page"})),
    _mutant("reclaim-ignores-pins",
            "shrink_folio_list releases the buffers of a pinned folio (6.12 without d824ec2a1546 "
            "\"mm: do not reclaim private data from pinned page\")",
            reclaim_skips_pinned=False),
    _mutant("redirty-in-end-io",
            "the direct-I/O read completion re-dirties a page cleaned during the DMA itself, in "
            "interrupt context, instead of deferring to bio_dirty_work",
            mutations=frozenset({"redirty-in-end-io"})),
    _mutant("longterm-dax-allowed",
            "check_vma_flags forgets to refuse FOLL_LONGTERM on FS-DAX: a truncate then waits in "
            "ext4_break_layouts for a pin nobody has to release (on 6.1: 6.5's refusal of "
            "long-term pins of shared file mappings would refuse it too)",
            DESIGNS["linux-6.1"],
            mutations=frozenset({"longterm-dax-allowed"})),
    _mutant("no-break-layouts",
            "truncate of an FS-DAX file frees the blocks without ext4_break_layouts waiting for "
            "pinned pages (before 4.18/4.19)",
            dax_break_layouts=False),
)}
