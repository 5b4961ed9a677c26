"""Every property can fail, and can hold: a witness for each.

For every property of gupcheck.kernel.properties.PROPERTIES, a (shipped or mutant) design and
a scenario where it is violated — the shortest counterexample must take the kernel steps that
make the failure, in order — and a design and scenario where it holds.  A property that cannot
fail checks nothing; adding one without witnesses here fails :func:`test_every_property_has_
witnesses`.  Mutants (real mistakes, not shipped) are in tests/kernel/mutants.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gupcheck.designs import DESIGNS
from gupcheck.engine import Result, Verdict, check
from gupcheck.kernel.config import KernelConfig
from gupcheck.kernel.properties import LIVENESS, PROPERTIES
from gupcheck.kernel.system import ActorSpec, KernelModel, Scenario
from gupcheck.scenarios import SCENARIOS

from .helpers import assert_steps_in_order
from .mutants import MUTANTS
from .test_properties import TWO_SYNCERS

#: control-cpu-mmap-write on the btrfs-like filesystem: stores, writeback, fsync, no GUP
COWFS_CONTROL = Scenario(
    "control-cpu-mmap-write-cowfs", "CPU stores through a shared mapping of a btrfs file, fsync",
    (ActorSpec("CPU0 app", (("store", 0, 0, "C1"), ("store", 0, 1, "C2"), ("fsync",))),
     ActorSpec("flusher", (("writeback_pass",),), daemon=True)),
    filesystem="cowfs", free_blocks=2)


@dataclass(frozen=True, slots=True)
class Witness:
    design: str  # a shipped design, or a mutant of tests/kernel/mutants.py
    scenario: str | Scenario
    steps: tuple[str, ...] = ()  # violated: fragments of the counterexample's steps, in order
    message: str = ""  # violated: a fragment of the property's own sentence

    def cfg(self) -> KernelConfig:
        return MUTANTS[self.design].cfg if self.design in MUTANTS else DESIGNS[self.design]

    def run(self, prop: str) -> Result:
        sc = SCENARIOS[self.scenario] if isinstance(self.scenario, str) else self.scenario
        return check(KernelModel(sc, self.cfg(), (prop,)))

    def label(self) -> str:
        sc = self.scenario if isinstance(self.scenario, str) else self.scenario.name
        return f"{sc}[{self.design}]"


VIOLATED: dict[str, tuple[Witness, ...]] = {
    "stable-writeback": (
        Witness("linux-6.1", "dio-read-into-mmap",
                ("grabs page 0", "submit_bio (read bio", "submit_bio (write bio",
                 "DMA of read bio"), "while writeback bio"),),
    "mkwrite-before-dirty": (
        Witness("linux-6.12", "dio-read-into-mmap",
                ("grabs page 0", "folio_clear_dirty_for_io",
                 "bio_set_pages_dirty: set_page_dirty_lock"),
                "->page_mkwrite"),),
    "dirty-has-backing": (
        Witness("linux-6.1", "dio-vs-reclaim",
                ("grabs page 0", "try_to_free_buffers strips", "set_page_dirty_lock"),
                "has no buffers"),
        Witness("reclaim-ignores-pins", "dio-vs-reclaim",
                ("grabs page 0", "try_to_free_buffers strips", "set_page_dirty_lock"),
                "has no buffers")),
    "no-lost-write": (
        Witness("linux-6.12", "deferred-redirty-vs-fsync",
                ("submit_bio (write bio", "transfers page 0 block", "DMA of read bio",
                 "fsync returns 0"), "fsync returned 0"),),
    "no-enospc-after-dma": (
        Witness("linux-6.1", "enospc-after-dma",
                ("folio_clear_dirty_for_io", "DMA of read bio", "fixup"), "ENOSPC"),),
    "no-stray-dma": (
        Witness("no-break-layouts", "dax-truncate",
                ("grabs page 0", "submit_bio (read bio", "free pmem blocks 0",
                 "DMA of read bio"), "which truncate freed"),),
    "cow-isolation": (
        Witness("pin-counting", "fork-after-pin",
                ("pin_user_pages (FOLL_PIN)", "dup_mmap", "share it copy-on-write",
                 "do_wp_page: wp_page_copy"), "the page it pinned is no longer the one it maps"),),
    "no-sleep-in-atomic": (
        Witness("redirty-in-end-io", "dio-read-into-mmap",
                ("submit_bio (read bio", "folio_clear_dirty_for_io", "DMA of read bio",
                 "end_io: set_page_dirty_lock"), "interrupt context"),),
    "writeback-progress": (
        Witness("longterm-dax-allowed", "dax-truncate-longterm",
                ("grabs page 0 (FOLL_PIN)", "ib_umem_get: page 0 registered",
                 "dax_layout_busy_page: unmap_mapping_pages, page 0 busy"), "CPU1 truncate"),),
    "pin-accounting": (
        Witness("pin-without-bias", "dio-read-into-mmap", ("grabs page 0 (FOLL_PIN)",),
                "folio_maybe_dma_pinned() is false"),
        Witness("unpin-as-put-page", "truncate-while-pinned-memfd",
                ("grabs page 0 (FOLL_PIN)", "registered as a fixed buffer",
                 "io_buffer_unmap: unpin_user_page"), "a pin was leaked")),
    "crash-consistent": (
        Witness("linux-6.12", "deferred-redirty-vs-fsync",
                ("submit_bio (write bio", "transfers page 0 block", "DMA of read bio",
                 "fsync returns 0"), "a power failure now leaves page 0"),
        Witness("linux-6.1", "dio-read-into-mmap-btrfs",
                ("extent_writepage: folio_clear_dirty_for_io, folio_start_writeback, submit_bio",
                 "DMA of read bio", "transfers page 0 block 0 (B1)"),
                "under the checksum of")),
}

HOLDS: dict[str, tuple[Witness, ...]] = {
    "stable-writeback": (Witness("linux-6.12", "control-cpu-mmap-write"),),
    "mkwrite-before-dirty": (Witness("linux-6.12", "control-cpu-mmap-write"),),
    "dirty-has-backing": (Witness("linux-6.12", "dio-vs-reclaim"),),
    "no-lost-write": (Witness("linux-6.12", "control-cpu-mmap-write"),
                      Witness("linux-6.12", TWO_SYNCERS)),
    "no-enospc-after-dma": (Witness("linux-6.12", "enospc-after-dma"),),
    "no-stray-dma": (Witness("linux-6.12", "dax-truncate"),),
    "cow-isolation": (Witness("linux-6.1", "fork-after-pin"),),
    "no-sleep-in-atomic": (Witness("linux-6.12", "dio-read-into-mmap"),),
    "writeback-progress": (Witness("linux-6.1", "dax-truncate"),),
    "pin-accounting": (Witness("linux-6.12", "dio-read-into-mmap"),
                       Witness("linux-6.12", "truncate-while-pinned-memfd")),
    "crash-consistent": (Witness("linux-6.12", "control-cpu-mmap-write"),
                         Witness("linux-6.12", COWFS_CONTROL),
                         Witness("linux-6.12", TWO_SYNCERS)),
}


def test_every_property_has_witnesses() -> None:
    """A property added to PROPERTIES needs a witness that it can fail and one that it holds."""
    for prop in PROPERTIES:
        assert VIOLATED.get(prop), f"{prop}: no design and scenario where it is violated"
        assert HOLDS.get(prop), f"{prop}: no design and scenario where it holds"
    assert set(VIOLATED) | set(HOLDS) <= set(PROPERTIES)


def test_mutants_are_not_shipped() -> None:
    assert all(not d.mutations for d in DESIGNS.values())
    assert all(m.cfg.name not in DESIGNS for m in MUTANTS.values())


def _cases(table: dict[str, tuple[Witness, ...]]) -> list:  # type: ignore[type-arg]
    return [pytest.param(p, w, id=f"{p}-{w.label()}") for p in sorted(table) for w in table[p]]


@pytest.mark.parametrize(("prop", "witness"), _cases(VIOLATED))
def test_the_property_is_violated(prop: str, witness: Witness) -> None:
    result = witness.run(prop)
    failing = Verdict.STARVES if prop in LIVENESS else Verdict.VIOLATED
    assert result.verdict is failing, result.message
    assert result.property is not None and result.property.startswith(prop)
    assert witness.message in result.message
    assert_steps_in_order(result, witness.steps)


@pytest.mark.parametrize(("prop", "witness"), _cases(HOLDS))
def test_the_property_holds(prop: str, witness: Witness) -> None:
    result = witness.run(prop)
    assert result.verdict is Verdict.HOLDS, result.message


@pytest.mark.parametrize(("prop", "witness"), _cases(VIOLATED))
def test_the_view_keeps_what_the_property_reads(prop: str, witness: Witness) -> None:
    """``--reduce view`` drops what no checked property reads: each witness still fails, with a
    counterexample as short (pin-accounting keeps the pin counters' difference, crash-consistent
    the durable values)."""
    sc = SCENARIOS[witness.scenario] if isinstance(witness.scenario, str) else witness.scenario
    plain = witness.run(prop)
    viewed = check(KernelModel(sc, witness.cfg(), (prop,)), reduce="view")
    assert viewed.verdict is plain.verdict
    assert viewed.trace is not None and plain.trace is not None
    assert len(viewed.trace) == len(plain.trace)
