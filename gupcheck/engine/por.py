"""Partial-order reduction: where it is safe, expand only one actor's steps (an *ample set*).

Steps of different actors that touch disjoint objects reach the same state in either order, so
a search need not try both orders.  At each state the breadth-first search asks
:meth:`PartialOrder.ample` for a subset of the enabled steps; the others are left for later
states, where they are still enabled.

Footprints.  A model that wants the reduction declares, on each :class:`~.model.Label`, the
*shared objects* the step reads (its guard included) and writes, and, through
``Model.footprints(state)``, for every actor the objects any step it may take from ``state`` on
reads and writes.  Each actor's own local state (its program counter, its registers) is
implicit: no other actor touches it.  A property reads the objects in ``Invariant.reads``;
``None`` there means it reads everything, which switches the reduction off.  Two contract
points the checker relies on:

* a step's ``reads`` also cover the guards of the actor's *other* steps at the same place, so
  that no other actor can enable a step of this one behind the reduction's back;
* a property that reads part of an actor's local state names it (``"P0.done"``) and the steps
  that change it list it in ``writes``.

``reduce=("por-check",)`` verifies the declarations while it searches (slow; for writing a
model): each enabled step lies within its actor's declared future footprint, each ample step
changes only its own actor's fields and declared objects (``Model.fields``), and each ample
step commutes with every other actor's enabled step at that state, up to the search's own
equivalence (its view and symmetry: what it stores is what must agree).

The conditions (Clarke, Grumberg, Kroening, Peled, Veith, *Model Checking*, 2nd ed., ch. 12;
Peled 1993), as checked here for an actor ``A`` whose enabled steps form the candidate set:

* C0 — the set is non-empty, so a state keeps a successor iff it had one;
* C1 — every step in it is independent of every step any *other* actor may take from here on
  (no write of one meets a read or write of the other, except on objects the model calls
  ``unobserved``: values no property and no guard reads, which the view leaves out, so both
  orders reach states equal up to it), and by the contract above no other actor can enable
  or disable one of ``A``'s steps;
* C2 — invisible: no step in it writes an object a checked property reads, and no property
  reads ``A``'s local state;
* C3 — the cycle proviso for breadth-first search: if a successor in the set is not later than
  the state itself in the search's expansion order — a shallower state, or one of the state's
  own level at an index up to its own (itself included) — the state is expanded fully.  The
  expansion order (depth, index in the level) cannot grow all the way round a cycle, so every
  cycle of the reduced graph has an edge to a state no later than its source, that state was
  stored when the source was expanded, and the source is expanded fully.  This refines the
  depth-based proviso of Bošnački and Holzmann ("Improving SPIN's partial-order reduction for
  breadth-first search", SPIN 2005), which also counts the states of the current level not yet
  expanded (on lost update, whose local steps never form a cycle, both store the same states).
  Successors found earlier in the same level are one level deeper and do not count.

Local steps taken at once.  Where a state's successor ``t`` has a unit whose only enabled
step ``l`` is invisible and independent of everything every other unit may still do, ``{l}``
is an ample set of ``t`` (C0-C2), and a search that stored ``t`` would expand only ``l`` there.
The search takes ``l`` at once instead and stores the state it leads to, again and again
while the model offers such a step (``Model.local_steps``; at most :data:`MAX_LOCAL_CHAIN` in a
row): Lipton's reduction (R. J. Lipton, "Reduction: a method of proving properties of
parallel programs", CACM 18(12), 1975) of steps that commute with every other unit's, as
SPIN merges a process's local statements into one transition by default (its ``-o3`` turns
statement merging off).  Nothing is lost: ``t`` is not checked, but ``l`` is invisible, so every
invariant reads the same at ``t`` and at the state stored after it; ``t`` is no deadlock (``l``
is enabled) and has the same wait-for cycles (``l`` writes nothing ``waits`` reads); every other
unit's step enabled at ``t`` is still enabled after ``l`` and reaches the same states with
``l`` taken before it instead of after.  A chain ends (its last state is stored) where no
unit offers such a step, so C3 is met by the stored states as before: the proviso looks at
the states a chain ends in.  A trace shows every step of a chain; the chain is a function of
the state it starts from, so traces replay it.

The reduction keeps every invariant's verdict and every deadlock (terminal states are kept by
C0 and C1) but not the shortest-trace length: :func:`~.checker.check` re-shortens each
counterexample with an unreduced search bounded by its depth before showing it.  A model that
reports ``waits`` is searched unreduced: a wait-for cycle is a property of the whole state.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import partial
from typing import Any

from .diff import changes
from .errors import ModelError
from .model import Invariant, Label, overrides

Footprint = tuple[frozenset[str], frozenset[str]]  # (reads, writes)
#: the longest chain of local steps taken at once (a model whose local steps cycle would
#: otherwise never end one); the state a cut chain reaches is stored like any other
MAX_LOCAL_CHAIN = 64

def no_effect(name: str) -> str:
    """The note's prefix when the search ran unreduced (``name``: ``por`` or ``local``)."""
    return f"reduction {name}: no effect"


NO_EFFECT = (no_effect("por"), no_effect("local"))
Pair = tuple[Label, Any]
#: an ample set :meth:`PartialOrder.candidates` offers: indices into the successors, and
#: whether its steps touch a shared object
Option = tuple[list[int], bool]


class PartialOrder:
    """Chooses ample sets for one search; counts how often it could.  ``ample_sets=False``
    (the ``local`` reduction): only local steps taken at once, which need no cycle proviso,
    so that any breadth-first search, over workers too, can take them."""

    def __init__(self, model: Any, invariants: Sequence[Invariant[Any]], *, has_waits: bool,
                 key: Callable[[Any], Any], stored: Callable[[Any], bool], check: bool,
                 inits: Callable[[], Sequence[Any]] = list, ample_sets: bool = True) -> None:
        self.model = model
        self.ample_sets = ample_sets
        self.inits = inits  # the search's initial states (for shared_objects)
        self._shared: frozenset[str] | None = None
        self.key = key
        self.stored = stored  # the visited set's membership test
        self.deeper: dict[Any, int] = {}  # keys stored during the current level -> index there
        self.current: dict[Any, int] = {}  # the current level's keys -> index in it
        self.position = 0  # the index in its level of the state being expanded (set by the search)
        self.check = check
        self.reduced = 0  # states expanded with an ample set
        self.full = 0  # states with steps of several actors expanded fully
        self.why_off: str | None = None
        if not overrides(model, "footprints"):
            self.why_off = "the model declares no footprints()"
        elif has_waits and getattr(model, "waits_reads", None) is None:
            self.why_off = "the model reports waits, a property of the whole state"
        elif any(inv.reads is None for inv in invariants):
            names = [inv.name for inv in invariants if inv.reads is None]
            self.why_off = f"property {', '.join(names)} declares no reads"
        elif not ample_sets and not overrides(model, "local_steps"):
            self.why_off = "the model offers no local_steps()"
        self.visible: frozenset[str] = frozenset().union(
            *(inv.reads for inv in invariants if inv.reads is not None),
            getattr(model, "waits_reads", None) or ())
        # objects whose meeting is no dependence (Model.unobserved)
        self._unobserved: Callable[[frozenset[str]], bool] = (
            (lambda objs: all(map(model.unobserved, objs)))
            if overrides(model, "unobserved") else (lambda objs: False))
        #: the model offers local steps to take at once (:meth:`local_chain`)
        self.local = self.why_off is None and overrides(model, "local_steps")
        self.at_once = 0  # local steps taken at once
        self.local_labels: list[Label] = []  # their labels, for the search's coverage

    def new_level(self, keys: Iterable[Any] = (), current: Iterable[Any] | None = None,
                  first: int = 0) -> None:
        """A level begins; ``keys``: those of its next frontier so far (a resumed search);
        ``current``: the keys of the level itself from index ``first`` on, in order (default:
        the previous level's next frontier; a search that does not say treats the level's
        states as expanded, as it treats those before ``first``: all are stored, and
        :meth:`_older` counts a stored state outside the two levels as older)."""
        self.current = self.deeper if current is None else _indexed(current, first)
        self.deeper = _indexed(keys)

    def discovered(self, keys: Iterable[Any]) -> None:
        """Keys appended, in this order, to the next frontier."""
        deeper = self.deeper
        for k in keys:
            deeper[k] = len(deeper)

    def _older(self, key: Any) -> bool:
        """Stored, and not later than the state being expanded in expansion order: the C3
        proviso's "already visited" (see the module docstring)."""
        if key in self.deeper:
            return False
        at = self.current.get(key)
        if at is not None:
            return at <= self.position
        return self.stored(key)

    def shared_objects(self) -> frozenset[str]:
        """The objects two or more actors' footprints name in an initial state: the model's
        shared variables, as opposed to an actor's private flags.

        Where several actors' steps qualify as an ample set, one whose steps touch none of
        these is taken first, as SPIN does: only its "safe" statements, those with no global
        reference (pangen's ``mark_safety``), form its ample sets, where gupcheck also takes
        steps on a shared object that no other actor will write.  Such a step, a read of a
        counter others read too, commutes with their reads, but taking it first makes the
        search interleave theirs around it again later.  With this order gupcheck stores
        exactly SPIN's states on lost update (289 at 3x1, 290,216 at 4x2, against 290 and
        290,928 taking the first qualifying actor), though 3-7 % more with two processes,
        where that order did better (tests/engine/test_por.py).  Fixed by the initial states,
        so a resumed search chooses as the uninterrupted one."""
        if self._shared is None:
            named: Counter[str] = Counter()
            for state in self.inits():
                for reads, writes in self.model.footprints(state).values():
                    named.update(reads | writes)
            self._shared = frozenset(o for o, n in named.items() if n > 1)
        return self._shared

    @property
    def on(self) -> bool:
        return self.why_off is None

    def note(self) -> str:
        if not self.on:
            return f"{no_effect('por' if self.ample_sets else 'local')}, {self.why_off}"
        at_once = (f"local steps taken at once on the transitions generated (the states between "
                   f"them not stored): {self.at_once:,}")
        if not self.ample_sets:
            return f"reduction local: {at_once}"
        total = self.reduced + self.full
        return (f"reduction por: {self.reduced:,} of {total:,} states with several actors' steps "
                f"expanded with one actor's (ample set); the other {self.full:,} fully"
                + (f"; {at_once}" if self.local else ""))

    def local_chain(self, state: Any, path: Callable[[], list[Any]] | None = None) -> list[Pair]:
        """The local steps taken at once from ``state``, in order (see the module docstring):
        while the model offers a step that is the only one of its unit, invisible and
        independent of every other unit's footprint, take it.  A function of ``state`` alone,
        so that a trace replays the same chain.  ``path``: the path to ``state``, for
        por-check's errors."""
        chain: list[Pair] = []
        model, visible = self.model, self.visible
        for _ in range(MAX_LOCAL_CHAIN):
            feet = None
            for label, nxt in model.local_steps(state):
                unit = label.unit or label.actor
                if not visible.isdisjoint(label.writes) or unit in visible:
                    continue
                feet = feet or model.footprints(state)
                if self._independent(unit, [label], feet):
                    break
            else:
                return chain
            if self.check:
                self._check_local(state, label, nxt,
                                  (lambda: [*path(), *chain]) if path else None)
            chain.append((label, nxt))
            state = nxt
        return chain

    def chained(self, succ: Iterable[Pair], path: Callable[[], list[Any]] | None = None,
                ) -> tuple[list[Pair], list[list[Pair]]]:
        """``succ`` with each state replaced by the end of its :meth:`local_chain`, and the
        chains (for :meth:`took`, once the search knows which successors it keeps).
        ``path``: the path to the state ``succ`` leaves, for por-check's errors."""
        pairs = list(succ)
        if path is None or not self.check:
            chains = [self.local_chain(nxt) for _, nxt in pairs]
        else:
            chains = [self.local_chain(pair[1], partial(_then, path, pair)) for pair in pairs]
        return [(label, chain[-1][1] if chain else nxt)
                for (label, nxt), chain in zip(pairs, chains, strict=True)], chains

    def after_local(self, succ: Iterable[Pair]) -> list[Pair]:
        """:meth:`chained` with every chain taken."""
        pairs, chains = self.chained(succ)
        for chain in chains:
            self.took(chain)
        return pairs

    def took(self, chain: list[Pair]) -> None:
        """A chain the search kept: counted, its labels kept in :attr:`local_labels` for the
        search's coverage."""
        self.at_once += len(chain)
        self.local_labels.extend(label for label, _ in chain)

    def ample(self, state: Any, succ: list[Pair], path: Callable[[], Any] | None = None,
              ends: list[Pair] | None = None) -> list[int] | None:
        """Indices into ``succ`` of an ample set, or ``None`` to expand ``state`` fully.

        ``ends``: ``succ`` after their local steps (:meth:`chained`), the states the search
        stores and so the ones the cycle proviso looks up; por-check checks ``succ``, the
        steps themselves."""
        ends = succ if ends is None else ends
        options = self.candidates(state, succ, path)
        if options is None:
            return None
        return self.choose(state, succ, options,
                           lambda i: self._older(self.key(ends[i][1])), path)

    def candidates(self, state: Any, succ: list[Pair], path: Callable[[], Any] | None = None,
                   ) -> Iterator[Option] | None:
        """The ample sets C0-C2 allow at ``state``, in the order :meth:`choose` tries them,
        each with whether its steps touch a shared object (:meth:`shared_objects`); ``None``
        where fewer than two units have steps (nothing to reduce, nothing counted).

        Lazy, so that one process stops at the first set the proviso lets through; a search
        over workers lists them all and asks the visited sets' owners the proviso's questions
        before :meth:`choose` (:mod:`.parallel`)."""
        groups: dict[str, list[int]] = {}
        shown: set[str] = set()  # C2 first: it needs no footprints, and most sets fail it
        visible = self.visible
        for i, (label, _) in enumerate(succ):  # one pass, no generator per actor
            unit = label.unit or label.actor
            idx = groups.get(unit)
            if idx is None:
                groups[unit] = [i]
            else:
                idx.append(i)
            if not visible.isdisjoint(label.writes):
                shown.add(unit)
        if len(groups) < 2:
            return None
        hidden = [(actor, idx) for actor, idx in groups.items()
                  if actor not in shown and actor not in visible]
        if not hidden and not self.check:
            return iter(())
        feet: Mapping[str, Footprint] = self.model.footprints(state)
        if self.check:
            self._check_feet(succ, feet, path)
        shared = self.shared_objects()
        return ((idx, bool(shared) and any(not (shared.isdisjoint(succ[i][0].reads)
                                                and shared.isdisjoint(succ[i][0].writes))
                                           for i in idx))
                for actor, idx in hidden
                if self._independent(actor, [succ[i][0] for i in idx], feet))

    def choose(self, state: Any, succ: list[Pair], options: Iterable[Option],
               older: Callable[[int], bool], path: Callable[[], Any] | None = None,
               ) -> list[int] | None:
        """The first of ``options`` (:meth:`candidates`) whose steps touch no shared object,
        else the first that does, among those C3 lets through: none of whose successors is
        ``older`` (stored no later than ``state``, by index into ``succ``); ``None``: expand
        ``state`` fully.  Counted for the note."""
        chosen = fallback = None
        for idx, touches_shared in options:
            if any(older(i) for i in idx):
                continue
            if touches_shared:
                fallback = fallback or idx  # private steps first (shared_objects)
                continue
            chosen = idx
            break
        chosen = chosen or fallback
        if chosen is None:
            self.full += 1
            return None
        if self.check:
            label = succ[chosen[0]][0]
            self._check_commute(state, succ, label.unit or label.actor, chosen, path)
        self.reduced += 1
        return chosen

    def _independent(self, actor: str, labels: list[Label],
                     feet: Mapping[str, Footprint]) -> bool:
        """C1 for ``actor``'s enabled steps (see the module docstring)."""
        if actor not in feet:
            return False
        for other, (reads, writes) in feet.items():
            if other == actor:
                continue
            for lab in labels:
                met = (lab.writes & (reads | writes)) | (lab.reads & writes)
                if met and not self._unobserved(met):
                    return False
        return True

    # --- por-check: the declarations against what the model does ---------------------------------

    def _check_feet(self, succ: list[Pair], feet: Mapping[str, Footprint],
                    path: Callable[[], Any] | None) -> None:
        for label, _ in succ:
            unit = label.unit or label.actor
            if unit not in feet:
                raise ModelError(f"por-check: footprints() has no entry for {unit}, "
                                 f"which can take {label}", path() if path else None)
            reads, writes = feet[unit]
            extra = (label.reads - reads) | (label.writes - writes)
            if extra:
                raise ModelError(f"por-check: {label} touches {sorted(extra)}, outside "
                                 f"{unit}'s declared footprint", path() if path else None)

    def _check_local(self, state: Any, label: Label, nxt: Any,
                     path: Callable[[], Any] | None) -> None:
        """A local step is the only step of its unit in ``state``, as ``successors()`` gives
        it, and an ample set there (:meth:`_check_commute`)."""
        unit = label.unit or label.actor
        succ = list(self.model.successors(state))
        own = [i for i, (lab, _) in enumerate(succ) if (lab.unit or lab.actor) == unit]
        if len(own) != 1 or succ[own[0]][0].text != label.text \
                or self.key(succ[own[0]][1]) != self.key(nxt):
            raise ModelError(f"por-check: local_steps() offers {label}, but {unit}'s steps "
                             f"here are {[succ[i][0].text for i in own]}",
                             path() if path else None)
        self._check_commute(state, succ, unit, own, path)

    def _check_commute(self, state: Any, succ: list[Pair], actor: str, idx: list[int],
                       path: Callable[[], Any] | None) -> None:
        model = self.model
        before = model.fields(state)
        nth = _nth(succ)
        for i in idx:
            label, after = succ[i]
            for name, _, _ in changes(before, model.fields(after)):
                if not _covered(name, actor, label.writes):
                    raise ModelError(f"por-check: {label} changes {name}, which is neither "
                                     f"{actor}'s own nor in its declared writes "
                                     f"{sorted(label.writes)}", path() if path else None)
            for j, (other, other_after) in enumerate(succ):
                if j in idx:
                    continue
                one = _step(model, after, other, nth[j])
                two = _step(model, other_after, label, nth[i])
                if one is None or two is None or self.key(one) != self.key(two):
                    raise ModelError(
                        f"por-check: {label} and {other} do not commute here although their "
                        f"footprints are independent: a read or write is undeclared",
                        path() if path else None)


def _then(path: Callable[[], list[Any]], pair: Pair) -> list[Any]:
    """``path()`` and one more step."""
    return [*path(), pair]


def _indexed(keys: Iterable[Any], first: int = 0) -> dict[Any, int]:
    """Each key's position in ``keys``, counted from ``first`` (the first, if a key repeats)."""
    out: dict[Any, int] = {}
    for k in keys:
        out.setdefault(k, first + len(out))
    return out


def _covered(field: str, actor: str, writes: frozenset[str]) -> bool:
    """Whether a changed field belongs to ``actor`` or to an object it declares it writes."""
    if field == actor or field.startswith(actor + "."):
        return True
    return any(field == o or field.startswith((o + ".", o + "[")) for o in writes)


def _nth(succ: list[Pair]) -> list[int]:
    """Each step's place among its unit's steps in ``succ``."""
    seen: Counter[str] = Counter()
    out = []
    for label, _ in succ:
        unit = label.unit or label.actor
        out.append(seen[unit])
        seen[unit] += 1
    return out


def _step(model: Any, state: Any, label: Label, nth: int) -> Any:
    """Where ``label``'s step leads from ``state``: the step with its text or, as a label may
    quote a data value that the other step changed and the view leaves out (a transfer's
    "(A0)"), the ``nth`` step of its unit (successors come in a fixed order)."""
    unit = label.unit or label.actor
    own = []
    for lab, nxt in model.successors(state):
        if lab.text == label.text:
            return nxt
        if (lab.unit or lab.actor) == unit:
            own.append(nxt)
    return own[nth] if nth < len(own) else None
