"""Figures that more than one document states must agree."""

from __future__ import annotations

import re

from .pasted import ROOT


def _state_range(text: str) -> tuple[str, str]:
    m = re.search(r"(\d[\d,]*) to (\d[\d,]*) states", text)
    assert m, "no 'N to M states' range"
    return m.group(1), m.group(2)


def test_readme_and_scenarios_doc_give_the_same_range_of_scenario_sizes() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    readme = readme[readme.index("The kernel scenarios are small"):]
    scenarios = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    scenarios = scenarios[scenarios.index("## Costs"):]
    assert _state_range(readme) == _state_range(scenarios)
