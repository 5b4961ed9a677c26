"""Checkpoint files: a breadth-first search's progress on disk, so a killed run can resume.

Why a BFS checkpoint is small enough to write every few minutes: the search keeps only the
visited set (a numpy array), 6-byte parent records per state, the current and next frontier, and
a few counters (see :mod:`.bfs`).  A checkpoint is taken between two chunks of the frontier, where
all of that is consistent, so a resumed run continues with the next chunk and reaches the same
verdict, counts and shortest trace as a run that was never interrupted.

The file is ``MAGIC``, an 8-byte xxh3 digest of the body, and the body: one msgpack map (via
msgspec) of plain values — numbers, strings, and numpy arrays as raw bytes — decoded against a
schema (:class:`Body`) after its format version is checked.  Nothing in it is code, and loading
it never runs any: earlier versions pickled the frontier states, so a crafted file could run
anything on ``--resume``; a pickle is now refused as "not a gupcheck checkpoint".

Frontier states are the model's own values (tuples, named tuples, msgspec Structs such as the
kernel's ``KState``, frozen dataclasses), which plain msgpack does not round-trip (tuples come
back as lists).  :class:`Plain` therefore writes them as a table of tagged lists and scalars,
parts shared between states written once, and rebuilds them exactly — the same fingerprints —
using only the builtin containers and the classes in the model's own registry
(:func:`state_classes`: the classes of its initial states and of their type annotations).  A
class name that is not in the registry is refused; nothing is ever imported or looked up by
name.  Keep-going findings are stored as their verdict, message, counts and the (depth, index)
of their last state; their traces are rebuilt by replay from the restored parent records,
exactly as a trace is built in the first place.

It is written to a temporary file in the same directory, flushed, fsynced and renamed over the
old one (``os.replace`` is atomic on POSIX), so a crash at any moment leaves either the previous
checkpoint or the new one, never a torn file.

A checkpoint names the model it belongs to by an identity hash (model name and class, the
model's optional ``identity()``, its initial states, invariants and actions, and the search
settings that change what is explored).  Resuming against anything else raises
:class:`CheckpointError` instead of silently mixing two searches.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import stat
import tempfile
import typing
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import xxhash

from .fingerprint import encode
from .userfile import open_regular

MAGIC = b"GUPCKPT\n"
#: 1: frontier and findings pickled (refused: loading them could run code); 2: plain data only;
#: 3: the same data, but the kernel model's view key became its own byte string (issue 18), so a
#: version-2 checkpoint's fingerprints under ``--reduce view`` would match no new state
#: 4: the current level's states from the saved position on, not the whole level (its
#: expanded states were kept only to be written; a version-3 file is still read)
VERSION = 4
READS = (3, 4)

#: the default interval between checkpoints: a killed run loses at most this much work
DEFAULT_EVERY = 300.0


class CheckpointError(Exception):
    """A checkpoint cannot be used: unreadable, corrupt, another format, or another model."""


def model_identity(ctx: Any, settings: dict[str, Any]) -> str:
    """A hex digest naming the model and the search settings a checkpoint is valid for.

    ``ctx`` is the search's :class:`~.runtime.Context`.  A model whose name and initial states
    do not pin down its transition relation (two designs of one scenario) should say what does
    in ``identity()``, any msgpack-encodable value.
    """
    model = ctx.model
    ident = model.identity() if callable(getattr(model, "identity", None)) else None
    inits = [ctx.key(s) for s in ctx.init_states()]
    parts = {
        "name": ctx.name,
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "identity": ident,
        "inits": inits,
        "invariants": [inv.name for inv in ctx.invariants],
        "actions": list(ctx.declared_actions),
        "settings": settings,
    }
    try:
        data = encode(parts)
    except (TypeError, msgspec.EncodeError) as exc:
        raise CheckpointError(f"the model's identity() cannot be encoded ({exc})") from exc
    return xxhash.xxh3_128_hexdigest(data)


def write(path: str | os.PathLike[str], data: dict[str, Any]) -> None:
    """Write ``data`` atomically: a temporary file beside ``path``, fsync, rename, fsync dir.

    The body is written in parts (:func:`_parts`) with its digest computed as it goes, so
    that a checkpoint never holds the whole encoded body in memory beside the values it
    encodes: at 3 million states a level that was several GiB more than the search itself."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC)
            f.write(bytes(8))  # the digest, once the body is written
            digest = xxhash.xxh3_64()
            for part in _parts({"format": "gupcheck-checkpoint", "version": VERSION, **data}):
                digest.update(part)
                f.write(part)
            f.seek(len(MAGIC))
            f.write(digest.digest())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


#: elements of a list, or bytes of a buffer, from which a value is written in parts
_PART = 1 << 16
#: lists up to this long are written element by element (they may hold arrays)
_FEW = 256


def _parts(value: Any) -> Iterator[bytes | memoryview]:
    """The msgpack encoding of ``value``, in parts that concatenate to exactly what one
    ``msgspec.msgpack.encode`` would return (numpy arrays as their bytes): dicts key by
    key, short lists element by element, long lists ``_PART`` elements at a time, large
    buffers as they are, without a copy."""
    if type(value) is dict:
        yield _header(len(value), 0x80, 0xDE, 0xDF)
        for k, v in value.items():
            yield _ENCODE(k)
            yield from _parts(v)
    elif isinstance(value, (bytes, bytearray, memoryview, np.ndarray)):
        buf = memoryview(value).cast("B")  # C-contiguous: an array's raw bytes
        if len(buf) < _PART:
            yield _ENCODE(buf)
        else:
            n = len(buf)
            yield (b"\xc4" + n.to_bytes(1, "big") if n < 1 << 8 else
                   b"\xc5" + n.to_bytes(2, "big") if n < 1 << 16 else
                   b"\xc6" + n.to_bytes(4, "big"))
            yield buf
    elif type(value) is list and len(value) <= _FEW:  # the levels' arrays, the findings
        yield _header(len(value), 0x90, 0xDC, 0xDD)
        for v in value:
            yield from _parts(v)
    elif type(value) is list and len(value) > _PART:
        yield _header(len(value), 0x90, 0xDC, 0xDD)
        for i in range(0, len(value), _PART):
            chunk = _ENCODE(value[i:i + _PART])
            yield memoryview(chunk)[_ARRAY_HEADER.get(chunk[0], 1):]
    else:
        yield _ENCODE(value)


_ENCODE = msgspec.msgpack.Encoder().encode
#: an encoded array's header length by its first byte (a fixarray's is 1)
_ARRAY_HEADER = {0xDC: 3, 0xDD: 5}


def _header(n: int, fix: int, b16: int, b32: int) -> bytes:
    """A msgpack array or map header of ``n`` elements, in its shortest form, as msgspec
    writes it."""
    if n < 16:
        return bytes([fix | n])
    if n < 1 << 16:
        return bytes([b16]) + n.to_bytes(2, "big")
    return bytes([b32]) + n.to_bytes(4, "big")


class _Header(msgspec.Struct):
    """What is read before anything else: is it a checkpoint, and of which format version."""

    format: Any = None
    version: Any = None


class Finding(msgspec.Struct, forbid_unknown_fields=True):
    """A keep-going counterexample without its trace, which is rebuilt by replay from ``at``
    (the depth and index of its last state in the parent records)."""

    verdict: str
    property: str | None
    message: str
    at: tuple[int, int] | None
    stats: tuple[int, int, int, float, float | None, int, int, int]
    coverage: dict[str, int]
    unfired: list[str]
    bound: str | None
    waits: list[tuple[str, str, list[str]]]
    notes: list[str]
    approximate: str | None


class Body(msgspec.Struct, forbid_unknown_fields=True):
    """The schema of a checkpoint (format version :data:`VERSION`): plain data only."""

    format: str
    version: int
    identity: str
    model: str
    settings: dict[str, Any]
    depth: int
    position: int
    generated: int
    seconds: float
    coverage: dict[str, int]
    active: list[str]
    findings: list[Finding]
    store: dict[str, Any]  # the visited set's snapshot (:mod:`.visited`)
    parent: list[bytes]  # per BFS level: uint32 parent indices
    ordinal: list[bytes]  # per BFS level: uint16 successor ordinals
    classes: list[str]  # the classes the objects below refer to, by index
    objects: list[list[Any]]  # the states' parts, shared (:class:`Plain`)
    frontier: list[Any]  # the level's states from position on, as nodes (:class:`Plain`)
    frontier_next: list[Any]
    por: tuple[int, ...] | None = None  # reduced, full, local steps taken at once


def foreign(f: typing.BinaryIO) -> str | None:
    """Why the open file ``f`` is no checkpoint, from its type and first bytes only: a device
    or pipe (never read, a rename would replace it), or a file that starts otherwise; None for
    a checkpoint or an empty file."""
    if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
        return "not a gupcheck checkpoint (not a file)"
    head = f.read(len(MAGIC))
    return "not a gupcheck checkpoint" if head and head != MAGIC else None


def read(path: str | os.PathLike[str], identity: str,
         settings: dict[str, Any] | None = None) -> Body:
    """Load a checkpoint and check that it belongs to the search with ``identity``
    (``settings``: that search's, named in the error where they differ).

    Every failure is a :class:`CheckpointError` with a one-line reason; nothing in the file is
    executed (see the module docstring)."""
    try:
        with open_regular(path) as f:
            if why := foreign(f):  # before reading the whole of a device or foreign file
                raise CheckpointError(f"{path} is {why}")
            f.seek(0)
            raw = memoryview(f.read())  # slices without copies
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from exc
    if len(raw) < len(MAGIC) + 8:
        raise CheckpointError(f"{path} is not a gupcheck checkpoint")
    digest, body = raw[len(MAGIC):len(MAGIC) + 8], raw[len(MAGIC) + 8:]
    if xxhash.xxh3_64_digest(body) != digest:
        raise CheckpointError(f"checkpoint {path} is corrupt (checksum mismatch)")
    try:
        head = msgspec.msgpack.decode(body, type=_Header)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise CheckpointError(f"checkpoint {path} is corrupt ({one_line(exc)})") from exc
    if head.format != "gupcheck-checkpoint":
        raise CheckpointError(f"{path} is not a gupcheck checkpoint")
    if head.version not in READS:
        raise CheckpointError(f"checkpoint {path} has format version {head.version}; "
                              f"this gupcheck reads versions {READS[0]} to {READS[-1]}")
    try:
        data = msgspec.msgpack.decode(body, type=Body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise CheckpointError(f"checkpoint {path} is corrupt ({one_line(exc)})") from exc
    if data.identity != identity:
        why = _differences(data.settings, settings) or f"{identity[:12]} != {data.identity[:12]}"
        raise CheckpointError(
            f"checkpoint {path} was written for another model or search "
            f"({data.model!r}, {data.settings}); it cannot resume this one ({why})")
    return data


def _differences(saved: dict[str, Any], now: dict[str, Any] | None) -> str:
    """The search settings that differ, ``key: checkpoint's -> this search's``; or, if they
    are the same, that the model is another."""
    if now is None:
        return ""
    keys = sorted(set(saved) | set(now), key=str)
    diff = [f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in keys if saved.get(k) != now.get(k)]
    return ("settings differ: " + "; ".join(diff)) if diff else \
        "the settings match: the model (its name, design, scenario or initial states) differs"


def one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# --- states as plain data ----------------------------------------------------------------------

_LIST, _TUPLE, _FROZENSET, _DICT, _OBJECT = range(5)
_SCALARS = frozenset((type(None), bool, int, float, str, bytes))


def _is_plain_class(cls: Any) -> bool:
    """Classes a state may be built of: msgspec Structs, named tuples, dataclasses, enums."""
    return isinstance(cls, type) and (
        issubclass(cls, msgspec.Struct) or issubclass(cls, enum.Enum)
        or (issubclass(cls, tuple) and hasattr(cls, "_fields"))
        or dataclasses.is_dataclass(cls))


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def state_classes(values: Iterable[Any]) -> dict[str, type]:
    """The registry of classes a checkpoint's states may use, by qualified name.

    Found from the model itself, never from the file: the classes of the given values (the
    initial states) and, transitively, the classes named in their type annotations (a ``Bio``
    that only appears later is an annotated field of ``KState``)."""
    found: dict[str, type] = {}
    seen_types: set[int] = set()

    def add_class(cls: type) -> None:
        if _name(cls) in found:
            return
        found[_name(cls)] = cls
        try:
            hints = typing.get_type_hints(cls)
        except (NameError, TypeError, AttributeError):  # unresolvable forward references
            hints = getattr(cls, "__annotations__", {})
        for hint in hints.values():
            add_type(hint)

    def add_type(hint: Any) -> None:
        if id(hint) in seen_types:
            return
        seen_types.add(id(hint))
        if _is_plain_class(hint):
            add_class(hint)
        for arg in typing.get_args(hint):
            add_type(arg)

    def add_value(v: Any) -> None:
        cls = type(v)
        if cls in _SCALARS:
            return
        if _is_plain_class(cls):
            add_class(cls)
        if isinstance(v, msgspec.Struct):
            children: Iterable[Any] = (getattr(v, f) for f in v.__struct_fields__)
        elif dataclasses.is_dataclass(v):
            children = (getattr(v, f.name) for f in dataclasses.fields(v))
        elif isinstance(v, dict):
            children = [*v.keys(), *v.values()]
        elif isinstance(v, (tuple, list, frozenset, set)):
            children = v
        else:
            children = ()
        for c in children:
            add_value(c)

    for v in values:
        add_value(v)
    return found


class Plain:
    """Turns states into plain data and back: a table of shared objects plus a node per state.

    A *node* is a scalar (``None``, bool, int, float, str, bytes) or ``[i]``, a reference to
    entry ``i`` of the object table.  An entry is ``[TUPLE, *nodes]``, ``[LIST, *nodes]``,
    ``[FROZENSET, *nodes]``, ``[DICT, k0, v0, k1, v1, ...]`` or ``[OBJECT, class, *fields]``,
    and refers only to earlier entries, so the table is rebuilt in one pass, children first.
    States that share a part (successor states share most of their folios, threads and
    ghost) share its entry: a part is written and rebuilt once per checkpoint, not once per
    state.  Parts are shared by identity, and, across :meth:`forget`, by *shape*: the same tag
    and class over the same entries and the same typed scalars — never by equality, which would
    confuse ``1`` with ``True`` or ``1.0``.  The shapes matter when a frontier is encoded
    (:mod:`.frontier`): each block decodes into objects of its own, so sharing by identity
    alone made every state's parts new entries, all kept alive until the file was written (a
    3x3x3 kernel search's first checkpoint grew past 24 GiB and was killed).
    """

    def __init__(self, registry: dict[str, type]) -> None:
        self.registry = registry
        self.table: list[str] = []  # class names by index, as written to the file
        self.objects: list[list[Any]] = []
        self._index: dict[type, int] = {}
        self._memo: dict[int, list[int]] = {}  # id(part) -> its node
        self._keep: list[Any] = []  # the parts memoised by id, kept alive meanwhile
        self._shapes: dict[tuple[Any, ...], list[int]] = {}  # an entry's shape -> its node
        self._classes: list[type] = []
        self._built: list[Any] = []
        self._objects: list[list[Any]] = []

    # encoding -------------------------------------------------------------------------------

    def node(self, v: Any) -> Any:
        """``v`` as a node, its parts added to :attr:`objects`."""
        cls = type(v)
        if cls in _SCALARS:
            return v
        ref = self._memo.get(id(v))
        if ref is not None:
            return ref
        if cls is tuple:
            head: list[Any] = [_TUPLE]
            items: Iterable[Any] = v
        elif cls is list:
            head, items = [_LIST], v
        elif cls is frozenset:
            head, items = [_FROZENSET], v
        elif cls is dict:
            head, items = [_DICT], [x for kv in v.items() for x in kv]
        else:
            head = [_OBJECT, self._class_index(cls)]
            if isinstance(v, msgspec.Struct):
                items = msgspec.structs.astuple(v)
            elif isinstance(v, enum.Enum):
                items = (v.value,)
            elif isinstance(v, tuple):  # a named tuple
                items = v
            else:  # a dataclass
                items = [getattr(v, f.name) for f in dataclasses.fields(v)]
        node, scalars = self.node, _SCALARS  # scalars inline: most fields are
        head += [x if type(x) in scalars else node(x) for x in items]
        shape = tuple(map(_shape, head))
        ref = self._shapes.get(shape)
        if ref is None:
            ref = self._shapes[shape] = [len(self.objects)]
            self.objects.append(head)
        self._memo[id(v)] = ref
        self._keep.append(v)
        return ref

    def forget(self) -> None:
        """Drop the identity memo and the parts it keeps alive (the shapes stay): call it
        between blocks of states that are not needed any more, so that they can be freed."""
        self._memo.clear()
        self._keep.clear()

    def _class_index(self, cls: type) -> int:
        index = self._index.get(cls)
        if index is not None:
            return index
        name = _name(cls)
        if self.registry.get(name) is not cls:
            raise CheckpointError(
                f"a state holds a {name}, which is neither a builtin container nor a class "
                "reachable from the initial states' types, so it cannot be checkpointed")
        if dataclasses.is_dataclass(cls) and not all(f.init for f in dataclasses.fields(cls)):
            raise CheckpointError(f"the dataclass {name} has fields outside __init__ and "
                                  "cannot be checkpointed")
        self._index[cls] = len(self.table)
        self.table.append(name)
        return self._index[cls]

    # decoding -------------------------------------------------------------------------------

    def load(self, classes: list[str], objects: list[list[Any]],
             roots: Collection[int] = ()) -> None:
        """Resolve a file's class table against the registry (an unknown name is refused) and
        rebuild its object table; malformed entries raise :class:`CheckpointError`.

        ``roots``: the entries of the states themselves, rebuilt only when :meth:`value` asks
        for one and not kept, so that a resumed search holds the states of one frontier block
        at a time besides the parts they share (not the whole saved frontier)."""
        for name in classes:
            cls = self.registry.get(name)
            if cls is None:
                raise CheckpointError(f"the checkpoint's states use a class {name!r} that this "
                                      "model's states do not have")
            self._classes.append(cls)
        self._objects = objects
        try:
            for i, entry in enumerate(objects):
                self._built.append(_ROOT if i in roots else self._build(entry, i))
        except CheckpointError:
            raise
        except _MALFORMED as exc:
            raise CheckpointError(f"a saved state is malformed ({one_line(exc)})") from exc

    def value(self, node: Any) -> Any:
        """The value of a node of the loaded table."""
        try:
            return self._value(node)
        except CheckpointError:
            raise
        except _MALFORMED as exc:
            raise CheckpointError(f"a saved state is malformed ({one_line(exc)})") from exc

    def _value(self, node: Any) -> Any:
        return node if type(node) in _SCALARS else self._get(self._ref(node, len(self._built)))

    def _get(self, i: int) -> Any:
        v = self._built[i]
        return self._build(self._objects[i], i) if v is _ROOT else v

    def _values(self, nodes: list[Any], bound: int) -> list[Any]:
        """The values of an entry's nodes; scalars inline, references (to entries before
        ``bound``) checked."""
        get, ref, scalars = self._get, self._ref, _SCALARS
        return [x if type(x) in scalars else get(ref(x, bound)) for x in nodes]

    @staticmethod
    def _ref(node: Any, bound: int) -> int:
        if type(node) is not list or len(node) != 1 or type(node[0]) is not int \
                or not 0 <= node[0] < bound:
            raise ValueError(f"a node {node!r} that is neither a value nor a reference to "
                             "an earlier object")
        return node[0]

    def _build(self, entry: Any, index: int) -> Any:
        """Entry ``index`` of the table, rebuilt from the entries before it."""
        if type(entry) is not list or not entry:
            raise ValueError("an object entry that is not a tagged list")
        tag = entry[0]
        if tag == _TUPLE:
            return tuple(self._values(entry[1:], index))
        if tag == _LIST:
            return self._values(entry[1:], index)
        if tag == _FROZENSET:
            return frozenset(self._values(entry[1:], index))
        if tag == _DICT:
            items = self._values(entry[1:], index)
            if len(items) % 2:
                raise ValueError("a dict with an odd number of items")
            return dict(zip(items[::2], items[1::2]))
        if tag == _OBJECT and len(entry) > 1 and type(entry[1]) is int \
                and 0 <= entry[1] < len(self._classes):
            return _construct(self._classes[entry[1]], self._values(entry[2:], index))
        raise ValueError(f"unknown tag {tag!r}")


_ROOT = object()  # a state's entry, rebuilt when asked for (Plain.load)
_MALFORMED = (TypeError, ValueError, IndexError, KeyError, AttributeError, RecursionError,
              msgspec.ValidationError)


def _shape(x: Any) -> Any:
    """An entry's element as its shape key: a reference by its index, a scalar with its type
    (``1``, ``True`` and ``1.0`` differ; a float by its exact hex form, so ``-0.0`` differs
    from ``0.0`` and a NaN is itself)."""
    cls = type(x)
    if cls is list:
        return x[0]
    if cls is float:
        return (float, x.hex())
    return (cls, x)


def _construct(cls: type, fields: list[Any]) -> Any:
    """An instance of a registry class from its field values, by its own constructor."""
    if issubclass(cls, msgspec.Struct):
        names = cls.__struct_fields__
        if len(fields) != len(names):
            raise ValueError(f"{cls.__name__} has {len(names)} fields, not {len(fields)}")
        return cls(**dict(zip(names, fields)))
    if issubclass(cls, enum.Enum):
        if len(fields) != 1:
            raise ValueError(f"an enum value of {cls.__name__} has one field")
        return cls(fields[0])
    if issubclass(cls, tuple):
        if len(fields) != len(cls._fields):  # type: ignore[attr-defined]
            raise ValueError(f"{cls.__name__} has {len(cls._fields)} fields")  # type: ignore[attr-defined]
        return cls(*fields)
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    if len(fields) != len(names):
        raise ValueError(f"{cls.__name__} has {len(names)} fields, not {len(fields)}")
    return cls(**dict(zip(names, fields)))

