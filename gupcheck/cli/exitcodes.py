"""Exit codes, one per verdict class, so scripts can tell them apart."""

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

#: every exit code and what it means, in the words of ``gupcheck --help`` (generated from this
#: dict, so a new code is documented by adding it here)
DESCRIPTIONS: dict[int, str] = {
    HOLDS: "holds",
    FAILED: "violated/deadlock/starves",
    USAGE: "usage error",
    INCOMPLETE: "incomplete (a limit was hit)",
    REFUSED: "the design refuses the request",
    MODEL_ERROR: "the model failed",
    NOT_REPRODUCED: "replay: the failure is no longer reproduced",
    CHECKPOINT: "the --resume checkpoint is unusable",
    NOT_APPLICABLE: "the scenario does not apply to that kernel",
}


def summary() -> str:
    """``"Exit codes: 0 holds, 1 ..., 9 ..."``: the help text's sentence, from DESCRIPTIONS."""
    return "Exit codes: " + ", ".join(f"{c} {d}" for c, d in sorted(DESCRIPTIONS.items())) + "."


BY_VERDICT = {
    Verdict.HOLDS: HOLDS,
    Verdict.VIOLATED: FAILED,
    Verdict.DEADLOCK: FAILED,
    Verdict.STARVES: FAILED,
    Verdict.INCOMPLETE: INCOMPLETE,
    Verdict.ERROR: MODEL_ERROR,
}
