"""Prediction beside observation, probe by probe.

A probe agrees when every field the model predicts was printed with one of the predicted
values.  Fields the probe prints but the model does not predict (``pinned_page_holds``: the
model cannot order the child's write before the parent's look) are listed, not compared; a
probe with no model at all is "not modelled", never counted as agreeing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .observe import Observation
from .predict import Prediction

AGREES = "agrees"
DISAGREES = "DISAGREES"
NOT_MODELLED = "not modelled"
NO_RESULT = "no result"
MODEL_ERROR = "model error"


@dataclass(frozen=True)
class Row:
    """One line of the conformance table."""

    probe: str
    predicted: str  # "key=value; ..." ("a|b" where the model allows either)
    observed: str  # what the probe printed
    status: str  # AGREES, DISAGREES, NOT_MODELLED, NO_RESULT, MODEL_ERROR
    mismatched: tuple[str, ...] = ()  # predicted fields observed otherwise (or missing)
    unpredicted: tuple[str, ...] = ()  # observed fields the model does not predict
    note: str = ""  # why not modelled / the model's error


def predicted_text(pred: Prediction) -> str:
    return "; ".join(f"{k}={'|'.join(sorted(v))}" for k, v in pred.fields.items())


def observed_text(obs: Observation) -> str:
    return "; ".join(f"{k}={v}" for k, v in obs.fields.items())


def compare(probe: str, pred: Prediction | None, obs: Observation | None, *,
            why_not: str = "", error: str = "") -> Row:
    """The row for one probe."""
    seen = observed_text(obs) if obs else ""
    if error:
        return Row(probe, "", seen, MODEL_ERROR, note=error)
    if pred is None:
        return Row(probe, "", seen, NOT_MODELLED, note=why_not)
    if obs is None:
        return Row(probe, predicted_text(pred), "", NO_RESULT)
    bad = tuple(k for k, allowed in pred.fields.items() if obs.fields.get(k) not in allowed)
    extra = tuple(k for k in obs.fields if k not in pred.fields)
    return Row(probe, predicted_text(pred), seen, DISAGREES if bad else AGREES, bad, extra)


def summary(rows: Iterable[Row]) -> dict[str, int]:
    """How many rows have each status."""
    out: dict[str, int] = {}
    for r in rows:
        out[r.status] = out.get(r.status, 0) + 1
    return out
