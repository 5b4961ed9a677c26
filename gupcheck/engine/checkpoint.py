"""Checkpoint files: a breadth-first search's progress on disk, so a killed run can resume.

Why a BFS checkpoint is small enough to write every few minutes: the search keeps only the
visited set (a numpy array), 6-byte parent records per state, the current and next frontier, and
a few counters (see :mod:`.bfs`).  A checkpoint is taken between two chunks of the frontier, where
all of that is consistent, so a resumed run continues with the next chunk and reaches the same
verdict, counts and shortest trace as a run that was never interrupted.

The file is ``MAGIC``, an 8-byte xxh3 digest of the body, and the body: one msgpack map (via
msgspec) of plain values — numbers, strings, and numpy arrays as raw bytes.  Frontier states and
keep-going findings are the model's own Python values, which have no portable decoding (msgpack
turns tuples into lists and dataclasses into maps), so they are pickled inside the map: resume
only checkpoints you wrote yourself, as with any pickle.

It is written to a temporary file in the same directory, flushed, fsynced and renamed over the
old one (``os.replace`` is atomic on POSIX), so a crash at any moment leaves either the previous
checkpoint or the new one, never a torn file.

A checkpoint names the model it belongs to by an identity hash (model name and class, the
model's optional ``identity()``, its initial states, invariants and actions, and the search
settings that change what is explored).  Resuming against anything else raises
:class:`CheckpointError` instead of silently mixing two searches.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

import msgspec
import xxhash

from .fingerprint import encode

MAGIC = b"GUPCKPT\n"
VERSION = 1

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


def pickled(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def unpickled(data: bytes) -> Any:
    return pickle.loads(data)


def write(path: str | os.PathLike[str], data: dict[str, Any]) -> None:
    """Write ``data`` atomically: a temporary file beside ``path``, fsync, rename, fsync dir."""
    target = Path(path)
    body = msgspec.msgpack.encode({"format": "gupcheck-checkpoint", "version": VERSION, **data})
    digest = xxhash.xxh3_64_digest(body)
    directory = target.parent if str(target.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC)
            f.write(digest)
            f.write(body)
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


def read(path: str | os.PathLike[str], identity: str) -> dict[str, Any]:
    """Load a checkpoint and check that it belongs to the search with ``identity``."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from exc
    if not raw.startswith(MAGIC) or len(raw) < len(MAGIC) + 8:
        raise CheckpointError(f"{path} is not a gupcheck checkpoint")
    digest, body = raw[len(MAGIC):len(MAGIC) + 8], raw[len(MAGIC) + 8:]
    if xxhash.xxh3_64_digest(body) != digest:
        raise CheckpointError(f"checkpoint {path} is corrupt (checksum mismatch)")
    try:
        data = msgspec.msgpack.decode(body)
    except msgspec.DecodeError as exc:
        raise CheckpointError(f"checkpoint {path} is corrupt ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != "gupcheck-checkpoint":
        raise CheckpointError(f"{path} is not a gupcheck checkpoint")
    if data.get("version") != VERSION:
        raise CheckpointError(f"checkpoint {path} has format version {data.get('version')}; "
                              f"this gupcheck reads version {VERSION}")
    if data.get("identity") != identity:
        raise CheckpointError(
            f"checkpoint {path} was written for another model or search "
            f"({data.get('model')!r}, {data.get('settings')}); it cannot resume this one "
            f"({identity[:12]} != {str(data.get('identity'))[:12]})")
    return data
