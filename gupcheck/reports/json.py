"""Results as JSON-ready dictionaries (``--json``)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import msgspec

from gupcheck import __version__
from gupcheck.engine import Result


def _plain(v: Any) -> Any:
    """Tuples and named tuples become lists; anything else msgspec can encode stays."""
    return msgspec.to_builtins(v, str_keys=True, enc_hook=repr)


def result_to_dict(result: Result) -> dict[str, Any]:
    s = result.stats
    trace = None
    if result.trace is not None:
        trace = [
            {"index": st.index, "actor": st.actor, "step": st.action, "label": st.label,
             "choice": _plain(st.choice),
             "detail": "; ".join(f"{k}: {a} → {b}" for k, a, b in st.changes),
             "changes": [[k, _plain(a), _plain(b)] for k, a, b in st.changes]}
            for st in result.trace.steps
        ]
    return {
        "gupcheck_version": __version__,
        "model": result.model,
        "strategy": result.strategy,
        "exact": result.exact,
        "verdict": result.verdict.value,
        "verdict_text": result.verdict_text,  # "holds (approximate: bitstate, ...)" if so
        "approximate": result.approximate,
        "property": result.property,
        "message": result.message,
        "bound": result.bound,
        "states": s.distinct,
        "transitions": s.generated,
        "depth": s.depth,
        "seconds": round(s.seconds, 4),
        "states_per_second": round(s.states_per_second, 1),
        "collision_probability": s.collision_probability,
        "visited_bytes": s.visited_bytes,
        "trace_bytes": s.trace_bytes,
        "peak_rss_bytes": s.peak_rss_bytes,
        "frontier_states": s.frontier_states,
        "frontier_bytes": s.frontier_bytes,
        "coverage": result.coverage,
        "unfired": list(result.unfired),
        "notes": list(result.notes),
        "waits": [str(w) for w in result.waits],
        "init_index": result.trace.init_index if result.trace else None,
        "loop_start": result.trace.loop_start if result.trace else None,
        "stutters": result.trace.stutters if result.trace else None,
        "trace": trace,
    }


def scenario_source(path: Path | None) -> dict[str, str | None]:
    """Where a trace's scenario came from: its file's absolute path and the sha256 of the file's
    content, so that ``gupcheck replay`` replays it on that very scenario (and refuses a file
    that changed); both None for a scenario shipped with gupcheck, named by its name."""
    if path is None:
        return {"scenario_file": None, "scenario_sha256": None}
    return {"scenario_file": str(path.resolve()),
            "scenario_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
