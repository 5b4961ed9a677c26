"""Failures of the model itself, reported with the model's names and the trace that led there."""

from __future__ import annotations

from typing import Any


class ModelError(Exception):
    """The model raised, or returned something the checker cannot use.

    ``path`` is the list of ``(label, state)`` steps from an initial state to where it happened
    (the initial state has label ``None``), so the report can show the trace.
    """

    def __init__(self, message: str, path: list[tuple[Any, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path or []


def describe_exception(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
