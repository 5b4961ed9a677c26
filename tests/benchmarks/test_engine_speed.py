"""benchmarks/engine_speed.py: its rows explore the same space, and --repeat keeps the best."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = str(ROOT / "benchmarks" / "engine_speed.py")


def test_repeated_rows_report_the_best_of_the_runs_and_the_same_space() -> None:
    out = subprocess.run([sys.executable, SCRIPT, "--n", "2", "--k", "2", "--no-spin",
                          "--repeat", "2"], capture_output=True, text=True, check=True).stdout
    assert "best of 2 interleaved runs" in out
    rows = re.finditer(r"^(gupcheck|gupcheck-encoded|gupcheck-por|naive)\s+([\d,]+)", out,
                       re.MULTILINE)
    counts = {m.group(1): int(m.group(2).replace(",", "")) for m in rows}
    assert counts.pop("gupcheck-por") == 226, out  # SPIN's partial-order reduction stores 226
    assert set(counts) == {"gupcheck", "gupcheck-encoded", "naive"}, out
    assert len(set(counts.values())) == 1, out  # the whole space, in each row
    assert "gupcheck vs naive" in out


def test_chosen_rows_run_alone_and_each_round_gives_a_ratio() -> None:
    out = subprocess.run([sys.executable, SCRIPT, "--n", "2", "--k", "2", "--rows",
                          "gupcheck,naive", "--repeat", "3"],
                         capture_output=True, text=True, check=True).stdout
    rows = re.findall(r"^(\S+)\s+[\d,]+\s+[\d,]+", out, re.MULTILINE)
    assert rows == ["gupcheck", "naive"], out
    m = re.search(r"each round's CPU ratio: (.*); median ([\d.]+)x", out)
    assert m and len(m.group(1).split(", ")) == 3, out


def test_an_unknown_row_is_a_usage_error_that_lists_the_rows() -> None:
    proc = subprocess.run([sys.executable, SCRIPT, "--rows", "gupcheck,fast"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "unknown row 'fast'" in proc.stderr and "naive-gc-on" in proc.stderr
    assert "Traceback" not in proc.stderr
