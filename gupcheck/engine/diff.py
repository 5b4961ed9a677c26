"""What changed between two states, field by field, for traces (TLC's ``-difftrace``)."""

from __future__ import annotations

import dataclasses
from typing import Any


def default_fields(state: Any) -> dict[str, Any]:
    """Name the parts of a state: dataclass fields, namedtuple fields, or tuple positions."""
    if dataclasses.is_dataclass(state) and not isinstance(state, type):
        return {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}
    if isinstance(state, tuple) and hasattr(state, "_fields"):
        return dict(zip(state._fields, state, strict=True))
    if isinstance(state, tuple):
        return {f"[{i}]": v for i, v in enumerate(state)}
    return {"state": state}


GONE = "(gone)"
NEW = "(none)"


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[tuple[str, Any, Any], ...]:
    """``(field, old, new)`` for every field whose value differs, in ``after``'s field order;
    fields that disappeared come last with the new value ``"(gone)"``."""
    missing = object()
    out = []
    for name, new in after.items():
        old = before.get(name, missing)
        if old is missing or old != new:
            out.append((name, NEW if old is missing else old, new))
    out += [(name, old, GONE) for name, old in before.items() if name not in after]
    return tuple(out)
