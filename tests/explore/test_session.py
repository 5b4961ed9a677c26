"""The explorer's path and cursor, and what it shows, without a server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gupcheck.designs import DESIGNS
from gupcheck.engine import Invariant, Label, Model, Verdict, check
from gupcheck.explore import ExploreError, Explorer, read_trace
from gupcheck.kernel.system import KernelModel
from gupcheck.reports.json import result_to_dict
from gupcheck.scenarios import SCENARIOS

from .helpers import F1, f1_model, save_f1


def _row(view: dict[str, Any], group: str, field: str) -> list[Any]:
    return next(r for r in view["state"] if r[0] == group and r[1] == field)


def _status(view: dict[str, Any], prop: str) -> str:
    return next(p["status"] for p in view["props"] if p["name"] == prop)


def test_the_enabled_steps_are_the_models_successors_in_order() -> None:
    model = f1_model()
    ex = Explorer(model)
    init = model.init_states()[0]
    expected = [lab.text for lab, _ in model.successors(init)]
    view = ex.view()
    assert [s["label"] for s in view["steps"]] == expected
    assert [s["index"] for s in view["steps"]] == list(range(len(expected)))
    first = view["steps"][0]  # the kernel function split from the rest, as the HTML report
    assert (first["actor"], first["func"]) == ("CPU0 app", "__get_user_pages")
    assert view["cursor"] == 0 and len(view["path"]) == 1 and not view["deadlock"]


def test_taking_a_step_reaches_its_successor_and_marks_what_changed() -> None:
    model = f1_model()
    ex = Explorer(model)
    label, nxt = next(iter(model.successors(model.init_states()[0])))
    ex.step(0)
    assert ex.state == nxt and ex.cursor == 1
    view = ex.view()
    assert view["path"][1]["label"] == label.text
    flags = _row(view, "state", "page 0 flags")
    assert flags[2:] == ["locked dirty private", "private", True]  # folio_mark_dirty
    # a field name in two groups ("CPU0 app results" is in the kernel notation and in the
    # thread) is compared within its group: unchanged here
    assert _row(view, "state", "CPU0 app results")[4] is False
    assert _row(view, "threads", "CPU0 app results")[4] is False
    assert _row(view, "state", "page 0 refcount")[3:] == [None, False]


def test_back_forward_and_jump_move_the_cursor_along_the_path() -> None:
    ex = Explorer(f1_model())
    init = ex.state
    ex.step(0)
    ex.step(0)
    second = ex.state
    ex.back()
    ex.back()
    assert ex.state == init and len(ex.path) == 3
    with pytest.raises(ExploreError, match="first state"):
        ex.back()
    ex.forward()
    ex.jump(2)
    assert ex.state == second
    with pytest.raises(ExploreError, match="last state"):
        ex.forward()
    with pytest.raises(ExploreError, match="no state #3"):
        ex.jump(3)
    ex.reset()
    assert ex.state == init and len(ex.path) == 1


def test_retaking_the_paths_step_keeps_the_rest_and_another_step_replaces_it() -> None:
    ex = Explorer(f1_model())
    for _ in range(3):
        ex.step(0)
    ex.jump(0)
    assert ex.view()["steps"][0]["next"] and not ex.view()["steps"][1]["next"]
    ex.step(0)  # the step the path already takes: the forward history stays
    assert len(ex.path) == 4 and ex.cursor == 1
    ex.back()
    ex.step(1)  # another step: the path beyond the cursor is replaced
    assert len(ex.path) == 2 and ex.path[1].label.actor == "kswapd"
    with pytest.raises(ExploreError, match="no enabled step #99"):
        ex.step(99)


def test_a_loaded_trace_starts_at_its_first_state_and_ends_in_its_violation(
        tmp_path: Path) -> None:
    n = save_f1(tmp_path / "f1.json")
    saved = read_trace(tmp_path / "f1.json")
    assert (saved.scenario, saved.design, saved.property) == F1 and len(saved.labels) == n
    ex = Explorer.from_trace(f1_model(), saved)
    view = ex.view()
    assert view["cursor"] == 0 and len(view["path"]) == n + 1
    assert view["origin"]["reproduced"] and "still violated" in view["origin"]["replay"]
    assert _status(view, F1[2]) == "holds"
    assert [p["i"] for p in view["path"] if p["bad"]] == [n]  # only the last state
    ex.jump(n)
    last = ex.view()
    assert _status(last, F1[2]) == "violated"
    assert last["path"][n]["func"] == "bio_set_pages_dirty"


def test_a_trace_that_no_longer_replays_is_explored_as_far_as_it_goes(tmp_path: Path) -> None:
    n = save_f1(tmp_path / "f1.json")
    ex = Explorer.from_trace(f1_model("linux-6.12"), read_trace(tmp_path / "f1.json"))
    assert ex.notice.startswith("the trace does not replay")
    assert 1 <= len(ex.path) < n + 1
    assert ex.view()["origin"]["reproduced"] is False


def test_find_from_here_appends_a_shortest_path_to_the_violation(tmp_path: Path) -> None:
    n = save_f1(tmp_path / "f1.json")
    ex = Explorer(f1_model())
    message = ex.find(F1[2])
    assert f"violated {n} step(s) from there" in message
    assert ex.cursor == n == len(ex.path) - 1
    assert _status(ex.view(), F1[2]) == "violated"
    with pytest.raises(ExploreError, match="no safety property 'nope'"):
        ex.find("nope")


def test_find_says_when_the_property_holds_or_the_limit_is_hit() -> None:
    ex = Explorer(KernelModel(SCENARIOS["control-cpu-mmap-write"], DESIGNS["linux-6.12"]))
    assert "holds in every state reachable from here" in ex.find("dirty-has-backing")
    assert len(ex.path) == 1
    ex = Explorer(f1_model("linux-6.12"))
    assert "(the search stops at 10)" in ex.find("dirty-has-backing", limit=10)
    assert len(ex.path) == 1


class _Stuck(Model[int]):
    """0 -> 1 -> 2; 1 is a deadlock unless ends say otherwise; 2 breaks "small"."""

    def __init__(self, ends: frozenset[int]) -> None:
        self.ends = ends

    def init_states(self) -> list[int]:
        return [0]

    def successors(self, state: int) -> list[tuple[Label, int]]:
        return [(Label("P", "inc"), state + 1)] if state == 0 else []

    def is_end(self, state: int) -> bool:
        return state in self.ends

    def invariants(self) -> list[Invariant[int]]:
        return [Invariant("small", lambda s: "too big" if s > 5 else None)]


def test_a_generic_model_shows_deadlocks_and_ends() -> None:
    ex = Explorer(_Stuck(frozenset()))
    ex.step(0)
    view = ex.view()
    assert view["deadlock"] and not view["end"] and view["steps"] == []
    assert view["state"] == [["state", "state", "1", "0", True]]
    ex = Explorer(_Stuck(frozenset({1})))
    ex.step(0)
    assert ex.view()["end"] and not ex.view()["deadlock"]


@pytest.mark.parametrize(("content", "reason"), [
    ("not json", "not JSON"),
    ("[1, 2]", "a JSON object is expected"),
    ('{"scenario": "x", "design": "y", "verdict": "holds", "trace": null}', "no trace"),
    ('{"scenario": "x", "design": "y", "trace": [{"label": null}, {"label": 3}]}',
     "a step without a label"),
    ('{"scenario": "x", "design": "y", "trace": []}', "no list of steps"),
    ('{"design": "y", "trace": [{"label": null}]}', "no scenario and design"),
    ('{"scenario": "x", "design": "y", "init_index": -1, "trace": [{"label": null}]}',
     "init_index"),
])
def test_a_file_that_is_not_a_trace_is_refused_with_one_line(tmp_path: Path, content: str,
                                                             reason: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ExploreError, match=reason) as err:
        read_trace(path)
    assert "\n" not in str(err.value)


def test_the_view_is_plain_json_and_deterministic() -> None:
    ex = Explorer(f1_model())
    ex.step(1)
    text = json.dumps(ex.view())
    again = Explorer(f1_model())
    again.step(1)
    assert json.dumps(again.view()) == text


def test_each_actors_program_shows_where_its_thread_is() -> None:
    ex = Explorer(f1_model())
    actors = ex.view()["actors"]
    assert [a["name"] for a in actors] == ["CPU0 app", "flusher", "kswapd"]
    assert actors[0]["ops"] == ["dio_read(0, B1)", "fsync()"]
    assert (actors[0]["pc"], actors[0]["stage"], actors[1]["daemon"]) == (0, "", True)
    ex.step(0)  # CPU0 app's write fault, inside its dio_read's get_user_pages
    cpu0 = ex.view()["actors"][0]
    assert cpu0["pc"] == 0 and cpu0["stage"] != "" and cpu0["blocked"] == ""
    assert Explorer(_Stuck(frozenset())).view()["actors"] == []  # a model without threads


def test_blocked_actors_are_shown_with_what_they_wait_for() -> None:
    model = f1_model()
    # breadth-first to the first state where some actor is blocked (a folio lock, say)
    frontier, seen = [(model.init_states()[0], [])], set()
    path: list[int] = []
    while frontier and not path:
        state, ords = frontier.pop(0)
        for i, (_, nxt) in enumerate(model.successors(state)):
            if nxt not in seen:
                seen.add(nxt)
                if list(model.waits(nxt)):
                    path = [*ords, i]
                    break
                frontier.append((nxt, [*ords, i]))
    assert path, "dio-vs-reclaim has a state with a blocked actor"
    ex = Explorer(model)
    for i in path:
        ex.step(i)
    view = ex.view()
    waits = [str(w) for w in model.waits(ex.state)]
    assert [w["text"] for w in view["waits"]] == waits
    blocked = [a for a in view["actors"] if a["blocked"]]
    assert blocked and all(a["blocked"].startswith(a["name"] + " waits for") for a in blocked)


def test_a_deadlock_trace_ends_in_a_state_shown_as_a_deadlock(tmp_path: Path) -> None:
    model = KernelModel(SCENARIOS["rdma-longterm-file"], DESIGNS["block-writeback"],
                        ["writeback-progress"])
    result = check(model, liveness=False)
    assert result.verdict is Verdict.DEADLOCK and result.trace is not None
    path = tmp_path / "dl.json"
    path.write_text(json.dumps({"scenario": "rdma-longterm-file", "design": "block-writeback",
                                **result_to_dict(result)}), encoding="utf-8")
    ex = Explorer.from_trace(KernelModel(SCENARIOS["rdma-longterm-file"],
                                         DESIGNS["block-writeback"]), read_trace(path))
    assert ex.view()["origin"]["reproduced"] and not ex.view()["deadlock"]
    ex.jump(len(result.trace))
    view = ex.view()
    assert view["deadlock"] and view["steps"] == []
    assert [w["text"] for w in view["waits"]] == [str(w) for w in result.waits]


def test_a_lasso_keeps_where_its_loop_starts(tmp_path: Path) -> None:
    save_f1(tmp_path / "f1.json")
    data = json.loads((tmp_path / "f1.json").read_text())
    data["loop_start"], data["stutters"] = 4, False
    (tmp_path / "lasso.json").write_text(json.dumps(data))
    origin = Explorer.from_trace(f1_model(), read_trace(tmp_path / "lasso.json")).view()["origin"]
    assert (origin["loop_start"], origin["stutters"]) == (4, False)
    data["loop_start"] = 99
    (tmp_path / "lasso.json").write_text(json.dumps(data))
    with pytest.raises(ExploreError, match="loop_start 99"):
        read_trace(tmp_path / "lasso.json")
