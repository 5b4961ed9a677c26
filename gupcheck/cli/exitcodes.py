"""Exit codes, one per verdict class, so scripts can tell them apart.

``check`` and ``demo`` exit with the code of their verdict (:data:`BY_VERDICT`), 3 also when
Ctrl-C stopped the search ("interrupted", after a final checkpoint if one was asked for).
``matrix`` exits with :func:`matrix_exit`: a violation is one of the results a matrix is
for, not a failure of the run.
"""

from collections.abc import Iterable

from gupcheck.engine import Verdict

HOLDS = 0
FAILED = 1  # violated, deadlock, starves
USAGE = 2  # unknown names, bad options
INCOMPLETE = 3  # a limit was hit, or a simulation found nothing (no proof)
REFUSED = 4  # the design refused the application's request (kernel scenarios)
MODEL_ERROR = 5  # the model itself raised or returned an unusable state
NOT_REPRODUCED = 6  # replay: the model has changed and the trace no longer shows the failure
CHECKPOINT = 7  # --resume: the checkpoint is unreadable, corrupt, or of another model or search
NOT_APPLICABLE = 9  # the kernel lacks what the scenario needs (io_uring on 4.20)

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
