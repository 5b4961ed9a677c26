"""A breadth-first level's states, kept live while they fit a budget, encoded once they do not.

Why: a level of a kernel scenario holds millions of states, and a live ``KState`` costs about a
kilobyte of Python objects (1.1 KB measured on ``benchmarks/spin_kernel.py --config 2,2,2``),
so a wide level alone can exhaust the machine (a 3x3x3 run was killed by the OOM killer) while
the visited set needs only 8 to 21 bytes a state.  Successor states share most of their parts,
and a block of states compresses to a few tens of bytes a state.

The frontier is a list of *blocks* of :data:`~.bfs.CHUNK` states, the unit the search expands.
While the estimated size of the live states stays within ``budget`` bytes, blocks stay live
lists and nothing is encoded: a search whose levels fit pays nothing.  Beyond it, each block
that fills is encoded (``pickle`` protocol 5, which keeps the parts states share within a block
shared, then ``zlib`` level 1), and once the encoded blocks in memory also exceed ``budget``
they are appended to an anonymous temporary file and read back with ``os.pread`` when their turn
comes.  A block is decoded when the search expands it, and an encoded block in memory is dropped
after (a checkpoint keeps only the states not yet expanded).

Decoding gives back equal states of the same classes (``pickle`` rebuilds tuples, frozensets,
msgspec Structs and dataclasses as they were), so fingerprints, successor lists, counts and
traces do not change.  ``pickle`` here never reads anything but bytes this object wrote in this
process: the blocks live in memory or in an unnamed temporary file (``tempfile.TemporaryFile``,
mode 0600, unlinked at creation) that no other file name reaches and that is closed with the
search; no file a user passes is ever unpickled (checkpoints keep their plain-data format,
:mod:`.checkpoint`).  Encoding through :class:`~.checkpoint.Plain` instead was measured at 42 µs
a kernel state against pickle's 7.5 µs, more than the successor function itself (25 µs).

The live size of a state is estimated once, from the first block, by walking its objects and
counting each shared part once (:func:`deep_size`): an estimate, used only to decide when to
encode and to report ``Stats.frontier_bytes``.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import sys
import tempfile
import zlib
from collections.abc import Iterator
from typing import IO, Any

import msgspec

#: the default budget for a level's live states, then again for its encoded blocks in memory
DEFAULT_BUDGET = 1 << 30

_SAMPLE = 256  # states whose size is walked to estimate a state's live size


@dataclasses.dataclass
class Tally:
    """What a search's frontiers did, shared by all of them (for its notes and stats)."""

    sealed: int = 0  # full blocks
    encoded: int = 0  # blocks encoded
    spilled: int = 0  # bytes written to temporary files
    unpicklable: str | None = None  # why a block could not be encoded, if one could not
    unwritable: str | None = None  # why a block could not be spilled, if one could not
    state_bytes: float | None = None  # a live state's estimated size, measured on a first block


class Frontier:
    """The states of one BFS level, in order, held as blocks of ``block`` states."""

    def __init__(self, block: int, budget: int | None = None,
                 tally: Tally | None = None) -> None:
        self.block = block
        self.budget = DEFAULT_BUDGET if budget is None else budget
        self._blocks: list[Any] = []  # a list (live), bytes (encoded) or (offset, size) (file)
        self._tail: list[Any] = []  # the last, partial block: always live
        self._len = 0
        self._released = 0  # states of released blocks
        self._live = 0  # states held live in sealed blocks
        self._encoded = 0  # bytes of encoded blocks held in memory
        self._spilled = 0  # bytes written to the temporary file
        self.tally = tally if tally is not None else Tally()
        self._file: IO[bytes] | None = None

    def __len__(self) -> int:
        return self._len

    # --- building ------------------------------------------------------------------------------

    def extend(self, states: list[Any]) -> None:
        """Append ``states``; every block that fills is sealed (kept live, or encoded)."""
        tail, size = self._tail, self.block
        self._len += len(states)
        tail.extend(states)
        if len(tail) < size:
            return
        full = len(tail) - len(tail) % size
        for start in range(0, full, size):
            self._seal(tail[start:start + size])
        del tail[:full]

    def _seal(self, states: list[Any]) -> None:
        self.tally.sealed += 1
        per_state = self.tally.state_bytes
        if per_state is None:
            sample = states[:_SAMPLE]
            per_state = self.tally.state_bytes = deep_size(sample) / max(len(sample), 1)
        if (self._live + len(states)) * per_state <= self.budget:
            self._blocks.append(states)
            self._live += len(states)
            return
        try:
            data = zlib.compress(pickle.dumps(states, protocol=5), 1)
        except (pickle.PicklingError, AttributeError, TypeError) as exc:  # a local class...
            self.tally.unpicklable = self.tally.unpicklable or f"{type(exc).__name__}: {exc}"
            self._blocks.append(states)  # kept live: slower to run out of memory than to fail
            self._live += len(states)
            return
        self.tally.encoded += 1
        if self._encoded + len(data) <= self.budget or not self._spill(data):
            self._blocks.append(data)
            self._encoded += len(data)

    def _spill(self, data: bytes) -> bool:
        """Append ``data`` to the temporary file; ``False`` (kept in memory) if it cannot be
        written, a full disk say."""
        try:
            if self._file is None:
                # closed by close(), when the search is done with the level
                self._file = tempfile.TemporaryFile(prefix="gupcheck-frontier-")  # noqa: SIM115
            self._file.seek(0, os.SEEK_END)
            offset = self._file.tell()
            self._file.write(data)
        except OSError as exc:
            self.tally.unwritable = self.tally.unwritable or exc.strerror or str(exc)
            return False
        self._blocks.append((offset, len(data)))
        self._spilled += len(data)
        self.tally.spilled += len(data)
        return True

    # --- reading -------------------------------------------------------------------------------

    def chunk(self, base: int) -> list[Any]:
        """The states ``[base, base + block)`` (``base`` a multiple of ``block``), live."""
        index = base // self.block
        if index == len(self._blocks):
            return self._tail
        held = self._blocks[index]
        if isinstance(held, list):
            return held
        if isinstance(held, tuple):
            if self._file is not None:
                self._file.flush()
            offset, size = held
            held = os.pread(self._file.fileno(), size, offset)  # type: ignore[union-attr]
            if len(held) != size:
                raise OSError(f"the frontier's temporary file returned {len(held)} of "
                              f"{size} bytes")
        states: list[Any] = pickle.loads(zlib.decompress(held))
        return states

    def release(self, base: int) -> None:
        """Forget the block at ``base`` if it is encoded in memory: the search has expanded it
        for good.  Live blocks are kept to the end of the level, when the whole frontier goes:
        freeing them block by block made lost update 4x2 8% slower (26.5-27.4 s against
        24.6-25.0 s of CPU), the allocator giving memory back and taking it again."""
        index = base // self.block
        if index < len(self._blocks) and isinstance(self._blocks[index], bytes):
            self._encoded -= len(self._blocks[index])
            self._blocks[index] = None
            self._released += self.block

    def __iter__(self) -> Iterator[Any]:
        return self.states_from(0)

    def states_from(self, start: int) -> Iterator[Any]:
        """The states from ``start`` on, a block at a time (``start`` a multiple of ``block``,
        or the end); blocks before it may have been released."""
        for base in range(start, self._len, self.block):
            yield from self.chunk(base)

    def skip(self, n: int) -> None:
        """Stand for ``n`` states already expanded and released, on an empty frontier: a
        resumed level whose first ``n`` states its checkpoint did not keep."""
        if self._len:
            raise ValueError("skip() on a frontier that holds states")
        self._blocks = [None] * (n // self.block)
        self._tail = [None] * (n % self.block)
        self._len = self._released = n

    # --- accounting ----------------------------------------------------------------------------

    @property
    def held(self) -> int:
        """States held (not yet released)."""
        return self._len - self._released

    @property
    def nbytes(self) -> int:
        """Bytes held: live states (estimated), encoded blocks in memory and in the file."""
        per_state = self.tally.state_bytes or 0.0
        return int((self._live + len(self._tail)) * per_state) + self._encoded + self._spilled

    @property
    def spilled_bytes(self) -> int:
        return self._spilled

    @property
    def open(self) -> bool:
        """Whether this frontier still holds a temporary file to close."""
        return self._file is not None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def deep_size(values: list[Any]) -> int:
    """Bytes of the objects reachable from ``values``, each counted once (``sys.getsizeof``).

    Follows what a state is made of: tuples, lists, frozensets, sets, dicts, msgspec Structs and
    dataclasses; interned small ints and other shared singletons are counted once too, which is
    what they cost."""
    seen: set[int] = set()
    total = 0
    stack = list(values)
    while stack:
        v = stack.pop()
        if id(v) in seen:
            continue
        seen.add(id(v))
        total += sys.getsizeof(v)
        if isinstance(v, (tuple, list, frozenset, set)):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, msgspec.Struct):
            stack.extend(getattr(v, f) for f in v.__struct_fields__)
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            stack.extend(getattr(v, f.name) for f in dataclasses.fields(v))
    return total
