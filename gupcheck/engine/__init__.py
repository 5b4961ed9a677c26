"""gupcheck's explicit-state model checker.  It knows nothing about the kernel.

Public API::

    from gupcheck.engine import Model, Label, Invariant, Eventually, LeadsTo, Wait, check
    result = check(MyModel(), strategy="bfs")
"""

from .checker import check
from .checkpoint import CheckpointError
from .errors import ModelError
from .limits import Limits
from .model import Eventually, Invariant, Label, LeadsTo, Model, Wait
from .result import Result, Stats, Step, Trace, Verdict

__all__ = [
    "CheckpointError", "Eventually", "Invariant", "Label", "LeadsTo", "Limits", "Model", "ModelError", "Result",
    "Stats", "Step", "Trace", "Verdict", "Wait", "check",
]
