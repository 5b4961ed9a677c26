"""Trace files (``check --trace-out``, ``check --json``) as ``replay`` reads them: typed, checked.

A trace file is data: it is decoded against :class:`TraceFile` (msgspec, JSON only), so a field
of the wrong type, an unknown verdict or property, or a trace that is not a list of steps is a
one-line error naming the field, never a traceback.  It names its scenario and design but never
causes code to run: a design module is imported only from ``--design`` on the command line.
"""

from __future__ import annotations

import errno
import hashlib
from pathlib import Path

import msgspec

from gupcheck.engine.replay import DEADLOCK, WAIT_FOR_CYCLE
from gupcheck.engine.userfile import open_regular
from gupcheck.kernel.properties import LIVENESS, PROPERTIES
from gupcheck.kernel.system import Scenario
from gupcheck.scenarios import ScenarioError, parse
from gupcheck.scenarios.loader import MAX_BYTES as MAX_SCENARIO_BYTES
from gupcheck.scenarios.loader import decode_text

from . import exitcodes

#: the recorded verdicts replay can reproduce, and the exit code of each when it does
REPLAYABLE = {"violated": exitcodes.FAILED, "deadlock": exitcodes.FAILED,
              "starves": exitcodes.FAILED, "error": exitcodes.MODEL_ERROR,
              "refused": exitcodes.REFUSED, "n/a": exitcodes.NOT_APPLICABLE}
#: the largest trace file replay reads (a trace of thousands of steps is a few MiB)
MAX_BYTES = 256 * 2**20
#: verdicts that come without a trace
NO_TRACE = ("holds", "incomplete")


class TraceStep(msgspec.Struct):
    label: str | None = None


class TraceFile(msgspec.Struct):
    """The fields of a trace file replay uses (the others, such as the counts, are ignored)."""

    scenario: str
    design: str
    verdict: str
    trace: list[TraceStep] | None
    property: str | None = None
    properties: list[str] | None = None
    errno: str | None = None
    why: str | None = None  # "n/a": what the kernel lacks
    message: str = ""
    init_index: int | None = None
    loop_start: int | None = None
    stutters: bool | None = None
    gupcheck_version: str = "?"
    scenario_file: str | None = None  # a user's scenario: the file it was read from ...
    scenario_sha256: str | None = None  # ... and the sha256 of its content then
    design_file: str | None = None  # a design module given with --design


def labels_of(tf: TraceFile) -> list[str]:
    """The trace's step labels, after its initial state."""
    return [step.label for step in (tf.trace or [])[1:] if step.label is not None]


class TraceFileError(Exception):
    """A trace file that cannot be replayed; ``code`` is the exit code to leave with."""

    def __init__(self, message: str, code: int = exitcodes.USAGE) -> None:
        super().__init__(message)
        self.code = code


def load_trace(path: Path) -> TraceFile:
    """The trace in ``path``, checked for what replay needs; else :class:`TraceFileError`."""
    try:
        with open_regular(path) as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        # a file that is there but fails to read is an I/O error; a wrong path (none, a
        # folder, a device: EINVAL from open_regular) is the user's
        io = path.exists() and not path.is_dir() and exc.errno != errno.EINVAL
        raise TraceFileError(f"{path}: cannot read it ({exc.strerror or exc})",
                             exitcodes.IO_ERROR if io else exitcodes.USAGE) from None
    if len(data) > MAX_BYTES:
        raise TraceFileError(f"{path}: larger than {MAX_BYTES // 2**20} MiB: not a gupcheck trace")
    try:
        tf = msgspec.json.decode(data, type=TraceFile)
    except msgspec.ValidationError as exc:
        raise TraceFileError(f"{path}: not a gupcheck trace: {exc}") from None
    except msgspec.DecodeError as exc:
        raise TraceFileError(f"{path}: not a gupcheck trace (not JSON: {exc})") from None
    except RecursionError:
        raise TraceFileError(f"{path}: not a gupcheck trace (JSON nested too deeply)") from None
    _check(tf, path)
    return tf


def _check(tf: TraceFile, path: Path) -> None:
    def bad(message: str) -> TraceFileError:
        return TraceFileError(f"{path}: {message}")

    if tf.verdict in NO_TRACE:
        raise bad(f"the result ({tf.verdict}) has no trace to replay")
    if tf.verdict not in REPLAYABLE:
        raise bad(f"unknown verdict {tf.verdict!r}; a trace records one of: "
                  f"{', '.join(REPLAYABLE)}")
    if not tf.trace or tf.trace[0].label is not None or \
            any(step.label is None for step in tf.trace[1:]):
        raise bad("`trace` must list the initial state (label null) and then each step's label")
    if tf.init_index is not None and tf.init_index < 0:
        raise bad(f"init_index: expected 0 or more, got {tf.init_index}")
    for i, name in enumerate(tf.properties or ()):
        if name not in PROPERTIES:
            raise bad(f"properties[{i}]: unknown property {name!r}")
    if tf.properties == []:
        raise bad("properties: an empty list checks nothing")
    kinds = {"violated": set(PROPERTIES) - LIVENESS, "deadlock": {DEADLOCK, WAIT_FOR_CYCLE},
             "starves": set(LIVENESS)}
    # a liveness property is instantiated per thread: "writeback-progress (CPU0 app)"
    base = tf.property.split(" (")[0] if tf.verdict == "starves" and tf.property else tf.property
    if tf.verdict in kinds and base not in kinds[tf.verdict]:
        raise bad(f"property: a {tf.verdict!r} trace names one of "
                  f"{', '.join(sorted(kinds[tf.verdict]))}, not {tf.property!r}")
    if tf.verdict == "starves" and tf.loop_start is None:
        raise bad("loop_start: a 'starves' trace is a lasso and records where its loop starts")
    if tf.verdict == "refused" and not tf.errno:
        raise bad("errno: a 'refused' trace records the errno of the refusal")
    if tf.verdict == "n/a" and not tf.why:
        raise bad("why: an 'n/a' trace records what the kernel lacks")
    if tf.verdict == "error" and not tf.message:
        raise bad("message: an 'error' trace records how the model failed")
    if (tf.scenario_file is None) != (tf.scenario_sha256 is None):
        raise bad("scenario_file and scenario_sha256 go together")


def recorded_scenario(tf: TraceFile, path: Path) -> Scenario | None:
    """The scenario of the file the trace was found in, checked to be unchanged (the bytes
    hashed are the bytes parsed); None for a shipped scenario (or a trace written before files
    were recorded).  A scenario file is data: reading it runs nothing."""
    if tf.scenario_file is None:
        return None
    src = Path(tf.scenario_file)
    try:
        with open_regular(src) as f:
            data = f.read(MAX_SCENARIO_BYTES + 1)
    except OSError as exc:
        raise TraceFileError(f"{path}: the scenario file it was found in, {src}, cannot be "
                             f"read ({exc.strerror or exc}); restore it to replay") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != tf.scenario_sha256:
        raise TraceFileError(f"{path}: the scenario file {src} has changed since the trace was "
                             f"written (sha256 {digest[:12]}…, the trace recorded "
                             f"{str(tf.scenario_sha256)[:12]}…); the trace replays only on the "
                             "scenario it was found in")
    try:
        return parse(decode_text(data, str(src)), str(src))
    except ScenarioError as err:  # unchanged, but no longer valid for this gupcheck
        raise TraceFileError(str(err)) from None
