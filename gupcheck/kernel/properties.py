"""The properties of the kernel model: what each one says is in :data:`PROPERTIES`, and
docs/model.md ("Properties") says how each can fail (tests/kernel/test_witnesses.py).

Most are *event* properties: the step that breaks the rule records it in the ghost state
(``KState.violate``) with a sentence saying what happened, because only that step knows, e.g.,
whether a dirtying came with ``->page_mkwrite``.  ``pin-accounting`` and ``crash-consistent``
are plain state predicates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gupcheck.engine import Invariant

from .state import SUBBLOCKS, KState


@dataclass(frozen=True, slots=True)
class PropertyInfo:
    name: str
    objective: str
    summary: str
    explain: str  # what it protects and which real failure it stands for


PROPERTIES: dict[str, PropertyInfo] = {p.name: p for p in (
    PropertyInfo(
        "stable-writeback", "O1",
        "no DMA/DIO write into a page between its writeback bio's submit and transfer",
        "Writeback must write a stable page: a device or direct I/O writing through a GUP "
        "reference while the write bio is in flight puts a torn or stale page on disk, and on a "
        "stable-writes device (RAID parity, DIF/DIX) fails the I/O.  A writer whose reference "
        "was taken after the submit came through folio_mkclean's write-protection and "
        "->page_mkwrite, as a CPU store does, and counts only where the device or the "
        "filesystem checksums the data."),
    PropertyInfo(
        "mkwrite-before-dirty", "O2",
        "a file folio goes clean -> dirty only after ->page_mkwrite",
        "Dave Chinner's rule (\"Every. Time.\"): the filesystem must be told before a clean page "
        "is dirtied, to reserve blocks and attach buffers. A GUP user dirtying the page at "
        "unpin skips it: Linux still breaks this for direct I/O racing writeback (F2)."),
    PropertyInfo(
        "dirty-has-backing", "O2",
        "no dirtying of, and no writeback of, a page without buffers",
        "ext4 warns in ext4_dirty_folio and at writeback (\"page %lu does not have buffers "
        "attached\", 5.18+: the data is dropped; before 5.18 the kernel BUGs): the 2018 crash "
        "reports (F1)."),
    PropertyInfo(
        "no-lost-write", "O1/O2",
        "after fsync returns 0, the last write completed before it is on disk",
        "An fsync that returns 0 promises durability of every write completed before it; a "
        "page cleaned by writeback while a DMA was still filling it breaks that promise.  "
        "Writes that overlap in time may land in either order, so a block whose last write "
        "overlapped another, or was followed by one, is not promised; a write that failed "
        "before any of its data reached the file (-EFAULT, -ENOSPC, a signal) takes no "
        "promise away unless another write followed it."),
    PropertyInfo(
        "no-enospc-after-dma", "O2",
        "no space reservation fails (ENOSPC) for data a device already wrote",
        "On a copy-on-write filesystem every rewrite needs new space, reserved by "
        "->page_mkwrite; data a device wrote into a page cleaned meanwhile has none, and a "
        "late reservation can fail with ENOSPC after the write was acknowledged (F9).  A "
        "page refused without trying (6.12's -EUCLEAN) breaks mkwrite-before-dirty and "
        "no-lost-write, not this."),
    PropertyInfo(
        "no-stray-dma", "-",
        "no DMA into memory its file page no longer owns (a freed pmem block on FS-DAX, a "
        "freed page-cache folio behind a stale ODP device PTE)",
        "On FS-DAX the pinned page is the file's block: if truncate or hole punch freed it "
        "while a device still wrote through a pin, the write lands in free space or in the "
        "block another file got, corrupting that file (why ext4_break_layouts waits for DAX "
        "pages to go idle and FOLL_LONGTERM is refused on FS-DAX).  ODP holds no page "
        "reference: a device PTE programmed after the invalidation it missed can outlive the "
        "folio it maps."),
    PropertyInfo(
        "cow-isolation", "-",
        "after fork the child never sees the parent's later writes; a page a device writes "
        "for the parent (a pin, a direct read) stays the parent's",
        "Copy-on-write must not leak data through a GUP reference (CVE-2020-29374: a child "
        "vmsplices a page, unmaps it, and reads what the parent writes next), and a device "
        "writing through the parent's pin or GUP reference must write the page the parent maps "
        "(F8; a direct read into a MAP_PRIVATE page across fork)."),
    PropertyInfo(
        "no-sleep-in-atomic", "-",
        "nothing sleeps or takes a sleeping lock in atomic context (bio completion)",
        "bio end_io runs in interrupt context: it may not take the folio lock, mmap_lock or "
        "filemap_invalidate_lock, which is why the kernel defers re-dirtying to "
        "bio_dirty_work (Dave Chinner: put_user_page \"is not a fault path\")."),
    PropertyInfo(
        "writeback-progress", "liveness",
        "every fsync, msync, truncate or hole punch that starts eventually returns",
        "Under weak fairness of kernel threads and I/O completion, and no fairness for a user's "
        "unpin or deregistration: a design that makes fsync wait for a pin whose release nobody "
        "guarantees starves it (\"days, weeks, months\")."),
    PropertyInfo(
        "pin-accounting", "-",
        "folio_maybe_dma_pinned() is true while a FOLL_PIN is held; counts never go negative; "
        "nr_foll_pin_acquired - nr_foll_pin_released is the number of pins held",
        "The pin-counting design (5.7) is only as good as its accounting: a false negative lets "
        "reclaim or fork treat a pinned page as unpinned (a FOLL_PIN taken without "
        "GUP_PIN_COUNTING_BIAS), and an unpin that does not undo its pin (put_page instead of "
        "unpin_user_page) leaks it: the page looks pinned for ever and /proc/vmstat's "
        "nr_foll_pin_acquired and nr_foll_pin_released, which the mm selftests compare once "
        "everything is unpinned, disagree."),
    PropertyInfo(
        "crash-consistent", "O1/O2",
        "a power failure at any point leaves on disk what every returned fsync made durable "
        "(or a later write's data), and on a checksumming filesystem data matching its checksum",
        "What a lost write costs is what survives a power failure: every block an fsync that "
        "returned 0 covered must hold that data or a later write's, in every state after it; "
        "and on btrfs (data checksums) a block whose data changed after its checksum was "
        "computed (a DMA into a page under writeback) cannot be read back after the crash: "
        "\"csum failed\", -EIO.  Checked as a state invariant (\"if the power failed now\"), "
        "equivalent to a crash step at every point without doubling the state space.  Does not "
        "apply to tmpfs (no disk) nor to FS-DAX (the page is the persistent block)."),
)}


def _event_property(name: str) -> Callable[[KState], str | None]:
    def check(k: KState) -> str | None:
        for prop, why in k.ghost.violations:
            if prop == name:
                return why
        return None

    return check


def _pin_accounting(pin_counting: bool) -> Callable[[KState], str | None]:
    """A FOLL_PIN's three traces in the kernel (mm/gup.c ``try_grab_folio``,
    ``gup_put_folio``): GUP_PIN_COUNTING_BIAS in ``_refcount`` (or the exact ``_pincount`` of a
    large folio), which ``folio_maybe_dma_pinned`` reads; and the node counters
    NR_FOLL_PIN_ACQUIRED / NR_FOLL_PIN_RELEASED (5.7, 1970dc6f5226 "mm/gup: /proc/vmstat:
    pin_user_pages (FOLL_PIN) reporting").  Each is compared with the pins the model's GUP
    users hold (``Folio.pins``)."""

    def check(k: KState) -> str | None:
        held = 0
        for f in k.folios:
            if f is None:
                continue
            if f.refcount < 0 or f.pins < 0 or f.gets < 0 or f.mapcount < 0:
                return f"page {f.index}: a count went negative ({f})"
            if pin_counting and f.pins > 0 and not f.maybe_dma_pinned():
                return (f"page {f.index} holds {f.pins} FOLL_PIN pin(s) but "
                        f"folio_maybe_dma_pinned() is false (refcount {f.refcount})")
            held += f.pins
        g = k.ghost
        if pin_counting and g.pins_acquired - g.pins_released != held:
            return (f"nr_foll_pin_acquired - nr_foll_pin_released is "
                    f"{g.pins_acquired - g.pins_released} but GUP users hold {held} FOLL_PIN "
                    "pin(s): a pin was leaked (an unpin that did not undo it)")
        return None

    return check


def _crash_consistent(on_disk: bool) -> Callable[[KState], str | None]:
    return _crash_check if on_disk else lambda k: None


def _crash_check(k: KState) -> str | None:
    """If the power failed in this state, would the disk be consistent?  Every block holds the
    value the last fsync returning 0 made durable or one of the writes started since
    (``Ghost.crash_legal``), and on the COW filesystem every block matches its data checksum
    (``KState.csum``: what btrfs_csum_one_bio summed, written with the extent)."""
    if not k.ghost.crash_legal:
        return None
    for i, on_disk in enumerate(k.disk):
        page, block = divmod(i, SUBBLOCKS)
        if k.csum and k.csum[i] != on_disk:
            return (f"a power failure now leaves page {page} block {block} holding {on_disk} "
                    f"under the checksum of {k.csum[i]}: the read after the reboot fails "
                    "(btrfs \"csum failed\", -EIO)")
        if page >= k.i_size:  # no part of the file now: a truncate discarded it
            continue
        durable, later = k.ghost.crash_legal[page][block]
        on_disk = k.read_back(page, block)  # what the file reads: zeros in an ext4 hole
        if on_disk != durable and on_disk not in later:
            since = f" or the later {', '.join(sorted(later))}" if later else ""
            return (f"a power failure now leaves page {page} block {block} holding {on_disk} on "
                    f"disk, not {durable}, which a returned fsync made durable{since}")
    return None


LIVENESS = frozenset({"writeback-progress"})
#: the properties that compare data values (fsync's expected disk contents, a leaked value):
#: with neither checked, KernelModel.view leaves the values out
DATA_READERS = frozenset({"no-lost-write", "cow-isolation", "crash-consistent"})
#: the properties that read what each write and each sync promised (Ghost.last_write ...)
WRITE_READERS = frozenset({"no-lost-write", "crash-consistent"})
#: the state predicates (the others are event properties, or liveness)
_PREDICATES: dict[str, Callable[[bool, bool], Callable[[KState], str | None]]] = {
    "pin-accounting": lambda pin_counting, on_disk: _pin_accounting(pin_counting),
    "crash-consistent": lambda pin_counting, on_disk: _crash_consistent(on_disk),
}


def invariants(names: tuple[str, ...], *, pin_counting: bool,
               on_disk: bool) -> list[Invariant[KState]]:
    """The state invariants of the checked properties.  ``pin_counting``: the kernel has
    FOLL_PIN accounting (5.7); ``on_disk``: the file's data reaches a disk through the page
    cache (crash-consistent does not apply to tmpfs nor to FS-DAX)."""
    out = []
    for name in names:
        if name in LIVENESS:
            continue
        info = PROPERTIES[name]
        pred = _PREDICATES.get(name)
        check = pred(pin_counting, on_disk) if pred is not None else _event_property(name)
        out.append(Invariant(name, check, info.summary))
    return out
