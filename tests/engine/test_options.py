"""check()'s options: grouped by concern, and every combination that cannot work refused,
naming both options, before any search — none silently ignored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gupcheck.classic import Peterson
from gupcheck.classic.ticket_lock import TicketLock
from gupcheck.engine import (
    Bitstate,
    Options,
    OptionsError,
    Parallel,
    Persistence,
    Search,
    Verdict,
    Walks,
    check,
)


class NeverSearched(Peterson):
    """Fails the test if a search starts: the refusal must come first."""

    def init_states(self) -> Any:
        raise AssertionError("the search started before the options were checked")


#: (keywords of check(), the two options the refusal must name)
INCOMPATIBLE: list[tuple[dict[str, Any], tuple[str, str]]] = [
    ({"walks": 5}, ("walks", "strategy bfs")),
    ({"seed": 3, "strategy": "dfs"}, ("seed", "strategy dfs")),
    ({"keep_going": True, "strategy": "dfs"}, ("keep_going", "strategy dfs")),
    ({"keep_going": True, "strategy": "swarm"}, ("keep_going", "strategy swarm")),
    ({"liveness": True, "strategy": "random"}, ("liveness", "strategy random")),
    ({"liveness": True, "bitstate": 2**10}, ("liveness", "bitstate")),
    ({"exact": True, "bitstate": 2**10}, ("bitstate", "exact")),
    ({"checkpoint": "x", "strategy": "dfs"}, ("checkpoint", "strategy dfs")),
    ({"resume": "x", "strategy": "swarm"}, ("resume", "strategy swarm")),
    ({"bitstate": 2**10, "strategy": "random"}, ("bitstate", "strategy random")),
    ({"workers": 2, "strategy": "dfs"}, ("workers 2", "strategy dfs")),
    ({"workers": 2, "strategy": "random"}, ("workers 2", "strategy random")),
    ({"ray": "local", "strategy": "dfs"}, ("ray", "strategy dfs")),
    ({"workers": 2, "exact": True}, ("workers 2", "exact")),
    ({"workers": 2, "keep_going": True}, ("workers 2", "keep_going")),
    ({"workers": 2, "checkpoint": "x"}, ("workers 2", "checkpoint")),
    ({"workers": 2, "bitstate": 2**10}, ("workers 2", "bitstate")),
    ({"ray": "local", "checkpoint": "x"}, ("ray", "checkpoint")),
    ({"ray": "local", "resume": "x"}, ("ray", "resume")),
    ({"ray": "local", "bitstate": 2**10}, ("ray", "bitstate")),
    ({"ray": "local", "keep_going": True}, ("ray", "keep_going")),
    ({"reduce": "view", "strategy": "random"}, ("reduce", "strategy random")),
    ({"reduce": "symmetry", "strategy": "swarm"}, ("reduce", "strategy swarm")),
    ({"reduce": "view", "ray": "local"}, ("reduce", "ray")),
    ({"reduce": "por", "strategy": "dfs"}, ("reduce por", "strategy dfs")),
    ({"reduce": "por-check", "workers": 2}, ("reduce por-check", "workers 2")),
    ({"reduce": "por", "keep_going": True}, ("reduce por", "keep_going")),
    ({"checkpoint_every": 5.0}, ("checkpoint_every", "checkpoint")),
    ({"checkpoint_every": 5.0, "resume": "x"}, ("checkpoint_every", "checkpoint")),
    ({"bitstate_hashes": 4}, ("bitstate_hashes", "bitstate")),
]


def _id(kwargs: dict[str, Any]) -> str:
    return "+".join(f"{k}={v}" for k, v in kwargs.items()) or "defaults"


@pytest.mark.parametrize("kwargs,names", INCOMPATIBLE, ids=[_id(kw) for kw, _ in INCOMPATIBLE])
def test_an_incompatible_pair_is_refused_naming_both(kwargs: dict[str, Any],
                                                    names: tuple[str, str]) -> None:
    with pytest.raises(OptionsError) as info:
        check(NeverSearched(), **kwargs)
    message = str(info.value)
    assert f"{names[0]} cannot be combined with {names[1]}" in message
    assert {info.value.options[0], info.value.options[1]} == {n.split()[0] for n in names}


def test_the_grouped_form_is_refused_the_same_way() -> None:
    with pytest.raises(OptionsError, match="walks cannot be combined with strategy dfs"):
        Options(Search("dfs"), walks=Walks(10))
    with pytest.raises(OptionsError, match="ray cannot be combined with checkpoint"):
        Options(persistence=Persistence("x"), parallel=Parallel(ray="auto"))


def test_an_options_error_is_a_value_error_and_renders_with_other_names() -> None:
    err = OptionsError(("walks", None), ("strategy", "bfs"), "why")
    assert isinstance(err, ValueError)
    assert err.render({"walks": "--walks", "strategy": "--strategy"}) == \
        "--walks cannot be combined with --strategy bfs: why"


@pytest.mark.parametrize("make,what", [
    (lambda: Search("bogus"), "unknown strategy"),  # type: ignore[arg-type]
    (lambda: Search(reduce=frozenset({"magic"})), "unknown reduction"),
    (lambda: Walks(0), "at least one walk"),
    (lambda: Parallel(0), "at least one worker"),
    (lambda: Bitstate(1000), "power of two"),
    (lambda: Bitstate(1024, hashes=0), "hash functions"),
    (lambda: Persistence(), "checkpoint or resume"),
    (lambda: Persistence("x", every=-1), "negative"),
])
def test_a_group_checks_its_own_values(make: Any, what: str) -> None:
    with pytest.raises(OptionsError, match=what):
        make()


def test_options_and_keywords_together_are_refused() -> None:
    with pytest.raises(TypeError, match="not both"):
        check(NeverSearched(), Options(), strategy="dfs")


def _plain(r: Any) -> tuple[Any, ...]:
    return r.verdict, r.property, r.stats.distinct


#: documented combinations that work together: (keywords, the Options they build)
COMPATIBLE: list[tuple[dict[str, Any], Options]] = [
    ({}, Options()),
    ({"exact": True, "keep_going": True, "liveness": True},
     Options(Search(exact=True, keep_going=True, liveness=True))),
    ({"bitstate": 2**16, "bitstate_hashes": 4, "keep_going": True},
     Options(Search(keep_going=True), bitstate=Bitstate(2**16, 4))),
    ({"bitstate": 2**16, "liveness": False}, Options(Search(liveness=False),
                                                      bitstate=Bitstate(2**16))),
    ({"workers": 2, "reduce": "view", "liveness": True},
     Options(Search(liveness=True, reduce=frozenset({"view"})), parallel=Parallel(2))),
    ({"strategy": "dfs", "exact": True, "reduce": "view,symmetry"},
     Options(Search("dfs", exact=True, reduce=frozenset({"view", "symmetry"})))),
    ({"reduce": "por,view"}, Options(Search(reduce=frozenset({"por", "view"})))),
    ({"strategy": "random", "walks": 20, "seed": 4, "exact": True},
     Options(Search("random", exact=True), walks=Walks(20, 4))),
    ({"strategy": "swarm", "walks": 20, "seed": 4, "workers": 2},
     Options(Search("swarm"), walks=Walks(20, 4), parallel=Parallel(2))),
]


@pytest.mark.parametrize("kwargs,options", COMPATIBLE, ids=[_id(kw) for kw, _ in COMPATIBLE])
def test_a_compatible_combination_runs_in_either_form(kwargs: dict[str, Any],
                                                     options: Options) -> None:
    assert Options.from_keywords(**kwargs) == options
    by_keywords, grouped = check(Peterson(), **kwargs), check(Peterson(), options)
    exhaustive = options.search.strategy in ("bfs", "dfs")
    assert by_keywords.verdict is (Verdict.HOLDS if exhaustive else Verdict.INCOMPLETE), \
        by_keywords.message
    assert _plain(grouped) == _plain(by_keywords)


def test_checkpoint_and_bitstate_run_together(tmp_path: Path) -> None:
    r = check(Peterson(), checkpoint=tmp_path / "p.ckpt", checkpoint_every=0, bitstate=2**16,
              liveness=False)
    assert r.verdict is Verdict.HOLDS and (tmp_path / "p.ckpt").exists()


def test_liveness_by_default_is_skipped_with_a_note_under_bitstate() -> None:
    """Not silently: the default (liveness where the search can) says why it did not run."""
    r = check(TicketLock(fair_release=False), bitstate=2**16)
    assert any("liveness not checked" in n for n in r.notes)
    quiet = check(TicketLock(fair_release=False), bitstate=2**16, liveness=False)
    assert not any("liveness not checked" in n for n in quiet.notes)
