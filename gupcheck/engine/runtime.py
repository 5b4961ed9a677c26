"""The checker's view of one model: its parts looked up once, every call guarded.

Strategies (BFS, DFS, simulation, liveness) share this so that a model's failure is reported the
same way everywhere: with the model's own names and the trace that reached the failing state,
never as a bare traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .diff import changes
from .errors import ModelError, describe_exception
from .fingerprint import array_keyer, batch_keyer, keyer
from .model import Invariant, Label, Wait, overrides
from .reduce import projection
from .result import Step, Trace
from .waitfor import find_cycle

Path = list[tuple[Label | None, Any]]


class Context:
    def __init__(self, model: Any, *, exact: bool, reduce: frozenset[str] = frozenset()) -> None:
        self.model = model
        self.reduce = reduce
        self.name: str = getattr(model, "name", type(model).__name__)
        self.exact = exact
        self.successors: Callable[[Any], Iterable[tuple[Label, Any]]] = model.successors
        self.invariants: tuple[Invariant[Any], ...] = tuple(
            self.call("invariants()", model.invariants) if hasattr(model, "invariants") else ()
        )
        self.has_end = overrides(model, "is_end")
        self.has_waits = overrides(model, "waits")
        view = projection(model, reduce)  # None unless a reduction is on: the fast closures
        self.key: Callable[[Any], Any] = keyer(view, exact)
        self.keys: Callable[[Sequence[Any]], list[Any]] = batch_keyer(view, exact)
        #: the same keys as one array, for large searches (None in exact mode)
        self.keys_array = array_keyer(view, exact)
        self.declared_actions: tuple[str, ...] = tuple(
            self.call("actions()", model.actions) if hasattr(model, "actions") else ()
        )

    # --- guarded calls -------------------------------------------------------------------------

    @staticmethod
    def call(what: str, fn: Callable[[], Any], path: Path | None = None) -> Any:
        try:
            return fn()
        except ModelError:
            raise
        except Exception as exc:  # the model's bug, reported as such
            raise ModelError(f"{what} raised {describe_exception(exc)}", path) from exc

    def init_states(self) -> list[Any]:
        states = list(self.call("init_states()", self.model.init_states))
        if not states:
            raise ModelError("init_states() returned no state")
        for i, s in enumerate(states):
            self.validate(s, f"initial state #{i}", [(None, s)])
        return states

    def validate(self, state: Any, what: str, path: Path) -> None:
        """A state must be hashable (immutable) and canonically serialisable."""
        try:
            hash(state)
        except TypeError as exc:
            raise ModelError(
                f"{what} is not hashable ({exc}); states must be immutable values "
                "(frozen dataclasses, tuples, frozensets)",
                path,
            ) from exc
        try:
            self.key(state)
        except Exception as exc:
            raise ModelError(
                f"{what} cannot be serialised canonically ({describe_exception(exc)})", path
            ) from exc

    def is_end(self, state: Any, path: Callable[[], Path]) -> bool:
        if not self.has_end:
            return False
        try:
            return bool(self.model.is_end(state))
        except Exception as exc:
            raise ModelError(f"is_end() raised {describe_exception(exc)}", path()) from exc

    def violation(self, state: Any, path: Callable[[], Path],
                  invariants: Sequence[Invariant[Any]] | None = None) -> tuple[str, str] | None:
        """The first invariant (of ``invariants``, default all) that fails in ``state``."""
        for inv in self.invariants if invariants is None else invariants:
            try:
                why = inv.check(state)
            except Exception as exc:
                raise ModelError(
                    f"invariant {inv.name!r} raised {describe_exception(exc)}", path()
                ) from exc
            if why is not None:
                return inv.name, str(why) or f"{inv.name} is false"
        return None

    def waits(self, state: Any, path: Callable[[], Path]) -> tuple[Wait, ...]:
        if not self.has_waits:
            return ()
        try:
            return tuple(self.model.waits(state))
        except Exception as exc:
            raise ModelError(f"waits() raised {describe_exception(exc)}", path()) from exc

    def wait_cycle(self, state: Any, path: Callable[[], Path]) -> tuple[Wait, ...] | None:
        if not self.has_waits:
            return None
        waits = self.waits(state, path)
        if not waits or (len(waits) == 1 and waits[0].actor not in waits[0].holders):
            return None  # a cycle needs a wait on a waiting actor: another, or itself
        return find_cycle(waits)

    def successor_list(self, state: Any, path: Path) -> list[tuple[Label, Any]]:
        """All successors of ``state``, each validated; used off the hot path."""
        out = self.call("successors()", lambda: list(self.successors(state)), path)
        seen: set[str] = set()
        for label, nxt in out:
            if not isinstance(label, Label):
                raise ModelError(f"successors() yielded {label!r} where a Label belongs", path)
            if label.text in seen:
                raise ModelError(
                    f"two transitions from one state share the label {label.text!r}; "
                    "add the nondeterministic choice to the label so traces replay",
                    path,
                )
            seen.add(label.text)
            self.validate(nxt, f"the state reached by {label.text!r}", path + [(label, nxt)])
        return out

    def diagnose(self, state: Any, path: Path, exc: BaseException) -> ModelError:
        """Turn an exception seen on the hot path into a precise :class:`ModelError`."""
        if isinstance(exc, ModelError):
            return exc
        try:
            self.successor_list(state, path)
        except ModelError as err:
            return err
        return ModelError(f"checking successors raised {describe_exception(exc)}", path)

    # --- traces --------------------------------------------------------------------------------

    def replay_ordinals(self, init: Any, ordinals: Sequence[int],
                        local: Callable[[Any], list[tuple[Label, Any]]] | None = None) -> Path:
        """Rebuild a path from "the n-th successor" choices (parents are never stored);
        ``local``: the chain of steps partial-order reduction took at once after each
        (:meth:`.por.PartialOrder.local_chain`)."""
        path: Path = [(None, init)]
        state = init
        for n in ordinals:
            succ = self.successor_list(state, path)
            if not 0 <= n < len(succ):  # only a damaged or foreign checkpoint gets here
                raise ModelError(f"parent records name successor #{n} of a state with "
                                 f"{len(succ)}; the checkpoint resumed does not fit this model",
                                 path)
            label, state = succ[n]
            path.append((label, state))
            if local is not None:
                path.extend(local(state))
                state = path[-1][1]
        return path

    def trace(self, init_index: int, path: Path, loop_start: int | None = None,
              stutters: bool = False) -> Trace:
        steps = []
        prev: dict[str, Any] = {}
        for i, (label, state) in enumerate(path):
            fields = self.model.fields(state) if hasattr(self.model, "fields") else {"state": state}
            steps.append(
                Step(
                    index=i,
                    label=None if label is None else label.text,
                    actor=None if label is None else label.actor,
                    action=None if label is None else label.action,
                    choice=() if label is None else label.choice,
                    state=state,
                    changes=changes(prev, fields) if i else (),
                    fields=fields,
                )
            )
            prev = fields
        return Trace(init_index, tuple(steps), loop_start, stutters)
