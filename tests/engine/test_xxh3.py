"""The compiled XXH3-64 (gupcheck/engine/xxh3.py) gives the xxhash library's value for every
slice: every length class of the reference (0, 1-3, 4-8, 9-16, 17-128, 129-240, and the long
path's block, partial-block and last-stripe cases), any offset in the buffer, any batch."""

from __future__ import annotations

import random

import numpy as np
import pytest
import xxhash

from gupcheck.engine.xxh3 import hash_slices, xxh3_64

#: every short length, every length class boundary, and long inputs of one block (1,024
#: bytes), a bit less and more than 4 blocks, and several blocks with a partial one
LENGTHS = [*range(601), 1000, 1023, 1024, 1025, 2048, 4095, 4096, 4097, 10000]


def _hash_all(buf: np.ndarray, starts: list[int], ends: list[int]) -> list[int]:
    out = np.zeros(len(starts), dtype=np.uint64)
    hash_slices(buf, np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64), out)
    return out.tolist()


def test_every_length_matches_the_library() -> None:
    rng = random.Random(1)
    inputs = [rng.randbytes(n) for n in LENGTHS]
    assert [xxh3_64(data) for data in inputs] == [xxhash.xxh3_64_intdigest(d) for d in inputs]


def test_inputs_of_repeated_bytes_match_the_library() -> None:
    """All zeros and all 0xff bytes: the carries of the 128-bit product's halves and the
    products by zero of the accumulate step."""
    inputs = [bytes([byte]) * n for byte in (0, 0xFF) for n in LENGTHS[::7]]
    assert [xxh3_64(data) for data in inputs] == [xxhash.xxh3_64_intdigest(d) for d in inputs]


def test_slices_at_any_offset_hash_as_the_bytes_alone() -> None:
    """Unaligned starts, and the bytes just outside a slice differ from it, so a read past
    either end would change the value."""
    rng = random.Random(2)
    buf = rng.randbytes(12000)
    starts, ends, expected = [], [], []
    for offset in range(17):
        for n in (0, 1, 3, 4, 8, 9, 16, 17, 33, 65, 97, 128, 129, 200, 240, 241, 1024, 1100,
                  5000):
            starts.append(331 * offset)  # odd: every residue modulo 8 and 16
            ends.append(starts[-1] + n)
            expected.append(xxhash.xxh3_64_intdigest(buf[starts[-1]:ends[-1]]))
    array = np.frombuffer(buf, dtype=np.uint8)
    assert _hash_all(array, starts, ends) == expected
    assert _hash_all(array.copy(), starts, ends) == expected  # writable buffers too


def test_one_batch_of_mixed_lengths_matches_the_library_per_slice() -> None:
    rng = random.Random(3)
    buf = rng.randbytes(50000)
    starts, ends = [], []
    for _ in range(3000):
        n = rng.choice([rng.randrange(0, 17), rng.randrange(17, 241), rng.randrange(241, 3000)])
        start = rng.randrange(0, len(buf) - n + 1)
        starts.append(start)
        ends.append(start + n)
    expected = [xxhash.xxh3_64_intdigest(buf[s:e]) for s, e in zip(starts, ends, strict=True)]
    assert _hash_all(np.frombuffer(buf, dtype=np.uint8), starts, ends) == expected


def test_consecutive_slices_of_one_concatenation_match_the_library() -> None:
    """The engine's use: many short encodings written one after the other."""
    rng = random.Random(4)
    items = [rng.randbytes(rng.randrange(0, 40)) for _ in range(5000)]
    ends = np.cumsum([len(item) for item in items]).tolist()
    starts = [0, *ends[:-1]]
    buf = np.frombuffer(b"".join(items), dtype=np.uint8)
    assert _hash_all(buf, starts, ends) == list(map(xxhash.xxh3_64_intdigest, items))


def test_an_empty_batch_writes_nothing() -> None:
    out = np.full(2, 7, dtype=np.uint64)
    hash_slices(np.zeros(4, dtype=np.uint8), np.zeros(0, dtype=np.int64),
                np.zeros(0, dtype=np.int64), out)
    assert out.tolist() == [7, 7]


@pytest.mark.parametrize(("start", "end"), [(-1, 3), (2, 1), (0, 11), (11, 11)])
def test_a_slice_outside_the_buffer_is_refused(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="outside the buffer"):
        _hash_all(np.zeros(10, dtype=np.uint8), [0, start], [10, end])


def test_starts_and_ends_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        hash_slices(np.zeros(10, dtype=np.uint8), np.zeros(2, dtype=np.int64),
                    np.ones(1, dtype=np.int64), np.zeros(2, dtype=np.uint64))
