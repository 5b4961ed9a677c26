"""The plain-text report."""

from __future__ import annotations

from gupcheck.classic.lost_update import LostUpdate
from gupcheck.engine import Limits, check
from gupcheck.reports.text import coverage_by_step, render


def test_coverage_merges_bio_and_folio_numbers_into_one_line_per_step() -> None:
    merged = coverage_by_step({"disk: write bio #0 transfers page 0": 2,
                               "disk: write bio #13 transfers page 0": 3,
                               "CPU0: wp_page_copy (folio #1)": 1})
    assert merged == {"CPU0: wp_page_copy (folio #n)": 1,
                      "disk: write bio #n transfers page 0": 5}


def test_an_incomplete_run_says_why_its_counts_may_pass_the_limit() -> None:
    result = check(LostUpdate(3, 2), limits=Limits(max_states=50))
    assert result.verdict.value == "incomplete"
    text = render(result)
    assert "limit hit: max-states (50)" in text
    counted = int(text.split(" distinct states,")[0].split()[-1].replace(",", ""))
    if counted > 50:  # passed the limit: the report must not leave that unexplained
        assert "the counts below may pass it" in text
