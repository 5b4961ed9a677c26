"""Bitstate hashing: with room it finds what the exact search finds; cramped, it says it guessed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gupcheck.classic import LostUpdate, Philosophers, TicketLock
from gupcheck.engine import Verdict, check
from gupcheck.engine.visited import BitstateSet

from .test_checkpoint import WholeSpace


@pytest.mark.parametrize("model", [LostUpdate(3, 2), WholeSpace(3, 2), Philosophers(4)],
                         ids=lambda m: m.name)
def test_with_enough_bits_the_counts_verdict_and_trace_match_the_exact_search(model) -> None:
    full = check(model)
    approx = check(model, bitstate=2**24)
    assert (approx.verdict, approx.property, approx.stats.distinct, approx.stats.generated) == (
        full.verdict, full.property, full.stats.distinct, full.stats.generated)
    assert (approx.trace.labels() if approx.trace else None) == (
        full.trace.labels() if full.trace else None)
    assert approx.approximate is not None and "2^24 bits" in approx.approximate
    assert approx.stats.collision_probability is None
    assert approx.stats.visited_bytes == 2**24 // 8


def test_a_holds_from_bitstate_says_it_is_approximate_with_spins_hash_factor() -> None:
    r = check(WholeSpace(3, 2), bitstate=2**24)
    assert r.verdict is Verdict.HOLDS
    assert r.verdict_text.startswith("holds (approximate: bitstate, 2^24 bits, 3 hash functions")
    assert "hash factor 357.3" in r.verdict_text  # 2**24 / 46,953 states
    assert "estimated coverage 99.99" in r.verdict_text
    assert "not a proof" in r.message


def test_with_very_few_bits_states_are_skipped_and_the_run_is_marked_approximate() -> None:
    full = check(WholeSpace(3, 2))
    tiny = check(WholeSpace(3, 2), bitstate=2**10)
    assert tiny.verdict is Verdict.HOLDS  # it ran to the end, but ...
    assert tiny.stats.distinct < full.stats.distinct / 10
    assert "approximate" in tiny.verdict_text
    coverage = float(tiny.approximate.split("estimated coverage ")[1].split("%")[0])
    assert coverage < 50


def test_a_violation_found_with_bitstate_is_real_and_not_qualified() -> None:
    r = check(LostUpdate(3, 2), bitstate=2**15)
    assert r.verdict is Verdict.VIOLATED  # found despite the skipped states
    assert r.stats.distinct < check(LostUpdate(3, 2)).stats.distinct / 2
    assert r.verdict_text == "violated"
    assert any("may not be a shortest one" in n for n in r.notes)
    assert r.trace.steps[-1].state[0] != 6  # the counter really lost an update


def test_too_few_bits_can_miss_the_bug_which_is_why_holds_is_qualified() -> None:
    r = check(LostUpdate(3, 2), bitstate=2**12)
    assert r.verdict is Verdict.HOLDS  # wrong, and the result says it may be
    assert r.verdict_text.startswith("holds (approximate: bitstate, 2^12 bits")


def test_bitstate_runs_are_deterministic() -> None:
    a = check(WholeSpace(3, 2), bitstate=2**14)
    b = check(WholeSpace(3, 2), bitstate=2**14)
    assert (a.stats.distinct, a.stats.generated, a.approximate) == (
        b.stats.distinct, b.stats.generated, b.approximate)


def test_liveness_is_skipped_with_a_note() -> None:
    r = check(TicketLock(fair_release=False), bitstate=2**20)
    assert r.verdict is Verdict.HOLDS
    assert any("liveness not checked" in n for n in r.notes)


def test_bad_sizes_and_combinations_are_refused() -> None:
    with pytest.raises(ValueError, match="power of two"):
        BitstateSet(1000)
    with pytest.raises(ValueError, match="hash functions"):
        BitstateSet(1024, hashes=0)
    with pytest.raises(ValueError, match="choose one"):
        check(LostUpdate(2, 1), bitstate=1024, exact=True)


u64 = st.integers(min_value=0, max_value=2**64 - 1)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(u64, max_size=200), max_size=8), st.integers(1, 5))
def test_no_false_negatives_and_first_occurrence_wins(batches: list[list[int]], k: int) -> None:
    """A key once added is always "seen"; a key new to the set is new at its first occurrence."""
    bs = BitstateSet(2**12, hashes=k)
    added: set[int] = set()
    for batch in batches:
        mask = bs.add_many(batch)
        for i, key in enumerate(batch):
            if key in added or key in batch[:i]:
                assert not mask[i]
        added.update(batch)
        assert all(key in bs for key in added)
    assert len(bs) <= len(added)
    assert bs.bits_set() <= k * len(bs)
    assert np.isclose(bs.hash_factor(), 2**12 / max(len(bs), 1))
