"""Fingerprints of a whole batch of states in two calls, for large searches.

A state's fingerprint is the xxh3 hash of its canonical msgpack encoding
(:mod:`.fingerprint`).  Computed state by state, that is two Python-level calls per generated
transition (the encoder's, then the hash's), each allocating a result, and a conversion of the
Python ints into the table's array: about 130 ns of lost update 4x2's per-transition cost.
Instead the caller (:func:`.fingerprint.array_keyer`) encodes the whole batch as *one* msgpack
array (a list of states encodes as the array header followed by each state's own canonical
encoding, byte for byte), :func:`item_bounds` walks the array's top-level elements to find
where each state's encoding begins and ends, and :func:`.xxh3.hash_slices` hashes every slice:
about 70 ns per state.  The values are the library's exactly (``xxh3_64_intdigest`` of each
state's own encoding), so a search gives the same fingerprints whichever path computed them.

Like :mod:`.probe`, this imports numba and is used only once the visited set is large.
"""

from __future__ import annotations

import numba
import numpy as np

from .xxh3 import hash_slices

# bytes that follow a msgpack tag before the next element, by tag (-1: a length-prefixed or
# container tag, handled in item_bounds; fixed-size tags only here)
_FIXED = np.full(256, -1, dtype=np.int64)
_FIXED[0x00:0x80] = 0   # positive fixint
_FIXED[0xE0:0x100] = 0  # negative fixint
_FIXED[[0xC0, 0xC2, 0xC3]] = 0  # nil, false, true
for _tag, _size in ((0xCA, 4), (0xCB, 8), (0xCC, 1), (0xCD, 2), (0xCE, 4), (0xCF, 8),
                    (0xD0, 1), (0xD1, 2), (0xD2, 4), (0xD3, 8),
                    (0xD4, 2), (0xD5, 3), (0xD6, 5), (0xD7, 9), (0xD8, 17)):  # fixext: type + data
    _FIXED[_tag] = _size


@numba.njit(cache=True, nogil=True)
def _be(buf: np.ndarray, at: int, size: int) -> int:  # pragma: no cover - compiled
    """The big-endian unsigned integer of ``size`` bytes at ``at`` (msgpack lengths); past
    the buffer's end, the buffer's length, which takes the walk past the end (compiled code
    does not check bounds)."""
    if at + size > buf.shape[0]:
        return buf.shape[0]
    v = 0
    for i in range(size):
        v = (v << 8) | int(buf[at + i])
    return v


@numba.njit(cache=True, nogil=True)
def item_bounds(buf: np.ndarray, fixed: np.ndarray, starts: np.ndarray,
                ends: np.ndarray) -> int:  # pragma: no cover - compiled
    """Fill ``starts``/``ends`` with the byte range of each element of the msgpack array
    ``buf``; return the number of elements (-1: ``buf`` is not one well-formed array of at
    most ``len(starts)`` elements, which msgspec never produces)."""
    if buf.shape[0] == 0:
        return -1
    tag = int(buf[0])
    if 0x90 <= tag <= 0x9F:
        count, pos = tag & 0x0F, 1
    elif tag == 0xDC:
        count, pos = _be(buf, 1, 2), 3
    elif tag == 0xDD:
        count, pos = _be(buf, 1, 4), 5
    else:
        return -1
    if count > starts.shape[0]:
        return -1
    n = buf.shape[0]
    for item in range(count):
        starts[item] = pos
        pending = 1  # elements still to skip to reach the end of this item
        while pending:
            if pos >= n:
                return -1
            tag = int(buf[pos])
            pending -= 1
            if tag < 0x80 or tag >= 0xE0:  # fixint, the common case: no table load
                pos += 1
                continue
            size = fixed[tag]
            if size >= 0:
                pos += 1 + size
            elif 0xA0 <= tag <= 0xBF:  # fixstr
                pos += 1 + (tag & 0x1F)
            elif 0x90 <= tag <= 0x9F:  # fixarray
                pending += tag & 0x0F
                pos += 1
            elif 0x80 <= tag <= 0x8F:  # fixmap: keys and values
                pending += 2 * (tag & 0x0F)
                pos += 1
            elif tag == 0xC4 or tag == 0xD9:  # bin8, str8
                pos += 2 + _be(buf, pos + 1, 1)
            elif tag == 0xC5 or tag == 0xDA:  # bin16, str16
                pos += 3 + _be(buf, pos + 1, 2)
            elif tag == 0xC6 or tag == 0xDB:  # bin32, str32
                pos += 5 + _be(buf, pos + 1, 4)
            elif tag == 0xC7:  # ext8: length, type, data
                pos += 3 + _be(buf, pos + 1, 1)
            elif tag == 0xC8:
                pos += 4 + _be(buf, pos + 1, 2)
            elif tag == 0xC9:
                pos += 6 + _be(buf, pos + 1, 4)
            elif tag == 0xDC:
                pending += _be(buf, pos + 1, 2)
                pos += 3
            elif tag == 0xDD:
                pending += _be(buf, pos + 1, 4)
                pos += 5
            elif tag == 0xDE:
                pending += 2 * _be(buf, pos + 1, 2)
                pos += 3
            elif tag == 0xDF:
                pending += 2 * _be(buf, pos + 1, 4)
                pos += 5
            else:  # 0xC1, never used
                return -1
        ends[item] = pos
    return count if pos == n else -1


def fingerprints(encoded: bytes, count: int) -> np.ndarray:
    """The fingerprints of the ``count`` elements of ``encoded``, the canonical encoding of a
    list (``[fingerprint(v) for v in values]`` for ``encode(values)``), as a ``uint64``
    array."""
    buf = np.frombuffer(encoded, dtype=np.uint8)
    starts = np.empty(count, dtype=np.int64)
    ends = np.empty(count, dtype=np.int64)
    if item_bounds(buf, _FIXED, starts, ends) != count:
        raise ValueError(f"not the encoding of an array of {count} elements")
    out = np.empty(count, dtype=np.uint64)
    hash_slices(buf, starts, ends, out)
    return out
