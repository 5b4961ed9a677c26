"""XXH3-64 (seed 0, default secret) compiled by numba, for a whole batch of slices of one buffer.

Why: a state's fingerprint is ``xxh3_64`` of its canonical msgpack encoding
(:mod:`gupcheck.engine.fingerprint`).  The BFS engine can encode a whole batch of successor
states with ONE msgspec call into one buffer; it then needs the fingerprint of every state's
slice of that buffer.  The xxhash library hashes one ``bytes`` object per Python call, about
40-50 ns of call and allocation overhead per state before any hashing; :func:`hash_slices`
hashes every slice of the batch in one compiled call.

It must give exactly the library's values (``xxhash.xxh3_64_intdigest``, i.e. the C function
``XXH3_64bits``): a fingerprint must be the same whichever path computed it, or checkpoints,
parallel workers and the small searches that never import numba would disagree about which
states were seen.  ``tests/engine/test_xxh3.py`` compares the two on every length class.

The algorithm follows the reference implementation, xxHash 0.8, ``xxhash.h`` (Yann Collet, BSD
2-clause; https://github.com/Cyan4973/xxHash), restated here for the special case the engine
uses: seed 0 and the default 192-byte secret ``XXH3_kSecret``.  The functions below name the
reference function each one stands for.  Numba has no 128-bit integers, so the 64x64->128-bit
product of ``XXH3_mul128_fold64`` is formed from 32-bit halves (the reference's portable
path).  Every intermediate value is ``np.uint64`` (numba turns uint64 mixed with a signed
integer into float64); input reads are unaligned little-endian loads assembled from bytes.

This module imports numba (about 0.2 s and 65 MB); the engine imports it only when it needs it.
``cache=True`` keeps the machine code in ``__pycache__`` beside this file: the first call on a
machine compiles for about 3 s, later processes load it in about 0.15 s.  A read-only buffer
(``np.frombuffer`` of ``bytes``) and a writable one are two signatures, each compiled once.

``python benchmarks/xxh3_speed.py`` compares its speed with the library's.
"""

from __future__ import annotations

import numba
import numpy as np

_MASK64 = (1 << 64) - 1

#: XXH3_kSecret, the default 192-byte secret (pseudorandom bytes taken from FARSH)
_SECRET_BYTES = bytes.fromhex(
    "b8fe6c3923a44bbe7c01812cf721ad1c" "ded46de9839097db7240a4a4b7b3671f"
    "cb79e64eccc0e578825ad07dccff7221" "b8084674f743248ee03590e6813a264c"
    "3c2852bb91c300cb88d0658b1b532ea3" "71644897a20df94e3819ef46a9deacd8"
    "a8fa763fe39c343ff9dcbbc7c70b4f1d" "8a51e04bcdb45931c89f7ec9d9787364"
    "eac5ac8334d3ebc3c581a0fffa1363eb" "170ddd51b7f0da49d316552629d4689e"
    "2b16be587d47a1fc8ff8b8d17ad031ce" "45cb3a8f95160428afd7fbcabb4b407e")
_SECRET_SIZE = len(_SECRET_BYTES)  # XXH_SECRET_DEFAULT_SIZE, 192


def _secret64(offset: int) -> int:
    """XXH_readLE64(XXH3_kSecret + offset)."""
    return int.from_bytes(_SECRET_BYTES[offset:offset + 8], "little")


def _secret32(offset: int) -> int:
    """XXH_readLE32(XXH3_kSecret + offset)."""
    return int.from_bytes(_SECRET_BYTES[offset:offset + 4], "little")


#: the secret read as a little-endian 64-bit word at every byte offset (the reference reads it
#: at unaligned offsets: 3, 7, 11, 17); one load instead of eight in the compiled code
_SECRET64 = np.array([_secret64(o) for o in range(_SECRET_SIZE - 7)], dtype=np.uint64)

_PRIME32_1 = np.uint64(0x9E3779B1)
_PRIME32_2 = np.uint64(0x85EBCA77)
_PRIME32_3 = np.uint64(0xC2B2AE3D)
_PRIME64_1 = np.uint64(0x9E3779B185EBCA87)
_PRIME64_2 = np.uint64(0xC2B2AE3D27D4EB4F)
_PRIME64_3 = np.uint64(0x165667B19E3779F9)
_PRIME64_4 = np.uint64(0x85EBCA77C2B2AE63)
_PRIME64_5 = np.uint64(0x27D4EB2F165667C5)
_PRIME_MX1 = np.uint64(0x165667919E3779F9)  # XXH3_avalanche's multiplier
_PRIME_MX2 = np.uint64(0x9FB21C651E98DF25)  # XXH3_rrmxmx's multiplier
_LOW32 = np.uint64(0xFFFFFFFF)

# The secret words of the short paths, folded once here: with seed 0 they are constants.
#: XXH3_len_1to3_64b: readLE32(secret) ^ readLE32(secret + 4)
_FLIP_1TO3 = np.uint64(_secret32(0) ^ _secret32(4))
#: XXH3_len_4to8_64b: readLE64(secret + 8) ^ readLE64(secret + 16)
_FLIP_4TO8 = np.uint64(_secret64(8) ^ _secret64(16))
#: XXH3_len_9to16_64b: the two bitflips
_FLIP_9TO16_LO = np.uint64(_secret64(24) ^ _secret64(32))
_FLIP_9TO16_HI = np.uint64(_secret64(40) ^ _secret64(48))

_STRIPE_LEN = 64  # XXH_STRIPE_LEN: bytes per stripe, 8 lanes of 8 bytes
_CONSUME_RATE = 8  # XXH_SECRET_CONSUME_RATE: secret bytes consumed per stripe
_STRIPES_PER_BLOCK = (_SECRET_SIZE - _STRIPE_LEN) // _CONSUME_RATE  # 16
_BLOCK_LEN = _STRIPE_LEN * _STRIPES_PER_BLOCK  # 1024
_SCRAMBLE_OFFSET = _SECRET_SIZE - _STRIPE_LEN  # 128: the secret of XXH3_scrambleAcc
_LAST_STRIPE_OFFSET = _SECRET_SIZE - _STRIPE_LEN - 7  # 121: XXH_SECRET_LASTACC_START
_MERGE_OFFSET = 11  # XXH_SECRET_MERGEACCS_START
_MIDSIZE_MAX = 240  # XXH3_MIDSIZE_MAX
_MIDSIZE_START_OFFSET = 3  # XXH3_MIDSIZE_STARTOFFSET
_MIDSIZE_LAST_OFFSET = 136 - 17  # XXH3_SECRET_SIZE_MIN - XXH3_MIDSIZE_LASTOFFSET


def _python_xxh64_avalanche(h: int) -> int:
    """XXH64_avalanche on Python ints, for the constant hash of the empty input."""
    h ^= h >> 33
    h = (h * 0xC2B2AE3D27D4EB4F) & _MASK64
    h ^= h >> 29
    h = (h * 0x165667B19E3779F9) & _MASK64
    return h ^ (h >> 32)


#: XXH3_len_0to16_64b with len 0: XXH64_avalanche(readLE64(secret+56) ^ readLE64(secret+64))
_EMPTY = np.uint64(_python_xxh64_avalanche(_secret64(56) ^ _secret64(64)))


@numba.njit(cache=True, nogil=True)
def _read64(buf: np.ndarray, p: int) -> np.uint64:  # pragma: no cover - compiled
    """XXH_readLE64: the little-endian 64-bit word at ``buf[p:p+8]``, any alignment.

    The index is unsigned so that numba leaves out its negative-index wraparound; LLVM then
    merges the eight byte loads into one 64-bit load (five times faster on 9-16 bytes)."""
    q = np.uint64(p)
    return (np.uint64(buf[q])
            | (np.uint64(buf[q + np.uint64(1)]) << np.uint64(8))
            | (np.uint64(buf[q + np.uint64(2)]) << np.uint64(16))
            | (np.uint64(buf[q + np.uint64(3)]) << np.uint64(24))
            | (np.uint64(buf[q + np.uint64(4)]) << np.uint64(32))
            | (np.uint64(buf[q + np.uint64(5)]) << np.uint64(40))
            | (np.uint64(buf[q + np.uint64(6)]) << np.uint64(48))
            | (np.uint64(buf[q + np.uint64(7)]) << np.uint64(56)))


@numba.njit(cache=True, nogil=True)
def _read32(buf: np.ndarray, p: int) -> np.uint64:  # pragma: no cover - compiled
    """XXH_readLE32, widened to 64 bits (unsigned index as in :func:`_read64`)."""
    q = np.uint64(p)
    return (np.uint64(buf[q])
            | (np.uint64(buf[q + np.uint64(1)]) << np.uint64(8))
            | (np.uint64(buf[q + np.uint64(2)]) << np.uint64(16))
            | (np.uint64(buf[q + np.uint64(3)]) << np.uint64(24)))


@numba.njit(cache=True, nogil=True)
def _swap64(x: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """XXH_swap64: reverse the byte order."""
    x = ((x & np.uint64(0x00FF00FF00FF00FF)) << np.uint64(8)) | (
        (x >> np.uint64(8)) & np.uint64(0x00FF00FF00FF00FF))
    x = ((x & np.uint64(0x0000FFFF0000FFFF)) << np.uint64(16)) | (
        (x >> np.uint64(16)) & np.uint64(0x0000FFFF0000FFFF))
    return (x << np.uint64(32)) | (x >> np.uint64(32))


@numba.njit(cache=True, nogil=True)
def _mul128_fold64(a: np.uint64, b: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """XXH3_mul128_fold64: the 128-bit product of ``a`` and ``b``, low half XOR high half.

    Schoolbook product of 32-bit halves (XXH_mult64to128's portable path); none of the sums
    below overflows 64 bits."""
    a_lo = a & _LOW32
    a_hi = a >> np.uint64(32)
    b_lo = b & _LOW32
    b_hi = b >> np.uint64(32)
    lo_lo = a_lo * b_lo
    hi_lo = a_hi * b_lo
    lo_hi = a_lo * b_hi
    hi_hi = a_hi * b_hi
    cross = (lo_lo >> np.uint64(32)) + (hi_lo & _LOW32) + lo_hi
    upper = (hi_lo >> np.uint64(32)) + (cross >> np.uint64(32)) + hi_hi
    lower = (cross << np.uint64(32)) | (lo_lo & _LOW32)
    return lower ^ upper


@numba.njit(cache=True, nogil=True)
def _avalanche(h: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """XXH3_avalanche: the final mix of the paths whose input is already mixed."""
    h ^= h >> np.uint64(37)
    h *= _PRIME_MX1
    return h ^ (h >> np.uint64(32))


@numba.njit(cache=True, nogil=True)
def _xxh64_avalanche(h: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """XXH64_avalanche: the final mix of the 1-3 byte path."""
    h ^= h >> np.uint64(33)
    h *= _PRIME64_2
    h ^= h >> np.uint64(29)
    h *= _PRIME64_3
    return h ^ (h >> np.uint64(32))


@numba.njit(cache=True, nogil=True)
def _rrmxmx(h: np.uint64, length: np.uint64) -> np.uint64:  # pragma: no cover - compiled
    """XXH3_rrmxmx: the stronger final mix of the 4-8 byte path (after Pelle Evensen)."""
    rot49 = (h << np.uint64(49)) | (h >> np.uint64(15))
    rot24 = (h << np.uint64(24)) | (h >> np.uint64(40))
    h ^= rot49 ^ rot24
    h *= _PRIME_MX2
    h ^= (h >> np.uint64(35)) + length
    h *= _PRIME_MX2
    return h ^ (h >> np.uint64(28))


@numba.njit(cache=True, nogil=True)
def _mix16(buf: np.ndarray, p: int, s: int) -> np.uint64:  # pragma: no cover - compiled
    """XXH3_mix16B with seed 0: 16 input bytes at ``p`` keyed by 16 secret bytes at ``s``."""
    return _mul128_fold64(_read64(buf, p) ^ _SECRET64[s], _read64(buf, p + 8) ^ _SECRET64[s + 8])


@numba.njit(cache=True, nogil=True)
def _len_1to3(buf: np.ndarray, p: int, n: int) -> np.uint64:  # pragma: no cover - compiled
    """XXH3_len_1to3_64b: the first, middle and last byte and the length in one 32-bit word."""
    c1 = np.uint64(buf[np.uint64(p)])
    c2 = np.uint64(buf[np.uint64(p + (n >> 1))])
    c3 = np.uint64(buf[np.uint64(p + n - 1)])
    combined = ((c1 << np.uint64(16)) | (c2 << np.uint64(24)) | c3
                | (np.uint64(n) << np.uint64(8)))
    return _xxh64_avalanche(combined ^ _FLIP_1TO3)


@numba.njit(cache=True, nogil=True)
def _len_4to8(buf: np.ndarray, p: int, n: int) -> np.uint64:  # pragma: no cover - compiled
    """XXH3_len_4to8_64b: the first and last 4 bytes (overlapping below 8) in one word."""
    first = _read32(buf, p)
    last = _read32(buf, p + n - 4)
    keyed = (last + (first << np.uint64(32))) ^ _FLIP_4TO8
    return _rrmxmx(keyed, np.uint64(n))


@numba.njit(cache=True, nogil=True)
def _len_9to16(buf: np.ndarray, p: int, n: int) -> np.uint64:  # pragma: no cover - compiled
    """XXH3_len_9to16_64b: the first and last 8 bytes (overlapping below 16)."""
    lo = _read64(buf, p) ^ _FLIP_9TO16_LO
    hi = _read64(buf, p + n - 8) ^ _FLIP_9TO16_HI
    acc = np.uint64(n) + _swap64(lo) + hi + _mul128_fold64(lo, hi)
    return _avalanche(acc)


@numba.njit(cache=True, nogil=True)
def _len_17to128(buf: np.ndarray, p: int, n: int) -> np.uint64:  # pragma: no cover - compiled
    """XXH3_len_17to128_64b: pairs of 16-byte blocks from both ends, the outer pair first in
    the secret, as many pairs as the length has 32-byte halves."""
    acc = np.uint64(n) * _PRIME64_1
    if n > 32:
        if n > 64:
            if n > 96:
                acc += _mix16(buf, p + 48, 96)
                acc += _mix16(buf, p + n - 64, 112)
            acc += _mix16(buf, p + 32, 64)
            acc += _mix16(buf, p + n - 48, 80)
        acc += _mix16(buf, p + 16, 32)
        acc += _mix16(buf, p + n - 32, 48)
    acc += _mix16(buf, p, 0)
    acc += _mix16(buf, p + n - 16, 16)
    return _avalanche(acc)


@numba.njit(cache=True, nogil=True)
def _len_129to240(buf: np.ndarray, p: int, n: int) -> np.uint64:  # pragma: no cover - compiled
    """XXH3_len_129to240_64b: eight 16-byte blocks, an avalanche, the remaining whole blocks
    with the secret restarted at offset 3, then the last 16 bytes, another avalanche."""
    acc = np.uint64(n) * _PRIME64_1
    for i in range(8):
        acc += _mix16(buf, p + 16 * i, 16 * i)
    acc = _avalanche(acc)
    for i in range(8, n // 16):
        acc += _mix16(buf, p + 16 * i, 16 * (i - 8) + _MIDSIZE_START_OFFSET)
    acc += _mix16(buf, p + n - 16, _MIDSIZE_LAST_OFFSET)
    return _avalanche(acc)


@numba.njit(cache=True, nogil=True, inline='always')
def _accumulate_512(acc: np.ndarray, buf: np.ndarray, p: int,
                    s: int) -> None:  # pragma: no cover - compiled
    """XXH3_accumulate_512_scalar: one 64-byte stripe into the 8 accumulators, each lane's
    input added to its neighbour (XXH3_scalarRound).

    ``inline='always'`` here and in :func:`_scramble`: numba inlines them into
    :func:`_hash_long` itself, where LLVM left them as calls; 1,000 bytes then take about 80 ns
    instead of 140."""
    for lane in range(8):
        value = _read64(buf, p + 8 * lane)
        key = value ^ _SECRET64[s + 8 * lane]
        acc[lane ^ 1] += value
        acc[lane] += (key & _LOW32) * (key >> np.uint64(32))


@numba.njit(cache=True, nogil=True, inline='always')
def _scramble(acc: np.ndarray) -> None:  # pragma: no cover - compiled
    """XXH3_scrambleAcc_scalar with the secret's last 64 bytes, at the end of each block."""
    for lane in range(8):
        a = acc[lane]
        a ^= a >> np.uint64(47)
        a ^= _SECRET64[_SCRAMBLE_OFFSET + 8 * lane]
        acc[lane] = a * _PRIME32_1


@numba.njit(cache=True, nogil=True)
def _hash_long(acc: np.ndarray, buf: np.ndarray, p: int,
               n: int) -> np.uint64:  # pragma: no cover - compiled
    """XXH3_hashLong_64b_internal for inputs over 240 bytes; ``acc`` is 8 words of scratch.

    Blocks of 16 stripes, the secret advancing 8 bytes per stripe, a scramble after each
    whole block (XXH3_hashLong_internal_loop); then the stripes of the last partial block,
    the last 64 bytes as one more stripe with the secret at 121, and XXH3_mergeAccs."""
    # XXH3_INIT_ACC
    acc[0] = _PRIME32_3
    acc[1] = _PRIME64_1
    acc[2] = _PRIME64_2
    acc[3] = _PRIME64_3
    acc[4] = _PRIME64_4
    acc[5] = _PRIME32_2
    acc[6] = _PRIME64_5
    acc[7] = _PRIME32_1
    blocks = (n - 1) // _BLOCK_LEN
    for b in range(blocks):
        base = p + b * _BLOCK_LEN
        for stripe in range(_STRIPES_PER_BLOCK):
            _accumulate_512(acc, buf, base + stripe * _STRIPE_LEN, stripe * _CONSUME_RATE)
        _scramble(acc)
    base = p + blocks * _BLOCK_LEN
    for stripe in range(((n - 1) - blocks * _BLOCK_LEN) // _STRIPE_LEN):
        _accumulate_512(acc, buf, base + stripe * _STRIPE_LEN, stripe * _CONSUME_RATE)
    _accumulate_512(acc, buf, p + n - _STRIPE_LEN, _LAST_STRIPE_OFFSET)
    # XXH3_mergeAccs: the accumulators in pairs (XXH3_mix2Accs), from secret offset 11
    result = np.uint64(n) * _PRIME64_1
    for i in range(4):
        s = _MERGE_OFFSET + 16 * i
        result += _mul128_fold64(acc[2 * i] ^ _SECRET64[s], acc[2 * i + 1] ^ _SECRET64[s + 8])
    return _avalanche(result)


@numba.njit(cache=True, nogil=True)
def hash_slices(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                out: np.ndarray) -> None:  # pragma: no cover - compiled
    """``out[i] = XXH3_64bits(buf[starts[i]:ends[i]])`` for every ``i``, equal to
    ``xxhash.xxh3_64_intdigest`` of that slice.

    ``buf`` is a 1-d uint8 array (read-only is fine), ``starts`` and ``ends`` int64 arrays of
    one length, ``out`` a uint64 array at least as long.  Slices may overlap and start at any
    offset.  A slice outside ``buf`` raises ValueError (the compiled loop does not check
    bounds, so this check is what keeps a bad offset from reading other memory)."""
    count = starts.shape[0]
    if ends.shape[0] != count or out.shape[0] < count:
        raise ValueError("hash_slices: starts, ends and out differ in length")
    size = buf.shape[0]
    for i in range(count):
        if starts[i] < 0 or ends[i] < starts[i] or ends[i] > size:
            raise ValueError("hash_slices: a slice lies outside the buffer")
    acc = np.empty(8, dtype=np.uint64)
    # XXH3_64bits_internal and XXH3_len_0to16_64b: the length class picks the path.  The
    # dispatch is written out here rather than in a function of its own: a call that passes
    # arrays and is not inlined costs two atomic reference-count updates (four times the
    # hashing of 14 bytes).
    for i in range(count):
        p = starts[i]
        n = ends[i] - p
        if n <= 16:
            if n > 8:
                out[i] = _len_9to16(buf, p, n)
            elif n >= 4:
                out[i] = _len_4to8(buf, p, n)
            elif n > 0:
                out[i] = _len_1to3(buf, p, n)
            else:
                out[i] = _EMPTY
        elif n <= 128:
            out[i] = _len_17to128(buf, p, n)
        elif n <= _MIDSIZE_MAX:
            out[i] = _len_129to240(buf, p, n)
        else:
            out[i] = _hash_long(acc, buf, p, n)


def xxh3_64(data: bytes) -> int:
    """XXH3_64bits of ``data`` through the compiled code (one slice); for tests and checks."""
    buf = np.frombuffer(data, dtype=np.uint8)
    out = np.empty(1, dtype=np.uint64)
    hash_slices(buf, np.zeros(1, dtype=np.int64), np.full(1, len(buf), dtype=np.int64), out)
    return int(out[0])
