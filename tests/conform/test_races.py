"""The racy probes' comparison: only an observed mismatch proves anything.

"Not observed in N runs" is neither agreement nor disagreement; a mismatch the model proves
impossible is a disagreement (the model missed a race); one it found reachable is confirmed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gupcheck.conform.compare import (
    AGREES,
    DISAGREES,
    MODEL_ERROR,
    NO_RESULT,
    NOT_MODELLED,
    summary,
)
from gupcheck.conform.kernels import Kernel
from gupcheck.conform.observe import Observation, parse
from gupcheck.conform.predict import PROBES
from gupcheck.conform.races import (
    CONFIRMED,
    EXT4_WARNINGS,
    LOST_WRITES,
    NOT_OBSERVED,
    RACE_PROBES,
    RacePrediction,
    compare_race,
    count,
    judge,
    predict_race,
)
from gupcheck.conform.runner import select
from gupcheck.designs import DESIGNS

LINE = ("PROBE race/dio_vs_pageout iterations=200; read_errors=0; mem_mismatch=0; "
        "disk_mismatch={d}; reread_mismatch=0; kmsg_warnings={w}; ext4_no_buffers={b}; "
        "racer_loops=5000")


def _obs(d: int = 0, w: int = 0, b: int = 0) -> Observation:
    return parse(LINE.format(d=d, w=w, b=b)).observations["race/dio_vs_pageout"]


@pytest.mark.parametrize(("observed", "possible", "status"), [
    (3, True, CONFIRMED),
    (3, False, DISAGREES),
    (0, True, f"{NOT_OBSERVED} in 200 runs"),
    (0, False, AGREES),
])
def test_the_verdict_is_asymmetric(observed: int, possible: bool, status: str) -> None:
    assert judge(observed, possible, 200) == status


def test_each_count_is_its_own_row_against_its_own_property() -> None:
    probe = RACE_PROBES["race/dio_vs_pageout"]
    pred = RacePrediction({"no-lost-write": True, "dirty-has-backing": False}, "scenario x")
    lost, warn = compare_race(probe, pred, _obs(d=2, b=1))
    assert lost.probe == "race/dio_vs_pageout (lost writes)" and lost.status == CONFIRMED
    assert lost.predicted.startswith("mismatches possible (no-lost-write violated")
    assert "disk_mismatch=2" in lost.observed and "iterations=200" in lost.observed
    assert warn.status == DISAGREES and warn.predicted.startswith("none (dirty-has-backing")
    assert warn.mismatched == EXT4_WARNINGS.fields


def test_nothing_seen_is_not_an_agreement_with_a_reachable_race() -> None:
    probe = RACE_PROBES["race/dio_vs_msync"]
    pred = RacePrediction({"no-lost-write": True, "dirty-has-backing": True}, "scenario x")
    rows = compare_race(probe, pred, _obs())
    assert {r.status for r in rows} == {f"{NOT_OBSERVED} in 200 runs"}
    assert AGREES not in summary(rows) and DISAGREES not in summary(rows)


def test_counts_sum_their_fields_and_an_unreadable_log_is_no_count() -> None:
    assert count(_obs(d=2), LOST_WRITES) == 2
    assert count(_obs(w=1, b=3), EXT4_WARNINGS) == 4
    assert count(_obs(w=-1), EXT4_WARNINGS) is None  # klogctl failed in the guest
    probe = RACE_PROBES["race/dio_vs_msync"]
    pred = RacePrediction({"no-lost-write": False, "dirty-has-backing": False}, "s")
    assert [r.status for r in compare_race(probe, pred, _obs(w=-1))] == [AGREES, NO_RESULT]
    assert {r.status for r in compare_race(probe, pred, None)} == {NO_RESULT}
    assert {r.status for r in compare_race(probe, None, None, error="boom")} == {MODEL_ERROR}


def test_racy_probes_run_only_when_named() -> None:
    assert select(None) == list(PROBES)
    assert select(["race"]) == list(RACE_PROBES)
    assert select(["race/dio_vs_msync"]) == ["race/dio_vs_msync"]


def test_the_prediction_comes_from_the_checker() -> None:
    """dio-read-into-mmap (small: ~1,000 states) under both kernels' designs: the lost write
    is reachable, buffers are never stripped (no reclaim in the scenario)."""
    for design in ("linux-6.1", "linux-6.12"):
        pred = predict_race(RACE_PROBES["race/dio_vs_msync"], DESIGNS[design])
        assert pred.possible == {"no-lost-write": True, "dirty-has-backing": False}
        assert pred.states > 0 and pred.basis == "scenario dio-read-into-mmap"


def test_a_race_only_run_compares_only_the_races(monkeypatch: pytest.MonkeyPatch) -> None:
    """No deterministic probe is predicted or shown when only races were asked for, and a
    DISAGREES row is what fails the command (the rows carry the status)."""
    from gupcheck.conform import runner
    from gupcheck.conform.kernels import Kernel

    text = "BOOT release=6.1.0\n" + LINE.format(d=0, w=0, b=4) + "\nEND\n"
    monkeypatch.setattr(runner, "boot_probes", lambda *a, **k: (text, 1.0, False))
    monkeypatch.setattr(runner, "predict_race", lambda probe, cfg: RacePrediction(
        {"no-lost-write": True, "dirty-has-backing": False}, "scenario s"))
    monkeypatch.setattr(runner, "predict_all", lambda *a: pytest.fail("predicted PROBES"))
    kernel = Kernel("t", Path("/nonexistent"), None, "6.1.0", "linux-6.1")
    result = runner.conform(kernel, DESIGNS["linux-6.1"], ["race/dio_vs_pageout"])
    assert [r.status for r in result.rows] == [f"{NOT_OBSERVED} in 200 runs", DISAGREES]


MUNMAP = ("PROBE race/munmap_while_dma iterations=50; read_efault=3; read_short=0; "
          "mem_mismatch=0; disk_mismatch={d}; reread_mismatch=0; kmsg_warnings=0; "
          "ext4_no_buffers=0; racer_loops=900")
TRUNC = ("PROBE race/dio_vs_truncate iterations=50; read_efault=7; read_short=0; "
         "stale_cache={s}; stale_disk=0; stale_reread=0; kmsg_warnings=0; ext4_no_buffers=0; "
         "racer_loops=50")


def test_each_new_racy_probe_names_a_shipped_scenario_and_its_counters() -> None:
    """Every racy probe is judged against a scenario the matrix checks, and every aspect's
    counters are ones its probe prints (probes/gupprobe.c)."""
    from gupcheck.scenarios import SCENARIOS

    src = (Path(__file__).resolve().parents[2] / "probes" / "gupprobe.c").read_text()
    for probe in RACE_PROBES.values():
        assert probe.scenario in SCENARIOS
        assert f'"{probe.name.split("/")[1]}"' in src
        for field in (*probe.context, *(f for a in probe.aspects for f in a.fields)):
            assert f'"{field}=' in src, (probe.name, field)


def test_the_window_counters_are_shown_beside_the_counts() -> None:
    obs = parse(MUNMAP.format(d=1)).observations["race/munmap_while_dma"]
    pred = RacePrediction({"no-lost-write": True, "dirty-has-backing": False}, "s")
    lost, warn = compare_race(RACE_PROBES["race/munmap_while_dma"], pred, obs)
    assert lost.status == CONFIRMED and warn.status == AGREES
    assert lost.observed.startswith("iterations=50; read_efault=3; read_short=0; mem_mismatch=0")


def test_stale_data_after_truncate_is_shown_but_never_judged() -> None:
    """No property of the model covers truncated data coming back: the row is "not modelled"
    whatever the count, and the checker is not asked about an empty property."""
    probe = RACE_PROBES["race/dio_vs_truncate"]
    pred = RacePrediction({"dirty-has-backing": False}, "s")
    for s in (0, 4):
        obs = parse(TRUNC.format(s=s)).observations["race/dio_vs_truncate"]
        stale, warn = compare_race(probe, pred, obs)
        assert stale.status == NOT_MODELLED and f"stale_cache={s}" in stale.observed
        assert "no fsync after its truncate" in stale.note
        assert warn.status == AGREES


@pytest.mark.parametrize(("name", "possible"), [
    ("race/munmap_while_dma", {"no-lost-write": True, "dirty-has-backing": False}),
    ("race/dio_vs_truncate", {"dirty-has-backing": False}),
    # the failed invalidation falls back to a buffered write (-ENOTBLK): nothing is lost
    ("race/vm_writev_vs_dio", {"no-lost-write": False, "dirty-has-backing": False}),
    ("race/dio_vs_fsync", {"no-lost-write": True, "dirty-has-backing": False}),
])
def test_the_new_predictions_come_from_the_checker(name: str,
                                                   possible: dict[str, bool]) -> None:
    """Both shipped kernels' designs, exhaustively (each a few thousand states): the lost
    write is reachable where the table says so, buffers are never stripped (no reclaim in
    these scenarios)."""
    probe = RACE_PROBES[name]
    for design in ("linux-6.1", "linux-6.12"):
        pred = predict_race(probe, DESIGNS[design])
        assert pred.possible == possible, (name, design)
        assert pred.basis == f"scenario {probe.scenario}" and pred.states > 0


def test_the_guest_can_have_more_vcpus_and_a_slow_disk(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    from gupcheck.conform import qemu
    from gupcheck.conform.kernels import Kernel
    from gupcheck.conform.runner import machine_text

    monkeypatch.setattr(qemu, "require_tool", lambda name: f"/usr/bin/{name}")
    k = Kernel("t", tmp_path / "bzImage", None, "6.1", "linux-6.1")
    args = (k, tmp_path / "i.gz", tmp_path / "d.img", tmp_path / "r.txt", ["race"])
    plain = qemu.command(*args)
    assert plain[plain.index("-smp") + 1] == "1" and "throttling" not in " ".join(plain)
    shaped = qemu.command(*args, smp=2, read_iops=200)
    assert shaped[shaped.index("-smp") + 1] == "2"
    assert shaped[shaped.index("-drive") + 1].endswith(",throttling.iops-read=200")
    assert machine_text() == "" and machine_text(2, 200) == (
        "2 vCPUs, disk reads throttled to 200/s")


def test_the_btrfs_probes_predict_enospc_only_where_the_fixup_worker_reserves_late() -> None:
    """enospc-after-dma: 6.1's btrfs_writepage_fixup_worker can fail its late reservation;
    the linux-6.12 design refuses the page instead (-EUCLEAN), so ENOSPC is predicted none."""
    probe = RACE_PROBES["race/btrfs_enospc"]
    assert probe.filesystem == "btrfs"
    assert predict_race(probe, DESIGNS["linux-6.1"]).possible["no-enospc-after-dma"] is True
    assert predict_race(probe, DESIGNS["linux-6.12"]).possible["no-enospc-after-dma"] is False
    pred = predict_race(RACE_PROBES["race/btrfs_dio_vs_msync"], DESIGNS["linux-6.12"])
    assert pred.possible == {"no-lost-write": True, "stable-writeback": True,
                             "mkwrite-before-dirty": True}


def test_a_btrfs_probe_gets_a_second_disk_and_the_btrfs_modules(
        fake_boot: Callable[[list[str]], dict[str, object]], fake_kernel: Kernel,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from gupcheck.conform import qemu

    assert fake_boot(["race/btrfs_enospc"]) == {"modules": ("btrfs",), "btrfs": True,
                                                "pi": False}
    assert fake_boot(["race/dio_vs_fsync"]) == {"modules": (), "btrfs": False, "pi": False}
    monkeypatch.setattr(qemu, "require_tool", lambda name: f"/usr/bin/{name}")
    cmd = qemu.command(fake_kernel, tmp_path / "i.gz", tmp_path / "d.img", tmp_path / "r.txt",
                       [], btrfs_disk=tmp_path / "b.img")
    assert [c for c in cmd if c.startswith("file=")] == [
        f"file={tmp_path / 'd.img'},format=raw,if=virtio,cache=unsafe",
        f"file={tmp_path / 'b.img'},format=raw,if=virtio,cache=unsafe"]
