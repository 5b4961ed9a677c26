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
from typing import Any

import msgspec
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
