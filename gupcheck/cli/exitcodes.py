"""Exit codes, one per verdict class, so scripts can tell them apart.

0 holds; 1 violated, deadlock or starves (``replay``: the recorded failure is reproduced;
``conform``: a probe disagrees); 2 usage error (unknown names, bad options, a malformed
scenario or trace file); 3 incomplete (a limit was hit, or a simulation found nothing); 4 the
design refuses the application's request (its errno is printed); 5 the model failed; 6
``replay``: the model has changed and the trace no longer shows the recorded verdict; 7 the
``--resume`` checkpoint is unusable; 8 ``conform``: the environment cannot run the probes; 9
the scenario does not apply to the kernel; 10 an input or output file cannot be read or
written (a full disk, say: the message names the file and the errno); 11 a design module
(``--design FILE.py``) failed to import or defines no DESIGN.
``check`` and ``demo`` exit with the code of their verdict (:data:`BY_VERDICT`), 3 also when
Ctrl-C stopped the search ("interrupted", after a final checkpoint if one was asked for).
``matrix`` exits with :func:`matrix_exit`: a violation is one of the results a matrix is
for, not a failure of the run; with ``--variants`` the variants' verdicts count too (a variant
past ``--variant-max-states`` is incomplete).
"""

from collections.abc import Iterable

from gupcheck.engine import Verdict

HOLDS = 0
FAILED = 1  # violated, deadlock, starves
USAGE = 2  # unknown names, bad options, malformed scenario or trace files
INCOMPLETE = 3  # a limit was hit, or a simulation found nothing (no proof)
REFUSED = 4  # the design refused the application's request (kernel scenarios)
MODEL_ERROR = 5  # the model itself raised or returned an unusable state
NOT_REPRODUCED = 6  # replay: the model has changed and the trace no longer shows the failure
CHECKPOINT = 7  # --resume: the checkpoint is unreadable, corrupt, or of another model or search
ENVIRONMENT = 8  # conform: a tool missing, an archive unreachable, a guest silent
NOT_APPLICABLE = 9  # the kernel lacks what the scenario needs (io_uring on 4.20)
IO_ERROR = 10  # reading or writing a file failed (ENOSPC, EACCES, EIO)
DESIGN_MODULE = 11  # --design FILE.py: importing it failed (raised, exited) or no DESIGN

#: every exit code and what it means, for --help (keep in step with the module docstring)
DESCRIPTIONS: dict[int, str] = {
    HOLDS: "holds",
    FAILED: "violated/deadlock/starves (replay: reproduced)",
    USAGE: "usage error or malformed input file",
    INCOMPLETE: "incomplete (a limit was hit)",
    REFUSED: "the design refuses the request",
    MODEL_ERROR: "the model failed",
    NOT_REPRODUCED: "replay: not reproduced",
    CHECKPOINT: "unusable checkpoint",
    ENVIRONMENT: "conform: the environment cannot run the probes",
    NOT_APPLICABLE: "the scenario does not apply to the kernel",
    IO_ERROR: "a file cannot be read or written",
    DESIGN_MODULE: "a design module failed to import",
}


def summary() -> str:
    """``0 holds, 1 violated/..., ...``: every exit code in one line of text."""
    return ", ".join(f"{code} {text}" for code, text in DESCRIPTIONS.items())


BY_VERDICT = {
    Verdict.HOLDS: HOLDS,
    Verdict.VIOLATED: FAILED,
    Verdict.DEADLOCK: FAILED,
    Verdict.STARVES: FAILED,
    Verdict.INCOMPLETE: INCOMPLETE,
    Verdict.ERROR: MODEL_ERROR,
}


def matrix_exit(verdicts: Iterable[str]) -> int:
    """``matrix``: 0 if every cell is complete (holds, violated, deadlock, starves, refused,
    n/a), else 5 if some cell's model failed (error), else 3 (some cell incomplete — a limit
    was hit — or not run because of Ctrl-C)."""
    seen = set(verdicts)
    if Verdict.ERROR.value in seen:
        return MODEL_ERROR
    if seen & {Verdict.INCOMPLETE.value, "not run"}:
        return INCOMPLETE
    return HOLDS
