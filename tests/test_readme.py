"""The README's example runs as printed."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_engine_example_in_the_readme_finds_the_mutex_violation() -> None:
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert code is not None
    scope: dict[str, object] = {}
    exec(compile(code.group(1), "README.md", "exec"), scope)  # noqa: S102
    result = scope["result"]
    assert result.verdict.value == "violated"
    assert len(result.trace) == 4


def test_the_readme_starts_with_the_two_commands() -> None:
    lines = [ln.strip() for ln in README.read_text().splitlines()[2:4]]
    assert lines[0].endswith("gupcheck matrix") and "pip install ." in lines[0]
    assert lines[1].endswith("pytest") and "'.[test]'" in lines[1]
    ci = (README.parent / ".ci" / "run").read_text()
    assert lines[1] in ci  # CI runs exactly the README's test command
