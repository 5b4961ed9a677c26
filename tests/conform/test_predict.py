"""Predictions come from running the model: they follow the design, not a table."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gupcheck.conform.predict import (
    PROBES,
    REGISTER_VMAS,
    loaded,
    page_value,
    pattern,
    predict_all,
    runs,
)
from gupcheck.designs import DESIGNS
from gupcheck.kernel.vma import Backing, Vma

LINUX_6_1, LINUX_6_12 = DESIGNS["linux-6.1"], DESIGNS["linux-6.12"]


def test_model_tokens_become_the_probes_patterns() -> None:
    assert pattern("B1") == "B.1" and pattern("Z0") == "zero" and pattern("N1") == "F.2"
    assert pattern("C1", {"C1": "C.0"}) == "C.0"
    assert page_value(("B1", "B1")) == "B.1"
    assert page_value(("N1", "A0")) == "mixed"
    assert runs(["B.1"], 16) == "B.1*16"
    assert runs(["B.1", "B.1", "zero"], 8) == "B.1*16,zero*8"
    assert runs(["F.2"], 1, star=False) == "F.2"
    assert loaded("load=B1|B1") == "B.1" and loaded("parent read=F2|F2") == "F.2"
    assert loaded("read=ok") is None and loaded("SIGBUS") is None


def test_every_probe_of_the_c_program_has_a_catalogue_entry() -> None:
    from gupcheck.conform.build import PROBE_SOURCE

    source = PROBE_SOURCE.read_text()
    for name in PROBES:
        assert f'"{name.split("/")[1]}"' in source, name


@pytest.mark.parametrize("design", ["linux-6.1", "linux-6.12"])
def test_every_modelled_probe_gets_a_prediction_without_error(design: str) -> None:
    preds = predict_all(DESIGNS[design])
    assert not preds.errors
    for name, pred in preds.by_probe.items():
        if PROBES[name].predict is None:
            assert pred is None and PROBES[name].why_not
        else:
            assert pred is not None and pred.fields, name
            assert all(len(v) >= 1 for v in pred.fields.values())


def test_the_registration_errno_follows_the_design_switches() -> None:
    """Switching off 6.5's refusal in a 6.12 copy brings back io_uring's own EOPNOTSUPP: the
    prediction is computed, so it moves with the design."""
    probe = PROBES["iouring_register_filebacked/ext4_shared_rw"].predict
    assert probe is not None
    assert probe(LINUX_6_12).fields == {"ret": {"-1"}, "errno": {"EFAULT"}}
    no_refusal = replace(LINUX_6_12, name="6.12-without-6.5", longterm_file_refusal=False,
                         iouring_file_check=True)
    assert probe(no_refusal).fields["errno"] == {"EOPNOTSUPP"}
    assert REGISTER_VMAS["ext4_shared_rw"] == (Vma(Backing.EXT4, shared=True),)


def test_a_refused_registration_predicts_the_probes_skip_line() -> None:
    pred = PROBES["truncate_while_pinned/iouring_ext4_private"].predict
    assert pred is not None
    assert pred(LINUX_6_1).fields == {"skip": {"register_refused"}, "register_ret": {"-1"},
                                      "register_errno": {"EOPNOTSUPP"}}
    on_612 = pred(LINUX_6_12).fields
    assert on_612["register_ret"] == {"0"} and on_612["touch_after_truncate"] == {"SIGBUS"}
    assert on_612["mapping_after_regrow"] == {"zero*4"}


def test_dio_predictions_read_the_disk_and_the_mapping_of_the_end_states() -> None:
    pred = PROBES["dio_into_mmap/private_mapping"].predict
    assert pred is not None
    fields = pred(LINUX_6_1).fields
    assert fields["mem"] == {"B.1*16"} and fields["disk"] == {"A.0*16"}
    eof = PROBES["dio_into_mmap/beyond_eof"].predict
    assert eof is not None
    fields = eof(LINUX_6_12).fields
    assert fields["read_errno"] == {"EFAULT"} and fields["disk"] == {"B.1*8"}
    assert fields["touch_beyond_eof"] == {"SIGBUS"}


def test_the_cve_probe_would_leak_on_a_kernel_before_5_9() -> None:
    pred = PROBES["fork_cow_pinned/vmsplice_cve_2020_29374"].predict
    assert pred is not None
    assert pred(LINUX_6_12).fields["leak"] == {"False"}
    assert "True" in pred(DESIGNS["pin-counting"]).fields["leak"]
