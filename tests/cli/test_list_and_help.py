"""`gupcheck list` and the top-level help: what the docs promise is there, whole."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from gupcheck.cli import exitcodes
from gupcheck.cli.app import app, design_summary
from gupcheck.designs import DESIGNS
from gupcheck.kernel.fs import FILESYSTEMS
from gupcheck.reports.matrix import SHORT

runner = CliRunner()


def _words(text: str) -> str:
    return " ".join(text.split())


def test_list_shows_each_design_summary_whole_not_cut_at_its_first_line() -> None:
    # linux-6.12's summary wraps in its docstring: the refusal (6.5) is on the second line
    assert "shared file mappings (6.5)" in design_summary("linux-6.12")
    result = runner.invoke(app, ["list"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    out = _words(result.output)
    for name in DESIGNS:
        summary = design_summary(name)
        assert summary.endswith((".", ")")), (name, summary)  # a whole sentence
        assert _words(summary) in out, name


def test_list_gives_the_legend_of_the_matrix_short_names() -> None:
    result = runner.invoke(app, ["list"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    rows = {line.split()[0]: line.split()[1] for line in result.output.splitlines()
            if len(line.split()) > 1}
    for name, short in SHORT.items():
        assert rows.get(short.split()[0]) == name, short


def test_list_names_every_filesystem_a_scenario_can_use() -> None:
    result = runner.invoke(app, ["list"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    rows = {line.split()[0] for line in result.output.splitlines() if line.split()}
    assert set(FILESYSTEMS) <= rows and "xfs" in FILESYSTEMS


def test_top_level_help_lists_every_exit_code() -> None:
    result = runner.invoke(app, ["--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    help_text = _words(result.output)
    codes = {int(c) for c in re.findall(r"(?:Exit codes:|,) (\d+) ", help_text)}
    assert codes == set(exitcodes.DESCRIPTIONS)
    for code, what in exitcodes.DESCRIPTIONS.items():
        assert f"{code} {what}" in help_text


def test_every_exit_code_constant_has_a_description() -> None:
    constants = {v for k, v in vars(exitcodes).items() if k.isupper() and isinstance(v, int)}
    assert constants == set(exitcodes.DESCRIPTIONS)


def test_the_names_gupcheck_list_shows_beside_the_properties_get_their_own_refusal() -> None:
    """`gupcheck list` shows the matrix's short names and the deadlock checks; --property
    takes neither, and says why."""
    for name, says in (("P1", "give --property stable-writeback"),
                       ("DL", "checked on every search"),
                       ("wait-for-cycle", "checked on every search"),
                       ("nonsense", "unknown property 'nonsense'")):
        res = runner.invoke(app, ["check", "dio-vs-reclaim", "--property", name])
        assert res.exit_code == exitcodes.USAGE and says in res.output, (name, res.output)
