"""The explorer's state: one path through a model's state graph and a cursor on it.

A kernel developer designing a fix wants to drive a scenario by hand: take this step of
``kswapd`` now, that completion of the disk later, and see what the page looks like.  An
:class:`Explorer` keeps a path from an initial state (a list of ``(label, state)``, as the
engine's traces are) and a cursor on it.  Taking an enabled step from the cursor's state keeps
the path beyond it when the step is the one the path already takes there (like a browser's
forward history) and otherwise replaces it; back, forward and jump only move the cursor.

Everything shown comes from the model through the engine's own API and the HTML report's
helpers, so the explorer says what ``gupcheck check`` and its ``--html`` page say:

* the enabled steps are ``model.successors(state)`` in the model's deterministic order (a step
  is named by its index in that list), each split into the kernel function and the rest as the
  HTML report does (:func:`gupcheck.reports.html.split_action`);
* the state is :func:`gupcheck.reports.html.state_entries` (the text report's kernel notation,
  then every ``struct folio``, thread and kernel object field, then the ghost state), with what
  the last step changed;
* the properties are :func:`gupcheck.reports.html.property_status`: every property of the
  scenario evaluated on the state itself;
* blocked actors are ``model.waits(state)``; ``model.is_end(state)`` tells a legitimate end from
  a deadlock.

A saved trace (``gupcheck check --trace-out`` or ``--json``) is read as data only (JSON, never
code) and replayed by its labels with :func:`gupcheck.engine.replay.replay`, the same replay
``gupcheck replay`` does; the explorer then starts at its first state with the whole
counterexample as the path.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gupcheck.engine import Invariant, Label, Limits, Model, ModelError, Verdict
from gupcheck.engine.bfs import bfs
from gupcheck.engine.replay import replay
from gupcheck.engine.runtime import Context
from gupcheck.engine.userfile import open_regular
from gupcheck.reports.html import property_names, property_status, split_action, state_entries

#: states the "find a counterexample from here" search may visit before it gives up
FIND_LIMIT = 20_000


class ExploreError(ValueError):
    """A request the explorer cannot follow (a step index that is not enabled, say); the
    message is one line, shown to the user as is."""


@dataclass(frozen=True, slots=True)
class Node:
    """One state of the path and the step that reached it (``None`` for the initial state)."""

    label: Label | None
    state: Any


@dataclass(frozen=True, slots=True)
class SavedTrace:
    """What the explorer needs from a trace file written by ``gupcheck check --trace-out``."""

    file: str
    scenario: str
    design: str
    init_index: int
    labels: tuple[str, ...]
    property: str | None
    verdict: str | None
    message: str | None
    loop_start: int | None = None  # a lasso: the steps from here on repeat forever
    stutters: bool = False  # a lasso whose last state repeats forever


#: the largest trace file read (a trace of thousands of steps is a few MiB)
MAX_TRACE_BYTES = 256 * 2**20


def read_trace(path: Path) -> SavedTrace:
    """Read a trace file as JSON data (no code in it is ever run) and check its shape.

    Raises :class:`ExploreError` with a one-line reason for anything that is not a gupcheck
    trace: unreadable, not JSON, missing fields, a result without a trace.
    """
    try:
        with open_regular(path) as f:
            raw = f.read(MAX_TRACE_BYTES + 1)
    except OSError as exc:
        raise ExploreError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if len(raw) > MAX_TRACE_BYTES:
        raise ExploreError(f"{path}: larger than {MAX_TRACE_BYTES // 2**20} MiB: not a gupcheck "
                           "trace")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ExploreError(f"{path}: not a gupcheck trace (not JSON: {exc})") from None
    except RecursionError:
        raise ExploreError(f"{path}: not a gupcheck trace (JSON nested too deeply)") from None
    if not isinstance(data, dict):
        raise ExploreError(f"{path}: not a gupcheck trace (a JSON object is expected)")
    if ("trace" in data and data["trace"] is None) or data.get("verdict") in ("holds",
                                                                              "incomplete"):
        raise ExploreError(f"{path}: the result ({data.get('verdict')}) has no trace to explore")
    steps, scenario, design = data.get("trace"), data.get("scenario"), data.get("design")
    init = data.get("init_index") or 0
    if not isinstance(scenario, str) or not isinstance(design, str):
        raise ExploreError(f"{path}: not a gupcheck trace (no scenario and design names)")
    if not isinstance(steps, list) or not steps or not all(isinstance(s, dict) for s in steps):
        raise ExploreError(f"{path}: not a gupcheck trace (no list of steps under 'trace')")
    labels = [s.get("label") for s in steps[1:]]
    if not all(isinstance(lab, str) for lab in labels):
        raise ExploreError(f"{path}: not a gupcheck trace (a step without a label)")
    if not isinstance(init, int) or isinstance(init, bool) or init < 0:
        raise ExploreError(f"{path}: not a gupcheck trace (init_index {init!r})")
    prop, verdict, message = data.get("property"), data.get("verdict"), data.get("message")
    loop = data.get("loop_start")
    if loop is not None and (not isinstance(loop, int) or isinstance(loop, bool)
                             or not 0 <= loop <= len(labels)):
        raise ExploreError(f"{path}: not a gupcheck trace (loop_start {loop!r})")
    return SavedTrace(str(path), scenario, design, init, tuple(labels),
                      prop if isinstance(prop, str) else None,
                      verdict if isinstance(verdict, str) else None,
                      message if isinstance(message, str) else None,
                      loop, data.get("stutters") is True)


class _From(Model[Any]):
    """The model started from one state, checking one invariant: what "find a counterexample
    from here" searches (no deadlock or wait-for check: only the property asked for)."""

    def __init__(self, model: Any, state: Any, inv: Invariant[Any]) -> None:
        self.model, self.state, self.inv = model, state, inv
        self.name = getattr(model, "name", "model")

    def init_states(self) -> list[Any]:
        return [self.state]

    def successors(self, state: Any) -> Any:
        return self.model.successors(state)

    def invariants(self) -> list[Invariant[Any]]:
        return [self.inv]

    def fields(self, state: Any) -> dict[str, Any]:
        return self.model.fields(state)


def _label_view(label: Label | None) -> dict[str, Any]:
    """A step's name as the page shows it: actor, kernel function, the rest, the choice."""
    if label is None:
        return {"actor": None, "func": "initial state", "rest": "", "choice": "",
                "label": "initial state"}
    func, rest = split_action(label.action)
    return {"actor": label.actor, "func": func, "rest": rest,
            "choice": ", ".join(str(c) for c in label.choice), "label": label.text}


def _op(op: tuple[Any, ...]) -> str:
    """A program operation as a call: ``("dio_read", 0, "B")`` -> ``dio_read(0, B)``."""
    return f"{op[0]}({', '.join(str(a) for a in op[1:])})"


def _actors(model: Any, state: Any, waits: Sequence[Any]) -> list[dict[str, Any]]:
    """Each scenario actor's program and where its thread is in it (the ``pc`` and ``stage`` of
    :class:`gupcheck.kernel.state.Thread`), for a kernel model; nothing for a model without
    actors and threads."""
    actors, threads = getattr(model, "actors", None), getattr(state, "threads", None)
    if actors is None or threads is None:
        return []
    blocked = {w.actor: str(w) for w in waits}
    return [{"name": spec.name, "daemon": spec.daemon, "ops": [_op(o) for o in spec.program],
             "pc": t.pc, "stage": t.stage, "results": list(t.results),
             "blocked": blocked.get(spec.name, "")}
            for spec, t in zip(actors, threads, strict=False)]


class Explorer:
    """A path through ``model``'s states and a cursor; see the module docstring.

    ``props_model`` is the model whose properties are shown (default ``model``): the kernel
    explorer shows every property of the scenario.  ``start`` is the initial path (a loaded
    trace); ``origin`` describes where it came from, for the page.
    """

    def __init__(self, model: Any, *, title: str = "", heading: str = "",
                 props_model: Any | None = None, start: Sequence[Node] | None = None,
                 init_index: int = 0, origin: dict[str, Any] | None = None,
                 find_limit: int = FIND_LIMIT) -> None:
        self.model = model
        self.props_model = props_model or model
        self.title = title or getattr(model, "name", "model")
        self.heading = heading
        self.origin = origin
        self.find_limit = find_limit
        self._ctx = Context(model, exact=True)
        inits = self._ctx.init_states()
        if not 0 <= init_index < len(inits):
            raise ExploreError(f"the model has {len(inits)} initial state(s), not #{init_index}")
        self._start = list(start) if start else [Node(None, inits[init_index])]
        self.path: list[Node] = list(self._start)
        self.cursor = 0
        self.notice = ""  # what the last action did, when it is not obvious
        self._succ: tuple[Any, list[tuple[Label, Any]]] = (None, [])

    @classmethod
    def from_trace(cls, model: Any, saved: SavedTrace, **kw: Any) -> Explorer:
        """Start at the first state of ``saved`` with its whole path, replayed on ``model``.

        If the model has changed so that the trace no longer replays, the path is as far as the
        replay got and the notice says why (as ``gupcheck replay`` would)."""
        done = replay(model, saved.init_index, saved.labels, saved.property)
        origin = {"file": saved.file, "property": saved.property, "verdict": saved.verdict,
                  "message": saved.message, "steps": len(saved.labels),
                  "reproduced": done.reproduced, "replay": done.message,
                  "loop_start": saved.loop_start, "stutters": saved.stutters}
        start = None
        if done.trace is not None:
            start = [Node(None if st.label is None else
                          Label(st.actor or "", st.action or "", tuple(st.choice)), st.state)
                     for st in done.trace.steps]
        init = saved.init_index if done.trace is not None else 0
        ex = cls(model, start=start, init_index=init, origin=origin, **kw)
        ex.notice = "" if done.reproduced else f"the trace does not replay: {done.message}"
        return ex

    # --- moves ----------------------------------------------------------------------------------

    @property
    def state(self) -> Any:
        return self.path[self.cursor].state

    def successors(self) -> list[tuple[Label, Any]]:
        """The enabled steps of the cursor's state, in the model's order (memoised: the page
        asks for them after every move)."""
        state = self.state
        if self._succ[0] is not state:
            path = [(n.label, n.state) for n in self.path[:self.cursor + 1]]
            self._succ = (state, self._ctx.successor_list(state, path))
        return self._succ[1]

    def step(self, index: int) -> None:
        """Take enabled step ``index``; the path beyond the cursor is kept if it starts with
        that very step, and dropped otherwise."""
        succ = self.successors()
        if not 0 <= index < len(succ):
            raise ExploreError(f"no enabled step #{index} here ({len(succ)} enabled)")
        label, nxt = succ[index]
        ahead = self.path[self.cursor + 1] if self.cursor + 1 < len(self.path) else None
        if ahead is None or ahead.label is None or ahead.label.text != label.text:
            del self.path[self.cursor + 1:]
            self.path.append(Node(label, nxt))
        self.cursor += 1
        self.notice = ""

    def back(self) -> None:
        if self.cursor == 0:
            raise ExploreError("already at the first state of the path")
        self.cursor -= 1
        self.notice = ""

    def forward(self) -> None:
        if self.cursor + 1 >= len(self.path):
            raise ExploreError("already at the last state of the path")
        self.cursor += 1
        self.notice = ""

    def jump(self, index: int) -> None:
        if not 0 <= index < len(self.path):
            raise ExploreError(f"no state #{index} in the path (it has {len(self.path)})")
        self.cursor = index
        self.notice = ""

    def reset(self) -> None:
        """Back to how the explorer started: the initial state, or the loaded trace."""
        self.path = list(self._start)
        self.cursor = 0
        self.notice = ""

    def find(self, prop: str, limit: int | None = None) -> str:
        """Search breadth-first from the cursor's state for a shortest path to a state that
        violates safety property ``prop``; if found, it replaces the path beyond the cursor
        and the cursor moves to its end.  Returns (and keeps as the notice) what happened."""
        inv = next((i for i in self.props_model.invariants() if i.name == prop), None)
        if inv is None:
            names = ", ".join(i.name for i in self.props_model.invariants()) or "none"
            raise ExploreError(f"no safety property {prop!r} here; choose one of: {names}")
        limit = limit or self.find_limit
        result = bfs(_From(self.model, self.state, inv), exact=True,
                     limits=Limits(max_states=limit), check_deadlock=False)
        states = f"{result.stats.distinct:,} states"
        if result.verdict is Verdict.VIOLATED and result.trace is not None:
            steps = result.trace.steps[1:]
            del self.path[self.cursor + 1:]
            self.path += [Node(Label(st.actor or "", st.action or "", tuple(st.choice)),
                               st.state) for st in steps]
            self.cursor = len(self.path) - 1
            self.notice = (f"{prop} is violated {len(steps)} step(s) from there "
                           f"(a shortest path, {states} searched): {result.message}")
        elif result.verdict is Verdict.HOLDS:
            self.notice = f"{prop} holds in every state reachable from here ({states})"
        elif result.verdict is Verdict.INCOMPLETE:
            self.notice = (f"no violation of {prop} in the {states} searched from here "
                           f"(the search stops at {limit:,})")
        else:
            self.notice = f"the search failed: {result.message}"
        return self.notice

    # --- what the page shows --------------------------------------------------------------------

    def view(self) -> dict[str, Any]:
        """The whole page's data as JSON-ready values (strings, numbers, lists, dicts), in a
        deterministic order."""
        model, state = self.model, self.state
        entries = state_entries(model, state)
        # keyed by (group, field): a field name may appear in two groups ("CPU0 app results"
        # in the kernel notation and in the thread's struct)
        before: dict[tuple[str, str], str] = {}
        if self.cursor > 0:
            before = {(g, k): v for g, k, v in state_entries(model, self.path[self.cursor - 1]
                                                              .state)}
        rows: list[list[Any]] = []
        for g, k, v in entries:
            old = before.get((g, k)) if self.cursor > 0 else v
            rows.append([g, k, v, None if old == v else old, old != v])  # old None: new field
        now = {(g, k) for g, k, _ in entries}
        gone = [[g, k, v] for (g, k), v in before.items() if (g, k) not in now]
        error = ""
        try:
            succ = self.successors()
        except ModelError as err:
            succ, error = [], f"the model failed computing the enabled steps: {err.message}"
        names = property_names(self.props_model)
        status = property_status(self.props_model, state)
        plain = {(g, k): v for g, k, v in entries}
        ahead = self.path[self.cursor + 1].label if self.cursor + 1 < len(self.path) else None
        steps = []
        for i, (label, nxt) in enumerate(succ):
            after = state_entries(model, nxt)
            breaks = [names[n]["name"] for n, (st, _) in enumerate(property_status(
                self.props_model, nxt)) if st == "violated" and status[n][0] != "violated"]
            steps.append({"index": i, **_label_view(label), "fair": label.fair,
                          "changes": list(dict.fromkeys(  # the kernel notation first
                              k for g, k, v in after if plain.get((g, k)) != v)),
                          "breaks": breaks,
                          "next": ahead is not None and ahead.text == label.text})
        blocked = self._safe_waits(state)
        waits = [{"actor": w.actor, "on": w.on, "holders": list(w.holders), "text": str(w)}
                 for w in blocked]
        end = self._safe_end(state)
        return {
            "title": self.title, "heading": self.heading,
            "model": getattr(model, "name", ""),
            "cursor": self.cursor,
            "path": [{"i": i, **_label_view(n.label),
                      "bad": any(st == "violated" for st, _ in property_status(
                          self.props_model, n.state))} for i, n in enumerate(self.path)],
            # [group, field, value, old value or null, changed by the last step]
            "state": rows, "gone": gone,
            "steps": steps, "waits": waits, "actors": _actors(model, state, blocked),
            "end": end, "deadlock": not succ and not end and not error,
            "props": [{**p, "status": s, "why": why} for p, (s, why) in zip(names, status,
                                                                         strict=True)],
            "origin": self.origin, "notice": self.notice, "error": error,
            "find_limit": self.find_limit,
        }

    def _safe_waits(self, state: Any) -> list[Any]:
        try:
            return list(self.model.waits(state))
        except Exception:  # noqa: BLE001 - a failing waits() is shown as none, not fatal
            return []

    def _safe_end(self, state: Any) -> bool:
        try:
            return bool(self.model.is_end(state))
        except Exception:  # noqa: BLE001
            return False
