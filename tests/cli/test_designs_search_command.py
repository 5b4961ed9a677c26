"""``gupcheck designs search``: a small space end to end, its formats, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gupcheck.cli import app, exitcodes

runner = CliRunner()

SMALL = ["designs", "search", "--scenarios", "control-cpu-mmap-write,dio-read-into-mmap",
         "--axes", "writeback", "--workers", "1"]


def test_a_small_search_reports_per_class_what_the_checker_found() -> None:
    res = runner.invoke(app, [*SMALL, "--format", "json"])
    assert res.exit_code == exitcodes.HOLDS, res.output
    doc = json.loads(res.output)
    (cls,) = doc["classes"]
    assert cls["name"] == "ext4-short-term" and cls["axes"] == ["writeback"]
    assert cls["checked"] == 4 and sum(cls["counts"].values()) == 4
    if not cls["minimal_good"]:  # then the best ones name a counterexample command each
        assert cls["best"] and all(v["command"].startswith("gupcheck check ")
                                   for b in cls["best"] for v in b["violated"])


def test_the_counterexample_command_reproduces_the_violation() -> None:
    doc = json.loads(runner.invoke(app, [*SMALL, "--format", "json"]).output)
    best = doc["classes"][0]["best"] or doc["classes"][0]["minimal_good"]
    for b in doc["classes"][0]["best"]:
        v = b["violated"][0]
        args = v["command"].replace("'", "").split()[1:]
        res = runner.invoke(app, args)
        assert res.exit_code == exitcodes.FAILED, res.output
        assert b["design"] in res.output
    assert best


def test_markdown_says_how_it_was_produced(tmp_path: Path) -> None:
    out = tmp_path / "space.md"
    res = runner.invoke(app, [*SMALL, "--format", "markdown", "--out", str(out)])
    assert res.exit_code == exitcodes.HOLDS, res.output
    text = out.read_text()
    assert "`gupcheck designs search --axes writeback --scenarios " in text
    assert "| ext4-short-term | 2 | writeback | 4 / 4:" in text
    assert "Cost:" not in text  # measured costs only with --costs (not deterministic)


@pytest.mark.parametrize("option, name", [("--classes", "ext5"), ("--axes", "teleport"),
                                          ("--scenarios", "no-such-scenario")])
def test_an_unknown_name_is_a_one_line_usage_error_listing_the_valid_ones(
        option: str, name: str) -> None:
    res = runner.invoke(app, ["designs", "search", option, name])
    assert res.exit_code == exitcodes.USAGE
    assert f"unknown name {name!r}; choose from: " in res.output
    assert len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output


def test_a_bad_combination_spec_for_design_is_a_usage_error() -> None:
    res = runner.invoke(app, ["check", "control-cpu-mmap-write", "--design",
                              "proposal-base+writeback=sometimes"])
    assert res.exit_code == exitcodes.USAGE
    assert "choose one of: plain, bounce, skip-bounce, block" in res.output
    assert len(res.output.strip().splitlines()) == 1


@pytest.mark.slow
def test_the_full_space_completes() -> None:
    res = runner.invoke(app, ["designs", "search", "--format", "json", "--workers", "2"])
    assert res.exit_code == exitcodes.HOLDS, res.output
    doc = json.loads(res.output)
    assert {c["name"] for c in doc["classes"]} >= {"ext4-short-term", "ext4-long-term"}


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
def test_a_search_whose_report_cannot_be_written_prints_it_instead() -> None:
    """--out /dev/full lost the search's results (found by fuzzing): as the matrix does, the
    report goes to stdout and the exit code is the I/O one."""
    res = runner.invoke(app, [*SMALL, "--out", "/dev/full"])
    assert res.exit_code == exitcodes.IO_ERROR and "ENOSPC" in res.output
    assert "ext4-short-term" in res.output
