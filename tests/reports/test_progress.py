"""Progress of a search written to a log (stderr not a terminal): a line a minute."""

from __future__ import annotations

from gupcheck.reports.progress import ProgressDisplay


def test_a_log_gets_a_progress_line_a_minute_with_the_rates_since_the_last(capsys) -> None:
    with ProgressDisplay("dio-vs-reclaim [linux-6.12]", enabled=False) as progress:
        progress(1_000, 3_000, 4, 500, 30.0)  # before the first minute: nothing
        assert capsys.readouterr().err == ""
        progress(6_000, 18_000, 9, 700, 60.0)
        progress(7_000, 21_000, 9, 800, 90.0)  # within a minute of the last line
        progress(12_000, 36_000, 12, 900, 120.0)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        ("dio-vs-reclaim [linux-6.12]:   60.0 s  distinct 6,000 (100/s)  generated 18,000 "
         "(300/s)  depth 9  queue 700"),
        ("dio-vs-reclaim [linux-6.12]:  120.0 s  distinct 12,000 (100/s)  generated 36,000 "
         "(300/s)  depth 12  queue 900")]
