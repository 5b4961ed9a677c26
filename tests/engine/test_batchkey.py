"""A batch's fingerprints computed in compiled code equal the library's, state by state."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gupcheck.classic import LostUpdate, Peterson
from gupcheck.classic.lost_update import SymmetricLostUpdate
from gupcheck.engine import Verdict, batchkey, check, visited
from gupcheck.engine import fingerprint as fingerprint_module
from gupcheck.engine.batchkey import item_bounds
from gupcheck.engine.fingerprint import encode, fingerprint
from tests.engine.test_bad_models import ListState, UnencodableState


class Bio(msgspec.Struct, frozen=True, array_like=True):
    sector: int
    pages: tuple[str, ...]


class Folio(msgspec.Struct, frozen=True):  # encoded as a map
    index: int
    flags: frozenset[str]
    bio: Bio | None


leaves = st.one_of(
    st.none(), st.booleans(),
    st.integers(-(2**63), 2**64 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=300), st.binary(max_size=300),
)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.tuples(inner, inner), st.lists(inner, max_size=20).map(tuple),
        st.frozensets(st.integers(-5, 300), max_size=20),
        st.dictionaries(st.text(max_size=8), inner, max_size=20),
        st.builds(Bio, st.integers(0, 2**40), st.lists(st.text(max_size=4), max_size=3)
                  .map(tuple)),
    ),
    max_leaves=40,
)


def fingerprints(values: list[Any] | tuple[Any, ...]) -> list[int]:
    return batchkey.fingerprints(encode(values), len(values)).tolist()


@settings(max_examples=300, deadline=None)
@given(st.lists(values, max_size=40))
def test_a_batch_has_the_fingerprints_its_states_have_one_by_one(batch: list[Any]) -> None:
    assert fingerprints(batch) == [fingerprint(v) for v in batch]


@pytest.mark.parametrize("length", [31, 32, 255, 256, 65535, 65536])
def test_every_length_prefix_of_strings_binaries_arrays_and_maps_is_walked(length: int) -> None:
    """msgpack's size classes change at 16 / 32 / 256 / 65536: fix-, 8-, 16- and 32-bit
    lengths; each element must end where its own encoding ends."""
    batch = ["s" * length, b"b" * length, tuple(range(length % 70_000)),
             {f"k{i}": i for i in range(length % 300)},
             Folio(length, frozenset({"PG_dirty", "PG_writeback"}), Bio(7, ("a",))),
             2**64 - 1, -(2**63), 1.5, None]
    assert fingerprints(batch) == [fingerprint(v) for v in batch]
    assert fingerprints(tuple(batch)) == [fingerprint(v) for v in batch]


def test_the_walk_finds_each_element_of_an_array_by_its_own_encoding() -> None:
    batch = [(1, 2, 3), "x" * 40, {"a": [1, {"b": None}]}, (), 2**40]
    buf = np.frombuffer(encode(batch), dtype=np.uint8)
    starts = np.empty(len(batch), dtype=np.int64)
    ends = np.empty(len(batch), dtype=np.int64)
    assert item_bounds(buf, batchkey._FIXED, starts, ends) == len(batch)
    raw = buf.tobytes()
    assert [raw[a:b] for a, b in zip(starts, ends)] == [encode(v) for v in batch]


def test_a_buffer_that_is_not_one_array_of_the_count_given_is_refused() -> None:
    with pytest.raises(ValueError, match="an array of 3 elements"):
        batchkey.fingerprints(encode([1, 2]), 3)


def test_every_truncation_of_an_encoding_is_refused_without_reading_past_its_end() -> None:
    batch = [("x" * 300, b"y" * 70_000, {"k": [1, 2**40, -3]}), tuple(range(20)), 1.5]
    whole = encode(batch)
    starts = np.empty(len(batch), dtype=np.int64)
    ends = np.empty(len(batch), dtype=np.int64)
    for cut in [*range(400), *range(len(whole) - 200, len(whole))]:
        buf = np.frombuffer(whole[:cut], dtype=np.uint8)
        assert item_bounds(buf, batchkey._FIXED, starts, ends) == -1, cut


def test_a_buffer_that_is_not_one_array_is_refused() -> None:
    starts = np.empty(4, dtype=np.int64)
    ends = np.empty(4, dtype=np.int64)
    for bad in (encode(5), encode([1, 2])[:-1], encode([1, 2]) + b"\x01", encode([1] * 5)):
        assert item_bounds(np.frombuffer(bad, dtype=np.uint8), batchkey._FIXED,
                           starts, ends) == -1


@pytest.fixture
def compiled_from_the_start(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Large-search mode from the first batch; the sizes of the batches hashed in compiled
    code are recorded."""
    real = batchkey.hash_slices
    calls: list[int] = []

    def spy(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray, out: np.ndarray) -> None:
        calls.append(len(starts))
        real(buf, starts, ends, out)
    monkeypatch.setattr(visited, "COMPILED_FROM", 0)
    monkeypatch.setattr(batchkey, "hash_slices", spy)
    yield calls


def _search(model: Any, **kw: Any) -> tuple[int, int, list[str]]:
    r = check(model, **kw)
    return r.stats.distinct, r.stats.generated, [s.label for s in r.trace.steps] \
        if r.trace else []


@pytest.mark.parametrize("model,reduce", [
    (LostUpdate(3, 2), None), (LostUpdate(3, 2), "por"),
    (SymmetricLostUpdate(3, 2), "symmetry"),  # keys of the canonical representatives
], ids=["plain", "por", "symmetry"])
def test_a_search_keyed_in_compiled_code_finds_the_same_states_and_trace(
        compiled_from_the_start: list[int], model: Any, reduce: str | None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = _search(model, reduce=reduce)
    assert compiled_from_the_start, "the compiled keys were not used"
    monkeypatch.setattr(visited, "COMPILED_FROM", 1 << 62)
    compiled_from_the_start.clear()
    assert _search(model, reduce=reduce) == compiled
    assert not compiled_from_the_start


def test_without_numba_a_large_search_keys_state_by_state(
        monkeypatch: pytest.MonkeyPatch) -> None:
    expected = _search(LostUpdate(3, 2))
    monkeypatch.setattr(visited, "COMPILED_FROM", 0)
    monkeypatch.setitem(sys.modules, "gupcheck.engine.batchkey", None)  # the import fails
    fingerprint_module.compiled_fingerprints.cache_clear()
    try:
        assert fingerprint_module.compiled_fingerprints() is None
        assert _search(LostUpdate(3, 2)) == expected
    finally:
        fingerprint_module.compiled_fingerprints.cache_clear()


@pytest.mark.parametrize("make", [lambda: LostUpdate(3, 2), Peterson],
                         ids=["lost-update", "peterson"])
def test_parallel_workers_keyed_in_compiled_code_find_the_same_states_and_trace(
        make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The workers key their chunks in compiled code once their tables are large (here at
    once); a fingerprint that differed from the parent's key of an initial state would find
    that state again (Peterson's runs return to it)."""
    expected = _search(make(), workers=2)
    monkeypatch.setattr(visited, "COMPILED_FROM", 0)
    assert _search(make(), workers=2) == expected


@pytest.mark.parametrize("make", [ListState, UnencodableState])
def test_a_bad_state_keyed_in_compiled_code_gets_the_same_diagnosis(
        make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = check(make())
    monkeypatch.setattr(visited, "COMPILED_FROM", 0)
    got = check(make())
    assert got.verdict is expected.verdict is Verdict.ERROR
    assert got.message == expected.message
    assert [s.label for s in got.trace.steps] == [s.label for s in expected.trace.steps]
