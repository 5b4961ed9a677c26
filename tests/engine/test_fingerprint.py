from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from gupcheck.engine.fingerprint import (
    array_keyer,
    batch_keyer,
    collision_probability,
    encode,
    fingerprint,
)


@dataclass(frozen=True, slots=True)
class Page:
    flags: frozenset[str]
    refcount: int


def test_equal_frozensets_encode_alike_whatever_their_iteration_order() -> None:
    a = frozenset(["PG_dirty", "PG_locked", "PG_writeback", "PG_uptodate"])
    b = frozenset(sorted(a, reverse=True))
    assert encode(Page(a, 2)) == encode(Page(b, 2))
    assert fingerprint(Page(a, 2)) != fingerprint(Page(a, 3))


def test_fingerprints_are_stable_across_processes_with_different_hash_seeds() -> None:
    code = ("from gupcheck.engine.fingerprint import fingerprint;"
            "print(fingerprint((frozenset({'PG_dirty','PG_locked','PG_private','x','y'}), 'a', "
            "7)))")
    outs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={"PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2", "3", "random")
    }
    assert len(outs) == 1


def test_collision_probability_follows_tlcs_optimistic_formula() -> None:
    assert collision_probability(1_000_000, 3_000_000) == 1_000_000 * 2_000_000 / 2**64
    assert collision_probability(10, 10) == 0.0


@pytest.mark.parametrize("size", [10, 1000], ids=["short, compiled", "long, one by one"])
@pytest.mark.parametrize("view", [None, lambda s: s[::-1]], ids=["state", "view"])
def test_the_array_keys_are_the_keys_of_the_states_one_by_one(size: int, view: Any) -> None:
    states = [("x" * size, i, frozenset({i, -i})) for i in range(50)]
    assert array_keyer(view, False)(states).tolist() == batch_keyer(view, False)(states)


def test_exact_keys_have_no_array_form() -> None:
    assert array_keyer(None, True) is None
