"""The dio_into_mmap probes of realkernel-observations.md, run through linux-6.1 and linux-6.12.

Each probe is a small scenario (the file shrunk to one or two pages); what the real kernels
printed — the read's return, what the mapping shows (``mem``), what O_DIRECT reads back from the
file after msync+fsync (``disk``) — is what every reachable end state of the model must show.
"""

from __future__ import annotations

import pytest

from gupcheck.scenarios.loader import parse

from .helpers import end_states

DESIGNS = ("linux-6.1", "linux-6.12")


def _scenario(name: str, program: str, **top: object) -> object:
    head = "\n".join(f"{k} = {v!r}".replace("'", '"').replace("True", "true").replace("False", "false")
                     for k, v in top.items())
    return parse(f'name = "{name}"\ndescription = "realkernel probe"\n{head}\n'
                 f'[[actor]]\nname = "CPU0 app"\nprogram = [\n{program}\n]\n', f"<{name}>")


_DIO_THEN_SYNC = """
  { op = "dio_read", page = 0, value = "B1" },
  { op = "load", page = 0 },
  { op = "msync" },
  { op = "fsync" },
"""

PROBES = {
    # mapping untouched before the read: GUP faults the page in through ->page_mkwrite
    "not_faulted": (_scenario("not-faulted", _DIO_THEN_SYNC, cached=False, mapped=False),
                    ("read=ok", "load=B1|B1", "msync=0", "fsync=0"), ("B1", "B1")),
    "prefaulted_clean": (_scenario("prefaulted-clean", _DIO_THEN_SYNC),
                         ("read=ok", "load=B1|B1", "msync=0", "fsync=0"), ("B1", "B1")),
    "prefaulted_dirty": (_scenario("prefaulted-dirty", """
  { op = "store", page = 0, block = 0, value = "D1" },
  { op = "store", page = 0, block = 1, value = "D1" },""" + _DIO_THEN_SYNC),
                         ("read=ok", "load=B1|B1", "msync=0", "fsync=0"), ("B1", "B1")),
    # the probe ftruncates a fresh file: no blocks; ->page_mkwrite reserves (delalloc)
    "sparse_hole": (_scenario("sparse-hole", _DIO_THEN_SYNC, sparse=True, free_blocks=2),
                    ("read=ok", "load=B1|B1", "msync=0", "fsync=0"), ("B1", "B1")),
    # a hole punched in a written file behaves the same
    "punched_hole": (_scenario("punched-hole", """
  { op = "punch_hole", page = 0 },""" + _DIO_THEN_SYNC),
                     ("punch=0", "read=ok", "load=B1|B1", "msync=0", "fsync=0"), ("B1", "B1")),
    # A[0] read with O_DIRECT into the mapping of A[1] (which held A.5)
    "same_file_read": (_scenario("same-file-read", """
  { op = "store", page = 1, block = 0, value = "A5" },
  { op = "store", page = 1, block = 1, value = "A5" },
  { op = "fsync" },
  { op = "dio_read", page = 1, value = "A0" },
  { op = "load", page = 1 },
  { op = "msync" },
  { op = "fsync" },""", pages=2),
                       ("fsync=0", "read=ok", "load=A0|A0", "msync=0", "fsync=0"),
                       ("A0", "A0", "A0", "A0")),
}


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
