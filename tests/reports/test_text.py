"""The plain-text report."""

from __future__ import annotations

from gupcheck.reports.text import coverage_by_step


def test_coverage_merges_bio_and_folio_numbers_into_one_line_per_step() -> None:
    merged = coverage_by_step({"disk: write bio #0 transfers page 0": 2,
                               "disk: write bio #13 transfers page 0": 3,
                               "CPU0: wp_page_copy (folio #1)": 1})
    assert merged == {"CPU0: wp_page_copy (folio #n)": 1,
                      "disk: write bio #n transfers page 0": 5}
