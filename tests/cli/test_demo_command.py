"""The command line as a user runs it: exit codes, JSON, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from gupcheck.cli import app

runner = CliRunner()


def test_demo_that_holds_exits_0_and_prints_the_counts() -> None:
    result = runner.invoke(app, ["demo", "peterson"])
    assert result.exit_code == 0
    assert "HOLDS" in result.output
    assert "20 distinct states" in result.output
    assert "fingerprint collision probability" in result.output


def test_violated_demo_exits_1_with_the_trace_and_marks_the_bad_step() -> None:
    result = runner.invoke(app, ["demo", "mutex-test-then-set"])
    assert result.exit_code == 1
    assert "VIOLATED — mutual-exclusion" in result.output
    assert "  4✗ P1: lock = 1" in result.output


def test_json_output_is_one_object_with_the_trace() -> None:
    result = runner.invoke(app, ["demo", "philosophers", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["verdict"] == "deadlock"
    assert data["states"] == 14
    assert [s["actor"] for s in data["trace"][1:]] == ["phil0", "phil1", "phil2"]
    assert data["trace"][1]["step"] == "take left fork"


def test_starvation_exits_1_and_shows_the_stuttering_lasso() -> None:
    result = runner.invoke(app, ["demo", "ticket-lock-unfair"])
    assert result.exit_code == 1
    assert "STARVES" in result.output
    assert "repeats forever (stuttering)" in result.output


def test_a_limit_exits_3_and_says_which() -> None:
    result = runner.invoke(app, ["demo", "lost-update-3x2", "--max-states", "100"])
    assert result.exit_code == 3
    assert "limit hit: max-states (100)" in result.output


def test_unknown_demo_exits_2_listing_the_valid_names() -> None:
    result = runner.invoke(app, ["demo", "no-such-model"])
    assert result.exit_code == 2
    assert "unknown demo 'no-such-model'" in result.output
    assert "peterson" in result.output and "philosophers" in result.output


def test_unknown_strategy_is_a_usage_error_not_a_traceback() -> None:
    result = runner.invoke(app, ["demo", "peterson", "--strategy", "sideways"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_console_script_runs_as_a_module() -> None:
    out = subprocess.run([sys.executable, "-m", "gupcheck", "demos"], capture_output=True,
                         text=True, check=True)
    assert "ticket-lock-unfair" in out.stdout


def test_check_prints_the_violation_explained_and_exits_1() -> None:
    result = runner.invoke(app, ["check", "dio-vs-reclaim", "--design", "linux-6.1",
                                 "--property", "dirty-has-backing"])
    assert result.exit_code == 1
    assert "VIOLATED — dirty-has-backing" in result.output
    assert "does not have buffers attached" in result.output  # the explanation
    assert "try_to_free_buffers strips the buffers" in result.output
    assert "TLB shootdown is immediate" in result.output


def test_check_of_a_fixed_kernel_exits_0() -> None:
    result = runner.invoke(app, ["check", "dio-vs-reclaim", "--design", "linux-6.12",
                                 "--property", "dirty-has-backing"])
    assert result.exit_code == 0
    assert "HOLDS" in result.output


def test_check_json_carries_scenario_design_and_trace() -> None:
    result = runner.invoke(app, ["check", "dio-read-into-mmap", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert (data["scenario"], data["design"], data["verdict"]) == (
        "dio-read-into-mmap", "linux-6.12", "violated")
    assert data["property"] == "mkwrite-before-dirty"
    assert {"actor", "step", "detail"} <= set(data["trace"][1])


def test_check_with_unknown_names_lists_the_valid_ones() -> None:
    for args, valid in ((["check", "nope"], "dio-vs-reclaim"),
                        (["check", "dio-vs-reclaim", "--design", "nope"], "linux-6.12"),
                        (["check", "dio-vs-reclaim", "--property", "nope"], "no-lost-write")):
        result = runner.invoke(app, args)
        assert result.exit_code == 2
        assert valid in result.output and "Traceback" not in result.output


def test_a_limit_on_a_kernel_check_exits_3() -> None:
    result = runner.invoke(app, ["check", "control-cpu-mmap-write", "--max-states", "10"])
    assert result.exit_code == 3


def test_list_names_designs_scenarios_and_properties() -> None:
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0
    for name in ("linux-6.1", "dio-vs-reclaim", "mkwrite-before-dirty"):
        assert name in result.output
