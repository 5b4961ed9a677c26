"""race/pi_dio_vs_msync: stable-writes-raid on an NVMe namespace with protection information,
without booting anything — the catalogue entry, the prediction, the parsing and comparison of
its counts, the guest's extra device, modules and /init steps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from gupcheck.conform import initramfs, qemu
from gupcheck.conform.compare import AGREES, DISAGREES
from gupcheck.conform.kernels import Kernel
from gupcheck.conform.observe import parse
from gupcheck.conform.races import (
    CONFIRMED,
    LOST_WRITES,
    NOT_OBSERVED,
    PROTECTION_ERRORS,
    RACE_PROBES,
    RacePrediction,
    compare_race,
    count,
    predict_race,
    select_races,
)
from gupcheck.designs import DESIGNS

NAME = "race/pi_dio_vs_msync"
LINE = ("PROBE race/pi_dio_vs_msync iterations=1000; pi_format=T10-DIF-TYPE1-CRC; "
        "queue_stable_writes=1; read_errors=0; sync_errors={s}; {errno}racer_sync_errors={r}; "
        "read_pi_errors=0; pi_errors={p}; nvme_pi_status={n}; mem_mismatch=0; "
        "disk_mismatch={d}; reread_mismatch=0; kmsg_warnings=0; racer_loops=4321")


def _obs(s: int = 0, r: int = 0, p: int = 0, n: int = 0, d: int = 0):
    errno = "sync_errno=EILSEQ; " if s else ""
    return parse(LINE.format(s=s, r=r, p=p, n=n, d=d, errno=errno)).observations[NAME]


def test_the_probe_stands_for_stable_writes_raid_on_a_pi_namespace() -> None:
    probe = RACE_PROBES[NAME]
    assert probe.scenario == "stable-writes-raid" and probe.filesystem == "ext4-pi"
    assert probe.aspects == (PROTECTION_ERRORS, LOST_WRITES)
    assert PROTECTION_ERRORS.property == "stable-writeback"
    assert NAME in select_races(["race"]) and select_races(["race/pi_dio_vs_msync"]) == [NAME]


def test_both_kernels_models_let_the_dma_change_a_page_under_writeback() -> None:
    """stable-writes-raid under linux-6.1 (FOLL_GET) and linux-6.12 (FOLL_PIN): a pin taken
    while the PTE is writable is never waited for by writeback, so the DMA can land in a page
    whose write is in flight (stable-writeback violated) and the data can be lost."""
    for design in ("linux-6.1", "linux-6.12"):
        pred = predict_race(RACE_PROBES[NAME], DESIGNS[design])
        assert pred.possible == {"stable-writeback": True, "no-lost-write": True}, design
        assert pred.basis == "scenario stable-writes-raid" and pred.states > 0


def test_the_store_control_is_the_cpu_scenario_checked_on_a_stable_writes_device() -> None:
    """race/pi_store_vs_msync: CPU stores wait for stable pages in ->page_mkwrite, so the
    model proves no page under writeback changes and no write is lost — under both designs,
    and only because the scenario is checked on a stable-writes device (the shipped
    control-cpu-mmap-write is on a plain disk, and keeps its own cache entry)."""
    probe = RACE_PROBES["race/pi_store_vs_msync"]
    assert probe.scenario == "control-cpu-mmap-write" and probe.stable_writes
    assert probe.filesystem == "ext4-pi" and probe.aspects == (PROTECTION_ERRORS, LOST_WRITES)
    for design in ("linux-6.1", "linux-6.12"):
        pred = predict_race(probe, DESIGNS[design])
        assert pred.possible == {"stable-writeback": False, "no-lost-write": False}, design
        assert pred.basis == "scenario control-cpu-mmap-write on a stable-writes device"
    plain = replace(probe, name="race/x", stable_writes=False)
    assert predict_race(plain, DESIGNS["linux-6.1"]).basis == "scenario control-cpu-mmap-write"


def test_a_protection_error_in_the_control_would_be_a_disagreement() -> None:
    probe = RACE_PROBES["race/pi_store_vs_msync"]
    pred = predict_race(probe, DESIGNS["linux-6.1"])
    line = LINE.replace("race/pi_dio_vs_msync", probe.name)
    quiet = parse(line.format(s=0, r=0, p=0, n=0, d=0, errno="")).observations[probe.name]
    assert [r.status for r in compare_race(probe, pred, quiet)] == [AGREES, AGREES]
    seen = parse(line.format(s=0, r=1, p=1, n=1, d=0, errno="")).observations[probe.name]
    prot, lost = compare_race(probe, pred, seen)
    assert prot.status == DISAGREES and prot.mismatched == PROTECTION_ERRORS.fields
    assert lost.status == AGREES


def test_the_protection_errors_sum_the_syncs_the_log_and_the_readers() -> None:
    assert count(_obs(), PROTECTION_ERRORS) == 0
    assert count(_obs(s=1, r=2, p=3, n=4), PROTECTION_ERRORS) == 10
    assert count(_obs(p=-1), PROTECTION_ERRORS) is None  # klogctl failed in the guest
    assert count(_obs(d=1), LOST_WRITES) == 1


def test_a_failed_write_confirms_and_nothing_seen_is_not_agreement() -> None:
    pred = RacePrediction({"stable-writeback": True, "no-lost-write": True},
                          "scenario stable-writes-raid")
    prot, lost = compare_race(RACE_PROBES[NAME], pred, _obs(s=2, r=1, p=3, n=3))
    assert prot.probe == f"{NAME} (protection errors)" and prot.status == CONFIRMED
    assert prot.predicted.startswith("mismatches possible (stable-writeback violated in "
                                     "scenario stable-writes-raid")
    assert prot.observed.startswith("iterations=1000; pi_format=T10-DIF-TYPE1-CRC; "
                                    "queue_stable_writes=1; read_errors=0; sync_errno=EILSEQ")
    assert "nvme_pi_status=3" in prot.observed
    assert lost.status == f"{NOT_OBSERVED} in 1000 runs"
    # a design in which writeback waited for pins would have predicted none: then a seen
    # protection error is a disagreement, and nothing seen agrees
    held = RacePrediction({"stable-writeback": False, "no-lost-write": False}, "s")
    assert compare_race(RACE_PROBES[NAME], held, _obs(n=1))[0].status == DISAGREES
    assert [r.status for r in compare_race(RACE_PROBES[NAME], held, _obs())] == [AGREES,
                                                                                 AGREES]


def test_the_pi_probe_gets_the_nvme_namespace_and_its_modules(
        fake_boot: Callable[[list[str]], dict[str, object]]) -> None:
    assert fake_boot([NAME]) == {"modules": initramfs.NVME_PI_MODULES, "btrfs": False,
                                 "pi": True}
    assert fake_boot([NAME, "race/btrfs_enospc"]) == {
        "modules": (*initramfs.BTRFS_MODULES, *initramfs.NVME_PI_MODULES), "btrfs": True,
        "pi": True}
    assert fake_boot(["race/dio_vs_msync"]) == {"modules": (), "btrfs": False, "pi": False}
    assert fake_boot(["race/pi_store_vs_msync"]) == {"modules": initramfs.NVME_PI_MODULES,
                                                     "btrfs": False, "pi": True}


def test_qemu_gets_an_nvme_namespace_with_type_1_protection(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    monkeypatch.setattr(qemu, "require_tool", lambda name: f"/usr/bin/{name}")
    k = Kernel("t", tmp_path / "bzImage", None, "6.1", "linux-6.1")
    args = (k, tmp_path / "i.gz", tmp_path / "d.img", tmp_path / "r.txt", [NAME])
    assert not [c for c in qemu.command(*args) if c.startswith(("nvme", "-device"))]
    cmd = qemu.command(*args, read_iops=200, pi_disk=tmp_path / "pi.img")
    assert f"file={tmp_path / 'pi.img'},format=raw,if=none,id=pi0,cache=unsafe" in cmd
    assert "nvme,id=nvme0,serial=gupcheck-pi" in cmd
    ns = cmd[cmd.index("nvme,id=nvme0,serial=gupcheck-pi") + 2]
    assert ns.startswith("nvme-ns,drive=pi0,bus=nvme0,")
    assert {"ms=8", "mset=0", "pi=1", "logical_block_size=512"} <= set(ns.split(","))
    # the disk the DMA comes from is throttled, the namespace is not
    assert [c for c in cmd if "throttling" in c] == [
        f"file={tmp_path / 'd.img'},format=raw,if=virtio,cache=unsafe,throttling.iops-read=200"]


def test_the_namespace_holds_a_copy_of_the_ext4_disk(tmp_path: Path) -> None:
    """QEMU makes size / (512 + 8) blocks of the backing file: enough for /dev/vda's 64 MiB."""
    qemu.make_pi_disk(tmp_path / "pi.img", data_mib=64)
    assert (tmp_path / "pi.img").stat().st_size // (512 + 8) * 512 >= 64 << 20


def test_init_copies_the_ext4_disk_onto_the_namespace_before_mounting_it() -> None:
    init = initramfs.INIT
    copy = init.index("dd if=/dev/vda of=/dev/nvme0n1")
    assert init.index("insmod") < copy < init.index("mount -t ext4 /dev/nvme0n1 /pi")
    assert copy < init.index("mount -t ext4 /dev/vda /mnt")  # a copy of the unmounted disk
    assert "BOOT-ERROR copy to nvme0n1" in init and "BOOT-ERROR mount nvme0n1" in init
    assert "nvme" in initramfs.NVME_PI_MODULES and "crct10dif_generic" in initramfs.NVME_PI_MODULES
