"""Fuzzing what a user hands gupcheck: scenario files and traces.

Random bytes, random TOML, mutations of the shipped scenarios and of a real trace go through
the command line in-process; every run must end with a documented exit code, print no
traceback and raise nothing but SystemExit.  (Checkpoints are fuzzed in tests/engine.)
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from gupcheck.cli import app, exitcodes
from gupcheck.kernel.properties import PROPERTIES
from gupcheck.scenarios import OPS

runner = CliRunner()
DOCUMENTED = set(exitcodes.DESCRIPTIONS)
SHIPPED = sorted((Path(__file__).parents[1] / "gupcheck" / "scenarios").glob("*.toml"))
FUZZ = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

#: a search bound that keeps a valid generated scenario quick
QUICK = ["--max-states", "200", "--design", "linux-6.1"]


def run(args: list[str]) -> Any:
    res = runner.invoke(app, args)
    assert res.exit_code in DOCUMENTED, (args, res.exit_code, res.output)
    assert res.exception is None or isinstance(res.exception, SystemExit), (
        args, repr(res.exception))
    assert "Traceback" not in res.output, res.output
    if res.exit_code == exitcodes.USAGE:  # a bad input is one line
        assert res.output.startswith("gupcheck: ") and res.output.count("\n") == 1, res.output
    return res


def check_file(data: bytes, suffix: str = ".toml") -> Any:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzzed{suffix}"
        path.write_bytes(data)
        run(["list", "--scenario-dir", folder])
        return run(["check", str(path), *QUICK])


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes_as_a_scenario(data: bytes) -> None:
    check_file(data)


names = st.text(alphabet="abcdefgh-0123456789 ", min_size=0, max_size=12)
scalars = st.one_of(st.integers(-3, 10), st.booleans(), names,
                    st.sampled_from(["B1", "A0", "fsdax", "ext4", "shmem", "private", "disk"]))
ops = st.fixed_dictionaries(
    {"op": st.sampled_from([*OPS, "nope"])},
    optional={"page": st.integers(-1, 4), "value": st.sampled_from(["B1", "C2", "x"]),
              "proc": st.integers(-1, 2), "block": st.integers(-1, 2),
              "count": st.integers(0, 3), "repeat": st.integers(0, 9),
              "bogus": scalars})
actors = st.fixed_dictionaries(
    {"name": st.one_of(names, st.sampled_from(["disk", "NIC", "CPU0 app", "flusher"])),
     "program": st.lists(ops, max_size=3)},
    optional={"daemon": st.booleans()})
scenarios = st.fixed_dictionaries(
    {"name": st.one_of(names, st.just("fuzzed")), "description": names,
     "actor": st.lists(actors, max_size=3)},
    optional={"pages": st.integers(0, 5), "filesystem": st.sampled_from(
        ["ext4", "shmem", "cowfs", "fsdax", "xfs"]), "mapping": st.sampled_from(
        ["shared", "private"]), "anon": st.booleans(), "nic_writes": st.integers(-1, 2),
        "free_blocks": st.integers(-1, 9), "file_pages": st.integers(-1, 3),
        "sparse": st.booleans(), "large_folios": st.booleans(),
        "device": st.sampled_from(["plain", "stable-writes", "raid"]),
        "properties": st.lists(st.sampled_from([*PROPERTIES, "nope"]), max_size=2),
        "extra": scalars})


@FUZZ
@given(scenarios)
def test_random_toml_scenarios(doc: dict[str, Any]) -> None:
    check_file(tomli_w.dumps(doc).encode())


@st.composite
def mutated_text(draw: st.DrawFn, texts: list[str]) -> bytes:
    """A text with a few random edits: lines dropped or duplicated, numbers and strings
    replaced, cut short, a byte changed."""
    lines = draw(st.sampled_from(texts)).splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["drop", "dup", "number", "string", "cut", "byte"]))
        if kind == "drop":
            del lines[i]
        elif kind == "dup":
            lines.insert(i, lines[i])
        elif kind == "number":
            lines[i] = "".join(str(draw(st.integers(-2, 99))) if c.isdigit() else c
                               for c in lines[i])
        elif kind == "string" and '"' in lines[i]:
            head, _, tail = lines[i].partition('"')
            _, _, rest = tail.partition('"')
            lines[i] = f'{head}"{draw(st.text(max_size=8))}"{rest}'
        elif kind == "cut":
            lines[i] = lines[i][:draw(st.integers(0, len(lines[i])))]
        elif kind == "byte" and lines[i]:
            j = draw(st.integers(0, len(lines[i]) - 1))
            lines[i] = lines[i][:j] + chr(draw(st.integers(0, 255))) + lines[i][j + 1:]
    return "".join(lines).encode("utf-8", "surrogatepass")


SHIPPED_TEXTS = [p.read_text(encoding="utf-8") for p in SHIPPED]


@FUZZ
@given(mutated_text(SHIPPED_TEXTS))
def test_mutated_shipped_scenarios(data: bytes) -> None:
    check_file(data)


@pytest.fixture(scope="module")
def real_trace() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "t.json"
        run(["check", "dio-read-into-mmap", "--design", "linux-6.1", "--trace-out", str(out)])
        return json.loads(out.read_text())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2, 40) | st.text(max_size=10) |
    st.sampled_from(["deadlock", "violated", "refused", "starves", "error", "n/a", "holds",
                     "mkwrite-before-dirty", "linux-6.12", "dio-vs-reclaim", "x.py"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=6)


@settings(FUZZ, max_examples=40)
@given(st.data())
def test_mutated_traces(real_trace: dict[str, Any], data: st.DataObject) -> None:
    doc = json.loads(json.dumps(real_trace))
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        target: Any = doc
        # walk down into the trace's steps now and then
        steps = doc.get("trace")
        if data.draw(st.booleans(), label="into the steps") and isinstance(steps, list) \
                and steps:
            target = data.draw(st.sampled_from(doc["trace"]), label="step")
        if not isinstance(target, dict) or not target:
            break
        key = data.draw(st.sampled_from(sorted(target)), label="key")
        if data.draw(st.booleans(), label="delete"):
            del target[key]
        else:
            target[key] = data.draw(json_values, label="value")
    text = json.dumps(doc)
    if data.draw(st.integers(0, 9), label="cut") == 0:
        text = text[:data.draw(st.integers(0, len(text)), label="at")]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.json"
        path.write_text(text)
        run(["replay", str(path)])
