"""The dio_into_mmap probes of docs/conformance.md, run through linux-6.1 and linux-6.12.

Each probe is a small scenario (the file shrunk to one or two pages), the one the conformance
predictions use (``gupcheck.conform.predict.DIO_SCENARIOS``); what the real kernels printed —
the read's return, what the mapping shows (``mem``), what O_DIRECT reads back from the file
after msync+fsync (``disk``) — is what every reachable end state of the model must show.
"""

from __future__ import annotations

import pytest

from gupcheck.conform.predict import DIO_SCENARIOS, DIO_THEN_SYNC, inline_scenario

from .helpers import end_states

DESIGNS = ("linux-6.1", "linux-6.12")

_SYNCED = ("read=ok", "load=B1|B1", "msync=0", "fsync=0")

PROBES = {
    # mapping untouched before the read: GUP faults the page in through ->page_mkwrite
    "not_faulted": (DIO_SCENARIOS["not_faulted"], _SYNCED, ("B1", "B1")),
    "prefaulted_clean": (DIO_SCENARIOS["prefaulted_clean"], _SYNCED, ("B1", "B1")),
    "prefaulted_dirty": (DIO_SCENARIOS["prefaulted_dirty"], _SYNCED, ("B1", "B1")),
    # the probe ftruncates a fresh file: no blocks; ->page_mkwrite reserves (delalloc)
    "sparse_hole": (inline_scenario("sparse-hole", DIO_THEN_SYNC, sparse=True, free_blocks=2),
                    _SYNCED, ("B1", "B1")),
    # a hole punched in a written file behaves the same (the conformance predictions model
    # the sparse_hole probe this way)
    "punched_hole": (DIO_SCENARIOS["sparse_hole"], ("punch=0", *_SYNCED), ("B1", "B1")),
    # A[0] read with O_DIRECT into the mapping of A[1] (which held A.5)
    "same_file_read": (DIO_SCENARIOS["same_file_read"],
                       ("fsync=0", "read=ok", "load=A0|A0", "msync=0", "fsync=0"),
                       ("A0", "A0", "A0", "A0")),
}


def test_every_dio_scenario_of_the_conformance_predictions_is_checked_here() -> None:
    checked = [id(scenario) for scenario, _, _ in PROBES.values()]
    assert all(id(sc) in checked for sc in DIO_SCENARIOS.values())


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("probe", sorted(PROBES))
def test_dio_into_mmap_probe_ends_as_on_the_real_kernel(probe: str, design: str) -> None:
    scenario, results, disk = PROBES[probe]
    ends = end_states(scenario, design)
    assert ends
    for k in ends:
        assert k.threads[0].results == results
        assert k.disk == disk, f"disk {k.disk}, the real kernel had {disk}"
        assert not k.ghost.events, k.ghost.events  # no warning on these kernels
