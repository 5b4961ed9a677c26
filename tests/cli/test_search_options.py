"""--checkpoint, --resume and --bitstate on the command line: exit codes and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gupcheck.cli import app, exitcodes
from gupcheck.cli.search_options import parse_bits

runner = CliRunner()


def _json(args: list[str]) -> tuple[int, dict]:
    result = runner.invoke(app, args + ["--json"])
    return result.exit_code, json.loads(result.stdout)


def test_demo_checkpoint_then_resume_gives_the_uninterrupted_result(tmp_path) -> None:
    ckpt = str(tmp_path / "demo.ckpt")
    code, full = _json(["demo", "lost-update-3x2"])
    code1, part = _json(["demo", "lost-update-3x2", "--checkpoint", ckpt,
                         "--checkpoint-every", "0", "--max-states", "10000"])
    assert (code1, part["verdict"]) == (3, "incomplete")
    code2, resumed = _json(["demo", "lost-update-3x2", "--resume", ckpt])
    assert code2 == code == 1
    for key in ("verdict", "property", "states", "transitions", "depth", "coverage"):
        assert resumed[key] == full[key], key
    assert [s["label"] for s in resumed["trace"]] == [s["label"] for s in full["trace"]]


def test_check_resume_against_another_design_exits_7_without_a_traceback(tmp_path) -> None:
    ckpt = str(tmp_path / "k.ckpt")
    first = runner.invoke(app, ["check", "dio-vs-reclaim", "--design", "linux-6.1",
                                "--checkpoint", ckpt, "--max-states", "50"])
    assert first.exit_code == 3, first.output
    other = runner.invoke(app, ["check", "dio-vs-reclaim", "--design", "linux-6.12",
                                "--resume", ckpt])
    assert other.exit_code == 7
    assert "another model or search" in other.output
    assert "Traceback" not in other.output
    same = runner.invoke(app, ["check", "dio-vs-reclaim", "--design", "linux-6.1",
                               "--resume", ckpt])
    assert same.exit_code == 1, same.output
    assert "resumed from a checkpoint" in same.output


def test_a_missing_or_garbage_checkpoint_exits_7(tmp_path) -> None:
    garbage = tmp_path / "g.ckpt"
    garbage.write_text("not a checkpoint")
    for path in (garbage, tmp_path / "missing.ckpt"):
        result = runner.invoke(app, ["demo", "peterson", "--resume", str(path)])
        assert result.exit_code == 7
        assert "Traceback" not in result.output


def test_bitstate_marks_holds_as_approximate_in_text_and_json() -> None:
    result = runner.invoke(app, ["demo", "peterson", "--bitstate", "2^20"])
    assert result.exit_code == 0
    assert "HOLDS (approximate: bitstate, 2^20 bits" in result.output
    code, data = _json(["demo", "peterson", "--bitstate", "1M"])
    assert code == 0 and data["verdict"] == "holds" and data["states"] == 20
    assert data["verdict_text"].startswith("holds (approximate: bitstate, 2^20 bits")


def test_checkpoint_never_replaces_a_file_that_is_not_a_checkpoint(tmp_path) -> None:
    """A trace or scenario given as --checkpoint by mistake is kept, and so is a device
    (the checkpoint's atomic rename would replace it with a regular file)."""
    precious = tmp_path / "notes.txt"
    precious.write_text("keep me", encoding="utf-8")
    result = runner.invoke(app, ["demo", "peterson", "--checkpoint", str(precious)])
    assert result.exit_code == 2 and "not a gupcheck checkpoint" in result.output
    assert precious.read_text(encoding="utf-8") == "keep me"
    if Path("/dev/null").exists():
        result = runner.invoke(app, ["demo", "peterson", "--checkpoint", "/dev/null"])
        assert result.exit_code == 2 and "not a regular file" in result.output
    ours = tmp_path / "run.ckpt"  # a checkpoint is replaced by the next
    for _ in range(2):
        assert runner.invoke(app, ["demo", "peterson", "--checkpoint", str(ours)]).exit_code == 0


@pytest.mark.parametrize("strategy", ["bfs", "swarm"])
def test_more_workers_than_the_machine_can_start_is_a_usage_error(strategy: str) -> None:
    """Breadth-first workers need a pipe between every pair: a count the open-file limit
    cannot hold was a 'Too many open files' I/O error after starting, and a huge one built
    a list until memory ran out."""
    from gupcheck.cli.search_options import most_workers

    most = most_workers(strategy)
    for n in (most + 1, 10**20):
        result = runner.invoke(app, ["demo", "peterson", "--strategy", strategy,
                                     "--workers", str(n)])
        assert result.exit_code == 2, result.output
        assert f"at most {most} worker processes" in result.output


@pytest.mark.parametrize("text", ["2^49", "2^1100", "2^99999999999", "9" * 40 + "M"])
def test_a_bit_count_beyond_2_to_the_48_is_a_usage_error(text: str) -> None:
    """Refused by its size before any arithmetic on it (2^1100 bits overflowed a float)."""
    result = runner.invoke(app, ["demo", "peterson", "--bitstate", text])
    assert result.exit_code == 2 and "from 64 to 2^48" in result.output, result.output


def test_bad_options_are_usage_errors() -> None:
    assert runner.invoke(app, ["demo", "peterson", "--bitstate", "1000"]).exit_code == 2
    assert runner.invoke(app, ["demo", "peterson", "--bitstate", "lots"]).exit_code == 2
    result = runner.invoke(app, ["demo", "peterson", "--strategy", "dfs", "--bitstate", "2^20"])
    assert result.exit_code == 2
    assert "--bitstate cannot be combined with --strategy dfs" in result.output


@pytest.mark.parametrize("text,bits", [("2^27", 2**27), ("128M", 2**27), ("128Mi", 2**27),
                                       ("1024", 1024), ("1_048_576", 2**20), ("4g", 2**32)])
def test_bit_counts_are_read_as_written(text: str, bits: int) -> None:
    assert parse_bits(text) == bits


def test_workers_give_the_one_process_answer_on_the_command_line() -> None:
    code1, one = _json(["demo", "lost-update-3x2"])
    code2, two = _json(["demo", "lost-update-3x2", "--workers", "2"])
    assert code1 == code2 == 1
    assert [s["label"] for s in two["trace"]] == [s["label"] for s in one["trace"]]
    assert "parallel: 2 worker processes" in two["notes"]
    code, held = _json(["check", "dio-vs-reclaim", "--design", "linux-6.12", "--property",
                        "dirty-has-backing", "--workers", "2"])
    assert (code, held["verdict"]) == (0, "holds")
    assert runner.invoke(app, ["demo", "peterson", "--workers", "2", "--bitstate",
                               "2^20"]).exit_code == 2


def test_check_and_demo_declare_the_same_search_options_in_the_same_order() -> None:
    import typer.main

    from gupcheck.cli.search_options import SearchOptions

    cmd = typer.main.get_command(app)
    names = ["checkpoint", "checkpoint_every", "resume", "bitstate", "workers", "ray", "reduce"]
    seen = []
    for sub in ("demo", "check"):
        params = {p.name: p for p in cmd.commands[sub].params}
        assert [n for n in params if n in names] == names
        assert list(params)[-len(names):] == names  # last, as before, in --help too
        seen.append([(params[n].opts, params[n].help, params[n].default) for n in names])
    assert seen[0] == seen[1]
    assert [d for _, _, d in seen[0]] == [getattr(SearchOptions(), n) for n in names]


@pytest.mark.parametrize("command", [["demo", "lost-update-3x2"],
                                     ["check", "dio-vs-reclaim", "--design", "linux-6.1"]])
def test_max_memory_stops_with_exit_3_and_frontier_memory_changes_no_answer(command) -> None:
    code, stopped = _json(command + ["--max-memory", "1"])  # below any Python process
    assert (code, stopped["verdict"], stopped["bound"].split(" ")[0]) == (3, "incomplete",
                                                                        "max-memory")
    code, live = _json(command)
    code0, packed = _json(command + ["--frontier-memory", "0"])
    assert code0 == code
    for key in ("verdict", "property", "states", "transitions", "depth"):
        assert packed[key] == live[key], key


def test_frontier_memory_0_encodes_every_block_and_says_so() -> None:
    code, packed = _json(["demo", "lost-update-3x2", "--frontier-memory", "0"])
    assert code == 1  # lost update is violated
    assert any(n.startswith("frontier: 11 of 11 blocks") for n in packed["notes"])


def test_check_and_demo_declare_the_same_memory_options() -> None:
    import typer.main

    cmd = typer.main.get_command(app)
    seen = [[(p.opts, p.help, p.default) for p in cmd.commands[sub].params
             if p.name in ("max_memory", "frontier_memory")] for sub in ("demo", "check")]
    assert len(seen[0]) == 2 and seen[0] == seen[1]


# --- a damaged or crafted checkpoint: exit 7 in one line, never a traceback ------------------

_SEED_CKPT: dict[str, bytes] = {}


def _real_checkpoint(tmp: Path) -> bytes:
    """A real checkpoint of a small demo, written once per test session."""
    if "peterson" not in _SEED_CKPT:
        path = tmp / "seed.ckpt"
        result = runner.invoke(app, ["demo", "peterson", "--checkpoint", str(path),
                                     "--max-states", "6"])
        assert result.exit_code == 3, result.output
        _SEED_CKPT["peterson"] = path.read_bytes()
    return _SEED_CKPT["peterson"]


def _resume(tmp: Path, data: bytes):
    path = tmp / "fuzz.ckpt"
    path.write_bytes(data)
    return runner.invoke(app, ["demo", "peterson", "--resume", str(path)])


def _assert_clean(result, *, refused: bool) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert "Traceback" not in result.output
    if refused:
        assert result.exit_code == 7, result.output
    if result.exit_code == 7:
        assert result.output.startswith("gupcheck: ")
        assert result.output.strip().count("\n") == 0, result.output


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_random_bytes_as_a_checkpoint_are_refused(tmp_path, data: bytes) -> None:
    _assert_clean(_resume(tmp_path, data), refused=True)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0, 1, exclude_max=True))
def test_a_truncated_checkpoint_is_refused(tmp_path, cut: float) -> None:
    real = _real_checkpoint(tmp_path)
    _assert_clean(_resume(tmp_path, real[:int(cut * len(real))]), refused=True)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 7)),
                      min_size=1, max_size=4),
       rechecksum=st.booleans())
def test_bit_flips_in_a_checkpoint_are_refused_or_harmless(tmp_path, flips, rechecksum) -> None:
    """Flipped bits are caught by the checksum; with the checksum recomputed (a crafted
    file) the schema and the consistency checks refuse what does not fit, and what does fit
    (a flipped counter) resumes — never a traceback."""
    import xxhash

    from gupcheck.engine.checkpoint import MAGIC
    real = bytearray(_real_checkpoint(tmp_path))
    start = len(MAGIC) + 8 if rechecksum else 0
    for where, bit in flips:
        real[start + int(where * (len(real) - start))] ^= 1 << bit
    if rechecksum:
        body = bytes(real[len(MAGIC) + 8:])
        real[:len(MAGIC) + 8] = MAGIC + xxhash.xxh3_64_digest(body)
    changed = bytes(real) != _real_checkpoint(tmp_path)
    _assert_clean(_resume(tmp_path, bytes(real)), refused=changed and not rechecksum)


@pytest.mark.parametrize("args,message", [
    (["demo", "peterson", "--walks", "5"], "--walks cannot be combined with --strategy bfs"),
    (["demo", "peterson", "--strategy", "dfs", "--seed", "3"],
     "--seed cannot be combined with --strategy dfs"),
    (["demo", "peterson", "--workers", "2", "--exact"],
     "--workers 2 cannot be combined with --exact"),
    (["demo", "peterson", "--bitstate", "2^20", "--exact"],
     "--bitstate cannot be combined with --exact"),
    (["demo", "peterson", "--strategy", "random", "--reduce", "view"],
     "--reduce cannot be combined with --strategy random"),
    (["check", "dio-vs-reclaim", "--walks", "5"], "--walks cannot be combined with --strategy bfs"),
    (["check", "dio-vs-reclaim", "--resume", "x", "--workers", "2"],
     "--workers 2 cannot be combined with --resume"),
    (["check", "dio-vs-reclaim", "--reduce", "por-check", "--workers", "2"],
     "--reduce por-check cannot be combined with --workers 2"),
])
def test_options_the_engine_cannot_combine_are_one_line_naming_both_flags(
        args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_walks_and_seed_still_drive_the_random_strategies() -> None:
    code, data = _json(["demo", "lost-update", "--strategy", "random", "--walks", "20",
                        "--seed", "1"])
    assert code == 1 and data["verdict"] == "violated"


@pytest.mark.parametrize("name", ["por", "local"])
def test_matrix_refuses_por_in_one_line_rather_than_breaking_its_pool(name: str) -> None:
    """A matrix cell searches on past its first counterexample; partial-order reduction does
    not: the matrix says so before starting (it used to crash its worker pool)."""
    result = runner.invoke(app, ["matrix", "--scenarios", "dio-vs-reclaim", "--reduce", name])
    assert result.exit_code == 2
    assert f"gupcheck check SCENARIO --design DESIGN --reduce {name}" in result.output
    assert "Traceback" not in result.output


def test_check_reduces_a_kernel_scenario_with_por() -> None:
    ok = runner.invoke(app, ["check", "dio-vs-reclaim", "--design", "linux-6.12",
                             "--reduce", "por", "--json"])
    assert ok.exit_code == 1
    out = json.loads(ok.stdout)
    assert out["verdict"] == "violated"
    assert any(n.startswith("reduction por:") and "no effect" not in n for n in out["notes"])


def test_por_over_workers_answers_as_one_process() -> None:
    """``--reduce por --workers 2``: the same verdict, trace and counts of ample sets."""
    one = _json(["demo", "lost-update-3x2", "--reduce", "por"])
    two = _json(["demo", "lost-update-3x2", "--reduce", "por", "--workers", "2"])
    assert one[0] == two[0] == 1
    for field in ("verdict", "property", "trace", "states", "transitions"):
        assert one[1][field] == two[1][field], field
    assert "parallel: 2 worker processes" in two[1]["notes"]
    assert [n for n in one[1]["notes"] if n.startswith("reduction por")] == \
        [n for n in two[1]["notes"] if n.startswith("reduction por")] != []


@pytest.mark.parametrize("value,words", [("nan", "'nan' is not a number of seconds"),
                                         ("-1", "'-1' seconds: give 0 or more"),
                                         ("soon", "'soon' is not a number of seconds")])
@pytest.mark.parametrize("args", [["check", "dio-vs-reclaim", "--max-seconds"],
                                  ["matrix", "--max-seconds"],
                                  ["designs", "search", "--max-seconds"],
                                  ["demo", "peterson", "--checkpoint", "x",
                                   "--checkpoint-every"]])
def test_a_time_that_is_not_a_number_of_seconds_is_a_usage_error(
        args: list[str], value: str, words: str) -> None:
    """Click's range check took ``nan`` for a float and then said it was below 0."""
    result = runner.invoke(app, [*args, value])
    assert result.exit_code == 2, result.output
    assert words in result.stderr


@pytest.mark.parametrize("args", [["check", "dio-vs-reclaim", "--reduce", ""],
                                  ["matrix", "--scenarios", ""], ["matrix", "--designs", ""],
                                  ["demo", "peterson", "--bitstate", ""],
                                  ["demo", "peterson", "--ray", " "],
                                  ["check", "dio-vs-reclaim", "--variant", ""]])
def test_an_empty_value_is_a_usage_error_not_the_default(args: list[str]) -> None:
    """`--reduce ''` searched unreduced and `matrix --scenarios ''` ran the whole matrix
    (found by fuzzing)."""
    res = runner.invoke(app, args)
    assert res.exit_code == exitcodes.USAGE, res.output
    assert "Traceback" not in res.output
