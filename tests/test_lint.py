"""ruff runs with the tests, so that CI (the README's test command) lints too: the rules are
pyproject.toml's [tool.ruff] (ruff's default rules and lines of at most 100 characters)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: what is linted, relative to the repository
PATHS = ["gupcheck", "tests", "benchmarks", "conftest.py"]

#: not linted yet: being rewritten on other branches; each is removed from here once it is clean
NOT_YET_CLEAN: list[str] = []


def ruff(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m ruff check`` in the repository (so with its pyproject.toml), no cache."""
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", *args], cwd=ROOT,
                          input=stdin, capture_output=True, text=True, check=False)


def test_ruff_finds_nothing() -> None:
    excluded = [arg for path in NOT_YET_CLEAN for arg in ("--extend-exclude", path)]
    proc = ruff(*excluded, *PATHS)
    if proc.returncode != 0:
        command = " ".join(["python -m ruff check", *excluded, *PATHS])
        pytest.fail(f"{command}\n{proc.stdout}{proc.stderr}", pytrace=False)


def test_the_not_yet_clean_paths_exist_and_are_linted_paths() -> None:
    for path in NOT_YET_CLEAN:
        assert (ROOT / path).exists(), f"{path} no longer exists: remove it from NOT_YET_CLEAN"
        assert any(path == p or path.startswith(p + "/") for p in PATHS), path


def test_a_line_over_100_characters_is_an_error() -> None:
    """The configuration is in effect: line-too-long is not among ruff's default rules."""
    def lint(width: int) -> subprocess.CompletedProcess[str]:
        line = "x = " + repr("y" * (width - 6))
        assert len(line) == width
        return ruff("--stdin-filename", "gupcheck/example.py", "-", stdin=line + "\n")

    assert lint(100).returncode == 0, lint(100).stdout
    too_long = lint(101)
    assert too_long.returncode == 1 and "E501" in too_long.stdout, too_long.stdout
