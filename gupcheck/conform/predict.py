"""What the model predicts each probe will print, for one design.

Every prediction is computed by gupcheck: a probe is mapped to a model scenario (a shipped TOML
scenario, or a small inline one for the dio_into_mmap cases), every reachable end state of that
scenario is explored under the design, and the probe's fields are read off those end states —
the actors' recorded results, the disk, the folios.  The io_uring registration probes call the
model's ``io_uring_register_buffers`` (``check_vma_flags`` plus io_uring's own check) on the
probe's VMAs.  Nothing here states an outcome; what *is* written down is each probe's geometry,
which the model shrinks:

- pages: one model page (two blocks) stands for ``scale`` identical probe pages;
- legend: the model's value tokens ("B1") and the probe's page patterns ("B.1") name the same
  data differently; a token ``Xn`` is the pattern ``X.n``, ``Z0`` is ``zero``, and a probe
  whose patterns are numbered otherwise says so (the child's first write is ``C.0`` in the
  probe, ``C1`` in the model);
- order: when the model lets a device write at any time but the probe orders it, only end
  states consistent with the probe's order are used (``before_device``).

A key the model says nothing about is left out of the prediction and shown as not compared.
When different end states give different values the prediction is the set of them, and any
member agrees.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from gupcheck.kernel.config import KernelConfig
from gupcheck.kernel.state import SUBBLOCKS, KState
from gupcheck.kernel.system import Scenario
from gupcheck.kernel.vma import Backing, Vma, io_uring_register_buffers
from gupcheck.lab import end_states as lab_end_states
from gupcheck.scenarios import SCENARIOS
from gupcheck.scenarios.loader import parse

#: the model's device write (nic_writes) is the probe's READ_FIXED from a file of pattern F.2
DEFAULT_LEGEND: dict[str, str] = {"Z0": "zero", "N1": "F.2", "D1": "D.0"}


@dataclass(frozen=True)
class Prediction:
    """The values the model allows for each field it predicts, and where they came from."""

    fields: dict[str, frozenset[str]]
    basis: str  # the scenario or function the values were read from
    end_states: int = 0


@dataclass(frozen=True)
class Probe:
    """One probe case of probes/gupprobe.c and how the model predicts it."""

    name: str  # group/case, as the probe prints it
    predict: Callable[[KernelConfig], Prediction] | None
    why_not: str = ""  # for an unmodelled probe: what the model lacks


# ---- reading end states ----------------------------------------------------------------------

_END_CACHE: dict[tuple[str, str, int], list[KState]] = {}


def end_states(scenario: Scenario, design: KernelConfig) -> list[KState]:
    """Every reachable end state (a plain breadth-first search over the kernel model).

    Memoised per (scenario, design): several probes read the same scenario."""
    key = (scenario.name, design.name, id(design))
    if key not in _END_CACHE:
        _END_CACHE[key] = lab_end_states(scenario, design)
    return _END_CACHE[key]


def pattern(token: str, legend: dict[str, str] | None = None) -> str:
    """A model value token as the probe names that data ("B1" -> "B.1", "Z0" -> "zero")."""
    table = {**DEFAULT_LEGEND, **(legend or {})}
    if token in table:
        return table[token]
    m = re.fullmatch(r"([A-Z])(\d+)", token)
    return f"{m.group(1)}.{m.group(2)}" if m else token


def page_value(blocks: Iterable[str], legend: dict[str, str] | None = None) -> str:
    """One model page (its blocks) as one probe page: uniform data, or "mixed"."""
    names = {pattern(b, legend) for b in blocks}
    return names.pop() if len(names) == 1 else "mixed"


def runs(pages: list[str], scale: int, star: bool = True) -> str:
    """Model pages, each standing for ``scale`` probe pages, in the probe's run-length form."""
    out: list[tuple[str, int]] = []
    for p in pages:
        if out and out[-1][0] == p:
            out[-1] = (p, out[-1][1] + scale)
        else:
            out.append((p, scale))
    if not star and len(out) == 1 and out[0][1] == 1:
        return out[0][0]
    return ",".join(f"{p}*{n}" for p, n in out) if out else "empty"


def loaded(result: str, legend: dict[str, str] | None = None) -> str | None:
    """The page a recorded ``load=B1|B1`` (or ``parent read=F2|F2``) saw; None if not a load."""
    m = re.fullmatch(r"(?:[a-z ]+ )?(?:load|read|pipe)=([A-Za-z0-9|]+)", result)
    if not m or m.group(1) in ("ok",):
        return None
    blocks = m.group(1).split("|")
    if not all(re.fullmatch(r"[A-Z]\d+", b) for b in blocks):
        return None
    return page_value(blocks, legend)


def disk_pages(k: KState, legend: dict[str, str] | None = None) -> list[str]:
    """The file as an O_DIRECT read returns it: the disk blocks up to i_size, page by page."""
    blocks = k.disk[: k.i_size * SUBBLOCKS]
    return [page_value(blocks[i:i + SUBBLOCKS], legend)
            for i in range(0, len(blocks), SUBBLOCKS)]


def reread_pages(k: KState, legend: dict[str, str] | None = None) -> list[str]:
    """A buffered read after drop_caches: drop_caches frees clean page cache only, so a page
    still dirty in the cache is read from there and every other page from the disk."""
    disk = disk_pages(k, legend)
    out = []
    for page, on_disk in enumerate(disk):
        folio = k.cached(page)
        out.append(page_value(folio.data, legend) if folio is not None and folio.dirty
                   else on_disk)
    return out


def _errno_fields(result: str, prefix: str = "") -> dict[str, str]:
    """``register=0`` / ``register=-EFAULT`` -> the probe's ret/errno fields."""
    value = result.split("=", 1)[1]
    if value.startswith("-E"):
        return {f"{prefix}ret": "-1", f"{prefix}errno": value[1:]}
    return {f"{prefix}ret": value, f"{prefix}errno": "0"} if not prefix else \
        {f"{prefix}ret": value}


def collect(rows: Iterable[dict[str, str]], basis: str, n: int) -> Prediction:
    """The union, per field, of the values each end state gives (a field every state gives)."""
    rows = list(rows)
    keys = [k for k in (rows[0] if rows else {}) if all(k in r for r in rows)]
    return Prediction({k: frozenset(r[k] for r in rows) for k in keys}, basis, n)


# ---- dio_into_mmap ---------------------------------------------------------------------------

DIO_THEN_SYNC = """
  { op = "dio_read", page = 0, value = "B1" },
  { op = "load", page = 0 },
  { op = "msync" },
  { op = "fsync" },
"""


def _toml(v: object) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v) if isinstance(v, int) else f'"{v}"'


def inline_scenario(name: str, program: str, **top: object) -> Scenario:
    """A one-actor scenario written here (tests/kernel/test_realkernel.py checks these against
    what the real kernels printed, and builds its own variants with this function)."""
    head = "\n".join(f"{k} = {_toml(v)}" for k, v in top.items())
    return parse(f'name = "{name}"\ndescription = "conform probe {name}"\n{head}\n'
                 f'[[actor]]\nname = "CPU0 app"\nprogram = [\n{program}\n]\n', f"<{name}>")


DIO_SCENARIOS: dict[str, Scenario] = {
    # mapping untouched before the read: GUP faults the pages in
    "not_faulted": inline_scenario("conform-not-faulted", DIO_THEN_SYNC, cached=False,
                                   mapped=False),
    "prefaulted_clean": inline_scenario("conform-prefaulted-clean", DIO_THEN_SYNC),
    "prefaulted_dirty": inline_scenario("conform-prefaulted-dirty", """
  { op = "store", page = 0, block = 0, value = "D1" },
  { op = "store", page = 0, block = 1, value = "D1" },""" + DIO_THEN_SYNC),
    # the probe ftruncates a fresh file: a hole inside i_size
    "sparse_hole": inline_scenario("conform-sparse-hole", """
  { op = "punch_hole", page = 0 },""" + DIO_THEN_SYNC),
    # A[0] (A.0) read with O_DIRECT into the mapping of A[1] (A.5); 16 probe pages per page
    "same_file_read": inline_scenario("conform-same-file-read", """
  { op = "store", page = 1, block = 0, value = "A5" },
  { op = "store", page = 1, block = 1, value = "A5" },
  { op = "fsync" },
  { op = "dio_read", page = 1, value = "A0" },
  { op = "load", page = 1 },
  { op = "msync" },
  { op = "fsync" },""", pages=2),
}


def _dio(scenario: Scenario, scale: int, *, beyond_eof: bool = False) -> Callable[
        [KernelConfig], Prediction]:
    """read_ret/read_errno from the dio_read result, mem from the first load after it, disk
    from the disk at the end, reread_after_drop from disk and dirty cache; for beyond_eof the
    touch of the page past EOF is the last load's result."""
    def predict(cfg: KernelConfig) -> Prediction:
        ends = end_states(scenario, cfg)
        rows = []
        for k in ends:
            res = k.threads[0].results
            read = next(r for r in res if r.startswith("read="))
            row = {"read_ret": str(16 * 4096) if read == "read=ok" else "-1",
                   "read_errno": "0" if read == "read=ok" else read.removeprefix("read=-")}
            after = res[res.index(read) + 1:]
            mem = next((v for r in after if (v := loaded(r)) is not None), None)
            if mem is not None:
                row["mem"] = runs([mem], scale)
            row["disk"] = runs(disk_pages(k), scale)
            row["reread_after_drop"] = runs(reread_pages(k), scale)
            if beyond_eof:  # the scenario's last step loads the page past EOF
                row["touch_beyond_eof"] = "SIGBUS" if res[-1] == "SIGBUS" else "ok"
            rows.append(row)
        return collect(rows, f"scenario {scenario.name}", len(ends))
    return predict


# ---- io_uring IORING_REGISTER_BUFFERS ---------------------------------------------------------

#: probe case -> the VMAs its buffer spans, in address order (what the probe maps)
REGISTER_VMAS: dict[str, tuple[Vma, ...]] = {
    "ext4_shared_rw": (Vma(Backing.EXT4, shared=True),),
    "ext4_shared_rw_prefaulted": (Vma(Backing.EXT4, shared=True),),
    "ext4_shared_ro": (Vma(Backing.EXT4, shared=True, writable=False),),
    "ext4_private_rw": (Vma(Backing.EXT4),),
    "ext4_private_rw_prefaulted_read": (Vma(Backing.EXT4),),
    "ext4_private_ro": (Vma(Backing.EXT4, writable=False),),
    "anon_rw": (Vma(Backing.ANON),),
    "anon_ro": (Vma(Backing.ANON, writable=False),),
    "memfd_shared_rw": (Vma(Backing.SHMEM, shared=True),),
    "memfd_private_rw": (Vma(Backing.SHMEM),),
    "tmpfs_shared_rw": (Vma(Backing.SHMEM, shared=True),),
    "hugetlb_anon_rw": (Vma(Backing.HUGETLB),),
    "anon_plus_ext4_shared": (Vma(Backing.ANON), Vma(Backing.EXT4, shared=True)),
    "ext4_shared_plus_anon": (Vma(Backing.EXT4, shared=True), Vma(Backing.ANON)),
}


def _register(vmas: tuple[Vma, ...]) -> Callable[[KernelConfig], Prediction]:
    def predict(cfg: KernelConfig) -> Prediction:
        errno, _ = io_uring_register_buffers(vmas, cfg)
        fields = {"ret": "-1", "errno": errno} if errno else {"ret": "0", "errno": "0"}
        return Prediction({k: frozenset({v}) for k, v in fields.items()},
                          "gupcheck.kernel.vma.io_uring_register_buffers")
    return predict


# ---- truncate_while_pinned -------------------------------------------------------------------

def _truncate(scenario: str | Scenario, legend: dict[str, str], scale: int = 4) -> Callable[
        [KernelConfig], Prediction]:
    """register_ret/errno from the registration; when refused the probe skips the rest. Else
    pinned_before is the load between registration and truncate (only end states where the
    device had not yet written: the probe reads before its READ_FIXED), truncate_ret and the
    touch after it, and mapping_after_regrow the load after ftruncate_grow."""
    def predict(cfg: KernelConfig) -> Prediction:
        sc = SCENARIOS[scenario] if isinstance(scenario, str) else scenario
        ends = end_states(sc, cfg)
        rows = []
        for k in ends:
            res = k.threads[0].results
            reg = next(r for r in res if r.startswith("register="))
            row = _errno_fields(reg, "register_")
            if reg != "register=0":
                row = {"skip": "register_refused", "register_ret": "-1",
                       "register_errno": reg.split("=-", 1)[1]}
                rows.append(row)
                continue
            trunc = next(i for i, r in enumerate(res) if r.startswith("truncate="))
            before = [v for r in res[res.index(reg) + 1:trunc] if (v := loaded(r, legend))]
            if before and "N1" in "".join(res[res.index(reg) + 1:trunc]):
                continue  # the device wrote before the probe's READ_FIXED: not the probe's order
            if before:
                row["pinned_before"] = runs(before[:1], scale)
            row["truncate_ret"] = res[trunc].split("=", 1)[1]
            row["touch_after_truncate"] = "SIGBUS" if res[trunc + 1] == "SIGBUS" else "ok"
            grow = next(i for i, r in enumerate(res) if r.startswith("grow="))
            after = [v for r in res[grow + 1:] if (v := loaded(r, legend))]
            if after:
                row["mapping_after_regrow"] = runs(after[:1], scale)
            rows.append(row)
        return collect(rows, f"scenario {sc.name}", len(ends))
    return predict


# ---- fork_cow_pinned -------------------------------------------------------------------------

def _fork(scenario: str, fields: dict[str, tuple[int, str]], legend: dict[str, str],
          leak_of: str | None = None) -> Callable[[KernelConfig], Prediction]:
    """Each field is (actor, result prefix): the value the actor recorded. ``leak_of``: the
    field holding what the pipe saw; leak is whether that is the parent's later write."""
    def predict(cfg: KernelConfig) -> Prediction:
        sc = SCENARIOS[scenario]
        # the parent's write after fork (an op tuple: ("anon_write", proc, value))
        secret = next((op[-1] for a in sc.actors[:1] for op in a.program
                       if op[0] == "anon_write"), None) if leak_of else None
        ends = end_states(sc, cfg)
        rows = []
        for k in ends:
            row = {}
            for key, (actor, prefix) in fields.items():
                for r in k.threads[actor].results:
                    if r.startswith(prefix):
                        row[key] = (r.split("=", 1)[1] if key.endswith("_ret")
                                    else loaded(r, legend) or r)
            if leak_of and leak_of in row and secret:
                row["leak"] = str(row[leak_of] == pattern(secret, legend))
            rows.append(row)
        return collect(rows, f"scenario {scenario}", len(ends))
    return predict


# ---- the catalogue -----------------------------------------------------------------------------

def _catalogue() -> dict[str, Probe]:
    probes: list[Probe] = []
    for case, sc in DIO_SCENARIOS.items():
        probes.append(Probe(f"dio_into_mmap/{case}", _dio(sc, 16)))
    probes += [
        Probe("dio_into_mmap/private_mapping",
              _dio(SCENARIOS["dio-read-into-private-mapping"], 16)),
        # 8 probe pages in the file, 8 beyond EOF: each of the scenario's 2 pages is 8
        Probe("dio_into_mmap/beyond_eof", _dio(SCENARIOS["dio-beyond-eof"], 8, beyond_eof=True)),
        Probe("dio_into_mmap/same_file_write_from_mapping", None,
              "dio_write_from writes another file; O_DIRECT from a mapping into its own file "
              "is not modelled"),
    ]
    probes += [Probe(f"iouring_register_filebacked/{case}", _register(vmas))
               for case, vmas in REGISTER_VMAS.items()]
    probes += [
        # the model's shmem file starts with the token A0; the probe fills the memfd with M.0
        Probe("truncate_while_pinned/iouring_memfd_shared",
              _truncate("truncate-while-pinned-memfd", {"A0": "M.0"})),
        Probe("truncate_while_pinned/iouring_ext4_private",
              _truncate("iouring-private-truncate", {})),
        Probe("truncate_while_pinned/iouring_ext4_shared",
              _truncate("iouring-fixed-file-buffer", {})),
        Probe("truncate_while_pinned/vmsplice_ext4_shared", None,
              "vmsplice is modelled for anonymous pages only"),
        # the child's write is C1 in the model, the probe's first child pattern C.0
        Probe("fork_cow_pinned/iouring_pin_fork_child_writes",
              _fork("fork-child-writes", {"child_view_after_write": (1, "child read="),
                                          "parent_view_after_read_fixed": (0, "parent read=")},
                    {"C1": "C.0"})),
        Probe("fork_cow_pinned/iouring_pin_fork_parent_writes",
              _fork("fork-after-pin", {"parent_view_after_read_fixed": (0, "parent read="),
                                       "child_view": (1, "child read=")}, {})),
        Probe("fork_cow_pinned/vmsplice_cve_2020_29374",
              _fork("vmsplice-fork-leak", {"vmsplice_ret": (1, "vmsplice="),
                                           "child_pipe_sees": (1, "pipe=")}, {},
                    leak_of="child_pipe_sees")),
        Probe("fork_cow_pinned/vmsplice_then_write_same_process",
              _fork("vmsplice-then-write", {"vmsplice_ret": (0, "vmsplice="),
                                            "pipe_sees": (0, "pipe=")}, {})),
    ]
    order = ["dio_into_mmap/" + c for c in (
        "not_faulted", "prefaulted_clean", "prefaulted_dirty", "sparse_hole", "private_mapping",
        "beyond_eof", "same_file_read", "same_file_write_from_mapping")]
    by_name = {p.name: p for p in probes}
    return {n: by_name[n] for n in order} | {p.name: p for p in probes if p.name not in order}


PROBES: dict[str, Probe] = _catalogue()


# ---- the same probes on XFS (xfs/<group>/<case>: the probe's files on the guest's /xfs) ------

def on_xfs(scenario: Scenario) -> Scenario:
    """The ext4 probe's scenario with the file on XFS, named like the model's XFS scenarios
    (``dio-read-into-mmap`` -> ``dio-read-into-mmap-xfs``)."""
    return replace(scenario, filesystem="xfs", name=f"{scenario.name}-xfs")


#: the ext4 probes that also run on XFS, by case (probes/gupprobe.c: XFS_REG, XFS_TRUNC)
XFS_REGISTER = ("ext4_shared_rw", "ext4_shared_rw_prefaulted", "ext4_shared_ro",
                "ext4_private_rw", "ext4_private_rw_prefaulted_read", "ext4_private_ro",
                "anon_plus_ext4_shared", "ext4_shared_plus_anon")


def _xfs_catalogue() -> dict[str, Probe]:
    """Each ext4 probe that uses a file, as ``xfs/<group>/<case>``, predicted from the ext4
    probe's scenario on filesystem "xfs" (on_xfs).

    The io_uring registrations are predicted as for ext4 without the XFS model: what decides
    them is whether the VMA is file-backed and needs dirty tracking (check_vma_flags ->
    vma_needs_dirty_tracking -> vma_wants_writenotify, mm/gup.c, mm/mmap.c of 6.12; 6.1's
    io_pin_pages/io_sqe_buffer_register, io_uring/rsrc.c), which XFS's mappings do as ext4's
    (xfs_file_vm_ops has a .page_mkwrite, fs/xfs/xfs_file.c), so ``Backing.EXT4`` stands for
    any such filesystem."""
    dio: dict[str, Scenario] = {**DIO_SCENARIOS,
                                "private_mapping": SCENARIOS["dio-read-into-private-mapping"]}
    probes = [Probe(f"xfs/dio_into_mmap/{case}", _dio(on_xfs(sc), 16))
              for case, sc in dio.items()]
    probes += [
        Probe("xfs/dio_into_mmap/beyond_eof",
              _dio(on_xfs(SCENARIOS["dio-beyond-eof"]), 8, beyond_eof=True)),
        Probe("xfs/dio_into_mmap/same_file_write_from_mapping", None,
              PROBES["dio_into_mmap/same_file_write_from_mapping"].why_not),
    ]
    probes += [Probe(f"xfs/iouring_register_filebacked/{case}", _register(REGISTER_VMAS[case]))
               for case in XFS_REGISTER]
    probes += [
        Probe("xfs/truncate_while_pinned/iouring_ext4_private",
              _truncate(on_xfs(SCENARIOS["iouring-private-truncate"]), {})),
        Probe("xfs/truncate_while_pinned/iouring_ext4_shared",
              _truncate(on_xfs(SCENARIOS["iouring-fixed-file-buffer"]), {})),
        Probe("xfs/truncate_while_pinned/vmsplice_ext4_shared", None,
              PROBES["truncate_while_pinned/vmsplice_ext4_shared"].why_not),
    ]
    by_name = {p.name: p for p in probes}
    # the ext4 probes' order (the report lists them alike)
    return {f"xfs/{n}": by_name[f"xfs/{n}"] for n in PROBES if f"xfs/{n}" in by_name}


#: run only when asked for (``--probe xfs``): they need the XFS disk, the default run does not
XFS_PROBES: dict[str, Probe] = _xfs_catalogue()


@dataclass
class Predictions:
    """Predictions of every probe for one design; a probe the model cannot run is an error."""

    design: str
    by_probe: dict[str, Prediction | None] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def predict_all(cfg: KernelConfig, names: Iterable[str] | None = None) -> Predictions:
    """Run the model for each probe (all of PROBES by default; XFS_PROBES by name) under
    ``cfg``."""
    out = Predictions(cfg.name)
    for name in names or PROBES:
        probe = PROBES[name] if name in PROBES else XFS_PROBES[name]
        if probe.predict is None:
            out.by_probe[name] = None
            continue
        try:
            out.by_probe[name] = probe.predict(cfg)
        except Exception as exc:  # noqa: BLE001 - a user's design module may break the model
            out.errors[name] = f"{type(exc).__name__}: {exc}"
    return out
