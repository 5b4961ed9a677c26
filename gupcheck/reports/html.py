"""Self-contained HTML reports: a trace as a sequence diagram, and the verdict matrix.

Why HTML at all: a kernel trace is a conversation between actors (CPUs, the flusher, kswapd, the
disk, a NIC), and a page's state is two dozen fields of which one or two change per step.  The
text report can only list the changes; the HTML page draws one lane per actor and lets the
reader step through the trace and see the *whole* state, with what changed highlighted and
which properties hold, at every step.

Rules these pages keep:

* one file, offline: CSS and JavaScript are inline, nothing is fetched (no server, no CDN);
* everything shown comes from the trace: each step's state is the model's own state, and the
  properties are evaluated by the model's own predicates on it;
* every string that comes from a scenario (names, descriptions, actor names) is escaped: the
  markup is rendered by Jinja with autoescape, the per-step data travels as JSON inside a
  ``<script type="application/json">`` (``tojson`` escapes ``<``, ``>`` and ``&``) and the
  script writes it with ``textContent`` only;
* the output is deterministic: no timestamps and no timings, sets printed sorted, so the same
  check gives the same bytes.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import jinja2
import markupsafe

from gupcheck import __version__
from gupcheck.engine import Eventually, Invariant, LeadsTo, Model, Result
from gupcheck.kernel.config import KernelConfig
from gupcheck.kernel.properties import PROPERTIES
from gupcheck.kernel.state import KState, Value, fields_of
from gupcheck.kernel.system import DISK, KWORKER, NIC, KernelModel, Scenario
from gupcheck.lab import REFUSED, Cell, by_scenario
from gupcheck.reports.kernel import KERNEL_ASSUMPTIONS, explanation, heading
from gupcheck.reports.matrix import SHORT, cell_text

#: verdicts as the matrix and the trace pages colour them (CSS class ``v-<verdict>``)
VERDICTS = ("holds", "violated", "deadlock", "starves", "refused", "n/a", "incomplete", "error")

#: verdicts whose trace shows a failure at its last step
FAILING = frozenset({"violated", "deadlock", "starves", "error"})


# --- values -------------------------------------------------------------------------------------

#: how the panel shows "nothing": None, an empty string, tuple or set (the text report's "-")
NOTHING = "-"


def fmt(v: Any, *, nested: bool = False) -> str:
    """A field value as a reader wants it, deterministically: no Python notation (a tuple of
    blocks ``("A0", "A0")`` reads ``A0, A0``; nothing is ``-``), sets sorted (their iteration
    order changes between processes for strings), records by field, inner sequences in
    brackets."""
    if v is None or (not nested and v in ("", (), [], frozenset(), set())):
        return NOTHING
    if isinstance(v, str):
        return v
    if isinstance(v, (set, frozenset)):
        return "{" + ", ".join(sorted(fmt(x, nested=True) for x in v)) + "}"
    names = _field_names(v)
    if names is not None:
        inner = ", ".join(f"{n}={fmt(getattr(v, n), nested=True)}" for n in names)
        return f"{type(v).__name__}({inner})"
    if isinstance(v, (tuple, list)) and not hasattr(v, "_fields"):
        inner = ", ".join(fmt(x, nested=True) for x in v)
        return f"[{inner}]" if nested else inner
    return str(v)


def _field_names(v: Any) -> tuple[str, ...] | None:
    """The fields of a record: a kernel state record (a msgspec Struct) or a dataclass."""
    if isinstance(v, Value):
        return fields_of(v)
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        return tuple(f.name for f in dataclasses.fields(v))
    return None


def split_action(action: str) -> tuple[str, str]:
    """``"folio_mkclean: write-protect ..."`` -> the kernel function and the rest; a step
    without a function prefix (``"write bio #0 transfers ..."``) is all function."""
    head, sep, rest = action.partition(": ")
    if sep and re.fullmatch(r"[\w>\-, ()]+", head) and len(head) <= 60:
        return head, rest
    return action, ""


def anchor(*parts: str) -> str:
    """An HTML id from names that may hold anything (a scenario file's name is free text)."""
    return "t-" + "--".join(re.sub(r"[^A-Za-z0-9_.-]", "_", p) for p in parts)


# --- one state, as the panel shows it ------------------------------------------------------------

Entry = tuple[str, str, str]  # (group, field, value)


def _thread_names(model: Model[Any], n: int) -> list[str | None]:
    """Who each thread slot of a kernel state belongs to: the actors', then the NIC's device
    faults (``None`` when the scenario has no NIC: the slot is never used) and the kworker's."""
    actors = [a.name for a in getattr(model, "actors", ())]
    scenario = getattr(model, "scenario", None)
    nic = f"{NIC} (device faults)" if scenario is not None and scenario.nic_writes else None
    names: list[str | None] = [*actors, nic, KWORKER]
    return [names[i] if i < len(names) else f"thread {i}" for i in range(n)]


def _thread_field(model: Model[Any], slot: int, t: Any, name: str) -> str:
    """One thread field as the panel shows it: the program counter with the operation it
    points at, the operation's locals as ``name=value``."""
    value = getattr(t, name)
    if name == "pc":
        actors = getattr(model, "actors", ())
        if slot < len(actors):
            program = actors[slot].program
            op = program[value][0] if value < len(program) else "done"
            return f"{value} ({op})"
    if name == "local" and value:
        return ", ".join(f"{k}={fmt(v, nested=True)}" for k, v in value)
    return fmt(value)


def state_entries(model: Model[Any], state: Any) -> list[Entry]:
    """The whole state as (group, field, value): first the model's own fields (the text
    report's notation), then, for a kernel state, every struct folio, thread and kernel object
    field and the ghost bits the properties read.  Generic over the records' fields, so a
    field added to the kernel model shows up without touching this report."""
    out: list[Entry] = [("state", k, fmt(v)) for k, v in model.fields(state).items()]
    if not isinstance(state, KState):
        return out
    for fid, folio in enumerate(state.folios):
        if folio is None:
            out.append(("struct folio", f"folio #{fid}", "freed"))
            continue
        out += [("struct folio", f"folio #{fid} {n}", fmt(getattr(folio, n)))
                for n in fields_of(folio)]
    names = _thread_names(model, len(state.threads))
    for slot, (name, t) in enumerate(zip(names, state.threads, strict=True)):
        if name is None:
            continue
        out += [("threads", f"{name} {n}", _thread_field(model, slot, t, n))
                for n in fields_of(t)]
    out += [("kernel", n, fmt(getattr(state, n))) for n in fields_of(state)
            if n not in ("folios", "threads", "ghost")]
    out += [("ghost", f"ghost.{n}", fmt(getattr(state.ghost, n)))
            for n in fields_of(state.ghost)]
    return out


def _safe(fn: Any, state: Any) -> Any:
    try:
        return fn(state)
    except Exception as exc:  # noqa: BLE001 - a predicate that fails is shown, not fatal
        return exc


def property_status(model: Model[Any], state: Any) -> list[tuple[str, str]]:
    """Each property of ``model`` on ``state``: ``(status, why)`` in the order of
    :func:`property_names`.  Safety: holds/violated (with the property's own sentence);
    liveness: holds, or pending (its trigger holds and its goal not yet)."""
    out: list[tuple[str, str]] = []
    for inv in model.invariants():
        why = _safe(inv.check, state)
        if isinstance(why, Exception):
            out.append(("error", f"the predicate raised {type(why).__name__}: {why}"))
        else:
            out.append(("holds", "") if why is None else ("violated", str(why)))
    for live in model.liveness():
        if isinstance(live, LeadsTo):
            trig, goal = _safe(live.trigger, state), _safe(live.goal, state)
            if isinstance(trig, Exception) or isinstance(goal, Exception):
                out.append(("error", "the predicate raised"))
            elif trig and not goal:
                out.append(("pending", f"triggered: {live.doc or live.name}; not yet fulfilled"))
            else:
                out.append(("holds", ""))
        elif isinstance(live, Eventually):
            goal = _safe(live.goal, state)
            out.append(("holds", "reached") if goal is True else ("pending", "not yet reached"))
    return out


def property_names(model: Model[Any]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for p in [*model.invariants(), *model.liveness()]:
        info = PROPERTIES.get(p.name.split(" (")[0])
        kind = "safety" if isinstance(p, Invariant) else "liveness"
        out.append({"name": p.name, "kind": kind,
                    "short": SHORT.get(p.name.split(" (")[0], p.name).split()[0],
                    "doc": info.summary if info else p.doc})
    return out


# --- one trace -----------------------------------------------------------------------------------

@dataclass
class Row:
    """One step of the sequence diagram."""

    index: int
    actor: str | None
    lane: int  # column of its actor, -1 for the initial state
    func: str
    rest: str
    choice: str
    in_loop: bool
    mark: str  # ✗ on the step that breaks the property


@dataclass
class TraceView:
    """Everything a trace section shows; built from the result and the model only."""

    id: str
    title: str
    heading: str
    verdict: str
    property: str | None
    message: str
    explain: list[str]
    notes: list[str]
    waits: list[str]
    lanes: list[str]
    rows: list[Row]
    loop_start: int | None
    stutters: bool
    states: int
    bound: str | None  # the limit that stopped an incomplete search
    data: dict[str, Any] = field(default_factory=dict)  # the panel's per-step JSON

    @property
    def has_trace(self) -> bool:
        return bool(self.rows)


def _lanes(model: Model[Any], result: Result) -> list[str]:
    """One lane per actor: the scenario's actors in their order, then the disk, the kworker
    and the NIC; any other actor a trace shows is appended in order of appearance."""
    lanes: list[str] = []
    if isinstance(model, KernelModel):
        lanes = [a.name for a in model.actors] + [DISK, KWORKER]
        if model.scenario.nic_writes:
            lanes.append(NIC)
    if result.trace:
        for st in result.trace.steps:
            if st.actor is not None and st.actor not in lanes:
                lanes.append(st.actor)
    return lanes


def trace_view(result: Result, model: Model[Any], *, view_id: str, title: str,
               head: str = "", verdict: str | None = None,
               props_model: Model[Any] | None = None) -> TraceView:
    """The section for one result.  ``props_model`` is the model whose properties the panel
    evaluates at each step (default ``model``): the check of one property still shows all of
    the scenario's."""
    props_model = props_model or model
    verdict = verdict or result.verdict.value
    trace = result.trace
    explain = explanation(result)
    lanes = _lanes(model, result)
    rows: list[Row] = []
    steps_json: list[dict[str, Any]] = []
    if trace is not None:
        last = len(trace.steps) - 1
        prev: dict[str, Entry] = {}
        for st in trace.steps:
            in_loop = (trace.loop_start is not None and not trace.stutters
                       and st.index >= trace.loop_start)
            if st.label is None:
                func, rest = "initial state", ""
            else:
                func, rest = split_action(st.action or st.label)
            mark = "✗" if st.index == last and verdict in FAILING else ""
            rows.append(Row(st.index, st.actor, lanes.index(st.actor) if st.actor else -1,
                            func, rest, ", ".join(fmt(c) for c in st.choice), in_loop, mark))
            entries = {k: (g, k, v) for g, k, v in state_entries(model, st.state)}
            changed = [list(e) for k, e in entries.items() if prev.get(k) != e]
            gone = [k for k in prev if k not in entries]
            blocked = _safe(lambda s: [str(w) for w in model.waits(s)], st.state)
            waits = [] if isinstance(blocked, Exception) else blocked
            steps_json.append({
                "i": st.index, "actor": st.actor, "func": func, "rest": rest,
                "choice": rows[-1].choice, "label": st.label or "initial state",
                "set": changed, "gone": gone,
                # only the properties that do not hold: most hold at most steps
                "props": [[n, status, why] for n, (status, why)
                          in enumerate(property_status(props_model, st.state))
                          if status != "holds"],
                "waits": waits,
            })
            prev = entries
    data = {
        "id": view_id, "verdict": verdict, "property": result.property,
        "message": result.message, "lanes": lanes,
        "props": property_names(props_model), "steps": steps_json,
        "loop_start": trace.loop_start if trace else None,
        "stutters": trace.stutters if trace else False,
    }
    return TraceView(
        id=view_id, title=title, heading=head, verdict=verdict, property=result.property,
        message=result.message, explain=explain.split("\n  ") if explain else [],
        notes=list(result.notes), waits=[str(w) for w in result.waits], lanes=lanes,
        rows=rows, loop_start=trace.loop_start if trace else None,
        stutters=bool(trace and trace.stutters), states=result.stats.distinct,
        bound=result.bound, data=data)


# --- pages ---------------------------------------------------------------------------------------

def breakable(name: str) -> markupsafe.Markup:
    """A kernel name that may wrap only after its underscores (``mpage_prepare_<wbr>extent_
    <wbr>to_<wbr>map``), never mid-word: the lanes are narrow, the names long."""
    return markupsafe.Markup("_<wbr>").join(markupsafe.escape(p) for p in name.split("_"))


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("gupcheck.reports", "html_assets"),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True)
    assets = resources.files("gupcheck.reports") / "html_assets"
    env.globals.update(
        css=(assets / "report.css").read_text(encoding="utf-8"),
        js=(assets / "report.js").read_text(encoding="utf-8"),
        version=__version__, VERDICTS=VERDICTS)
    env.filters["breakable"] = breakable
    return env


def trace_page(result: Result, model: KernelModel, *, verdict: str | None = None) -> str:
    """``gupcheck check SCENARIO --html FILE``: one trace, with every property of the scenario
    evaluated at every step (whatever ``--property`` selected for the search)."""
    props_model = KernelModel(model.scenario, model.cfg)
    title = f"{model.scenario.name} under {model.cfg.name}"
    view = trace_view(result, model, view_id="trace", title=title, head=heading(model),
                      verdict=verdict, props_model=props_model)
    return _env().get_template("trace.html.j2").render(
        view=view, assumptions=KERNEL_ASSUMPTIONS, model_name=result.model,
        strategy=result.strategy)


@dataclass
class MatrixCell:
    text: str
    verdict: str
    links: list[tuple[str, str]]  # (text, href) pieces of ``text``; href "" for plain text
    href: str  # the cell's own trace, "" for a holding cell


def _cell_traces(cell: Cell) -> list[tuple[str, Result]]:
    """The results a non-holding cell links to: each broken property's counterexample; the
    refusal; or the run that was incomplete or failed."""
    if cell.verdict in ("refused", "n/a"):
        return [(REFUSED, cell.results[REFUSED])] if REFUSED in cell.results else []
    if cell.violated:
        return [(p, cell.results[p]) for p in cell.violated]
    if cell.verdict != "holds" and "" in cell.results:
        return [("", cell.results[""])]
    return []


def matrix_page(cells: Sequence[Cell], designs: Sequence[str],
                scenarios: dict[str, Scenario], configs: dict[str, KernelConfig]) -> str:
    """``gupcheck matrix --format html``: the matrix, each non-holding cell linking to its
    traces, which are sections of the same file."""
    rows = by_scenario(cells)
    table: list[tuple[str, list[MatrixCell]]] = []
    views: list[TraceView] = []
    for sc_name, by_design in rows.items():
        line = []
        for d in designs:
            cell = by_design[d]
            text = cell_text(cell)
            traces = _cell_traces(cell)
            sc, cfg = scenarios[sc_name], configs[d]
            ids = []
            for prop, res in traces:
                vid = anchor(sc_name, d, prop or cell.verdict)
                ids.append(vid)
                model = KernelModel(sc, cfg)
                title = f"{sc_name} under {d}" + (f" — {prop}" if prop else "")
                verdict = {"refused": "refused", "n/a": "n/a"}.get(cell.verdict)
                views.append(trace_view(res, model, view_id=vid, title=title,
                                        head=heading(model), verdict=verdict,
                                        props_model=model))
            links = _links(text, cell, ids)
            line.append(MatrixCell(text, cell.verdict, links, "#" + ids[0] if ids else ""))
        table.append((sc_name, line))
    legend = [(v.split()[0], k) for k, v in SHORT.items()]
    return _env().get_template("matrix.html.j2").render(
        designs=list(designs), table=table, views=views, legend=legend,
        assumptions=KERNEL_ASSUMPTIONS)


def _links(text: str, cell: Cell, ids: list[str]) -> list[tuple[str, str]]:
    """Split a cell's text into links: the verdict word to the first trace, each ``P3@18`` to
    its property's trace; the text read together is exactly the Markdown matrix's."""
    if not ids:
        return [(text, "")]
    if not cell.violated:
        return [(text, "#" + ids[0])]
    words = text.split(" ")
    out: list[tuple[str, str]] = [(words[0], "#" + ids[0])]
    for w, vid in zip(words[1:], _pad(ids, len(words) - 1), strict=True):
        out.append((" ", ""))
        out.append((w, "#" + vid if vid else ""))
    return out


def _pad(ids: Iterable[str], n: int) -> list[str]:
    ids = list(ids)
    return (ids + [""] * n)[:n]


__all__ = ["FAILING", "VERDICTS", "matrix_page", "state_entries", "trace_page",
           "trace_view"]
