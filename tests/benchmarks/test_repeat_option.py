"""The benchmarks that compare rows over repeated runs refuse a repeat count below one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.mark.parametrize("script", ["engine_speed.py", "spin_kernel.py"])
def test_a_repeat_below_one_is_a_usage_error(script: str) -> None:
    proc = subprocess.run([sys.executable, str(BENCHMARKS / script), "--repeat", "0"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "--repeat must be at least 1" in proc.stderr
    assert "Traceback" not in proc.stderr
