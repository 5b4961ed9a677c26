"""`gupcheck list` with a user's scenarios: their text is shown as written."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from gupcheck.cli import app

runner = CliRunner()


def test_list_prints_a_user_description_as_text_not_markup(tmp_path: Path) -> None:
    (tmp_path / "m.toml").write_text(
        'name = "markup"\ndescription = "[/oops] [bold]not bold"\n[[actor]]\nname = "CPU0 app"\n'
        'program = [ { op = "fsync" } ]\n')
    res = runner.invoke(app, ["list", "--scenario-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "[/oops] [bold]not bold" in res.output


def test_a_bad_scenario_folder_is_one_line_before_any_table(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('name = "x"\n')
    res = runner.invoke(app, ["list", "--scenario-dir", str(tmp_path)])
    assert res.exit_code == 2
    assert res.output.startswith("gupcheck: ") and res.output.count("\n") == 1, res.output
