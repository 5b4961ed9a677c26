"""benchmarks/spin_symmetry.py runs and compares like with like (skipped without SPIN)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_prints_both_tools_on_the_same_model() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "spin_symmetry.py"),
                          "--config", "3x2", "--spin-full"],
                         capture_output=True, text=True, check=True).stdout
    gup = re.search(r"3x2\s+gupcheck por\+sym\s+([\d,]+)", out)
    # 1,361: 1,360 while the ample set was the first qualifying actor's, not one whose steps
    # touch only objects private to it (gupcheck/engine/por.py, PartialOrder.shared_objects)
    assert gup and int(gup.group(1).replace(",", "")) == 1_361, out
    full = re.search(r"3x2\s+spin-full\s+([\d,]+)", out)
    if full:  # SPIN installed: its unreduced count is gupcheck's unreduced count (42,595)
        assert int(full.group(1).replace(",", "")) == 42_595, out
        assert "SPIN-por / gupcheck" in out
    else:
        assert "not installed" in out
