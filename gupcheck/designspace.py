"""The design space: combinations of the proposal mechanisms over proposal-base, searched.

A shipped proposal (gupcheck/designs) is one hand-picked set of switches over
``proposal-base`` (linux-6.12 without the 6.5 long-term refusal).  Here each mechanism is an
*axis* (:data:`AXES`) with its values and the :class:`~gupcheck.kernel.config.KernelConfig`
fields each value sets; a *combination* picks one value per axis.  :func:`search` checks every
combination that can matter against the scenarios of each *scenario class*
(:func:`scenario_class`), and :func:`analyse` reports, per class, the minimal combinations
under which every property holds, or, where none does, the best ones and what they still
break.  docs/design-space.md is its output.

Pruning (sound, and counted in the report):

* an axis that no scenario of a class can observe (:func:`observable`: the kernel model reads
  the switch only on paths that scenario's operations never reach) is fixed to its base value
  for that class;
* a combination is run on each scenario only projected on the axes *that scenario* observes,
  so two combinations that give the scenario the same KernelConfig are one run
  (:func:`project`).

Every verdict comes from a checker run (:func:`gupcheck.lab.run_cell`); nothing is assumed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from gupcheck.designs import PROPOSAL_BASE
from gupcheck.engine import Limits
from gupcheck.engine.limits import INTERRUPTED
from gupcheck.kernel.config import KernelConfig
from gupcheck.kernel.fs import filesystem
from gupcheck.kernel.system import Scenario
from gupcheck.lab import NOT_RUN, Cell, run_cells, variant_limits
from gupcheck.scenarios.variants import uses_file


@dataclass(frozen=True)
class Axis:
    """One mechanism: its values (the first is proposal-base's) and the KernelConfig fields
    each value sets."""

    name: str
    values: tuple[str, ...]
    fields: Mapping[str, Mapping[str, object]]  # value -> KernelConfig fields
    doc: str
    observed_by: Callable[[Scenario], bool]

    @property
    def base(self) -> str:
        return self.values[0]


# -- which operations reach which switch (the pruning rules; see each Axis's doc) --------------

#: operations whose bios go through the direct-I/O read completion (dio.py, device.py)
DIO_READ_OPS = frozenset({"dio_read", "aio_read"})
#: long-term pins (FOLL_LONGTERM), the only callers of check_vma_flags in the model
LONGTERM_OPS = frozenset({"rdma_reg_mr", "iouring_register", "anon_pin"})
#: GUP users that dirty and release a page in their own task (gup.py unpin_dirty)
UNPIN_DIRTY_OPS = frozenset({"rdma_dereg_mr", "vm_writev"})
#: reclaim of a file page (reclaim.py)
RECLAIM_OPS = frozenset({"kswapd_reclaim", "madvise_pageout"})
#: operations that free a file's blocks (truncate.py, dax.py)
TRUNCATE_OPS = frozenset({"truncate", "punch_hole"})


def ops(sc: Scenario) -> frozenset[str]:
    """The operation names of every actor's program."""
    return frozenset(op[0] for a in sc.actors for op in a.program)


def _sees_writeback(sc: Scenario) -> bool:
    """writeback_pinned is read by writeback.py (a filesystem with writeback), gup.py and
    fault.py ("block": a write fault waits on PG_writeback) and dio_write.py: every path runs
    on a page-cache file of a filesystem with writeback (ext4, XFS, the COW filesystem; shmem
    has no writeback, FS-DAX no page cache), so a scenario that uses such a file observes it,
    even without a pin (a store waits on writeback under "block")."""
    fs = filesystem(sc.filesystem)
    return fs.writeback and not fs.dax and uses_file(sc)


def _flag(field: str) -> dict[str, dict[str, object]]:
    """An on/off axis over one KernelConfig switch: "no" is False, "yes" True."""
    return {"no": {field: False}, "yes": {field: True}}


AXES: tuple[Axis, ...] = (
    Axis("writeback", ("plain", "bounce", "skip-bounce", "block"),
         {v: {"writeback_pinned": v} for v in ("plain", "bounce", "skip-bounce", "block")},
         "What writeback does with a folio_maybe_dma_pinned() folio (KernelConfig."
         "writeback_pinned; writeback.py pinned_policy, gup.py holds_writeback): plain "
         "(6.12); bounce (Jérôme Glisse, <20181213020229.GN5037@redhat.com>: page_mkclean "
         "reports the pin, the bio writes a bounce copy); skip-bounce (Jan Kara's RFC "
         "<20230209121046.25360-1-jack@suse.cz> applied to every filesystem: background "
         "writeback skips, data-integrity writeback bounces); block (Dave Chinner, "
         "<20181213005119.GD29416@dastard>: a write pin holds PG_writeback until unpin). "
         "skip-bounce-iomap, the RFC as posted, is not an axis value: plain on ext4, a skip "
         "without a bounce on the COW filesystem, and on XFS skip-bounce that bounces only on "
         "a stable-writes device (it is the design skip-and-bounce in the matrix).",
         _sees_writeback),
    Axis("unpin-mkwrite", ("no", "yes"),
         _flag("unpin_mkwrite"),
         "put_user_page(page, dirty) runs ->page_mkwrite before dirtying (Jérôme Glisse, "
         "12 Dec 2018; design bounce-writeback-mkwrite): read by bio_dirty_fn "
         "(device.py bio_dirty_work), reached by a direct-I/O read's completion, and by the "
         "GUP users that release a page they wrote in their own task: RDMA deregistration and "
         "process_vm_writev (gup.py put_user_page_lock).",
         lambda sc: bool(ops(sc) & (DIO_READ_OPS | UNPIN_DIRTY_OPS)) and uses_file(sc)),
    Axis("dio-dirty", ("submit", "completion"),
         {"submit": {"dio_dirty_in_task": False}, "completion": {"dio_dirty_in_task": True}},
         "When a synchronous direct-I/O read dirties its pages: at submit, re-checked at "
         "completion (iomap_dio_rw -> bio_set_pages_dirty / bio_check_pages_dirty, ext4 since "
         "5.5, b1b4705d54ab), or after the DMA in the waiting task, before read() returns, as "
         "fs/direct-io.c's dio_bio_complete did (KernelConfig.dio_dirty_in_task: iomap patched "
         "so, patches/ext4-bounce-pinned 0002). Read by dio.py and device.py only.",
         lambda sc: bool(ops(sc) & DIO_READ_OPS)),
    Axis("longterm-refusal", ("no", "yes"),
         _flag("longterm_file_refusal"),
         "check_vma_flags refuses FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE on a dirty-tracked shared "
         "file mapping with -EFAULT (6.5, Lorenzo Stoakes, \"mm/gup: disallow FOLL_LONGTERM "
         "GUP-nonfast writing to file-backed mappings\"). Read only by check_vma_flags "
         "(vma.py), called for long-term pins.",
         lambda sc: bool(ops(sc) & LONGTERM_OPS)),
    Axis("layout-lease", ("no", "yes"),
         _flag("layout_lease"),
         "FOLL_LONGTERM on FS-DAX needs an exclusive F_LAYOUT lease; truncate and hole punch "
         "of a page pinned under the lease fail with -ETXTBSY (Ira Weiny, \"[PATCH RFC "
         "00/10] RDMA/FS DAX truncate proposal\", 2019). Read by check_vma_flags for a DAX "
         "VMA and by dax.py.",
         lambda sc: sc.filesystem == "fsdax" or "layout_lease" in ops(sc)),
    Axis("odp", ("no", "yes"),
         _flag("odp"),
         "The NIC takes no pin: on-demand paging through mmu interval notifiers "
         "(ib_umem_odp_get; design odp). Read only by ibv_reg_mr's path (longterm.py).",
         lambda sc: "rdma_reg_mr" in ops(sc)),
    Axis("dax-busy-unmapped", ("no", "yes"),
         _flag("dax_busy_unmapped"),
         "dax_layout_busy_page_range also scans a file no VMA maps (6.15, Alistair Popple's "
         "fsdax rework; first posted by Dan Williams, <166329932730.2786261.8645669907699123863"
         ".stgit@dwillia2-xfh.jf.intel.com>); before, !mapping_mapped() returned at once. "
         "Read only by dax.py's break_layouts, on an FS-DAX truncate or hole punch.",
         lambda sc: sc.filesystem == "fsdax" and bool(ops(sc) & TRUNCATE_OPS)),
    Axis("reclaim-skips-pinned", ("yes", "no"),
         {"yes": {"reclaim_skips_pinned": True}, "no": {"reclaim_skips_pinned": False}},
         "shrink_folio_list activates a folio_maybe_dma_pinned() folio before releasing its "
         "buffers (6.4, d824ec2a1546); 'no' is the regression of removing it. Read only by "
         "reclaim.py stage_release.",
         lambda sc: bool(ops(sc) & RECLAIM_OPS)),
)
AXIS_BY_NAME: dict[str, Axis] = {a.name: a for a in AXES}

#: a combination: the (axis, value) pairs that differ from proposal-base, in AXES order
Combo = tuple[tuple[str, str], ...]
#: the name of the base a combination spec starts from
BASE_NAME = PROPOSAL_BASE.name


def combo_spec(combo: Combo) -> str:
    """``proposal-base+writeback=bounce+unpin-mkwrite=yes``: what ``--design`` accepts."""
    return "+".join([BASE_NAME, *(f"{a}={v}" for a, v in combo)])


def combo_text(combo: Combo) -> str:
    """``writeback=bounce unpin-mkwrite=yes``, or ``(base)`` for the empty combination."""
    return " ".join(f"{a}={v}" for a, v in combo) or "(base)"


def config(combo: Combo) -> KernelConfig:
    """proposal-base with the combination's fields; named by its spec.  Nothing is relaxed:
    the search asks for every property."""
    fields: dict[str, object] = {}
    for a, v in combo:
        fields.update(AXIS_BY_NAME[a].fields[v])
    return replace(PROPOSAL_BASE, name=combo_spec(combo), relaxes=frozenset(), **fields)


def parse_spec(spec: str) -> Combo:
    """A combination spec back to its combination; ``ValueError`` (one line) naming the valid
    axes or values.  ``axis`` alone means ``axis=yes``."""
    head, *parts = spec.split("+")
    if head != BASE_NAME:
        raise ValueError(f"a combination starts with {BASE_NAME!r}, got {head!r}")
    chosen: dict[str, str] = {}
    for part in parts:
        name, _, value = part.partition("=")
        value = value or "yes"
        axis = AXIS_BY_NAME.get(name)
        if axis is None:
            raise ValueError(f"unknown axis {name!r}; choose one of: {', '.join(AXIS_BY_NAME)}")
        if value not in axis.values:
            raise ValueError(f"axis {name!r} has no value {value!r}; choose one of: "
                             f"{', '.join(axis.values)}")
        if name in chosen:
            raise ValueError(f"axis {name!r} is given twice")
        chosen[name] = value
    return tuple((a.name, chosen[a.name]) for a in AXES
                 if a.name in chosen and chosen[a.name] != a.base)


def observable(sc: Scenario, axes: Sequence[Axis] = AXES) -> tuple[Axis, ...]:
    """The axes the scenario can observe (each Axis's ``observed_by`` rule, from the switch's
    readers in gupcheck/kernel)."""
    return tuple(a for a in axes if a.observed_by(sc))


def project(combo: Combo, axes: Iterable[Axis]) -> Combo:
    """The combination with every axis outside ``axes`` at its base value."""
    keep = {a.name for a in axes}
    return tuple((a, v) for a, v in combo if a in keep)


def combinations(axes: Sequence[Axis]) -> list[Combo]:
    """Every combination of ``axes``' values (others at base), base first, in AXES order."""
    out = []
    for values in itertools.product(*(a.values for a in axes)):
        out.append(tuple((a.name, v) for a, v in zip(axes, values, strict=True)
                         if v != a.base))
    return out


# -- scenario classes ---------------------------------------------------------------------------

#: class name -> what it holds (report order)
CLASSES: dict[str, str] = {
    "ext4-short-term": "ext4, short-term pins (direct I/O, process_vm_writev) or none",
    "ext4-long-term": "ext4, long-term pins (RDMA, io_uring fixed buffers)",
    "cowfs-short-term": "copy-on-write filesystem (btrfs-like), short-term pins",
    "cowfs-long-term": "copy-on-write filesystem (btrfs-like), long-term pins",
    "xfs-short-term": "XFS, short-term pins (direct I/O) or none",
    "xfs-long-term": "XFS, long-term pins (RDMA, io_uring fixed buffers)",
    "fsdax": "FS-DAX (no page cache; the device maps the file's blocks)",
    "shmem": "shmem, tmpfs and memfd",
    "anon-private": "anonymous memory and MAP_PRIVATE mappings (fork, vmsplice, COW)",
    "driver-bug": "a device driver that breaks the ODP protocol (skips "
                  "mmu_interval_read_retry): no kernel design can make it safe",
}


def scenario_class(sc: Scenario) -> str:
    """The class, from the scenario's own fields: a buggy driver first (what it breaks no
    design mends), then anonymous or MAP_PRIVATE memory (the shared file is not what is
    pinned), then the filesystem, then the pin's duration (a long-term pin op: rdma_reg_mr,
    iouring_register)."""
    if sc.nic_driver == "odp-naive":
        return "driver-bug"
    if sc.private or not uses_file(sc):
        return "anon-private"
    if sc.filesystem in ("fsdax", "shmem"):
        return sc.filesystem
    term = "long-term" if ops(sc) & {"rdma_reg_mr", "iouring_register"} else "short-term"
    return f"{sc.filesystem}-{term}"


# -- the search ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Member:
    """A scenario checked in a class: a shipped or user scenario, or one of its variants."""

    scenario: Scenario
    base: str  # the scenario it is, or is a variant of
    variant: str | None = None  # "+fsync", ...

    @property
    def name(self) -> str:
        return self.scenario.name


@dataclass
class ClassSearch:
    """One class's search: its members, the axes searched, and a cell per (member,
    combination) (shared between combinations that project to the same run)."""

    name: str
    members: list[Member]
    axes: tuple[Axis, ...]  # observed by some member (the others fixed to base)
    enumerated: int  # combinations of every axis searched
    combos: list[Combo] = field(default_factory=list)
    cells: dict[tuple[str, Combo], Cell] = field(default_factory=dict)  # (member, combo)

    def cell(self, member: Member, combo: Combo) -> Cell:
        return self.cells[member.name, combo]


@dataclass
class Search:
    classes: list[ClassSearch]
    runs: int  # distinct (scenario, KernelConfig) runs
    axes: tuple[Axis, ...]
    variants: bool
    finished: int = 0  # runs finished (the others "not run": Ctrl-C)


def plan(scenarios: Sequence[Scenario], axes: Sequence[Axis] = AXES,
         classes: Sequence[str] | None = None, variant_names: tuple[str, ...] | None = None,
         ) -> tuple[list[ClassSearch], dict[tuple[str, Combo], tuple[Scenario, bool]]]:
    """The classes to search and the distinct runs they need: (scenario name, projected
    combination) -> (scenario, is a variant).  ``variant_names``: also each scenario's
    variants (gupcheck.scenarios.variants) of those names."""
    from gupcheck.scenarios.variants import variants

    grouped: dict[str, list[Member]] = {}
    for sc in scenarios:
        cls = scenario_class(sc)
        if classes is not None and cls not in classes:
            continue
        grouped.setdefault(cls, []).append(Member(sc, sc.name))
        if variant_names is not None:
            grouped[cls] += [Member(v, sc.name, name) for name, v in variants(sc, variant_names)]
    out, runs = [], {}
    for cls in [c for c in CLASSES if c in grouped] + sorted(set(grouped) - set(CLASSES)):
        members = grouped[cls]
        seen = {a.name for m in members for a in observable(m.scenario, axes)}
        searched = tuple(a for a in axes if a.name in seen)
        enumerated = 1
        for a in axes:
            enumerated *= len(a.values)
        cs = ClassSearch(cls, members, searched, enumerated, combinations(searched))
        for m in members:
            sees = observable(m.scenario, axes)
            for combo in cs.combos:
                runs.setdefault((m.name, project(combo, sees)), (m.scenario, m.variant is not None))
        out.append(cs)
    return out, runs


def search(scenarios: Sequence[Scenario], axes: Sequence[Axis] = AXES,
           classes: Sequence[str] | None = None, limits: Limits = Limits(), workers: int = 1,
           variant_names: tuple[str, ...] | None = None, variant_max_states: int = 200_000,
           progress: Callable[[int, int], None] | None = None) -> Search:
    """Plan, then run every distinct (scenario, combination) once (``workers`` processes; the
    result does not depend on it), variants bounded by ``variant_max_states``.  Inside
    :func:`~gupcheck.engine.limits.interruptible`, Ctrl-C marks the runs not finished
    ``not run``."""
    planned, runs = plan(scenarios, axes, classes, variant_names)
    vlimits = variant_limits(limits, variant_max_states)
    jobs = list(runs.items())
    done: dict[tuple[str, Combo], Cell] = {}

    def record(key: tuple[str, Combo], cell: Cell) -> None:
        done[key] = cell
        if progress is not None:
            progress(len(done), len(jobs))

    cells = run_cells([(sc, config(combo), vlimits if is_variant else limits)
                       for (_, combo), (sc, is_variant) in jobs], workers)
    for (key, _), cell in zip(jobs, cells, strict=True):
        record(key, cell)
    for cs in planned:
        for m in cs.members:
            sees = observable(m.scenario, axes)
            for combo in cs.combos:
                cs.cells[m.name, combo] = done[m.name, project(combo, sees)]
    return Search(planned, len(jobs), tuple(axes), variant_names is not None,
                  sum(c.verdict != NOT_RUN for c in done.values()))


# -- analysis -----------------------------------------------------------------------------------

GOOD, REFUSES, VIOLATED, UNKNOWN = "good", "refuses", "violated", "incomplete"


@dataclass(frozen=True)
class Outcome:
    """A combination over a class: its status and what it breaks.

    ``good``: every property holds on every member; ``refuses``: nothing breaks but some
    member's request is refused or does not apply (the application does not run: not good);
    ``violated``: some property fails (``violated`` names each, with the first member that
    shows it); ``incomplete``: nothing fails but some run hit a limit or failed (no claim)."""

    combo: Combo
    status: str
    violated: tuple[tuple[str, Member, int | None], ...] = ()  # (property, member, length)
    refused: tuple[tuple[Member, str], ...] = ()  # (member, errno or why)
    unsettled: tuple[tuple[Member, str], ...] = ()  # (member, verdict: limit)

    @property
    def properties(self) -> tuple[str, ...]:
        return tuple(p for p, _, _ in self.violated)


def outcome(cs: ClassSearch, combo: Combo) -> Outcome:
    """The combination's :class:`Outcome` over the class, from its cells."""
    broken: dict[str, tuple[Member, int | None]] = {}
    refused, unsettled = [], []
    for m in cs.members:
        c = cs.cell(m, combo)
        for p in c.violated:
            if p not in broken:
                trace = c.results[p].trace if p in c.results else None
                broken[p] = (m, len(trace) if trace else None)
        if c.verdict in ("refused", "n/a"):
            refused.append((m, c.errno or c.verdict))
        elif c.verdict in ("incomplete", "error", NOT_RUN):
            unsettled.append((m, f"{c.verdict}: {c.bound or INTERRUPTED}" if c.verdict != "error"
                              else "error"))
    status = (VIOLATED if broken else UNKNOWN if unsettled else REFUSES if refused else GOOD)
    return Outcome(combo, status, tuple((p, m, n) for p, (m, n) in broken.items()),
                   tuple(refused), tuple(unsettled))


def minimal(combos: Iterable[Combo]) -> list[Combo]:
    """Those with no proper subset (of their non-base mechanisms) among ``combos``."""
    sets = [(c, frozenset(c)) for c in combos]
    return [c for c, s in sets if not any(t < s for _, t in sets)]


@dataclass(frozen=True)
class ClassReport:
    name: str
    members: int
    variants: int
    axes: tuple[str, ...]
    enumerated: int
    checked: int  # combinations over the observed axes
    counts: dict[str, int]
    good: list[Outcome]  # minimal good combinations
    refusing: list[Outcome]  # minimal refusing combinations
    best: list[Outcome]  # where nothing is good: the minimal combinations that break least


def analyse(cs: ClassSearch) -> ClassReport:
    """Minimal good combinations; where none, the best ones (fewest violated properties; among
    them the minimal ones)."""
    outs = {c: outcome(cs, c) for c in cs.combos}
    by = {s: [o for o in outs.values() if o.status == s] for s in (GOOD, REFUSES, VIOLATED,
                                                                   UNKNOWN)}
    good = [outs[c] for c in minimal(o.combo for o in by[GOOD])]
    refusing = [outs[c] for c in minimal(o.combo for o in by[REFUSES])]
    best: list[Outcome] = []
    if not good and by[VIOLATED]:
        least = min(len(o.violated) for o in by[VIOLATED])
        best = [outs[c] for c in minimal(o.combo for o in by[VIOLATED]
                                         if len(o.violated) == least)]
    return ClassReport(cs.name, sum(m.variant is None for m in cs.members),
                       sum(m.variant is not None for m in cs.members),
                       tuple(a.name for a in cs.axes), cs.enumerated, len(cs.combos),
                       {s: len(v) for s, v in by.items()}, good, refusing, best)


def counterexample_command(combo: Combo, prop: str, member: Member) -> str:
    """The command that prints the counterexample of ``prop`` under the combination."""
    variant = f" --variant {member.variant}" if member.variant else ""
    return (f"gupcheck check {member.base} --design '{combo_spec(combo)}'{variant} "
            f"--property {prop}")
