"""``gupcheck explore``: it serves the page on 127.0.0.1, and bad input is a one-line error."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gupcheck.cli import app
from tests.explore.helpers import save_f1

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def _one_line_usage_error(args: list[str], reason: str) -> None:
    """Exit 2 with one message (the console may wrap it), no traceback."""
    result = runner.invoke(app, ["explore", *args])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert reason in text
    assert text.startswith("gupcheck: ") and text.count("gupcheck: ") == 1
    assert "Traceback" not in text


def test_explore_needs_a_scenario_or_a_trace() -> None:
    _one_line_usage_error([], "give a SCENARIO, or --trace FILE")


def test_unknown_names_are_usage_errors() -> None:
    _one_line_usage_error(["nope"], "unknown scenario 'nope'")
    _one_line_usage_error(["dio-vs-reclaim", "--design", "nope"], "unknown design 'nope'")


@pytest.mark.parametrize(("content", "reason"), [
    ("{", "not JSON"),
    ('{"verdict": "holds", "trace": null}', "has no trace to explore"),
    (('{"verdict": "holds", "scenario": "dio-vs-reclaim", "design": "linux-6.12", '
     '"trace": [{"label": null}]}'), "has no trace to explore"),  # as replay refuses it
    ("[" * 100_000 + "]" * 100_000, "JSON nested too deeply"),
])
def test_a_file_that_is_not_a_trace_is_a_usage_error(tmp_path: Path, content: str,
                                                     reason: str) -> None:
    bad = tmp_path / "t.json"
    bad.write_text(content, encoding="utf-8")
    with _taken_port() as port:  # were the file taken, explore would stop at the port
        _one_line_usage_error(["--trace", str(bad), "--port", port], reason)


@contextlib.contextmanager
def _taken_port() -> Iterator[str]:
    """A port on 127.0.0.1 that something already listens on."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield str(taken.getsockname()[1])


def test_a_design_module_named_in_a_trace_is_never_imported(tmp_path: Path) -> None:
    """The trace file is data: a design module it names would run code, so explore asks for
    --design, as replay does, and the module never runs."""
    marker = tmp_path / "ran"
    module = tmp_path / "evil.py"
    module.write_text(f"open({str(marker)!r}, 'w').close()\n"
                      "from gupcheck.designs.linux_6_12 import DESIGN\n", encoding="utf-8")
    saved = tmp_path / "f1.json"
    save_f1(saved)
    data = json.loads(saved.read_text(encoding="utf-8"))
    data["design"] = str(module)
    saved.write_text(json.dumps(data), encoding="utf-8")
    with _taken_port() as port:  # were the module run, explore would stop at the port
        _one_line_usage_error(["--trace", str(saved), "--port", port],
                              "gupcheck runs a design module only when")
    assert not marker.exists()


def test_a_port_in_use_is_a_usage_error() -> None:
    with _taken_port() as port:
        _one_line_usage_error(["dio-vs-reclaim", "--port", port], "cannot listen on")


def test_explore_serves_a_saved_trace_and_prints_its_url(tmp_path: Path) -> None:
    n = save_f1(tmp_path / "f1.json")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "gupcheck", "explore", "--trace",
                             str(tmp_path / "f1.json")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, line + (proc.stderr.read() if proc.poll() is not None and proc.stderr
                            else "")
        assert "dio-vs-reclaim under linux-6.1" in line
        with urllib.request.urlopen(url.group(0) + "api/state", timeout=30) as resp:
            data = json.loads(resp.read())
        assert len(data["path"]) == n + 1 and data["origin"]["reproduced"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_trace_of_a_users_scenario_file_is_explored_from_that_file(tmp_path: Path) -> None:
    """explore --trace said "unknown scenario" for a trace found in a user's scenario file,
    which replay reads (found by fuzzing); with the port taken, it gets as far as the port."""
    sc = tmp_path / "mine.toml"
    sc.write_text((ROOT / "gupcheck/scenarios/dio-vs-reclaim.toml").read_text()
                  .replace('name = "dio-vs-reclaim"', 'name = "mine"'))
    trace = tmp_path / "t.json"
    res = runner.invoke(app, ["check", str(sc), "--design", "linux-6.1", "--property",
                              "dirty-has-backing", "--trace-out", str(trace)])
    assert res.exit_code == 1, res.output
    with _taken_port() as port:
        _one_line_usage_error(["--trace", str(trace), "--port", port], "cannot listen on")
