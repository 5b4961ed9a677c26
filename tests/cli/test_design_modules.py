"""A design module (.py defining DESIGN) is accepted wherever a design is named; importing it is
the one place gupcheck runs a user's code, and its failures are one line with their own code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gupcheck.cli import app, exitcodes
from gupcheck.cli.designs import DesignModuleError, load_design

runner = CliRunner()

MY_PATCH = ("from dataclasses import replace\nfrom gupcheck.designs import DESIGNS\n"
            "DESIGN = replace(DESIGNS['linux-6.1'], name='my-patch')\n")


@pytest.fixture
def my_patch(tmp_path: Path) -> Path:
    mod = tmp_path / "my_patch.py"
    mod.write_text(MY_PATCH)
    return mod


@pytest.mark.parametrize("body", ["import sys\nsys.exit(0)\n", "raise SystemExit(3)\n",
                                  "raise RuntimeError('boom')\n", "DESIGN = 42\n",
                                  "def __getattr__(name):\n    raise RuntimeError(name)\n",
                                  MY_PATCH.replace("'my-patch'", "'[/x] My Patch'")])
def test_a_design_module_that_exits_or_fails_is_a_design_module_error(
        tmp_path: Path, body: str) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(body)
    with pytest.raises(DesignModuleError, match="bad.py"):
        load_design(str(bad))
    res = runner.invoke(app, ["conform", "--design", str(bad)])
    assert res.exit_code == exitcodes.DESIGN_MODULE, res.output
    assert "bad.py" in res.output and "Traceback" not in res.output


def test_check_accepts_a_design_module_and_records_its_name_and_file(
        tmp_path: Path, my_patch: Path) -> None:
    out = tmp_path / "t.json"
    res = runner.invoke(app, ["check", "dio-vs-reclaim", "--design", str(my_patch),
                              "--property", "dirty-has-backing", "--trace-out", str(out)])
    assert res.exit_code == exitcodes.FAILED, res.output
    assert "[my-patch]" in res.output
    data = json.loads(out.read_text())
    assert data["design"] == "my-patch" and data["design_file"] == str(my_patch)


def test_replay_runs_a_design_module_only_when_asked_on_its_command_line(
        tmp_path: Path, my_patch: Path) -> None:
    out = tmp_path / "t.json"
    runner.invoke(app, ["check", "dio-vs-reclaim", "--design", str(my_patch),
                        "--property", "dirty-has-backing", "--trace-out", str(out)])
    # the trace names the module, but a file given to gupcheck never runs code it names
    my_patch.write_text("import pathlib\npathlib.Path(__file__).with_name('ran').touch()\n"
                        + MY_PATCH)
    res = runner.invoke(app, ["replay", str(out)])
    assert res.exit_code == exitcodes.USAGE and "--design" in res.output
    assert not (tmp_path / "ran").exists()
    res = runner.invoke(app, ["replay", str(out), "--design", str(my_patch)])
    assert res.exit_code == exitcodes.FAILED and "REPRODUCED" in res.output
    assert (tmp_path / "ran").exists()


def test_matrix_accepts_design_modules_beside_names(my_patch: Path) -> None:
    res = runner.invoke(app, ["matrix", "--designs", f"linux-6.12,{my_patch}",
                              "--scenarios", "control-cpu-mmap-write", "--format", "json",
                              "--workers", "1"])
    assert res.exit_code == 0, res.output
    designs = {c["design"] for c in json.loads(res.output)}
    assert designs == {"linux-6.12", "my-patch"}


def test_an_unknown_design_that_is_no_module_is_a_usage_error() -> None:
    res = runner.invoke(app, ["check", "dio-vs-reclaim", "--design", "linux-9.9"])
    assert res.exit_code == exitcodes.USAGE
    assert "unknown design 'linux-9.9'" in res.output and "design module" in res.output



def test_a_design_module_path_that_does_not_exist_says_so(tmp_path: Path) -> None:
    res = runner.invoke(app, ["check", "dio-vs-reclaim", "--design", str(tmp_path / "x.py")])
    assert res.exit_code == exitcodes.USAGE and "no such file" in res.output, res.output


def test_a_design_module_may_not_take_a_shipped_designs_name(tmp_path: Path) -> None:
    """A trace of it would name linux-6.1 and replay against the shipped design (found by
    fuzzing); the same configuration under the same name is harmless and accepted."""
    shadow = tmp_path / "shadow.py"
    shadow.write_text(MY_PATCH.replace("DESIGNS['linux-6.1'], name='my-patch'",
                                       "DESIGNS['linux-6.12'], name='linux-6.1'"))
    with pytest.raises(DesignModuleError, match="is a shipped design's name"):
        load_design(str(shadow))
    res = runner.invoke(app, ["check", "dio-vs-reclaim", "--design", str(shadow)])
    assert res.exit_code == exitcodes.DESIGN_MODULE and "Traceback" not in res.output
    same = tmp_path / "same.py"
    same.write_text(MY_PATCH.replace("name='my-patch'", "name='linux-6.1'"))
    assert load_design(str(same)).name == "linux-6.1"


@pytest.mark.parametrize("command", [["check", "dio-vs-reclaim", "--design"],
                                     ["matrix", "--scenarios", "dio-vs-reclaim", "--designs"]])
def test_a_design_module_whose_import_hangs_is_stopped_at_max_seconds(
        tmp_path: Path, command: list[str]) -> None:
    """The import counts against --max-seconds like the search: a limit hit (exit 3), said so,
    even if the module catches every Exception."""
    stuck = tmp_path / "stuck.py"
    stuck.write_text("while True:\n    try:\n        pass\n    except Exception:\n"
                     "        pass\n")
    res = runner.invoke(app, [*command, str(stuck), "--max-seconds", "0.3"])
    assert res.exit_code == exitcodes.INCOMPLETE, res.output
    assert "stuck.py" in res.output and "--max-seconds 0.3" in res.output
    assert "Traceback" not in res.output
