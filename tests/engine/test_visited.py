from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gupcheck.engine import visited
from gupcheck.engine.visited import ExactSet, FingerprintTable

u64 = st.integers(min_value=0, max_value=2**64 - 1)


@pytest.fixture(autouse=True, scope="module", params=["numpy probe", "compiled probe"])
def probe(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every table test runs twice: with the numpy probe of small tables and with the
    compiled one (gupcheck/engine/probe.py) that large tables use."""
    saved = visited.COMPILED_FROM
    visited.COMPILED_FROM = 0 if request.param == "compiled probe" else 1 << 62
    yield request.param
    visited.COMPILED_FROM = saved


def test_large_tables_get_the_compiled_probe() -> None:
    """numba is a dependency: if it cannot be imported, searches silently lose the speed."""
    assert visited._compiled_insert() is not None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.one_of(u64, st.integers(0, 40)), max_size=300), max_size=12))
def test_fingerprint_table_behaves_like_a_set(batches: list[list[int]]) -> None:
    table = FingerprintTable(capacity=16)  # small, so batches force growth
    model: set[int] = set()
    for batch in batches:
        mask = table.add_many(batch)
        expected = []
        for k in batch:
            k = k or 1  # 0 is the empty-slot marker and is stored as 1
            expected.append(k not in model)
            model.add(k)
        assert mask.tolist() == expected
        assert len(table) == len(model)
    assert sorted(table.fingerprints().tolist()) == sorted(model)
    for k in list(model)[:50]:
        assert k in table


def test_fingerprint_table_stays_at_most_three_quarters_full() -> None:
    table = FingerprintTable(capacity=16)
    rng = np.random.default_rng(1)
    keys = rng.integers(1, 2**63, size=10_000).tolist()
    table.add_many(keys)
    assert len(table) == 10_000
    assert table.nbytes <= 8 * 10_000 / 0.375 + 8
    assert table.nbytes >= 8 * 10_000 / 0.75


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sets(st.integers(1, 2**64 - 1), max_size=300), max_size=12))
def test_add_distinct_marks_the_fingerprints_not_yet_present(batches: list[set[int]]) -> None:
    table = FingerprintTable(capacity=16)
    model: set[int] = set()
    for batch in batches:
        fps = np.array(sorted(batch), dtype=np.uint64)
        assert table.add_distinct(fps).tolist() == [int(k) not in model for k in fps]
        model |= batch
        assert len(table) == len(model)


def test_exact_set_marks_only_first_occurrences_new() -> None:
    s = ExactSet()
    assert s.add_many([b"a", b"b", b"a"]).tolist() == [True, True, False]
    assert s.add_many([b"b", b"c"]).tolist() == [False, True]
    assert len(s) == 3


def test_fingerprint_table_probes_past_long_runs_of_occupied_slots() -> None:
    """Keys sharing their home slot form one probe run far longer than the probe window and
    than the batch size at which probing switches to windows; each must still be found or
    placed exactly once, including a batch that mixes present keys, new keys and repeats."""
    table = FingerprintTable(capacity=1 << 14)
    first = [j << 32 for j in range(1, 3001)]  # all hash to slot 0 of any table up to 2**32
    assert table.add_many(first).all()
    second = first[::7] + [j << 32 for j in range(3001, 3400)] + [5 << 32, 3001 << 32]
    mask = table.add_many(second)
    assert mask.tolist() == [False] * len(first[::7]) + [True] * 399 + [False, False]
    assert len(table) == 3399
    assert all(k in table for k in first + second)
    assert (3400 << 32) not in table


@settings(max_examples=100, deadline=None)
@given(st.sets(st.integers(1, 2**64 - 1), max_size=400), st.lists(u64, max_size=200))
def test_contains_many_answers_as_in_without_inserting(present: set[int],
                                                      asked: list[int]) -> None:
    table = FingerprintTable(capacity=16)
    table.add_many(sorted(present))
    queries = sorted(present)[::3] + [k or 1 for k in asked]
    got = table.contains_many(np.array(queries, dtype=np.uint64))
    assert got.tolist() == [k in present for k in queries]
    assert len(table) == len(present)


def test_contains_many_follows_long_probe_runs() -> None:
    table = FingerprintTable(capacity=1 << 14)
    run = [j << 32 for j in range(1, 3001)]  # one probe run from slot 0
    table.add_many(run)
    asked = np.array([run[-1], 3001 << 32, run[0], 7], dtype=np.uint64)
    assert table.contains_many(asked).tolist() == [True, False, True, False]
