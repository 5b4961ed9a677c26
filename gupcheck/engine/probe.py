"""The fingerprint table's linear probe, compiled by numba for large tables.

:class:`~gupcheck.engine.visited.FingerprintTable` probes a whole batch of keys with numpy, a
round of a dozen array operations per probe step; on a table of tens of megabytes each round
gathers and scatters slots that miss the cache, and the batch is sorted afterwards to keep the
first copy of each new key.  Lost update 4x2 (19.3 million lookups, 5.6 million states) spent
3.8 s of CPU in it; this loop, one key after another in machine code, does the same in 1.3 s.

It is imported only when a table grows past :data:`~gupcheck.engine.visited.COMPILED_FROM`
slots: importing numba costs about 0.2 s and 65 MB, which a small search should not pay.
``cache=True`` keeps the machine code in ``__pycache__`` beside this file, so only the first
large search on a machine compiles it (about a second).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def insert(table: np.ndarray, mask: np.uint64, fps: np.ndarray,
           fresh: np.ndarray) -> int:  # pragma: no cover - numba runs the compiled code
    """Insert ``fps`` (nonzero) into ``table`` in order; ``fresh[i]`` says whether ``fps[i]``
    was absent before (a later copy of a key in the same batch finds the first one's slot,
    so only the first copy is fresh).  Returns the number of fresh keys; the caller keeps
    the table below full."""
    count = 0
    one = np.uint64(1)
    for i in range(fps.shape[0]):
        key = fps[i]
        slot = key & mask
        while True:
            cur = table[slot]
            if cur == key:
                fresh[i] = False
                break
            if cur == 0:
                table[slot] = key
                fresh[i] = True
                count += 1
                break
            slot = (slot + one) & mask
    return count
