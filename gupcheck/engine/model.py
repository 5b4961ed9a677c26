"""What a model gives the checker: states, labelled transitions, properties, ends and waits.

The engine knows nothing about what a state *means*.  A model is any object with the methods of
:class:`Model`; the classic models in :mod:`gupcheck.classic` and the kernel scenarios are all
written against this one interface (the shape follows Stateright's ``Model`` trait:
``init_states``, ``actions``/``next_state``, ``properties``).

Rules a model must keep, because the checker's answers depend on them:

* States are immutable, hashable values (frozen dataclasses with slots, tuples, ints, strings,
  frozensets).  Their canonical serialisation (see :mod:`.fingerprint`) is what is stored.
* ``successors`` is deterministic: the same state yields the same labelled successors in the same
  order, every run, in every process.  Traces are stored as "the i-th successor of the parent" and
  rebuilt by replaying, as Stateright's ``Path::from_fingerprints`` does.
* Each label names the actor, the step and any nondeterministic choice, so that the labels leaving
  one state are distinct and a list of labels replays a trace unambiguously.
* An actor with nothing to do is *disabled*: it yields no transition.  A no-op self-loop would make
  every state non-terminal and every liveness check fail on a trivial stuttering lasso.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

S = TypeVar("S", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Label:
    """One transition's name: who moved, which step, which choice.

    ``reads``/``writes`` name the shared objects the step reads (guards included) and writes; they
    are the footprints partial-order reduction needs (:mod:`.por`), which also lists what they
    must cover.
    ``fair`` declares the step *weakly fair*: if it stays continuously enabled it is eventually
    taken (kernel threads, I/O completion).  Fairness belongs to the action ``key`` (actor and
    step, not the choice), as ``WF_vars(A)`` does in TLA+.
    ``unit``: for partial-order reduction only, the part of the actor the step belongs to when
    an actor runs independent parts (a disk transferring several bios); its local state is the
    unit's own, and ``Model.footprints`` is keyed by it.  ``""``: the actor itself.
    """

    actor: str
    action: str
    choice: tuple[Any, ...] = ()
    reads: frozenset[str] = frozenset()
    writes: frozenset[str] = frozenset()
    fair: bool = False
    unit: str = field(default="", compare=False)
    key: str = field(init=False, compare=False, repr=False)  # "actor: action"; fairness/coverage
    text: str = field(init=False, compare=False, repr=False)  # unique replay label

    def __post_init__(self) -> None:
        key = f"{self.actor}: {self.action}"
        object.__setattr__(self, "key", key)
        if self.choice:
            key += "(" + ", ".join(str(c) for c in self.choice) + ")"
        object.__setattr__(self, "text", key)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Wait:
    """An actor that is blocked, what it waits for, and who holds that.

    ``holders`` are the actors whose progress would unblock it (a lock's owner, the thread that
    will clear a flag).  Edges ``actor -> holder`` form the wait-for graph; a cycle in it is a
    deadlock even while other actors (a flusher, a device) can still move.
    """

    actor: str
    on: str
    holders: tuple[str, ...] = ()

    def __str__(self) -> str:
        held = f" held by {', '.join(self.holders)}" if self.holders else ""
        return f"{self.actor} waits for {self.on}{held}"


@dataclass(frozen=True, slots=True)
class Invariant(Generic[S]):
    """A safety property: ``check(state)`` returns ``None`` when it holds, else why it does not.

    ``reads``: the objects (as named in labels' footprints) the check reads, for partial-order
    reduction's visibility condition; ``None``: anything, which switches that reduction off.
    """

    name: str
    check: Callable[[S], str | None]
    doc: str = ""
    reads: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class Eventually(Generic[S]):
    """Liveness: on every fair behaviour from an initial state, ``goal`` eventually holds."""

    name: str
    goal: Callable[[S], bool]
    doc: str = ""


@dataclass(frozen=True, slots=True)
class LeadsTo(Generic[S]):
    """Liveness: whenever ``trigger`` holds, ``goal`` holds then or later (``P ~> Q``)."""

    name: str
    trigger: Callable[[S], bool]
    goal: Callable[[S], bool]
    doc: str = ""


Liveness = Eventually[Any] | LeadsTo[Any]
Property = Invariant[Any] | Eventually[Any] | LeadsTo[Any]


class Model(Generic[S]):
    """Base class with the optional parts defaulted; override what the model has."""

    #: shown in reports
    name: str = "model"

    def init_states(self) -> Iterable[S]:
        raise NotImplementedError

    def successors(self, state: S) -> Iterable[tuple[Label, S]]:
        """Every enabled transition, in a fixed order, with the state it leads to."""
        raise NotImplementedError

    def invariants(self) -> Sequence[Invariant[S]]:
        return ()

    def liveness(self) -> Sequence[Liveness]:
        return ()

    def is_end(self, state: S) -> bool:
        """A legitimate end: no transition is enabled and that is not a deadlock."""
        return False

    def waits(self, state: S) -> Iterable[Wait]:
        """Blocked actors and what they wait for; empty when nobody is blocked."""
        return ()

    def actions(self) -> Iterable[str]:
        """Every action key (``"actor: action"``) the model can fire, for coverage reports."""
        return ()

    def footprints(self, state: S) -> Mapping[str, tuple[frozenset[str], frozenset[str]]]:
        """For every actor, ``(reads, writes)``: the objects any step it may take from ``state``
        on reads and writes, for partial-order reduction (:mod:`.por`).  An actor left out is
        assumed to touch everything.  Override together with the labels' footprints.  Keyed by
        the labels' ``unit`` where they name one."""
        return {}

    def unobserved(self, obj: str) -> bool:
        """Whether no checked property and no step's guard reads the footprint object
        ``obj``, so that two steps that meet only on such objects reach states equal up to
        the view, which leaves them out (data values nothing compares: data independence).
        Partial-order reduction does not count such a meeting as a dependence.  Default:
        every object is observed."""
        return False

    def local_steps(self, state: S) -> Sequence[tuple[Label, S]]:
        """Steps partial-order reduction may take at once, as soon as a step leads to
        ``state``, instead of storing ``state`` (:mod:`.por`, "Local steps taken at once").
        Each must be the *only* step its unit (``label.unit``, else its actor) can take in
        ``state``, with the label and successor :meth:`successors` gives it; the search takes
        one only if its footprint makes it independent of every other unit and invisible,
        and ``por-check`` verifies the rest.  Default: none."""
        return ()

    #: the objects ``waits`` reads (its wait-for cycles are then checked like an invariant
    #: reading them); ``None``: anything, which switches partial-order reduction off
    waits_reads: frozenset[str] | None = None

    def identity(self) -> Any:
        """What, beyond ``name`` and the initial states, decides the transition relation.

        A checkpoint records it (msgpack-encoded and hashed) so that resuming against another
        configuration of the same model fails clearly.  ``None``: nothing beyond them.
        """
        return None

    def view(self, state: S) -> Any:
        """What identifies a state for the visited set under ``reduce=("view",)``.

        Override to drop ghost history that no *active* property reads and no step reads (data
        independence): states with equal views must enable the same labels, lead to states with
        equal views, and agree on every checked property, ``is_end`` and ``waits``.  Only the
        key changes; traces keep the concrete states.  Used only when the reduction is asked
        for, so that an unreduced run always compares whole states.
        """
        return state

    def canonical(self, state: S) -> S:
        """The representative of ``state``'s orbit under the model's symmetries, used under
        ``reduce=("symmetry",)``.

        Override when processes are interchangeable (sort them) or the system is rotationally
        symmetric (the least rotation).  Every permutation of the group must map transitions to
        transitions and keep every property's verdict, or the reduction is unsound.
        """
        return state

    def canonical_view(self, state: S) -> Any:
        """``view(canonical(state))`` in one pass, used when both reductions are on.

        Optional: a model whose canonical form only renames things the view then reads anyway
        can compute the key without building the canonical state first.  It must identify
        exactly the states ``view(canonical(s))`` identifies (tests compare the two).
        """
        return self.view(self.canonical(state))

    def fields(self, state: S) -> dict[str, Any]:
        """The state as named fields, for "what changed" in traces."""
        from .diff import default_fields

        return default_fields(state)


def overrides(model: object, method: str) -> bool:
    """Whether ``model`` defines ``method`` itself rather than inheriting :class:`Model`'s."""
    impl = getattr(type(model), method, None)
    return impl is not None and impl is not getattr(Model, method, None)
