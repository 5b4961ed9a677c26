"""`gupcheck replay` reproduces the recorded verdict or says exactly why not, and a malformed
trace is one line with exit 2, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gupcheck.cli import app, exitcodes
from gupcheck.designs import DESIGNS
from gupcheck.engine import Verdict
from gupcheck.engine.liveness import check_liveness
from gupcheck.kernel.system import KernelModel
from gupcheck.reports.json import result_to_dict
from gupcheck.scenarios import SCENARIOS

runner = CliRunner()


def _trace(tmp_path: Path, *args: str, name: str = "t.json") -> tuple[int, Path]:
    out = tmp_path / name
    res = runner.invoke(app, ["check", *args, "--trace-out", str(out)])
    assert out.exists(), res.output
    return res.exit_code, out


@pytest.fixture(scope="module")
def f1(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The 2018 crash on 6.1: dirty-has-backing violated."""
    code, out = _trace(tmp_path_factory.mktemp("f1"), "dio-vs-reclaim", "--design", "linux-6.1",
                       "--property", "dirty-has-backing")
    assert code == exitcodes.FAILED
    return json.loads(out.read_text())


def _replay(tmp_path: Path, data: Any, *args: str) -> Any:
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data))
    return runner.invoke(app, ["replay", str(path), *args])


def test_an_unknown_property_is_a_malformed_trace_not_reproduced(
        tmp_path: Path, f1: dict[str, Any]) -> None:
    # it printed REPRODUCED ("not an invariant of this model; the path replays")
    res = _replay(tmp_path, f1 | {"property": "no-such-property"})
    assert res.exit_code == exitcodes.USAGE, res.output
    assert "REPRODUCED" not in res.output and "no-such-property" in res.output


def test_another_property_that_holds_on_the_path_is_not_reproduced(
        tmp_path: Path, f1: dict[str, Any]) -> None:
    res = _replay(tmp_path, f1 | {"property": "pin-accounting", "properties": None})
    assert res.exit_code == exitcodes.NOT_REPRODUCED, res.output
    assert "holds at the end of the trace" in res.output


def test_a_refusal_replays_as_the_same_refusal(tmp_path: Path) -> None:
    # it printed "REPRODUCED — the path replays" whatever the design did
    code, out = _trace(tmp_path, "rdma-longterm-file", "--design", "linux-6.12")
    assert code == exitcodes.REFUSED
    data = json.loads(out.read_text())
    assert data["verdict"] == "refused" and data["errno"] == "EFAULT"
    res = runner.invoke(app, ["replay", str(out)])
    assert res.exit_code == exitcodes.REFUSED and "REPRODUCED" in res.output
    assert "EFAULT" in res.output
    res = _replay(tmp_path, data | {"errno": "ETXTBSY"})
    assert res.exit_code == exitcodes.NOT_REPRODUCED and "'ETXTBSY'" in res.output
    res = runner.invoke(app, ["replay", str(out), "--design", "linux-6.1"])
    assert res.exit_code == exitcodes.NOT_REPRODUCED and "NOT REPRODUCED" in res.output


def test_the_json_output_of_a_refused_check_replays(tmp_path: Path) -> None:
    res = runner.invoke(app, ["check", "rdma-longterm-file", "--design", "linux-6.12", "--json"])
    path = tmp_path / "r.json"
    path.write_text(res.output)
    again = runner.invoke(app, ["replay", str(path)])
    assert again.exit_code == exitcodes.REFUSED and "REPRODUCED" in again.output


def test_not_applicable_replays_as_not_applicable(tmp_path: Path) -> None:
    code, out = _trace(tmp_path, "iouring-fixed-file-buffer", "--design", "legacy")
    assert code == exitcodes.NOT_APPLICABLE
    res = runner.invoke(app, ["replay", str(out)])
    assert res.exit_code == exitcodes.NOT_APPLICABLE and "REPRODUCED" in res.output


@pytest.mark.parametrize(("edit", "words"), [
    ({"properties": "dirty-has-backing"}, "properties"),
    ({"properties": ["no-such"]}, "unknown property 'no-such'"),
    ({"properties": []}, "checks nothing"),
    ({"scenario": 7}, "scenario"),
    ({"scenario": None}, "scenario"),
    ({"design": ["linux-6.1"]}, "design"),
    ({"design": "linux-9.9"}, "linux-9.9"),
    ({"trace": "abc"}, "trace"),
    ({"trace": [{"label": "x"}]}, "trace"),
    ({"trace": [None, None]}, "trace"),
    ({"init_index": "0"}, "init_index"),
    ({"init_index": -1}, "init_index"),
    ({"verdict": "holds", "trace": None}, "no trace to replay"),
    ({"verdict": "fine"}, "unknown verdict"),
    ({"verdict": "deadlock"}, "property"),
    ({"verdict": "starves"}, "property"),
    ({"verdict": "refused"}, "errno"),
    ({"scenario_file": "/nonexistent.toml"}, "go together"),
])
def test_a_malformed_trace_is_one_line_and_exit_2(
        tmp_path: Path, f1: dict[str, Any], edit: dict[str, Any], words: str) -> None:
    res = _replay(tmp_path, f1 | edit)
    assert res.exit_code == exitcodes.USAGE, res.output
    assert words in res.output and "Traceback" not in res.output
    assert res.output.count("\n") == 1, res.output


@pytest.mark.parametrize("text", ["", "[]", "null", "{", "\xff", "[" * 100_000])
def test_a_file_that_is_no_trace_at_all_is_exit_2(tmp_path: Path, text: str) -> None:
    path = tmp_path / "junk.json"
    path.write_text(text, encoding="latin-1")
    res = runner.invoke(app, ["replay", str(path)])
    assert res.exit_code == exitcodes.USAGE and "not a gupcheck trace" in res.output


def test_a_missing_trace_file_is_exit_2(tmp_path: Path) -> None:
    res = runner.invoke(app, ["replay", str(tmp_path / "none.json")])
    assert res.exit_code == exitcodes.USAGE and "cannot read it" in res.output
    for wrong in (tmp_path, Path("/dev/null")):  # a folder, a device: the wrong path too
        res = runner.invoke(app, ["replay", str(wrong)])
        assert res.exit_code == exitcodes.USAGE and "cannot read it" in res.output


MINE = (Path(__file__).parents[2] / "gupcheck" / "scenarios" / "dio-vs-reclaim.toml")


def _my_scenario(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "mine.toml"
    path.write_text(MINE.read_text().replace('name = "dio-vs-reclaim"', 'name = "my-reclaim"'))
    return path


def test_a_user_scenario_is_recorded_with_its_hash_and_replays_from_its_file(
        tmp_path: Path) -> None:
    assert MINE.exists() and "dio-vs-reclaim" in SCENARIOS
    folder = tmp_path / "mine"
    sc = _my_scenario(folder)
    code, out = _trace(tmp_path, "my-reclaim", "--scenario-dir", str(folder), "--design",
                       "linux-6.1", "--property", "dirty-has-backing")
    assert code == exitcodes.FAILED
    data = json.loads(out.read_text())
    assert data["scenario_file"] == str(sc.resolve()) and len(data["scenario_sha256"]) == 64
    # no --scenario-dir needed: the trace names the file
    res = runner.invoke(app, ["replay", str(out)])
    assert res.exit_code == exitcodes.FAILED and "REPRODUCED" in res.output
    sc.write_text(sc.read_text().replace("repeat = 2", "repeat = 1"))
    res = runner.invoke(app, ["replay", str(out)])
    assert res.exit_code == exitcodes.USAGE and "has changed since the trace" in res.output
    sc.unlink()
    res = runner.invoke(app, ["replay", str(out)])
    assert res.exit_code == exitcodes.USAGE and "cannot be read" in res.output


def test_a_shipped_scenario_records_no_file(f1: dict[str, Any]) -> None:
    assert f1["scenario_file"] is None and f1["scenario_sha256"] is None


def test_the_trace_scenario_is_a_name_never_a_path_to_read(
        tmp_path: Path, f1: dict[str, Any]) -> None:
    sc = _my_scenario(tmp_path / "mine")
    res = _replay(tmp_path, f1 | {"scenario": str(sc)})
    assert res.exit_code == exitcodes.USAGE and "unknown scenario" in res.output
    assert "--scenario-dir" in res.output


def test_a_recorded_scenario_file_is_read_no_further_than_a_scenario(
        tmp_path: Path, f1: dict[str, Any]) -> None:
    res = _replay(tmp_path, f1 | {"scenario_file": "/dev/zero", "scenario_sha256": "0" * 64})
    assert res.exit_code == exitcodes.USAGE and "not a regular file" in res.output


def test_a_starvation_lasso_of_a_kernel_model_replays(tmp_path: Path) -> None:
    sc, cfg = SCENARIOS["rdma-longterm-file"], DESIGNS["block-writeback"]
    result = check_liveness(KernelModel(sc, cfg, ["writeback-progress"]))
    assert result.verdict is Verdict.STARVES and result.trace is not None
    assert result.property.startswith("writeback-progress (")  # one property per thread
    data = {"scenario": sc.name, "design": cfg.name, "properties": ["writeback-progress"],
            **result_to_dict(result)}
    res = _replay(tmp_path, data)
    assert res.exit_code == exitcodes.FAILED and "REPRODUCED" in res.output, res.output
    res = _replay(tmp_path, data | {"loop_start": None})
    assert res.exit_code == exitcodes.USAGE and "loop_start" in res.output
