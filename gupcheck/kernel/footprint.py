"""What kernel steps read and write, for partial-order reduction (``--reduce por``).

The engine's reduction (:mod:`gupcheck.engine.por`) expands at a state only one *unit*'s steps
when they are invisible to the checked properties and independent of everything every other
unit may still do.  Kernel steps are coarse here on purpose: every step is declared to read and
write the whole shared kernel state (:data:`SHARED`: folios, the page cache, PTEs, locks, the
ghost records), except the one step that provably touches nothing another actor looks at, and
that is where most interleavings come from:

* **a block transfer** (``device.next_transfer``): the device moves one block of bio ``#n``
  between the page and the disk.  It reads and writes the bio's transfer progress
  (``Bio.pending``), which only the disk's own steps for that bio read (its completion
  waits for it), and data values: the page's contents and the disk block.  DMA takes no lock and
  looks at no flag (block/blk-mq.c, drivers; see :mod:`.device`).  Each bio is its own unit
  (:func:`bio_unit`): its transfers and its completion belong together, and other bios'
  transfers are independent of them.

When is that exact?  Only if no checked property and no guard reads what the transfer changes
besides the bio's progress:

* data values are compared only by ``no-lost-write``, ``cow-isolation`` and
  ``crash-consistent`` and by a stable-writes device's checksum (the model's ``view`` keeps them
  then); with none of those, no step's guard and no checked property reads a data value
  (data independence), so two orders of a transfer and a CPU store that differ only in the
  page's contents are the same state to everything that is checked;
* a DMA into a folio under writeback is what ``stable-writeback`` records (``dma_write_check``
  reads the other bios' progress), and a DMA into a freed pmem block what ``no-stray-dma``
  records (``stray_dma_check``): with either checked, transfers are :data:`SHARED` too.

Nobody else ends a bio with blocks still to transfer (only its own completion and the kworker,
after it, remove it), so no other actor disables a transfer, except a ``BUG()``, which stops
every actor: the crash is recorded by the step that oopses, which the reduced search still
takes after the transfer, reaching a crashed state that differs only in the transfer.

So :meth:`KernelModel.footprints` declares transfers local only when none of those is checked,
and otherwise the reduction finds nothing to reduce (its note says how often it could).  The
data values are then :meth:`KernelModel.unobserved` (:func:`data_object`): two bios moving
blocks of one page, a write bio reading it and a read bio's DMA writing it, commute as a
transfer and a CPU store do.  And since a bio's next transfer is its unit's only step until
the last block has moved, the search takes a bio's transfers as soon as it is submitted
(:meth:`KernelModel.local_steps`; the engine's "local steps taken at once"): no stored state
has a bio half transferred, and a trace still shows each block's transfer after the submit.
``--reduce por-check`` verifies the declarations as it searches, up to the search's own
equivalence: run it with ``view``, which leaves out the data values that the declaration
ignores.
"""

from __future__ import annotations

from functools import cache

#: every shared kernel object not named below: a step without a declaration touches it
SHARED = "*"
#: what reads a data value or records a DMA's violation (see the module docstring)
TRANSFER_READERS = frozenset({"no-lost-write", "cow-isolation", "crash-consistent",
                              "stable-writeback", "no-stray-dma"})


@cache
def bio_unit(bio_id: int) -> str:
    """The reduction's unit for the disk's steps on bio ``#bio_id`` (not an actor's name:
    labels and traces still say ``disk``)."""
    return f"disk bio #{bio_id}"


@cache
@cache  # one object per transfer: the kernel's label lookup hashes it
def transfer(bio_id: int, page: int, fid: int) -> frozenset[str]:
    """What a transfer touches, named as :meth:`KernelModel.fields` shows it (so that
    ``por-check`` can compare): the bio's progress, the page's data, its disk blocks, and the
    folio it moves the data of if that is not the page's own: the pmem block on FS-DAX, the
    private copy a MAP_PRIVATE page's PTE points to, an anonymous folio."""
    return frozenset({f"bio #{bio_id}", f"page {page} data", f"page {page} disk",
                      f"pmem block {fid}", f"page {page} private copy", f"anon folio #{fid}"})


@cache
def data_object(name: str) -> bool:
    """Whether ``name`` is one of :func:`transfer`'s data values (a page's contents, its disk
    blocks, a pmem block, a private copy, an anonymous folio), as opposed to a bio's
    progress."""
    return name.endswith((" data", " disk", " private copy")) \
        or name.startswith(("pmem block ", "anon folio #"))


@cache
def bio_footprint(bio_id: int, page: int, fid: int) -> tuple[frozenset[str], frozenset[str]]:
    """What the disk's unit for a bio may touch from now on: its transfers and its completion,
    which touches the shared state."""
    own = frozenset({SHARED}) | transfer(bio_id, page, fid)
    return own, own
