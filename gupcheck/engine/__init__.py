"""gupcheck's explicit-state model checker.  It knows nothing about the kernel.

Public API::

    from gupcheck.engine import Model, Label, Invariant, Eventually, LeadsTo, Wait, check
    result = check(MyModel(), strategy="bfs")
    result = check(MyModel(), Options(Search("swarm"), walks=Walks(100, seed=7),
                                      parallel=Parallel(workers=2)))
"""

from .checker import check
from .checkpoint import CheckpointError
from .errors import ModelError
from .limits import Limits
from .model import Eventually, Invariant, Label, LeadsTo, Model, Wait
from .options import Bitstate, Options, OptionsError, Parallel, Persistence, Search, Walks
from .result import Result, Stats, Step, Trace, Verdict

__all__ = [
    "Bitstate", "CheckpointError", "Eventually", "Invariant", "Label", "LeadsTo", "Limits", "Model",
    "ModelError", "Options", "OptionsError", "Parallel", "Persistence", "Result", "Search",
    "Stats", "Step", "Trace", "Verdict", "Wait", "Walks", "check",
]
