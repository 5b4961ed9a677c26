"""The racy probes: the model's counterexamples for linux-6.1/6.12, driven N times on a real
kernel (O_DIRECT into a shared mapping against writeback, reclaim, munmap, truncate;
process_vm_writev against an O_DIRECT write; the same on btrfs, full or not, on ext4 on an
NVMe namespace with protection information, and on XFS: race/xfs_<case> is the ext4 case with
its files on the guest's XFS disk, checked against the ext4 case's scenario on filesystem
"xfs" — not compared while the model has no XFS).

A racy probe has no single outcome to predict: each of its N rounds may or may not hit the
window.  So the probe prints counts (probes/gupprobe.c, group ``race``) and the model predicts
only whether a count *can* be non-zero: the probe's scenario is checked under the design with
the one property that count stands for; a violated property predicts "mismatches possible", a
property that holds over the whole state space predicts "none".

The comparison is deliberately asymmetric, because a run of N rounds can prove a race reachable
but never prove it impossible:

- observed > 0, predicted none     -> DISAGREES (the model missed a race the kernel has);
- observed > 0, predicted possible -> confirmed (the real kernel reaches what the model found);
- observed 0,   predicted possible -> "not observed in N runs" — neither agreement nor
  disagreement, and not counted as either;
- observed 0,   predicted none     -> agrees (nothing seen, nothing allowed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from gupcheck.engine import Verdict, check
from gupcheck.kernel.config import KernelConfig
from gupcheck.kernel.system import KernelModel
from gupcheck.scenarios import SCENARIOS

from .compare import AGREES, DISAGREES, MODEL_ERROR, NO_RESULT, NOT_MODELLED, Row
from .observe import Observation
from .predict import on_xfs

CONFIRMED = "confirmed"
NOT_OBSERVED = "not observed"

#: the default number of rounds of each racy probe (small: TCG runs one vCPU slowly)
DEFAULT_ITERATIONS = 200

POSSIBLE = "mismatches possible"
NONE = "none"


@dataclass(frozen=True)
class Aspect:
    """One count a racy probe prints, the model property it stands for, and how it is named."""

    label: str  # the row's suffix: "lost writes", "ext4 warnings"
    fields: tuple[str, ...]  # the probe's counters summed for this aspect
    property: str  # the model's property whose violation makes a non-zero count possible
    why_not: str = ""  # property "": why the model predicts nothing here (the row says so)


#: mem/disk/reread mismatches are the lost write of no-lost-write (fsync returned 0 and the
#: data is not on disk, or a later reader does not see it); ext4's WARNING and "does not have
#: buffers attached" lines are dirty-has-backing's own symptoms (F1)
LOST_WRITES = Aspect("lost writes", ("mem_mismatch", "disk_mismatch", "reread_mismatch"),
                     "no-lost-write")
EXT4_WARNINGS = Aspect("ext4 warnings", ("kmsg_warnings", "ext4_no_buffers"),
                       "dirty-has-backing")
#: btrfs verifies data checksums on read: a block whose data changed after writeback
#: checksummed it reads as EIO ("csum failed") — the symptom of a DMA into a page under
#: writeback (stable-writeback) on a checksumming filesystem
CHECKSUM_FAILURES = Aspect("checksum failures", ("read_eio", "csum_failed"), "stable-writeback")
#: a device that requires stable pages (T10 PI: the block layer computes guard tags at submit,
#: the device checks them) fails a write whose page a DMA changed while it was in flight: the
#: syncs return the error (EIO on 6.1, EILSEQ — BLK_STS_PROTECTION's errno — on 6.12), the
#: kernel logs "protection error" and the NVMe status, or a later read fails the tag
#: verification — stable-writeback's symptom (F3)
PROTECTION_ERRORS = Aspect("protection errors",
                           ("sync_errors", "racer_sync_errors", "read_pi_errors", "pi_errors",
                            "nvme_pi_status"), "stable-writeback")
#: msync/fsync failing with ENOSPC after the read (whose fault reserved the space) returned:
#: the late reservation of a page dirtied by the DMA without ->page_mkwrite
ENOSPC_AFTER_DMA = Aspect("ENOSPC after DMA", ("sync_enospc",), "no-enospc-after-dma")
#: btrfs' own detector of a folio dirtied without ->page_mkwrite ("is marked dirty without
#: notifying the fs", writeback fails with -EUCLEAN), absent from 6.1 (its cow fixup worker
#: reserves late instead, silently)
UNNOTIFIED_DIRTY = Aspect("dirtied without page_mkwrite", ("unnotified_dirty",),
                          "mkwrite-before-dirty")
#: on XFS: the kernel log's new WARNING lines and XFS's own messages (xfs_discard_folio's "page
#: discard on page", a corruption or I/O error report): what a folio dirtied without backing
#: does there, in place of ext4's "does not have buffers attached"
XFS_WARNINGS = Aspect("XFS warnings", ("kmsg_warnings", "xfs_messages"), "dirty-has-backing")
#: data of a truncated page that reads back after the file is regrown: a real bug if seen, but
#: no property of the model stands for it (dio-unpin-vs-truncate has no fsync after the
#: truncate, so no-lost-write would hold vacuously), so it is shown, never judged
STALE_AFTER_TRUNCATE = Aspect(
    "stale data after truncate", ("stale_cache", "stale_disk", "stale_reread"), "",
    why_not="the scenario has no fsync after its truncate: no property of the model says "
            "whether truncated data may come back")


@dataclass(frozen=True)
class RaceProbe:
    """A racy probe case and the shipped scenario that models it."""

    name: str  # race/<case>, as the probe prints it
    scenario: str
    aspects: tuple[Aspect, ...] = (LOST_WRITES, EXT4_WARNINGS)
    context: tuple[str, ...] = ()  # counters shown on each row: how often the window opened
    filesystem: str = "ext4"  # "btrfs": the guest gets a second disk with btrfs at /btr;
    # "ext4-pi": an NVMe namespace with protection information, ext4 at /pi; "xfs": a disk
    # with XFS at /xfs, the scenario checked on filesystem "xfs" (predict.on_xfs)
    stable_writes: bool = False  # check the scenario as on a stable-writes device (a control
    # scenario written for a plain disk, run on the PI namespace)


RACE_PROBES: dict[str, RaceProbe] = {p.name: p for p in (
    # the flusher's writeback pass is the probe's msync(MS_SYNC) loop
    RaceProbe("race/dio_vs_msync", "dio-read-into-mmap"),
    # flusher + kswapd stripping buffers: msync + MADV_PAGEOUT (reclaim of the clean page)
    RaceProbe("race/dio_vs_pageout", "dio-vs-reclaim"),
    # CPU1 munmap + the flusher: munmap during the read, then sync_file_range(WRITE) loops
    RaceProbe("race/munmap_while_dma", "munmap-while-dma",
              context=("read_efault", "read_short")),
    # CPU1 truncate + one flusher pass during the read; then regrow, every byte must be zero
    RaceProbe("race/dio_vs_truncate", "dio-unpin-vs-truncate",
              (STALE_AFTER_TRUNCATE, EXT4_WARNINGS), context=("read_efault", "read_short")),
    # the debugger's process_vm_writev held at a userfaultfd fault, CPU1's O_DIRECT write
    RaceProbe("race/vm_writev_vs_dio", "vm-writev-vs-dio-invalidate",
              context=("uffd_stalls", "stale_pagecache")),
    # the flusher (sync_file_range WRITE loop) against O_DIRECT read + fsync at once
    RaceProbe("race/dio_vs_fsync", "deferred-redirty-vs-fsync"),
    # btrfs (second disk): the flusher (msync loop), the app's two msyncs, an O_DIRECT reader
    RaceProbe("race/btrfs_dio_vs_msync", "dio-read-into-mmap-btrfs",
              (LOST_WRITES, CHECKSUM_FAILURES, UNNOTIFIED_DIRTY),
              context=("read_efault", "read_errors", "sync_errors", "sync_errno",
                       "kmsg_warnings"), filesystem="btrfs"),
    # the same on a full btrfs whose freed space another file takes at once
    RaceProbe("race/btrfs_enospc", "enospc-after-dma",
              (ENOSPC_AFTER_DMA, LOST_WRITES, CHECKSUM_FAILURES, UNNOTIFIED_DIRTY),
              context=("read_efault", "read_errors", "sync_errors", "sync_errno",
                       "kmsg_warnings"), filesystem="btrfs"),
    # ext4 on a T10-PI NVMe namespace (stable pages, guard tags checked by the device): the
    # flusher (msync loop) against an O_DIRECT read into the mapping, then msync + fsync
    RaceProbe("race/pi_dio_vs_msync", "stable-writes-raid",
              (PROTECTION_ERRORS, LOST_WRITES),
              context=("pi_format", "queue_stable_writes", "read_errors", "sync_errno",
                       "racer_errno"), filesystem="ext4-pi"),
    # its control: CPU stores through the mapping instead of the DMA (they fault and wait in
    # folio_wait_stable on a stable-writes device), the same flusher, msync + fsync
    RaceProbe("race/pi_store_vs_msync", "control-cpu-mmap-write",
              (PROTECTION_ERRORS, LOST_WRITES),
              context=("pi_format", "queue_stable_writes", "sync_errno", "racer_errno"),
              filesystem="ext4-pi", stable_writes=True),
    # the ext4 cases above with their files on XFS (B too, except for xfs_enospc: B on ext4,
    # as for btrfs, so that filling the filesystem does not starve the DMA's source)
    RaceProbe("race/xfs_dio_vs_msync", "dio-read-into-mmap", (LOST_WRITES, XFS_WARNINGS),
              filesystem="xfs"),
    RaceProbe("race/xfs_dio_vs_pageout", "dio-vs-reclaim", (LOST_WRITES, XFS_WARNINGS),
              filesystem="xfs"),
    RaceProbe("race/xfs_munmap_while_dma", "munmap-while-dma", (LOST_WRITES, XFS_WARNINGS),
              context=("read_efault", "read_short"), filesystem="xfs"),
    RaceProbe("race/xfs_dio_vs_truncate", "dio-unpin-vs-truncate",
              (STALE_AFTER_TRUNCATE, XFS_WARNINGS), context=("read_efault", "read_short"),
              filesystem="xfs"),
    RaceProbe("race/xfs_vm_writev_vs_dio", "vm-writev-vs-dio-invalidate",
              (LOST_WRITES, XFS_WARNINGS), context=("uffd_stalls", "stale_pagecache"),
              filesystem="xfs"),
    RaceProbe("race/xfs_dio_vs_fsync", "deferred-redirty-vs-fsync",
              (LOST_WRITES, XFS_WARNINGS), filesystem="xfs"),
    # a full XFS whose freed space another file takes at once (race_btrfs on /xfs)
    RaceProbe("race/xfs_enospc", "enospc-after-dma", (ENOSPC_AFTER_DMA, LOST_WRITES),
              context=("fill_errno", "read_efault", "read_errors", "sync_errors", "sync_errno",
                       "kmsg_warnings", "xfs_messages"), filesystem="xfs"),
)}


@dataclass(frozen=True)
class RacePrediction:
    """Per property: True if the checker found it violated (a non-zero count possible)."""

    possible: dict[str, bool]
    basis: str  # the scenario checked
    states: int = 0


_CACHE: dict[tuple[str, str, bool, str, int], RacePrediction] = {}


def predict_race(probe: RaceProbe, cfg: KernelConfig) -> RacePrediction:
    """Check the probe's scenario under ``cfg`` for its aspects' properties, exhaustively.

    Only those properties are checked (not the whole matrix cell, with liveness): it is what
    the comparison needs and it takes seconds instead of tens.  An incomplete search cannot say
    "none", so it raises rather than predicting an impossibility it did not prove."""
    key = (probe.scenario, probe.filesystem, probe.stable_writes, cfg.name, id(cfg))
    if key in _CACHE:
        return _CACHE[key]
    props = tuple(dict.fromkeys(a.property for a in probe.aspects if a.property))
    scenario = SCENARIOS[probe.scenario]
    if probe.filesystem == "xfs":
        scenario = on_xfs(scenario)
    if probe.stable_writes:
        scenario = replace(scenario, stable_writes=True)
    res = check(KernelModel(scenario, cfg, props), liveness=False, keep_going=True)
    if res.verdict in (Verdict.ERROR, Verdict.INCOMPLETE):
        raise RuntimeError(f"checking {scenario.name} under {cfg.name}: {res.verdict.value}: "
                           f"{res.message}")
    violated = {f.property for f in res.findings if f.verdict is Verdict.VIOLATED}
    basis = f"scenario {scenario.name}" + (" on a stable-writes device"
                                            if probe.stable_writes else "")
    out = RacePrediction({p: p in violated for p in props}, basis, res.stats.distinct)
    _CACHE[key] = out
    return out


def count(obs: Observation, aspect: Aspect) -> int | None:
    """The aspect's total over its counters; None if a counter is missing or unreadable
    (-1: the guest could not read the kernel log)."""
    total = 0
    for f in aspect.fields:
        try:
            v = int(obs.fields[f])
        except (KeyError, ValueError):
            return None
        if v < 0:
            return None
        total += v
    return total


def judge(observed: int, possible: bool, iterations: int) -> str:
    """The asymmetric verdict (module docstring): only a seen mismatch proves anything."""
    if observed > 0:
        return CONFIRMED if possible else DISAGREES
    return f"{NOT_OBSERVED} in {iterations} runs" if possible else AGREES


def compare_race(probe: RaceProbe, pred: RacePrediction | None, obs: Observation | None, *,
                 error: str = "") -> list[Row]:
    """One row per aspect: the prediction ("mismatches possible"/"none", with the property),
    the observed counters, and the verdict."""
    rows = []
    for aspect in probe.aspects:
        name = f"{probe.name} ({aspect.label})"
        seen = "; ".join(f"{f}={obs.fields[f]}"
                         for f in ("iterations", *probe.context, *aspect.fields)
                         if f in obs.fields) if obs else ""
        if not aspect.property:
            rows.append(Row(name, "", seen, NOT_MODELLED, note=aspect.why_not))
            continue
        if error or pred is None:
            rows.append(Row(name, "", seen, MODEL_ERROR, note=error or "no prediction"))
            continue
        possible = pred.possible[aspect.property]
        predicted = (f"{POSSIBLE if possible else NONE} ({aspect.property} "
                     f"{'violated' if possible else 'holds'} in {pred.basis})")
        n = count(obs, aspect) if obs else None
        iterations = _int(obs.fields.get("iterations")) if obs else None
        if obs is None or n is None or iterations is None:
            rows.append(Row(name, predicted, seen, NO_RESULT))
            continue
        status = judge(n, possible, iterations)
        rows.append(Row(name, predicted, seen, status,
                        mismatched=aspect.fields if status == DISAGREES else ()))
    return rows


def select_races(names: Iterable[str]) -> list[str]:
    """The racy probes among ``names`` (a group ``race`` standing for every case)."""
    out: list[str] = []
    for n in names:
        hits = [p for p in RACE_PROBES if p == n or p.startswith(n.rstrip("/") + "/")]
        out += [h for h in hits if h not in out]
    return out


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None
