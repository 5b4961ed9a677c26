"""Visited sets: a compact open-addressing fingerprint table, and an exact set.

Why not a Python ``set`` of ints: each entry costs an int object (32 bytes) plus a hash slot
(about 16-32 bytes), 60-70 bytes in all.  :class:`FingerprintTable` is a numpy ``uint64`` array
with linear probing, kept between 3/8 and 3/4 full, so a fingerprint costs 8 / load = 10.7 to 21.3
bytes.  Insertion is vectorised over a whole batch of successors, which is also what lets BFS stay
fast in Python: one numpy call per batch instead of one set lookup per transition.

Fingerprint 0 marks an empty slot, so a state whose hash is 0 is stored as 1 (one value in 2**64
merged with another; the collision estimate already covers far more likely merges).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import numpy as np

_MAX_LOAD = 0.75
_FEW = 256  # pending keys below which a round probes a window of slots per key
_STEPS = np.arange(32, dtype=np.uint64)  # the window
#: table slots (8 MiB, some 400,000 states) from which batches are probed by the compiled loop
#: of :mod:`.probe`: below it the table fits in the cache and the numpy probe is as fast
COMPILED_FROM = 1 << 20


@cache
def _compiled_insert() -> Callable[[np.ndarray, np.uint64, np.ndarray, np.ndarray], int] | None:
    """:func:`.probe.insert`, imported on first need; ``None`` where numba cannot be imported
    or set up (the numpy probe gives the same answers, slower)."""
    try:
        from .probe import insert
    except Exception:  # noqa: BLE001 - ImportError, or numba's RuntimeError: no cache directory
        return None
    return insert


class FingerprintTable:
    """A set of 64-bit fingerprints in one open-addressing ``uint64`` array."""

    def __init__(self, capacity: int = 1 << 10) -> None:
        size = 1 << max(4, (capacity - 1).bit_length())
        self._table = np.zeros(size, dtype=np.uint64)
        self._mask = np.uint64(size - 1)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        return int(self._table.nbytes)

    @property
    def compiled(self) -> bool:
        """Whether batches are probed by the compiled loop (a large table): the engine then
        computes their keys in compiled code too (:mod:`.batchkey`)."""
        return len(self._table) >= COMPILED_FROM and _compiled_insert() is not None

    def add_many(self, keys: Sequence[int]) -> np.ndarray:
        """Insert ``keys``; return a bool mask of those that were not present before.

        Where a key occurs several times in the batch, only its first occurrence is new, so that
        the first generated transition becomes the state's parent, deterministically.  The batch
        is probed as it is, copies included: copies of one key follow the same probe sequence
        in the same rounds, so they find it, or claim the same empty slot, together; only the
        new keys (about a third of a search's lookups) are then sorted to keep each one's first
        copy, where sorting the whole batch first cost as much as the probing.
        """
        if isinstance(keys, np.ndarray):  # no per-element iteration (parallel owners, swarm)
            fps = keys.astype(np.uint64, copy=True)
        else:
            fps = np.fromiter(keys, dtype=np.uint64, count=len(keys))
        fps[fps == 0] = 1
        if self._count + len(fps) >= len(self._table) - 1:  # room for the whole batch
            self._grow_for(len(fps))
        mask = self._insert(fps)
        while self._count > _MAX_LOAD * len(self._table):
            self._grow()
        return mask

    def _insert(self, fps: np.ndarray, distinct: bool = False) -> np.ndarray:
        """Insert the nonzero ``fps``, which fit; a mask of the first copies of new keys
        (``distinct``: the caller knows there are no copies)."""
        insert = _compiled_insert() if self.compiled else None
        if insert is not None:
            mask = np.empty(len(fps), dtype=bool)
            self._count += insert(self._table, self._mask, fps, mask)
            return mask
        mask = self._insert_unique(fps)
        new = np.flatnonzero(mask)
        if len(new) > 1 and not distinct:  # copies of a new key claimed its slot: keep the first
            _, first = np.unique(fps[new], return_index=True)
            if len(first) < len(new):
                mask[:] = False
                mask[new[first]] = True
        self._count += int(np.count_nonzero(mask))
        return mask

    def add_distinct(self, fps: np.ndarray) -> np.ndarray:
        """Insert ``fps``, distinct and nonzero ``uint64`` fingerprints; a bool mask of those
        that were not present before.  For callers that have deduplicated already (the parallel
        owners), so that the batch is not sorted a second time."""
        while (self._count + len(fps)) > _MAX_LOAD * len(self._table):
            self._grow()
        return self._insert(fps, distinct=True)

    def contains_many(self, fps: np.ndarray) -> np.ndarray:
        """A bool mask of the nonzero ``uint64`` fingerprints ``fps`` that the table holds;
        nothing is inserted (the parallel owners' answers to por's cycle proviso).  Every key
        follows its probe sequence one slot a round until it meets itself or an empty slot."""
        table, mask = self._table, self._mask
        slot = fps & mask
        found = np.zeros(len(fps), dtype=bool)
        pending = np.arange(len(fps))
        while len(pending):
            cur = table[slot[pending]]
            hit = cur == fps[pending]
            found[pending[hit]] = True
            pending = pending[~hit & (cur != 0)]
            slot[pending] = (slot[pending] + np.uint64(1)) & mask
        return found

    def __contains__(self, key: int) -> bool:
        fp = np.uint64(key or 1)
        slot = fp & self._mask
        while True:
            cur = self._table[slot]
            if cur == fp:
                return True
            if cur == 0:
                return False
            slot = (slot + np.uint64(1)) & self._mask

    def _grow_for(self, n: int) -> None:
        while self._count + n >= len(self._table) - 1:
            self._grow()

    def _insert_unique(self, fps: np.ndarray) -> np.ndarray:
        """Linear probing for a batch of keys, a window of slots per key per round (the
        table's count is the caller's to update).

        Each round looks at the next ``w`` slots of every pending key at once and takes the
        first that is empty or holds the key, which is exactly where a one-slot-at-a-time
        probe would stop.  Probing one slot per round made a batch cost one round per slot
        of its longest probe sequence (often 50 to 150 at 3/4 load), each a dozen numpy calls
        whatever the number of keys still pending; a window ends nearly every key in the
        first round and the long tail in a few more.  Keys that claim the same empty slot in
        one round: one wins, the others probe on from that slot.
        """
        table, mask = self._table, self._mask
        fresh = np.zeros(len(fps), dtype=bool)
        pending = np.arange(len(fps))
        keys = fps
        slots = fps & mask
        while pending.size > _FEW:  # one slot per key: most keys end in the first rounds
            cur = table[slots]
            empty = cur == 0
            claim = np.flatnonzero(empty)
            table[slots[claim]] = keys[claim]  # several may claim one slot: one of them wins
            won = table[slots[claim]] == keys[claim]
            fresh[pending[claim[won]]] = True
            retry = np.concatenate((claim[~won], np.flatnonzero(~empty & (cur != keys))))
            slots = (slots[retry] + np.uint64(1)) & mask
            pending, keys = pending[retry], keys[retry]
        while pending.size:  # the long tail: a window of slots per key per round
            window = (slots[:, None] + _STEPS) & mask
            cur = table[window]
            stop = (cur == 0) | (cur == keys[:, None])
            ended = stop.any(axis=1)
            rows = np.flatnonzero(ended)
            col = stop[rows].argmax(axis=1)
            at = window[rows, col]
            empty = cur[rows, col] == 0
            claim, claim_at = rows[empty], at[empty]
            table[claim_at] = keys[claim]  # several may claim one slot: one of them wins
            won = table[claim_at] == keys[claim]
            fresh[pending[claim[won]]] = True
            going = np.flatnonzero(~ended)
            retry = np.concatenate((claim[~won], going))
            slots = np.concatenate((claim_at[~won], (slots[going] + np.uint64(len(_STEPS))) & mask))
            pending, keys = pending[retry], keys[retry]
        return fresh

    def _grow(self) -> None:
        old = self._table[self._table != 0]
        self._table = np.zeros(len(self._table) * 2, dtype=np.uint64)
        self._mask = np.uint64(len(self._table) - 1)
        self._count = 0
        self._insert(old, distinct=True)

    def fingerprints(self) -> np.ndarray:
        return self._table[self._table != 0]

    def snapshot(self) -> dict[str, Any]:
        """Plain data for a checkpoint: the raw table (the array itself: the checkpoint writes
        its bytes without a copy), so a resumed search probes identically."""
        return {"kind": "fingerprints", "table": self._table, "count": self._count}

    @classmethod
    def restore(cls, data: dict[str, Any]) -> FingerprintTable:
        table = cls(16)
        table._table = np.frombuffer(data["table"], dtype=np.uint64).copy()
        size = len(table._table)
        if size < 16 or size & (size - 1):  # the probe sequence needs a power of two
            raise ValueError(f"a fingerprint table of {size} slots")
        table._mask = np.uint64(size - 1)
        table._count = int(data["count"])
        if table._count != int(np.count_nonzero(table._table)) or table._count >= size:
            raise ValueError("a fingerprint table whose count does not match its slots")
        return table


class ExactSet:
    """Whole canonical encodings: no collisions; for small models and tests."""

    def __init__(self) -> None:
        self._seen: set[Any] = set()
        self.nbytes_keys = 0

    def __len__(self) -> int:
        return len(self._seen)

    @property
    def nbytes(self) -> int:
        # the set's own slots plus the key bytes; a lower bound on what Python really uses
        return 16 * len(self._seen) + self.nbytes_keys

    def add_many(self, keys: Sequence[Any]) -> np.ndarray:
        seen = self._seen
        out = []
        for k in keys:
            if k in seen:
                out.append(False)
            else:
                seen.add(k)
                self.nbytes_keys += len(k) if isinstance(k, bytes) else 8
                out.append(True)
        return np.asarray(out, dtype=bool)

    def __contains__(self, key: Any) -> bool:
        return key in self._seen

    def snapshot(self) -> dict[str, Any]:
        return {"kind": "exact", "keys": sorted(self._seen), "nbytes_keys": self.nbytes_keys}

    @classmethod
    def restore(cls, data: dict[str, Any]) -> ExactSet:
        out = cls()
        out._seen = set(data["keys"])
        if not all(isinstance(k, (bytes, int)) for k in out._seen):
            raise ValueError("exact keys must be encodings (bytes) or fingerprints")
        out.nbytes_keys = int(data["nbytes_keys"])
        return out


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(fps: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a second, independent-looking 64-bit hash of each fingerprint."""
    z = fps * _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def check_bitstate(bits: int, hashes: int) -> None:
    """Refuse a bit array :class:`BitstateSet` cannot use: ``ValueError`` saying why."""
    if bits < 64 or bits & (bits - 1):
        raise ValueError(f"bitstate size must be a power of two of at least 64 bits, not {bits}")
    if not 1 <= hashes <= 32:
        raise ValueError(f"bitstate needs 1 to 32 hash functions, not {hashes}")


class BitstateSet:
    """Holzmann's bitstate hashing (SPIN's supertrace, ``-DBITSTATE``): ``k`` bits per state.

    A state counts as visited when all ``k`` of its bits are already set, so two different states
    whose bits overlap make the second look visited and it (and whatever only it leads to) is
    never explored: the search is *approximate*.  In exchange a state costs ``bits / states``
    bits instead of 64+; SPIN calls that ratio the hash factor and calls coverage good above 100.

    The ``k`` bit positions come from the 64-bit fingerprint by double hashing
    (``h1 + i * h2``, Kirsch and Mitzenmacher), with ``h2`` a remix of the fingerprint so that
    the positions are not merely shifted copies of one another.  Within one batch, distinct
    fingerprints are all tested against the bits as they were before the batch, then all set;
    that keeps the answer deterministic and vectorised.
    """

    def __init__(self, bits: int, hashes: int = 3) -> None:
        check_bitstate(bits, hashes)
        self.bits = bits
        self.hashes = hashes
        self._words = np.zeros(bits // 64, dtype=np.uint64)
        self._mask = np.uint64(bits - 1)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        return int(self._words.nbytes)

    def _positions(self, fps: np.ndarray) -> np.ndarray:
        """A ``(k, n)`` array of bit positions."""
        h2 = _mix(fps) | np.uint64(1)
        steps = np.arange(self.hashes, dtype=np.uint64)[:, None]
        return (fps[None, :] + steps * h2[None, :]) & self._mask

    def add_many(self, keys: Sequence[int]) -> np.ndarray:
        fps = np.fromiter(keys, dtype=np.uint64, count=len(keys))
        uniq, first = np.unique(fps, return_index=True)
        pos = self._positions(uniq)
        words, shifts = pos >> np.uint64(6), pos & np.uint64(63)
        one = np.uint64(1)
        have = (self._words[words] >> shifts) & one
        fresh = ~have.astype(bool).all(axis=0)
        np.bitwise_or.at(self._words, words[:, fresh].ravel(), one << shifts[:, fresh].ravel())
        self._count += int(fresh.sum())
        mask = np.zeros(len(fps), dtype=bool)
        mask[first[fresh]] = True
        return mask

    def __contains__(self, key: int) -> bool:
        pos = self._positions(np.array([key], dtype=np.uint64))[:, 0]
        return bool(((self._words[pos >> np.uint64(6)] >> (pos & np.uint64(63))) & 1).all())

    def bits_set(self) -> int:
        return int(np.unpackbits(self._words.view(np.uint8)).sum())

    def hash_factor(self) -> float:
        """SPIN's hash factor: bits per stored state (coverage is good above about 100)."""
        return self.bits / max(self._count, 1)

    def omission_probability(self) -> float:
        """The chance that a new state now looks visited: every one of its ``k`` bits is set.

        Estimated from the fraction of bits actually set, ``(set / bits) ** k`` (the Bloom
        filter false-positive rate); it only grows during the run, so it bounds the rate at which
        states were wrongly dropped, though not what their unexplored successors would have added.
        """
        return (self.bits_set() / self.bits) ** self.hashes

    def snapshot(self) -> dict[str, Any]:
        return {"kind": "bitstate", "words": self._words, "count": self._count,
                "bits": self.bits, "hashes": self.hashes}

    @classmethod
    def restore(cls, data: dict[str, Any]) -> BitstateSet:
        words = np.frombuffer(data["words"], dtype=np.uint64)
        if len(words) * 64 != int(data["bits"]):  # checked before allocating that many bits
            raise ValueError("a bit array of another size than its bit count")
        out = cls(int(data["bits"]), int(data["hashes"]))
        out._words = words.copy()
        out._count = int(data["count"])
        return out

    def describe(self) -> str:
        """What a report prints after an approximate verdict."""
        p = self.omission_probability()
        return (f"bitstate, {_bits_text(self.bits)} bits, {self.hashes} hash functions, "
                f"hash factor {self.hash_factor():,.1f} (best if > 100), "
                f"estimated coverage {100 * (1 - p):.4f}% (a new state is skipped with "
                f"probability {p:.1e})")


def _bits_text(bits: int) -> str:
    return f"2^{bits.bit_length() - 1}"
