"""State-space reductions, each switched on by name: ``check(model, reduce=("view", ...))``.

* ``view`` — data independence: states are identified by ``model.view(state)`` instead of the
  whole state.  A model drops there what no *active* property reads (ghost history) and what no
  step reads.  Sound when equal views are bisimilar: the same labels are enabled, their successors
  have equal views again, and every checked property, ``is_end`` and ``waits`` agree.
* ``symmetry`` — ``model.canonical(state)`` maps a state to one representative of its orbit under
  the model's symmetry group (identical processes, a rotation).  Sound when every permutation of
  the group maps transitions to transitions and leaves the properties' verdicts unchanged;
  the initial states need not be symmetric.  With both, the key is ``view(canonical(s))``, or
  the model's ``canonical_view(s)`` where it computes the same partition in one pass.

* ``por`` — partial-order reduction (:mod:`.por`): at a state, only one actor's steps are
  expanded where the labels' footprints show them independent of everything the other actors
  may do and invisible to the checked properties, and a unit's only step of that kind is taken
  as soon as a step leads to it, the state between them not stored (``Model.local_steps``).
  Breadth-first search only, in one process or over workers (whose owners answer the cycle
  proviso's questions, :mod:`.parallel`), with one process's state counts and traces (a run
  over workers that stops at a counterexample or a limit counts the ample sets and local
  steps, like the coverage, of the whole last level the workers expanded).  It keeps verdicts
  but not trace lengths, so a counterexample is re-shortened by an unreduced search bounded by
  its depth (:func:`~.checker.check`).  ``por-check`` is ``por`` verifying the model's
  footprint declarations as it goes (one process: its errors carry the path).

* ``local`` — only the local steps taken at once, without ample sets, which need no cycle
  proviso.  Its counterexamples are re-shortened as ``por``'s.  On kernel scenarios,
  where the disk's transfers are the local steps, it stores what ``por`` stores.

``por`` combines with ``view`` and ``symmetry``: the ample set is chosen at the concrete state
the frontier holds (a real state of the model, so its footprints and C0–C2 are the concrete
graph's), and the cycle proviso C3 asks whether a successor's *key* was stored before the level
began, so it holds on the quotient graph that is actually searched (Emerson, Jha and Peled,
"Combining partial order and symmetry reductions", TACAS 1997).  Every permutation or view
class must then also leave the properties' verdicts unchanged, which ``symmetry`` and ``view``
already require.

Only the *key* of a state changes under ``view`` and ``symmetry``: the frontier still holds the
concrete state first reached, and a breadth-first trace is rebuilt by replaying successor
ordinals from the initial state, so every state of a reported trace is a concrete one.  The
checker nevertheless replays each counterexample on the unreduced model
(:func:`.replay.confirm`): a wrong ``view`` or ``canonical`` shows as an error, not as a
false verdict.

Liveness runs on the unreduced graph: a cycle among views need not be a concrete cycle, and a
permutation renames the actors that fairness is attached to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .model import overrides

REDUCTIONS = ("view", "symmetry", "por", "por-check", "local")


def normalise(reduce: Iterable[str] | str | None) -> frozenset[str]:
    """The set of reduction names; a comma-separated string is accepted (the CLI's form)."""
    if reduce is None:
        return frozenset()
    names = reduce.split(",") if isinstance(reduce, str) else list(reduce)
    out = frozenset(n.strip() for n in names if n.strip())
    unknown = sorted(out - set(REDUCTIONS))
    if unknown:
        raise ValueError(f"unknown reduction(s) {unknown}; choose from {list(REDUCTIONS)}")
    if "por-check" in out:  # por with its declarations verified
        out |= {"por"}
    if "por" in out:  # por takes the local steps too
        out -= {"local"}
    return out


def projection(model: Any, reduce: frozenset[str]) -> Callable[[Any], Any] | None:
    """What a state's visited-set key is computed from, or ``None`` for the state itself.

    With both reductions the view of the canonical representative: a view that commutes with the
    permutations (it drops the same fields in every process) keeps the join of both
    equivalences a bisimulation.
    """
    view = model.view if "view" in reduce and overrides(model, "view") else None
    canon = model.canonical if "symmetry" in reduce and overrides(model, "canonical") else None
    if view is not None and canon is not None:
        if overrides(model, "canonical_view"):
            return model.canonical_view
        return lambda s: view(canon(s))
    return view or canon


def notes(model: Any, reduce: frozenset[str]) -> list[str]:
    """One line per requested reduction: what it did to this model, for the report."""
    out = []
    if "view" in reduce:
        out.append("reduction view: states identified by the model's view (what no checked "
                   "property and no step reads is left out)" if overrides(model, "view") else
                   "reduction view: no effect, the model defines no view()")
    if "symmetry" in reduce:
        out.append("reduction symmetry: states identified up to the model's symmetry "
                   "(canonical())" if overrides(model, "canonical") else
                   "reduction symmetry: no effect, the model declares no symmetry (canonical())")
    return out
