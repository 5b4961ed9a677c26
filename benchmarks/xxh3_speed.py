"""XXH3-64 of many short byte strings: the xxhash library one call per string, against one
compiled call over their concatenation (gupcheck/engine/xxh3.py), which the engine uses to key a
batch of short states.

    python benchmarks/xxh3_speed.py

Best of five runs each, numba's compile excluded; the values are checked equal first.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gupcheck.engine.xxh3 import hash_slices


def main(count: int = 60_000, size: int = 14, repeat: int = 5) -> None:
    """Print ns per item of the library (one call per bytes object) and of one
    :func:`hash_slices` call over the concatenation, best of ``repeat``, compile excluded."""
    import random

    import xxhash

    rng = random.Random(0)
    items = [rng.randbytes(size) for _ in range(count)]
    lengths = np.fromiter(map(len, items), dtype=np.int64, count=count)
    ends = np.cumsum(lengths)
    starts = ends - lengths
    out = np.empty(count, dtype=np.uint64)

    def concatenated() -> None:
        hash_slices(np.frombuffer(b"".join(items), dtype=np.uint8), starts, ends, out)

    concatenated()  # compile (or load from the cache)
    library = list(map(xxhash.xxh3_64_intdigest, items))
    assert out.tolist() == library, "hash_slices disagrees with xxhash"
    hash_only = np.frombuffer(b"".join(items), dtype=np.uint8)
    for name, run in (
            ("xxhash, list(map(xxh3_64_intdigest, items))",
             lambda: list(map(xxhash.xxh3_64_intdigest, items))),
            ("hash_slices over b''.join(items), join included", concatenated),
            ("hash_slices alone", lambda: hash_slices(hash_only, starts, ends, out)),
            ("hash_slices alone + out.tolist()",
             lambda: (hash_slices(hash_only, starts, ends, out), out.tolist()))):
        best = min(_timed(run) for _ in range(repeat))
        print(f"{name:50s} {best / count * 1e9:7.1f} ns/item")


def _timed(run: Callable[[], object]) -> float:
    """Wall-clock seconds of one ``run()``."""
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
