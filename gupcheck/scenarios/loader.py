"""Scenario files: TOML data, validated, with errors that point at the file, line and field.

A scenario file never executes code; it names operations from a fixed table (:data:`OPS`).
Example::

    name = "dio-vs-reclaim"
    description = "read(O_DIRECT) into a shared mapping while kswapd reclaims the page"
    pages = 1                        # file size in pages (each page has 2 blocks)
    device = "plain"                 # or "stable-writes" (RAID parity, DIF/DIX)
    mapping = "shared"               # or "private" (MAP_PRIVATE: writes go to private copies)
    properties = ["dirty-has-backing"]   # optional; default: every property

    [[actor]]
    name = "CPU0 app"
    program = [
      { op = "dio_read", page = 0, value = "B1" },
      { op = "fsync" },
    ]

    [[actor]]
    name = "flusher"
    daemon = true                    # a kernel thread: weakly fair, need not finish
    program = [ { op = "writeback_pass", repeat = 2 } ]
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec

from gupcheck.engine.userfile import open_regular
from gupcheck.kernel.fs import DESCRIPTIONS as FS_DESCRIPTIONS
from gupcheck.kernel.fs import FILESYSTEMS
from gupcheck.kernel.properties import PROPERTIES
from gupcheck.kernel.state import SUBBLOCKS
from gupcheck.kernel.system import (
    DISK,
    KWORKER,
    NIC,
    NIC_DRIVERS,
    ActorSpec,
    Scenario,
    reserved_actor_name,
)

#: operation -> (the fields it takes, what it does)
OPS: dict[str, tuple[tuple[str, ...], str]] = {
    "store": (("page", "block", "value"), "a CPU store through the shared mapping"),
    "dio_read": (("page", "value"), ("read(O_DIRECT) from another file into the mapping "
                                     "(`count` pages from `page`, default 1)")),
    "aio_read": (("page", "value"), ("io_submit of an O_DIRECT read (IOCB_CMD_PREAD) from "
                                     "another file into the mapping, then io_getevents for its "
                                     "completion (`count` pages from `page`, default 1)")),
    "dio_read_file": (("page",), ("read(O_DIRECT) of the file's page by another process "
                                  "(its result is recorded; a checksum mismatch is -EIO)")),
    "fsync": ((), "fsync(2) of the file"),
    "msync": ((), "msync(MS_SYNC) of the mapping"),
    "madvise_pageout": (("page",), "madvise(MADV_PAGEOUT) on the page"),
    "kswapd_reclaim": (("page",), "kswapd tries to reclaim the page (daemons only)"),
    "writeback_pass": ((), "one background writeback pass (the flusher)"),
    "rdma_reg_mr": (("page",), "ibv_reg_mr: long-term writable pin for the NIC"),
    "rdma_dereg_mr": (("page",), "ibv_dereg_mr: unpin_user_pages_dirty_lock"),
    "iouring_register": (("page",), "IORING_REGISTER_BUFFERS: long-term writable pin"),
    "iouring_unregister": (("page",), "IORING_UNREGISTER_BUFFERS: unpin, no dirtying"),
    "truncate": ((), "ftruncate(fd, 0)"),
    "punch_hole": (("page",), "fallocate(PUNCH_HOLE|KEEP_SIZE) of one page"),
    "ftruncate_grow": ((), "ftruncate back to the original size"),
    "load": (("page",), "a CPU load through the mapping (its result is recorded)"),
    "munmap": (("page",), "munmap the page of the shared mapping"),
    "dio_write": (("page", "value"), "write(O_DIRECT) of a user buffer to the file's page"),
    "dio_write_from": (("page",), ("write(O_DIRECT) to another file from the mapped page "
                                   "(the page is pinned for reading)")),
    "vm_writev": (("page", "value"), "process_vm_writev from another process into the mapping"),
    "fill_fs": ((), "another file's write takes free space (copy-on-write filesystem)"),
    "write_other_file": (("value",), "another file's write(2) allocates a free block (FS-DAX)"),
    "layout_lease": ((), "fcntl(F_SETLEASE, F_LAYOUT): an exclusive layout lease"),
    "fork": ((), "fork(): the child shares the parent's anonymous page copy-on-write"),
    "anon_write": (("proc", "value"), "a store to the process's anonymous page"),
    "anon_read": (("proc",), "a load from the process's anonymous page (recorded)"),
    "vmsplice": (("proc",), "vmsplice the anonymous page into a pipe (FOLL_GET)"),
    "pipe_read": (("proc",), "read the spliced page back from the pipe (recorded)"),
    "munmap_anon": (("proc",), "munmap the anonymous page"),
    "anon_pin": (("proc",), "io_uring registers the anonymous page (FOLL_PIN, long-term)"),
    "anon_pin_ro": (("proc",), "a read-only FOLL_PIN of the anonymous page"),
    "anon_pin_fast": (("proc",), "pin_user_pages_fast(FOLL_WRITE) of the anonymous page"),
    "read_fixed": (("value",), "io_uring READ_FIXED: the device writes the pinned buffer"),
}


#: operations this model implements on page-cache filesystems only: FS-DAX has no page cache
#: to write back or reclaim (its fsync is a CPU cache flush, not modelled)
NOT_ON_DAX = frozenset({"fsync", "msync", "madvise_pageout", "kswapd_reclaim",
                        "writeback_pass", "dio_write", "dio_write_from", "dio_read_file",
                        "vm_writev", "fill_fs"})
DAX_ONLY = frozenset({"write_other_file"})
#: direct I/O on a tmpfs file: refused (EINVAL) before 6.6, and from 6.6 a copy through
#: the page cache (e88e0d366f9c "tmpfs: trivial support for direct IO"): neither modelled
NOT_ON_SHMEM = frozenset({"dio_write", "dio_read_file"})

#: what a report must not print from a file: C0 and C1 controls (ESC starts a terminal
#: escape sequence), DEL
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: the operations that reach a process's anonymous page through its PTE
ANON_PAGE_OPS = frozenset({"fork", "anon_write", "anon_read", "vmsplice", "munmap_anon",
                           "anon_pin", "anon_pin_ro", "anon_pin_fast"})
ANON_NEEDS = frozenset({"fork", "anon_write", "anon_read", "vmsplice", "pipe_read",
                        "munmap_anon", "anon_pin", "anon_pin_ro", "anon_pin_fast",
                        "read_fixed"})


class OpEntry(msgspec.Struct, forbid_unknown_fields=True):
    op: str
    proc: int | None = None
    page: int | None = None
    count: int | None = None
    block: int | None = None
    value: str | None = None
    repeat: int = 1


class ActorEntry(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    program: list[OpEntry]
    daemon: bool = False


class ScenarioFile(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    description: str
    actor: list[ActorEntry]
    pages: int = 1
    cached: bool = True
    mapped: bool = True
    filesystem: str = "ext4"
    nic_writes: int = 0
    device: str = "plain"
    nic_driver: str = "plain"
    anon: bool = False
    file_pages: int | None = None
    free_blocks: int = 0
    mapping: str = "shared"
    sparse: bool = False
    large_folios: bool = False
    properties: list[str] | None = None


@dataclass(eq=False)  # not frozen: raising sets __traceback__ (contextlib.contextmanager)
class ScenarioError(Exception):
    """A malformed scenario file: where, which field, what was expected."""

    path: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return (f"{where}: {self.field}: {self.message}" if self.field
                else f"{where}: {self.message}")


#: a scenario file is a few hundred bytes; anything this large (/dev/zero, a disk image) is not
MAX_BYTES = 2**20
#: a scenario's lines are short and hold few dots; the TOML parser's time grows with the
#: square of a dotted key's length (a 200 KB ``a.a.a...`` line takes minutes), so a longer
#: line, or one with more dots, is refused before parsing
MAX_LINE = 10_000
MAX_DOTS = 200
#: a search explores every interleaving: a handful of actors and operations is already
#: millions of states (the shipped scenarios have at most 4 actors and 8 operations each)
MAX_ACTORS = 16
MAX_PROGRAM = 64
MAX_NIC_WRITES = 16


def load_file(path: Path) -> Scenario:
    """The scenario in the file at ``path``; a file that cannot be read, is not UTF-8 text or
    not a valid scenario is a :class:`ScenarioError` naming it."""
    try:
        with open_regular(path) as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ScenarioError(str(path), None, "", f"cannot read the file ({exc.strerror})") from exc
    if len(data) > MAX_BYTES:
        raise ScenarioError(str(path), None, "", f"larger than {MAX_BYTES // 2**20} MiB: not a "
                            "scenario file")
    return parse(decode_text(data, str(path)), str(path))


def decode_text(data: bytes, origin: str) -> str:
    """``data`` as UTF-8 text (TOML files are UTF-8), or a ScenarioError saying where not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ScenarioError(origin, line, "", f"not UTF-8 text (byte 0x{data[exc.start]:02x} "
                            f"at offset {exc.start}): not a scenario file") from None


def parse(text: str, origin: str) -> Scenario:
    text = text.removeprefix("\ufeff")  # a byte-order mark, as some editors write: not TOML
    long = next((n for n, line in enumerate(text.splitlines(), 1)
                 if len(line) > MAX_LINE or line.count(".") > MAX_DOTS), None)
    if long is not None:
        raise ScenarioError(origin, long, "", f"a line longer than {MAX_LINE:,} characters or "
                            f"with more than {MAX_DOTS} dots: not a scenario file")
    try:
        raw = msgspec.toml.decode(text.encode(), type=ScenarioFile)
    except msgspec.ValidationError as exc:
        msg, _, at = str(exc).partition(" - at `")
        field = at.rstrip("`").removeprefix("$.").removeprefix("$")
        unknown = re.search(r"unknown field `([^`]+)`", msg)
        key = unknown.group(1) if unknown else None
        if unknown:
            field = f"{field}.{key}" if field else key
        raise ScenarioError(origin, locate(text, field), field, msg) from None
    except msgspec.DecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ScenarioError(origin, int(m.group(1)) if m else None, "",
                            f"not valid TOML: {exc}") from None
    except RecursionError:  # the TOML parser recurses once per level of nesting
        raise ScenarioError(origin, None, "", "not a scenario: arrays or tables nested too "
                            "deeply") from None
    return _validate(raw, text, origin)


def _validate(raw: ScenarioFile, text: str, origin: str) -> Scenario:
    def fail(field: str, message: str) -> ScenarioError:
        return ScenarioError(origin, locate(text, field), field, message)

    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", raw.name):
        raise fail("name", f"expected lower-case letters, digits and '-', got {raw.name!r}")
    if _CONTROL.search(raw.description.replace("\n", " ").replace("\t", " ")):
        raise fail("description", "control characters (terminal escapes) are not allowed")
    if raw.filesystem not in FILESYSTEMS:
        raise fail("filesystem", "expected " + ", ".join(
            f"\"{name}\" ({what})" for name, what in FS_DESCRIPTIONS.items())
                   + f", got {raw.filesystem!r}")
    fs = FILESYSTEMS[raw.filesystem]
    if raw.mapping not in ("shared", "private"):
        raise fail("mapping", f"expected \"shared\" (MAP_SHARED) or \"private\" (MAP_PRIVATE), "
                   f"got {raw.mapping!r}")
    if raw.mapping == "private" and not fs.private_mappings:
        raise fail("mapping", "a MAP_PRIVATE mapping is modelled on " + ", ".join(
            f"\"{n}\"" for n, f in FILESYSTEMS.items() if f.private_mappings) + " only")
    if raw.large_folios and not (raw.anon or fs.large_folios):
        raise fail("large_folios", "large folios are modelled for anonymous memory (anon = true) "
                   "and shmem only (ext4's page cache is order-0 in 6.1 and 6.12)")
    if raw.sparse and not fs.block_map:
        raise fail("sparse", "a sparse file (no blocks allocated) is modelled on " + ", ".join(
            f"\"{n}\"" for n, f in FILESYSTEMS.items() if f.block_map) + " only")
    if not 0 <= raw.free_blocks <= 8:
        raise fail("free_blocks", f"expected 0 to 8, got {raw.free_blocks}")
    if not 1 <= raw.pages <= 4:
        raise fail("pages", f"expected 1 to 4 pages, got {raw.pages}")
    if raw.device not in ("plain", "stable-writes"):
        raise fail("device", f"expected \"plain\" or \"stable-writes\", got {raw.device!r}")
    if raw.nic_driver not in NIC_DRIVERS:
        raise fail("nic_driver", "expected " + " or ".join(f'"{d}"' for d in NIC_DRIVERS)
                   + f", got {raw.nic_driver!r}")
    if raw.file_pages is not None and not 0 <= raw.file_pages <= raw.pages:
        raise fail("file_pages", f"expected 0 to {raw.pages} (the mapping's pages), "
                   f"got {raw.file_pages}")
    if not 0 <= raw.nic_writes <= MAX_NIC_WRITES:
        raise fail("nic_writes", f"expected 0 to {MAX_NIC_WRITES}, got {raw.nic_writes}")
    if not raw.actor:
        raise fail("actor", "a scenario needs at least one [[actor]]")
    if len(raw.actor) > MAX_ACTORS:
        raise fail("actor", f"{len(raw.actor)} actors; at most {MAX_ACTORS} (every "
                   "interleaving of them is explored: the states grow exponentially)")
    if raw.properties == []:
        raise fail("properties", "an empty list checks nothing; leave `properties` out to "
                   "check every property")
    if not any(actor.program for actor in raw.actor):
        raise fail("actor", "every actor's program is empty (no operation): nothing would "
                   "happen, so nothing would be checked")
    for i, name in enumerate(raw.properties or ()):
        if name not in PROPERTIES:
            raise fail(f"properties[{i}]",
                       f"unknown property {name!r}; choose from: {', '.join(PROPERTIES)}")
    actors = []
    names: set[str] = set()
    for a, actor in enumerate(raw.actor):
        if actor.name in names or not actor.name:
            raise fail(f"actor[{a}].name",
                       f"actor names must be unique and non-empty: {actor.name!r}")
        if _CONTROL.search(actor.name):
            raise fail(f"actor[{a}].name",
                       "control characters (terminal escapes) are not allowed")
        if any(unicodedata.category(ch) == "Cf" for ch in actor.name):
            raise fail(f"actor[{a}].name", "invisible format characters (zero-width, "
                       "bidirectional) are not allowed: two names would look the same")
        if reserved_actor_name(actor.name):
            raise fail(f"actor[{a}].name", f"{actor.name!r} is reserved for a built-in actor "
                       f"({DISK!r}, {KWORKER!r}, {NIC!r}; case is ignored): choose another name")
        names.add(actor.name)
        program: list[tuple[object, ...]] = []
        for o, entry in enumerate(actor.program):
            here = f"actor[{a}].program[{o}]"
            if entry.op not in OPS:
                raise fail(f"{here}.op", f"unknown operation {entry.op!r}; choose from: "
                           f"{', '.join(OPS)}")
            wanted = OPS[entry.op][0]
            args: list[object] = [entry.op]
            for key in ("proc", "page", "block", "value"):
                given = getattr(entry, key)
                if key in wanted and given is None:
                    raise fail(f"{here}.{key}", f"operation {entry.op!r} needs `{key}`")
                if key not in wanted and given is not None:
                    raise fail(f"{here}.{key}", f"operation {entry.op!r} takes no `{key}`")
                if key in wanted:
                    args.append(given)
            if entry.count is not None:
                if entry.op not in ("dio_read", "aio_read"):
                    raise fail(f"{here}.count", f"operation {entry.op!r} takes no `count`")
                if not 1 <= entry.count <= raw.pages - (entry.page or 0):
                    raise fail(f"{here}.count", f"expected 1 to {raw.pages - (entry.page or 0)} "
                               f"pages from page {entry.page}, got {entry.count}")
                args.append(entry.count)
            if entry.proc is not None and entry.proc not in (0, 1):
                raise fail(f"{here}.proc", f"expected 0 (parent) or 1 (child), got {entry.proc}")
            if entry.op in ANON_NEEDS and not raw.anon:
                raise fail(f"{here}.op", f"operation {entry.op!r} needs `anon = true`")
            if entry.page is not None and not 0 <= entry.page < raw.pages:
                raise fail(f"{here}.page",
                           f"expected a page from 0 to {raw.pages - 1}, got {entry.page}")
            if entry.block is not None and not 0 <= entry.block < SUBBLOCKS:
                raise fail(f"{here}.block",
                           f"expected a block from 0 to {SUBBLOCKS - 1}, got {entry.block}")
            if entry.value is not None and not re.fullmatch(r"[A-Z][0-9]", entry.value):
                raise fail(f"{here}.value",
                           f"expected a symbolic value like \"B1\", got {entry.value!r}")
            if not 1 <= entry.repeat <= 8:
                raise fail(f"{here}.repeat", f"expected 1 to 8, got {entry.repeat}")
            if entry.op in NOT_ON_DAX and fs.dax:
                raise fail(f"{here}.op", f"operation {entry.op!r} is not modelled on "
                           "filesystem \"fsdax\" (no page cache to write back or reclaim)")
            if entry.op in NOT_ON_SHMEM and fs.name == "shmem":
                raise fail(f"{here}.op", f"operation {entry.op!r} is not modelled on "
                           "filesystem \"shmem\" (tmpfs refuses O_DIRECT before 6.6 and "
                           "copies through the page cache after)")
            if entry.op in DAX_ONLY and not fs.dax:
                raise fail(f"{here}.op", f"operation {entry.op!r} needs filesystem \"fsdax\"")
            if entry.op == "kswapd_reclaim" and not actor.daemon:
                raise fail(f"{here}.op", "kswapd_reclaim is for a daemon actor (daemon = true)")
            program += [tuple(args)] * entry.repeat
            if len(program) > MAX_PROGRAM:
                raise fail(f"{here}", f"actor {actor.name!r} has more than {MAX_PROGRAM} "
                           "operations (with their `repeat`)")
        actors.append(ActorSpec(actor.name, tuple(program), daemon=actor.daemon))
    _no_access_after_munmap(raw, fail)
    _child_needs_fork(raw, fail)
    _one_registration_per_page(raw, fail)
    _one_child_one_buffer_one_pipe(raw, fail)
    _distinct_anon_values(raw, fail)
    return Scenario(
        name=raw.name, description=raw.description, actors=tuple(actors), npages=raw.pages,
        cached=raw.cached, mapped=raw.mapped, nic_writes=raw.nic_writes,
        stable_writes=raw.device == "stable-writes", nic_driver=raw.nic_driver,
        filesystem=raw.filesystem, anon=raw.anon, file_pages=raw.file_pages,
        free_blocks=raw.free_blocks, private=raw.mapping == "private", sparse=raw.sparse,
        large_folios=raw.large_folios,
        properties=tuple(raw.properties) if raw.properties is not None else tuple(PROPERTIES),
    )


def _no_access_after_munmap(raw: ScenarioFile,
                            fail: Callable[[str, str], ScenarioError]) -> None:
    """Refuse an operation on a process's anonymous page that may run after ``munmap_anon``
    of it: later in the same actor, or in another actor at any time.  The kernel answers
    such an access with -EFAULT (GUP) or SIGSEGV (the CPU), which the model does not have."""
    unmaps = {(a, o, e.proc) for a, actor in enumerate(raw.actor)
              for o, e in enumerate(actor.program) if e.op == "munmap_anon"}
    for a, actor in enumerate(raw.actor):
        for o, e in enumerate(actor.program):
            proc = 0 if e.op == "fork" else e.proc
            if e.op not in ANON_PAGE_OPS:
                continue
            for ua, uo, uproc in unmaps:
                if uproc == proc and (ua != a or uo < o):
                    raise fail(f"actor[{a}].program[{o}].op",
                               f"operation {e.op!r} on process {proc}'s page may run after "
                               f"actor[{ua}].program[{uo}] unmaps it (munmap_anon): an access "
                               "to an unmapped page (-EFAULT, SIGSEGV) is not modelled")


def _child_needs_fork(raw: ScenarioFile, fail: Callable[[str, str], ScenarioError]) -> None:
    """Refuse an operation on the child process (``proc = 1``) in a scenario that never forks,
    or before the fork in the forking actor's own program: it would wait for a child that is
    never born, which the checker would report as a kernel deadlock."""
    forks = [(a, o) for a, actor in enumerate(raw.actor)
             for o, e in enumerate(actor.program) if e.op == "fork"]
    for a, actor in enumerate(raw.actor):
        for o, e in enumerate(actor.program):
            if e.proc != 1:
                continue
            here = f"actor[{a}].program[{o}].proc"
            if not forks:
                raise fail(here, f"operation {e.op!r} on the child process (proc = 1), but no "
                           "actor forks one (op = \"fork\")")
            if any(fa == a and fo > o for fa, fo in forks):
                raise fail(here, f"operation {e.op!r} on the child process (proc = 1) comes "
                           "before this actor's own fork: the child does not exist yet")


#: the pins of a process's anonymous page (the model keeps one pinned buffer)
ANON_PINS = frozenset({"anon_pin", "anon_pin_ro", "anon_pin_fast"})
#: what the model's anonymous memory holds one of, and why a second is refused
ONLY_ONE = {"fork": "a second fork: the model has one child process",
            "pin": "a second pin of the anonymous page: the model keeps one pinned buffer",
            "vmsplice": "a second vmsplice: the model's pipe holds one page"}


def _one_child_one_buffer_one_pipe(raw: ScenarioFile,
                                   fail: Callable[[str, str], ScenarioError]) -> None:
    """Refuse what the model's anonymous memory cannot hold: a second fork (it has one child
    process), a pin by the child or a second pin (it keeps one pinned buffer, the parent's),
    READ_FIXED without an io_uring registration (``anon_pin``: io_sqe_buffer_register pins
    with FOLL_WRITE | FOLL_LONGTERM, so a read-only or GUP-fast pin is no fixed buffer), and a
    second vmsplice (its pipe holds one page)."""
    seen: dict[str, int] = {}
    for a, actor in enumerate(raw.actor):
        for o, e in enumerate(actor.program):
            here = f"actor[{a}].program[{o}].op"
            kind = "pin" if e.op in ANON_PINS else e.op
            if e.op in ANON_PINS and e.proc == 1:
                raise fail(f"actor[{a}].program[{o}].proc", f"{e.op} by the child process: the "
                           "model keeps one pinned anonymous buffer, the parent's")
            if kind not in ONLY_ONE:
                continue
            seen[kind] = seen.get(kind, 0) + e.repeat
            if seen[kind] > 1:
                raise fail(here, ONLY_ONE[kind])
    ops = {e.op for actor in raw.actor for e in actor.program}
    if "read_fixed" in ops and "anon_pin" not in ops:
        a, o = next((a, o) for a, actor in enumerate(raw.actor)
                    for o, e in enumerate(actor.program) if e.op == "read_fixed")
        raise fail(f"actor[{a}].program[{o}].op", "read_fixed needs a buffer registered with "
                   "io_uring (op = \"anon_pin\"): io_sqe_buffer_register pins it writable; "
                   "anon_pin_ro and anon_pin_fast are no fixed buffer")


#: the operations that write a value into anonymous memory
ANON_VALUE_WRITES = frozenset({"anon_write", "read_fixed"})


def _distinct_anon_values(raw: ScenarioFile,
                          fail: Callable[[str, str], ScenarioError]) -> None:
    """Refuse an anonymous-memory write of a value that another such write, a repeat of it,
    or the page's first contents (P0) also hold: cow-isolation tells the parent's writes after
    fork by their value, so a child reading its own copy of an equal value would count as
    a leak."""
    seen: dict[str, str] = {"P0": "the page's first contents"}
    for a, actor in enumerate(raw.actor):
        for o, e in enumerate(actor.program):
            if e.op not in ANON_VALUE_WRITES or e.value is None:
                continue
            here = f"actor[{a}].program[{o}].value"
            if e.value in seen or e.repeat > 1:
                other = seen.get(e.value, "its own repeat")
                raise fail(here, f"value {e.value!r} is also written by {other}: cow-isolation "
                           "tells the parent's writes after fork by their values, so give each "
                           "write to anonymous memory a value of its own")
            seen[e.value] = f"actor[{a}].program[{o}]"


#: the long-term registrations of a page, by interface, and their releases
REGISTER = {"rdma_reg_mr": "rdma", "iouring_register": "iouring"}
UNREGISTER = frozenset({"rdma_dereg_mr", "iouring_unregister"})


def _one_registration_per_page(raw: ScenarioFile,
                               fail: Callable[[str, str], ScenarioError]) -> None:
    """Refuse what the model's device cannot hold: registrations through both RDMA and
    io_uring, a page registered by two actors, or registered again before its release (it
    keeps one registration per page; the second would be released with the first)."""
    seen: dict[int, int] = {}  # page -> the actor that registers it
    kinds = set()
    for a, actor in enumerate(raw.actor):
        held: set[int] = set()
        for o, e in enumerate(actor.program):
            here = f"actor[{a}].program[{o}].op"
            if e.op in UNREGISTER and e.page is not None:
                held.discard(e.page)
            if e.op not in REGISTER or e.page is None:
                continue
            kinds.add(REGISTER[e.op])
            if len(kinds) > 1:
                raise fail(here, "registrations through both RDMA and io_uring: the model's "
                           "device is one or the other")
            if seen.setdefault(e.page, a) != a:
                raise fail(here, f"page {e.page} is registered by actor[{seen[e.page]}] too: "
                           "the model keeps one registration per page")
            if e.page in held or e.repeat > 1:
                raise fail(here, f"page {e.page} is registered again before its release: the "
                           "model keeps one registration per page")
            held.add(e.page)


def _code(text: str) -> str:
    """``text`` with every TOML comment and the inside of every string blanked, lines kept:
    what is left is keys, brackets and punctuation."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "#":
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif ch in "\"'":
            quote = ch * 3 if text.startswith(ch * 3, i) else ch
            j = i + len(quote)
            while j < n and not text.startswith(quote, j) and (len(quote) == 3 or text[j] != "\n"):
                j += 2 if ch == '"' and text[j] == "\\" else 1
            closed = text.startswith(quote, j)  # else the file ends first: tomllib says so
            inner = re.sub(r"[^\n]", " ", text[i + len(quote):j])
            out.append(quote + inner + (quote if closed else ""))
            i = j + (len(quote) if closed else 0)
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def locate(text: str, field: str) -> int | None:
    """The line of ``field`` (``actor[1].program[0].page``) in the TOML text, best effort.

    tomllib keeps no positions, so this walks the text: the n-th ``[[actor]]`` header, the n-th
    ``op =`` inside it, then the key, in the text with its comments and strings blanked
    (:func:`_code`), where neither can pass for one.
    """
    lines = _code(text).splitlines()
    parts = re.findall(r"([A-Za-z_]+)(?:\[(\d+)\])?", field)
    start, end = 0, len(lines)
    for depth, (key, index) in enumerate(parts):
        if key == "actor" and (index or depth == len(parts) - 1):  # `actor`: the first one
            headers = [i for i, ln in enumerate(lines) if re.match(r"\s*\[\[actor\]\]", ln)]
            n = int(index or 0)
            if n >= len(headers):  # `actor = 5`: a key, not a table
                return _key_line(lines, "actor", 0, len(lines), top=True)
            start = headers[n]
            end = headers[n + 1] if n + 1 < len(headers) else len(lines)
        elif key == "program" and index:
            ops = [i for i in range(start, end)  # one per op: several may share a line
                   for _ in re.finditer(r"\bop\s*=", lines[i])]
            n = int(index)
            if n >= len(ops):  # `program = [5]`: no `op =` to count, the program's line
                return _key_line(lines, "program", start, end)
            start = ops[n]
            end = ops[n + 1] if n + 1 < len(ops) else end
        else:
            line = _key_line(lines, key, start, end, top=depth == 0)
            return line if line or not depth else start + 1
    return start + 1


def _key_line(lines: list[str], key: str, start: int, end: int, *,
              top: bool = False) -> int | None:
    """The 1-based line of ``key =`` among ``lines[start:end]`` (``top``: not indented)."""
    pattern = re.compile(rf"(^|[\s{{,]){re.escape(key)}\s*=")
    for i in range(start, end):
        if pattern.search(lines[i]) and not (top and lines[i].startswith(" ")):
            return i + 1
    return None
