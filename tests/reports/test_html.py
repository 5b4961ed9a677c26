"""The HTML reports, read back as HTML: lanes and steps, the per-step state and properties,
escaping of scenario text, the matrix's colours and links, and the command line."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gupcheck.cli import app
from gupcheck.designs import DESIGNS
from gupcheck.engine import Result, check
from gupcheck.kernel.system import KernelModel, Scenario
from gupcheck.lab import Cell, run_cell, run_matrix
from gupcheck.reports.html import (
    fmt,
    matrix_page,
    split_action,
    state_entries,
    trace_page,
    trace_view,
)
from gupcheck.reports.kernel import explanation
from gupcheck.reports.matrix import SHORT, cell_text, to_markdown
from gupcheck.scenarios import SCENARIOS

from .dom import Node, parse, trace_data

runner = CliRunner()
EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def f1() -> tuple[Result, KernelModel]:
    """The 2018 crash (F1) on 6.1: kswapd strips the buffers, bio_set_pages_dirty dirties."""
    model = KernelModel(SCENARIOS["dio-vs-reclaim"], DESIGNS["linux-6.1"], ["dirty-has-backing"])
    return check(model), model


@pytest.fixture(scope="module")
def f1_page(f1: tuple[Result, KernelModel]) -> str:
    return trace_page(*f1)


def _steps(doc: Node) -> list[Node]:
    return doc.find_all("tr", "step")


def _props_at(data: dict, i: int) -> dict[str, tuple[str, str]]:
    """Property name -> (status, why) at step ``i``, as the panel shows it."""
    out = {p["name"]: ("holds", "") for p in data["props"]}
    for k, status, why in data["steps"][i]["props"]:
        out[data["props"][k]["name"]] = (status, why)
    return out


def _state_at(data: dict, i: int) -> dict[str, str]:
    state: dict[str, str] = {}
    for st in data["steps"][: i + 1]:
        for k in st["gone"]:
            state.pop(k)
        state.update((k, v) for _, k, v in st["set"])
    return state


# --- the trace page ------------------------------------------------------------------------------

def test_one_lane_per_actor_and_one_row_per_step_named_by_kernel_function(
        f1: tuple[Result, KernelModel], f1_page: str) -> None:
    result, _ = f1
    doc = parse(f1_page)
    lanes = [th.text for th in doc.find_all("th", "lane-head")]
    assert lanes == ["CPU0 app", "flusher", "kswapd", "disk", "kworker bio_dirty_work"]
    rows = _steps(doc)
    assert len(rows) == len(result.trace.steps) == 16
    for row, step in zip(rows[1:], result.trace.steps[1:], strict=True):
        cells = row.find_all("td")[1:]
        acts = [i for i, c in enumerate(cells) if "act" in c.classes]
        assert acts == [lanes.index(step.actor)]  # the box sits in its actor's lane
        assert row.find("span", "fn").text == split_action(step.action)[0]
    assert rows[13].find("span", "fn").text == "filemap_release_folio"
    assert rows[15].find("span", "fn").text == "bio_set_pages_dirty"


def test_the_breaking_step_is_marked_and_the_property_fails_only_there(f1_page: str) -> None:
    doc = parse(f1_page)
    rows = _steps(doc)
    assert [r.attrs["data-step"] for r in rows if "bad" in r.classes] == ["15"]
    assert rows[15].find("td", "num").text == "15✗"
    data = trace_data(doc.find("section", "trace"))
    statuses = [_props_at(data, i)["dirty-has-backing"][0] for i in range(16)]
    assert statuses == ["holds"] * 15 + ["violated"]
    assert "has no buffers" in _props_at(data, 15)["dirty-has-backing"][1]


def test_every_property_of_the_scenario_is_evaluated_not_only_the_checked_one(
        f1_page: str) -> None:
    data = trace_data(parse(f1_page).find("section", "trace"))
    names = [p["name"] for p in data["props"]]
    assert set(SCENARIOS["dio-vs-reclaim"].properties) - {"writeback-progress"} <= set(names)
    assert "writeback-progress (CPU0 app)" in names  # liveness, per thread
    # this trace also breaks P2a (dirtied without ->page_mkwrite) at its last step
    assert _props_at(data, 15)["mkwrite-before-dirty"][0] == "violated"
    assert _props_at(data, 14)["mkwrite-before-dirty"][0] == "holds"


def test_each_step_carries_what_changed_including_struct_folio_and_ghost_fields(
        f1_page: str) -> None:
    data = trace_data(parse(f1_page).find("section", "trace"))
    step13 = {k: v for _, k, v in data["steps"][13]["set"]}  # try_to_free_buffers
    assert step13["page 0 flags"] == "locked isolated"
    assert step13["folio #0 buffers"] == "-"
    assert _state_at(data, 12)["folio #0 buffers"] == "mapped, mapped"
    assert "page 0 data" not in step13  # unchanged fields are not repeated
    groups = {group for group, _, _ in data["steps"][0]["set"]}
    assert {"state", "struct folio", "threads", "kernel", "ghost"} <= groups
    last = {k: v for _, k, v in data["steps"][15]["set"]}
    assert "dirty-has-backing" in last["ghost.violations"]
    assert "ext4_dirty_folio" in last["events"]


def test_the_violation_is_explained_as_the_text_report_does(
        f1: tuple[Result, KernelModel], f1_page: str) -> None:
    result, _ = f1
    head = parse(f1_page).find("header", "trace-head")
    assert head.find("span", "badge").text == "VIOLATED"
    assert "v-violated" in head.find("span", "badge").classes
    text = head.text
    assert result.message in text
    for line in explanation(result).split("\n  "):
        assert line in text
    assert "does not have buffers attached" in text


def test_the_page_is_self_contained_and_deterministic(
        f1: tuple[Result, KernelModel], f1_page: str) -> None:
    doc = parse(f1_page)
    assert not doc.find_all("link") and not doc.find_all(pred=lambda n: "src" in n.attrs)
    assert all(a.attrs["href"].startswith("#") for a in doc.find_all("a"))
    assert "<style>" in f1_page and "new Viewer" in f1_page
    _, model = f1
    assert trace_page(check(model), model) == f1_page  # another run: the same bytes


def test_a_lasso_shows_its_prefix_and_loop() -> None:
    cell = run_cell(SCENARIOS["rdma-longterm-file"], DESIGNS["block-writeback"])
    result = cell.results["writeback-progress"]
    assert result.verdict.value == "starves" and result.trace is not None
    model = KernelModel(SCENARIOS["rdma-longterm-file"], DESIGNS["block-writeback"])
    view = trace_view(result, model, view_id="x", title="t")
    page = trace_page(result, model)
    marks = [r.text for r in parse(page).find_all("tr", "loop-mark")]
    if result.trace.stutters:
        assert marks == [(f"── step {len(result.trace)} repeats forever (stuttering): no weakly "
                          "fair action is enabled there ──")]
    else:
        assert marks[0].startswith("── loop starts here")
        assert marks[-1] == f"── back to step {result.trace.loop_start} ──"
        assert all(r.in_loop == (r.index >= result.trace.loop_start) for r in view.rows)
    data = trace_data(parse(page).find("section", "trace"))
    assert data["loop_start"] == result.trace.loop_start
    # at the end the fsync is still waiting: the liveness property is pending there
    assert _props_at(data, len(result.trace))[result.property][0] == "pending"


def test_a_deadlock_lists_who_waits_for_whom(tmp_path: Path) -> None:
    out = tmp_path / "dl.html"
    result = runner.invoke(app, ["check", "rdma-longterm-file", "--design", "block-writeback",
                                 "--property", "writeback-progress", "--html", str(out)])
    assert result.exit_code == 1
    doc = parse(out.read_text())
    assert doc.find("span", "badge").text == "DEADLOCK"
    waits = [li.text for li in doc.find("ul", "waits").find_all("li")]
    assert waits and "CPU0 app waits for" in waits[0]


# --- escaping ------------------------------------------------------------------------------------

def _evil_scenario(base_name: str) -> Scenario:
    base = SCENARIOS[base_name]
    actors = tuple(dataclasses.replace(a, name=f"{a.name} {EVIL}") for a in base.actors)
    return dataclasses.replace(base, name=EVIL, description=f"<img src=x onerror=alert(2)> {EVIL}",
                               actors=actors)


def _assert_inert(page: str) -> None:
    doc = parse(page)
    scripts = doc.find_all("script")
    code = [s for s in scripts if s.attrs.get("type") != "application/json"]
    assert len(code) == 1 and "new Viewer" in code[0].text  # ours, and nothing else
    assert not doc.find_all("img")
    assert "alert(1)" not in code[0].text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown, as text
    for s in scripts:
        if s.attrs.get("type") == "application/json":
            assert "<" not in s.text  # tojson: "\u003cscript..." cannot end the script


def test_scenario_text_is_escaped_on_the_trace_page() -> None:
    sc = _evil_scenario("dio-read-into-mmap")
    model = KernelModel(sc, DESIGNS["linux-6.12"])
    page = trace_page(check(model), model)
    _assert_inert(page)
    assert EVIL in parse(page).find("title").text  # the title shows it as text
    lanes = [th.text for th in parse(page).find_all("th", "lane-head")]
    assert f"CPU0 app {EVIL}" in lanes


def test_scenario_text_is_escaped_in_the_matrix() -> None:
    sc = _evil_scenario("dio-read-into-mmap")
    cells = run_matrix([sc], [DESIGNS["linux-6.12"]])
    assert cells[0].verdict == "violated"
    page = matrix_page(cells, ["linux-6.12"], {sc.name: sc}, {"linux-6.12": DESIGNS["linux-6.12"]})
    _assert_inert(page)
    doc = parse(page)
    assert doc.find("th", "sc").text == EVIL
    for a in doc.find("td", "cell").find_all("a"):
        assert re.fullmatch(r"#[A-Za-z0-9_.-]+", a.attrs["href"])
        assert doc.by_id(a.attrs["href"][1:]) is not None


EVIL_TOML = '''name = "evil"
description = "<script>alert(1)</script> in a description"

[[actor]]
name = "<script>alert(1)</script>"
program = [ { op = "dio_read", page = 0, value = "B1" } ]

[[actor]]
name = "flusher"
daemon = true
program = [ { op = "writeback_pass" } ]
'''


def test_a_scenario_file_with_markup_is_shown_as_text(tmp_path: Path) -> None:
    (tmp_path / "evil.toml").write_text(EVIL_TOML)
    out = tmp_path / "t.html"
    r = runner.invoke(app, ["check", "evil", "--scenario-dir", str(tmp_path),
                            "--design", "linux-6.1", "--html", str(out)])
    assert r.exit_code == 1, r.output
    _assert_inert(out.read_text())
    r = runner.invoke(app, ["matrix", "--scenario-dir", str(tmp_path), "--scenarios", "evil",
                            "--designs", "linux-6.1", "--format", "html", "--workers", "1"])
    assert r.exit_code == 0, r.output
    _assert_inert(r.output)


# --- the matrix ----------------------------------------------------------------------------------

MATRIX_SCENARIOS = ["control-cpu-mmap-write", "dio-vs-reclaim", "iouring-fixed-file-buffer"]
MATRIX_DESIGNS = ["legacy", "linux-6.12"]


@pytest.fixture(scope="module")
def matrix() -> tuple[list[Cell], str]:
    cells = run_matrix([SCENARIOS[s] for s in MATRIX_SCENARIOS],
                       [DESIGNS[d] for d in MATRIX_DESIGNS])
    page = matrix_page(cells, MATRIX_DESIGNS, SCENARIOS, DESIGNS)
    return cells, page


def _cells(doc: Node) -> list[Node]:
    return doc.find_all("td", "cell")


def test_matrix_cells_are_coloured_by_verdict_with_the_markdown_text(
        matrix: tuple[list[Cell], str]) -> None:
    cells, page = matrix
    tds = _cells(parse(page))
    assert len(tds) == len(cells) == 6
    verdicts = [c.verdict for c in cells]
    assert {"holds", "violated", "refused", "n/a"} <= set(verdicts)  # the test covers them
    md_rows = [ln for ln in to_markdown(cells, MATRIX_DESIGNS).splitlines()
               if ln.startswith("| ") and not ln.startswith("| scenario")]
    md_cells = [c.strip() for ln in md_rows for c in ln.strip("|").split("|")[1:]]
    for td, cell, md in zip(tds, cells, md_cells, strict=True):
        assert f"v-{cell.verdict.replace('/', '')}" in td.classes
        assert td.attrs["data-verdict"] == cell.verdict
        assert td.text == cell_text(cell) == md


def test_every_non_holding_cell_links_to_its_traces(matrix: tuple[list[Cell], str]) -> None:
    cells, page = matrix
    doc = parse(page)
    for td, cell in zip(_cells(doc), cells, strict=True):
        links = td.find_all("a")
        if cell.verdict == "holds":
            assert not links and "data-trace" not in td.attrs
            continue
        assert links, f"{cell.scenario} × {cell.design} has no link"
        for a in links:
            section = doc.by_id(a.attrs["href"][1:])
            assert section is not None and "trace" in section.classes
        first = doc.by_id(td.attrs["data-trace"][1:])
        assert first is not None and first.attrs["data-verdict"] == cell.verdict
        # each P..@N links to the trace of that property, N steps long, failing at its end
        for a, prop in zip(links[1:], cell.violated, strict=True):
            assert a.text.split("@")[0] == SHORT[prop].split()[0]  # the legend's abbreviation
            data = trace_data(doc.by_id(a.attrs["href"][1:]))
            assert len(data["steps"]) - 1 == int(a.text.split("@")[1])
            assert data["property"] == prop
            if any(p["name"] == prop for p in data["props"]):  # not for deadlocks
                assert _props_at(data, len(data["steps"]) - 1)[prop][0] == "violated"


def test_the_refused_cell_shows_the_refusal(matrix: tuple[list[Cell], str]) -> None:
    cells, page = matrix
    doc = parse(page)
    refused = next(c for c in cells if c.verdict == "refused")
    td = _cells(doc)[cells.index(refused)]
    section = doc.by_id(td.attrs["data-trace"][1:])
    assert section.find("span", "badge").text == "REFUSED"
    assert refused.errno in section.find("header").text


# --- the command line ----------------------------------------------------------------------------

def test_check_html_writes_the_page_and_prints_the_text_report(tmp_path: Path) -> None:
    out = tmp_path / "f1.html"
    r = runner.invoke(app, ["check", "dio-vs-reclaim", "--design", "linux-6.1", "--property",
                            "dirty-has-backing", "--html", str(out)])
    assert r.exit_code == 1
    assert "VIOLATED — dirty-has-backing" in r.output  # the text report as before
    assert len(_steps(parse(out.read_text()))) == 16


def test_check_html_of_a_refusal_exits_4_with_the_page(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["check", "rdma-longterm-file", "--design", "linux-6.12",
                            "--html", str(out)])
    assert r.exit_code == 4
    assert parse(out.read_text()).find("span", "badge").text == "REFUSED"


def test_check_html_of_a_holding_check_says_so(tmp_path: Path) -> None:
    out = tmp_path / "ok.html"
    r = runner.invoke(app, ["check", "control-cpu-mmap-write", "--html", str(out)])
    assert r.exit_code == 0
    doc = parse(out.read_text())
    assert doc.find("span", "badge").text == "HOLDS" and not _steps(doc)


def test_matrix_html_goes_to_stdout_without_out_and_to_the_file_with_it(tmp_path: Path) -> None:
    args = ["matrix", "--scenarios", "control-cpu-mmap-write", "--designs", "linux-6.12",
            "--format", "html", "--workers", "1"]
    r = runner.invoke(app, args)
    assert r.exit_code == 0 and r.output.startswith("<!DOCTYPE html>")
    out = tmp_path / "m.html"
    r = runner.invoke(app, [*args, "--out", str(out)])
    assert r.exit_code == 0 and r.output == ""
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_an_unwritable_html_file_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "no-such-dir" / "x.html"
    for args in (["check", "control-cpu-mmap-write", "--html", str(bad)],
                 ["matrix", "--scenarios", "control-cpu-mmap-write", "--designs", "linux-6.12",
                  "--format", "html", "--workers", "1", "--out", str(bad)]):
        r = runner.invoke(app, args)
        assert r.exit_code == 2, r.output
        assert "cannot write" in r.output and "Traceback" not in r.output


def test_every_command_has_an_example_in_its_help() -> None:
    for cmd in ([], ["list"], ["check"], ["matrix"], ["replay"], ["demo"], ["demos"]):
        r = runner.invoke(app, [*cmd, "--help"])
        assert r.exit_code == 0
        assert "Example: gupcheck" in r.output, cmd
    assert "--html" in runner.invoke(app, ["check", "--help"]).output
    assert "html" in runner.invoke(app, ["matrix", "--help"]).output


# --- values --------------------------------------------------------------------------------------

def test_values_print_deterministically() -> None:
    assert fmt(frozenset({"C2", "B1", "A0"})) == "{A0, B1, C2}"
    assert fmt(("A0",)) == "A0"
    assert split_action("folio_mkclean: write-protect the pte") == (
        "folio_mkclean", "write-protect the pte")
    assert split_action("write bio #0 transfers page 0 block 0 (A0) to disk") == (
        "write bio #0 transfers page 0 block 0 (A0) to disk", "")


def test_values_read_without_python_notation() -> None:
    assert fmt(()) == fmt(None) == fmt("") == fmt(frozenset()) == "-"
    assert fmt(("A0", "A0")) == "A0, A0"
    assert fmt(((1, 2), ())) == "[1, 2], []"  # inner sequences in brackets


def _threads_at_start(page: str) -> dict[str, str]:
    data = trace_data(parse(page).find("section", "trace"))
    return {k: v for g, k, v in data["steps"][0]["set"] if g == "threads"}


def test_the_threads_panel_shows_no_python_tuples_and_names_each_operation(
        f1_page: str) -> None:
    threads = _threads_at_start(f1_page)
    assert threads["CPU0 app results"] == "-"  # was "()"
    assert threads["CPU0 app local"] == "-"
    assert threads["CPU0 app pc"].startswith("0 (") and threads["CPU0 app pc"].endswith(")")
    for key, value in threads.items():
        assert not value.startswith("("), (key, value)
        assert "None" not in value and "()" not in value, (key, value)


def test_a_thread_inside_an_operation_shows_its_locals_as_names(
        f1: tuple[Result, KernelModel]) -> None:
    result, model = f1
    locals_seen = [v for st in result.trace.steps
                   for g, k, v in state_entries(model, st.state)
                   if g == "threads" and k.endswith(" local") and v != "-"]
    assert locals_seen, "no thread ever had locals in this trace"
    assert all("=" in v and not v.startswith("(") for v in locals_seen), locals_seen


def test_no_nic_thread_or_lane_without_a_nic(f1_page: str) -> None:
    assert not any(k.startswith("NIC") for k in _threads_at_start(f1_page))
    assert "NIC" not in [th.text for th in parse(f1_page).find_all("th", "lane-head")]


def test_a_scenario_with_a_nic_has_its_lane_and_thread() -> None:
    model = KernelModel(SCENARIOS["rdma-longterm-file"], DESIGNS["linux-6.1"],
                        ["stable-writeback"])
    page = trace_page(check(model), model)
    assert "NIC" in [th.text for th in parse(page).find_all("th", "lane-head")]
    assert "NIC (device faults) stage" in _threads_at_start(page)


def test_function_names_wrap_only_after_underscores(f1_page: str) -> None:
    fns = parse(f1_page).find_all("span", "fn")
    long = [fn for fn in fns if fn.text == "mpage_prepare_extent_to_map"]
    assert long
    pieces = [c for c in long[0].children if isinstance(c, str)]
    assert pieces == ["mpage_", "prepare_", "extent_", "to_", "map"]
    assert len(long[0].find_all("wbr")) == 4


def test_an_incomplete_page_says_its_sentence_once_and_how_the_limit_was_passed(
        tmp_path: Path) -> None:
    out = tmp_path / "inc.html"
    r = runner.invoke(app, ["check", "dio-vs-reclaim", "--design", "linux-6.1",
                            "--max-states", "50", "--html", str(out)])
    assert r.exit_code == 3
    doc = parse(out.read_text())
    body = doc.find("body").text
    message = doc.find("p", "message").text
    assert "max-states (50)" in message
    assert body.count(message) == 1  # not repeated as "No trace: ..."
    footer = doc.find("footer").text
    states = int(re.search(r"with ([\d,]+) distinct states stored", footer)
                 .group(1).replace(",", ""))
    assert "stopped by max-states (50)" in footer
    if states > 50:  # the engine checks limits periodically: say so
        assert "the count may pass the limit" in footer
