"""Files that cannot be read or written, and requests the machine cannot meet: one line and a
documented exit code (never 1, which means "violated"), and before any search starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gupcheck.cli import app, exitcodes

runner = CliRunner()

FULL = Path("/dev/full")
needs_full = pytest.mark.skipif(not FULL.exists(), reason="needs /dev/full (Linux)")


@pytest.fixture
def no_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a search starts: the paths must be refused before."""
    def boom(*_: Any, **__: Any) -> Any:
        raise AssertionError("the search started before the output paths were checked")

    module = sys.modules["gupcheck.cli.app"]  # gupcheck.cli.app is also the Typer object
    monkeypatch.setattr(module, "check", boom)
    monkeypatch.setattr(module, "run_matrix", boom)


def _outputs(tmp_path: Path) -> list[tuple[list[str], str]]:
    out = []
    for bad in (tmp_path / "missing" / "f.json", tmp_path):
        out += [(["check", "dio-vs-reclaim", "--trace-out", str(bad)], "--trace-out"),
                (["check", "dio-vs-reclaim", "--html", str(bad)], "--html"),
                (["check", "dio-vs-reclaim", "--checkpoint", str(bad)], "--checkpoint"),
                (["demo", "peterson", "--checkpoint", str(bad)], "--checkpoint"),
                (["matrix", "--scenarios", "dio-vs-reclaim", "--out", str(bad)], "--out")]
    return out


def test_an_output_in_a_missing_folder_or_naming_a_folder_is_refused_before_searching(
        tmp_path: Path, no_search: None) -> None:
    for args, option in _outputs(tmp_path):
        res = runner.invoke(app, args)
        assert res.exit_code == exitcodes.USAGE, (args, res.output)
        assert option in res.output and "Traceback" not in res.output
        assert ("does not exist" in res.output) or ("is a folder" in res.output)


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc (Linux)")
def test_an_output_in_a_folder_that_takes_no_files_is_refused_before_searching(
        no_search: None) -> None:
    """/proc passes access(W_OK) for root, but no file can be made there."""
    bad = "/proc/gupcheck-out.json"
    for args, option in ((["check", "dio-vs-reclaim", "--trace-out", bad], "--trace-out"),
                         (["demo", "peterson", "--checkpoint", bad], "--checkpoint"),
                         (["matrix", "--scenarios", "dio-vs-reclaim", "--out", bad], "--out")):
        res = runner.invoke(app, args)
        assert res.exit_code == exitcodes.USAGE, (args, res.output)
        assert option in res.output  # root: creating it fails; others: permission denied
        assert "creating it fails" in res.output or "permission denied" in res.output


def test_a_checked_output_leaves_no_file_behind(tmp_path: Path) -> None:
    out = tmp_path / "f.json"
    res = runner.invoke(app, ["demo", "peterson", "--checkpoint", str(out)])
    assert res.exit_code == 0, res.output
    assert not out.exists()  # peterson completes: no checkpoint, and the probe was removed


def test_a_bit_array_larger_than_memory_is_refused_not_a_memory_error() -> None:
    res = runner.invoke(app, ["demo", "peterson", "--bitstate", "2^46"])  # 8 TiB
    assert res.exit_code == exitcodes.USAGE, res.output
    assert "available" in res.output and "Traceback" not in res.output
    assert runner.invoke(app, ["demo", "peterson", "--bitstate", "2^20"]).exit_code == 0


@needs_full
@pytest.mark.parametrize("option", ["--trace-out", "--html"])
def test_writing_to_a_full_device_is_one_line_with_the_io_exit_code(option: str) -> None:
    res = runner.invoke(app, ["check", "dio-vs-reclaim", "--design", "linux-6.1",
                              "--property", "dirty-has-backing", option, str(FULL)])
    assert res.exit_code == exitcodes.IO_ERROR, res.output
    assert "cannot write /dev/full: No space left on device (ENOSPC)" in res.output
    assert "VIOLATED — dirty-has-backing" in res.output  # the answer is printed all the same


@needs_full
def test_a_matrix_to_a_full_device_is_the_io_exit_code_and_printed_instead() -> None:
    res = runner.invoke(app, ["matrix", "--scenarios", "control-cpu-mmap-write", "--designs",
                              "linux-6.12", "--out", str(FULL), "--workers", "1"])
    assert res.exit_code == exitcodes.IO_ERROR and "ENOSPC" in res.output
    assert "control-cpu-mmap-write" in res.output and "holds" in res.output


@needs_full
def test_standard_output_on_a_full_device_is_one_line_with_the_io_exit_code() -> None:
    with FULL.open("w") as full:
        done = subprocess.run([sys.executable, "-m", "gupcheck", "demos"], stdout=full,
                              stderr=subprocess.PIPE, text=True, check=False)
    assert done.returncode == exitcodes.IO_ERROR, done.stderr
    assert done.stderr == "gupcheck: cannot write the output: No space left on device (ENOSPC)\n"


def test_a_scenario_file_that_is_not_text_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "junk.toml"
    bad.write_bytes(b"\x80" + bytes(range(256)))
    res = runner.invoke(app, ["check", str(bad)])
    assert res.exit_code == exitcodes.USAGE
    assert res.output.startswith(f"gupcheck: {bad}:1: not UTF-8 text")


def test_every_exit_code_is_in_the_top_level_help() -> None:
    res = runner.invoke(app, ["--help"])
    text = " ".join(res.output.split())
    codes = [v for k, v in vars(exitcodes).items() if k.isupper() and isinstance(v, int)]
    for code in codes:
        assert f"{code} {exitcodes.DESCRIPTIONS[code]}" in text
    assert sorted(exitcodes.DESCRIPTIONS) == sorted(codes)


@pytest.mark.parametrize("command", [["demos"], ["list"]])
def test_a_closed_pipe_ends_silently_with_the_io_exit_code_not_1(command: list[str]) -> None:
    # click reported EPIPE as exit 1, which reads as "violated"
    read, write = os.pipe()
    os.close(read)  # the reader is gone before gupcheck writes a byte: no race
    done = subprocess.run([sys.executable, "-m", "gupcheck", *command], stdout=write,
                          stderr=subprocess.PIPE, check=False)
    os.close(write)
    assert done.returncode == exitcodes.IO_ERROR, done.stderr
    assert done.stderr == b""


def test_two_outputs_into_one_file_are_refused_before_searching(tmp_path: Path,
                                                                no_search: None) -> None:
    """--trace-out and --html into one file: the HTML replaced the trace (found by fuzzing)."""
    same = tmp_path / "out"
    res = runner.invoke(app, ["check", "dio-vs-reclaim", "--trace-out", str(same),
                              "--html", str(same)])
    assert res.exit_code == exitcodes.USAGE, res.output
    assert "--trace-out and --html both write" in " ".join(res.output.split())


def test_an_output_that_is_the_runs_own_scenario_or_a_shipped_file_is_refused(
        tmp_path: Path) -> None:
    """--trace-out or --html onto the scenario being checked (or a file of the installation)
    would destroy it: refused before the search, the file untouched."""
    from gupcheck import scenarios

    mine = tmp_path / "mine.toml"
    shipped = Path(scenarios.__file__).parent / "dio-vs-reclaim.toml"
    mine.write_bytes(shipped.read_bytes())
    for args in (["check", str(mine), "--trace-out", str(mine)],
                 ["check", str(mine), "--html", str(mine)],
                 ["check", "dio-vs-reclaim", "--html", str(shipped)],
                 ["matrix", "--out", str(shipped)]):
        res = runner.invoke(app, args)
        assert res.exit_code == exitcodes.USAGE, (args, res.output)
        assert "will not replace it" in res.output or "installation" in res.output
    assert mine.read_bytes() == shipped.read_bytes()


def test_a_path_too_long_for_the_system_is_a_usage_error_not_an_io_failure() -> None:
    long = "a" * 5000
    for args in (["check", long], ["check", "dio-vs-reclaim", "--html", f"/tmp/{long}.html"]):
        res = subprocess.run([sys.executable, "-m", "gupcheck", *args], capture_output=True,
                             text=True, check=False)
        assert res.returncode == exitcodes.USAGE, (args[:2], res.stderr[-300:])
        assert "too long" in res.stderr and "Traceback" not in res.stderr
