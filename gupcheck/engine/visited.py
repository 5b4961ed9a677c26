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

from collections.abc import Sequence
from typing import Any

import numpy as np

_MAX_LOAD = 0.75


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

    def add_many(self, keys: Sequence[int]) -> np.ndarray:
        """Insert ``keys``; return a bool mask of those that were not present before.

        Where a key occurs several times in the batch, only its first occurrence is new, so that
        the first generated transition becomes the state's parent, deterministically.
        """
        fps = np.fromiter(keys, dtype=np.uint64, count=len(keys))
        fps[fps == 0] = 1
        uniq, first = np.unique(fps, return_index=True)
        while (self._count + len(uniq)) > _MAX_LOAD * len(self._table):
            self._grow()
        fresh = self._insert_unique(uniq)
        mask = np.zeros(len(fps), dtype=bool)
        mask[first[fresh]] = True
        return mask

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

    def _insert_unique(self, fps: np.ndarray) -> np.ndarray:
        """Linear probing for a batch of distinct keys, one numpy pass per probe round."""
        table, mask = self._table, self._mask
        slots = fps & mask
        fresh = np.zeros(len(fps), dtype=bool)
        pending = np.arange(len(fps))
        while pending.size:
            s = slots[pending]
            cur = table[s]
            empty = cur == 0
            found = cur == fps[pending]
            claim = pending[empty]
            table[slots[claim]] = fps[claim]  # several may claim one slot: one of them wins
            won = table[slots[claim]] == fps[claim]
            fresh[claim[won]] = True
            retry = np.concatenate((claim[~won], pending[~empty & ~found]))
            slots[retry] = (slots[retry] + np.uint64(1)) & mask
            pending = retry
        self._count += int(fresh.sum())
        return fresh

    def _grow(self) -> None:
        old = self._table[self._table != 0]
        self._table = np.zeros(len(self._table) * 2, dtype=np.uint64)
        self._mask = np.uint64(len(self._table) - 1)
        self._count = 0
        self._insert_unique(old)

    def fingerprints(self) -> np.ndarray:
        return self._table[self._table != 0]


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
