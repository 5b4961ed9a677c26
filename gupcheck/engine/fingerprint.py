"""Canonical state encoding and 64-bit fingerprints.

A state is stored as the 64-bit xxh3 hash of its canonical msgpack encoding.  Both are stable
across processes, machines and Python versions, unlike ``hash()``, which is salted per process for
strings and so would make counts and traces differ from run to run (and between the workers of a
parallel run).  msgspec's ``order="deterministic"`` sorts the elements of sets and frozensets, so
two equal frozensets always encode alike whatever their iteration order.

Exact mode keeps the canonical bytes themselves: no collisions, more memory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import msgspec
import numpy as np
import xxhash

_ENCODER = msgspec.msgpack.Encoder(order="deterministic")

#: canonical serialisation of a state value
encode: Callable[[Any], bytes] = _ENCODER.encode

_xxh3 = xxhash.xxh3_64_intdigest


def fingerprint(value: Any) -> int:
    """The 64-bit fingerprint of ``value``'s canonical encoding."""
    return _xxh3(_ENCODER.encode(value))


def keyer(view: Callable[[Any], Any] | None, exact: bool) -> Callable[[Any], Any]:
    """The function that turns a state into its visited-set key.

    ``view`` projects the state first (data independence: ghost fields no property reads).
    The closures are spelled out per case because this runs once per generated transition.
    """
    enc = _ENCODER.encode
    if exact:
        if view is None:
            return enc
        return lambda s: enc(view(s))
    if view is None:
        return lambda s: _xxh3(enc(s))
    return lambda s: _xxh3(enc(view(s)))


def collision_probability(distinct: int, generated: int) -> float:
    """TLC's optimistic estimate of a fingerprint collision having happened.

    Each of the ``generated - distinct`` lookups that found a match could have matched a different
    state with probability ``distinct / 2**64``.
    """
    return distinct * max(generated - distinct, 0) / 2.0**64


def batch_keyer(view: Callable[[Any], Any] | None,
                exact: bool) -> Callable[[Sequence[Any]], list[Any]]:
    """Keys for a whole batch of states, with the per-state work in C (``map`` over C functions)."""
    enc = _ENCODER.encode
    if exact:
        if view is None:
            return lambda states: list(map(enc, states))
        return lambda states: list(map(enc, map(view, states)))
    if view is None:
        return lambda states: list(map(_xxh3, map(enc, states)))
    return lambda states: list(map(_xxh3, map(enc, map(view, states))))


@cache
def compiled_fingerprints() -> Callable[[bytes, int], np.ndarray] | None:
    """:func:`.batchkey.fingerprints`, imported on first need; ``None`` where numba cannot be
    imported or set up (the keys are then computed state by state, the same values)."""
    try:
        from .batchkey import fingerprints
        fingerprints(_ENCODER.encode([0, "", b""]), 3)  # compiled now, so a failure falls back
    except Exception:  # noqa: BLE001 - ImportError, numba's errors (no cache directory, ...)
        return None
    return fingerprints


#: encodings up to this length are hashed in compiled code (XXH3's short and mid-size paths);
#: past it the library's vectorised long-input path is faster than numba's scalar loop (a
#: kernel state's view, about 465 bytes: 128 ns per key in compiled code, 102 ns one by one)
SHORT_ENCODING = 240


def array_keyer(view: Callable[[Any], Any] | None,
                exact: bool) -> Callable[[Sequence[Any]], np.ndarray] | None:
    """:func:`batch_keyer`'s fingerprints as one ``uint64`` array; ``None`` in exact mode (its
    keys are the encodings themselves).  States that encode short (the batch's first is
    looked at) are keyed in two calls per batch (:func:`.batchkey.fingerprints`) rather than
    two per state; the values are the same either way.  The engine uses it only once its
    visited set is large, and only with numba (:func:`compiled_fingerprints`), so that a small
    search does not import numba."""
    if exact:
        return None
    enc = _ENCODER.encode

    def keys(states: Sequence[Any]) -> np.ndarray:
        values = states if view is None else list(map(view, states))
        if values and len(enc(values[0])) <= SHORT_ENCODING:
            fingerprints = compiled_fingerprints()
            assert fingerprints is not None  # the engine asked compiled_fingerprints() first
            return fingerprints(enc(values), len(values))
        return np.fromiter(map(_xxh3, map(enc, values)), dtype=np.uint64, count=len(values))
    return keys
