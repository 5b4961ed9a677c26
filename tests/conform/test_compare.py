"""Agreement: every predicted field observed with an allowed value; nothing else counts."""

from __future__ import annotations

from gupcheck.conform.compare import (
    AGREES,
    DISAGREES,
    NO_RESULT,
    NOT_MODELLED,
    compare,
    summary,
)
from gupcheck.conform.observe import Observation
from gupcheck.conform.predict import Prediction

PRED = Prediction({"ret": frozenset({"-1"}), "errno": frozenset({"EFAULT", "EOPNOTSUPP"})}, "t")


def test_agreement_allows_any_predicted_value_and_lists_unpredicted_fields() -> None:
    row = compare("g/c", PRED, Observation("g/c", {"ret": "-1", "errno": "EFAULT", "x": "1"}))
    assert row.status == AGREES and row.unpredicted == ("x",)
    assert row.predicted == "ret=-1; errno=EFAULT|EOPNOTSUPP"


def test_a_wrong_or_missing_field_disagrees_and_is_named() -> None:
    row = compare("g/c", PRED, Observation("g/c", {"ret": "-1", "errno": "EINVAL"}))
    assert row.status == DISAGREES and row.mismatched == ("errno",)
    row = compare("g/c", PRED, Observation("g/c", {"errno": "EFAULT"}))
    assert row.status == DISAGREES and row.mismatched == ("ret",)


def test_unmodelled_and_unreported_probes_are_never_agreements() -> None:
    rows = [compare("a/b", None, Observation("a/b", {"k": "v"}), why_not="no vmsplice"),
            compare("a/c", PRED, None)]
    assert [r.status for r in rows] == [NOT_MODELLED, NO_RESULT]
    assert summary(rows) == {NOT_MODELLED: 1, NO_RESULT: 1}
