"""Ctrl-C keeps the work: ``check``, ``check --json``, ``check --checkpoint`` and ``matrix``
end as incomplete ("interrupted", exit 3) with what they found so far, not exit 130.

Each child process gets SIGINT once it has shown that it is searching (a first checkpoint
written, or some CPU time spent), never after a fixed sleep alone; the timeouts are generous.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]

#: a kernel workload far too big to finish during a test (2 pages, 3 writeback passes,
#: 3 kswapd attempts: tens of seconds with two workers, see docs/scaling.md)
BIG = '''name = "growth"
description = "a workload that takes long to exhaust"
pages = 2
properties = ["pin-accounting"]

[[actor]]
name = "CPU0 app"
program = [ { op = "dio_read", page = 0, value = "B1", count = 2 }, { op = "fsync" } ]

[[actor]]
name = "flusher"
daemon = true
program = [ { op = "writeback_pass", repeat = 3 } ]

[[actor]]
name = "kswapd"
daemon = true
program = [ { op = "kswapd_reclaim", page = 0, repeat = 3 } ]
'''


def _start(args: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "gupcheck", *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until(child: subprocess.Popen[str], ready, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert child.poll() is None, (what, child.communicate())
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _interrupt(child: subprocess.Popen[str]) -> tuple[str, str]:
    child.send_signal(signal.SIGINT)
    return child.communicate(timeout=120)


def _cpu_seconds(child: subprocess.Popen[str]) -> float:
    try:
        proc = psutil.Process(child.pid)
        times = [proc.cpu_times()] + [c.cpu_times() for c in proc.children(recursive=True)]
    except psutil.Error:
        return 0.0
    return sum(t.user + t.system for t in times)


@pytest.fixture()
def big(tmp_path: Path) -> Path:
    path = tmp_path / "scenarios" / "growth.toml"
    path.parent.mkdir()
    path.write_text(BIG)
    return path


def test_check_json_with_a_checkpoint_ends_incomplete_and_saves_its_work(big, tmp_path) -> None:
    ckpt = tmp_path / "run.ckpt"
    child = _start(["check", str(big), "--json", "--checkpoint", str(ckpt),
                    "--checkpoint-every", "0"])
    _wait_until(child, ckpt.exists, "a first checkpoint")
    out, err = _interrupt(child)
    assert child.returncode == 3, (out, err)
    data = json.loads(out)
    assert (data["verdict"], data["bound"]) == ("incomplete", "interrupted")
    assert data["states"] > 0 and data["transitions"] >= data["states"]
    assert "Traceback" not in err
    # the final checkpoint holds at least the states reported, and resumes
    child = _start(["check", str(big), "--json", "--resume", str(ckpt),
                    "--max-states", str(data["states"] + 1)])
    out2, err2 = child.communicate(timeout=300)
    again = json.loads(out2)
    assert child.returncode == 3, err2
    assert any("resumed from a checkpoint" in n for n in again["notes"])
    assert again["states"] >= data["states"]


def test_check_in_text_says_it_was_interrupted_with_its_counts(big) -> None:
    child = _start(["check", str(big)])
    _wait_until(child, lambda: _cpu_seconds(child) > 4, "the search to be under way")
    out, err = _interrupt(child)
    assert child.returncode == 3, (out, err)
    assert "limit hit: interrupted" in out
    assert "Traceback" not in err


@pytest.mark.parametrize("workers", [1, 2])
def test_matrix_prints_the_cells_it_finished_and_marks_the_rest(big, workers) -> None:
    child = _start(["matrix", "--scenario-dir", str(big.parent), "--format", "json",
                    "--scenarios", "control-cpu-mmap-write,growth",
                    "--designs", "linux-6.1,linux-6.12", "--workers", str(workers)])
    _wait_until(child, lambda: _cpu_seconds(child) > 6, "the big cells to be under way")
    out, err = _interrupt(child)
    assert child.returncode == 3, (out, err)
    cells = {(c["scenario"], c["design"]): c for c in json.loads(out)}
    assert len(cells) == 4
    for design in ("linux-6.1", "linux-6.12"):
        assert cells["control-cpu-mmap-write", design]["verdict"] == "holds"
        big_cell = cells["growth", design]
        assert big_cell["verdict"] in ("incomplete", "not run")
        assert big_cell["bound"] == "interrupted"
    assert "Traceback" not in err
