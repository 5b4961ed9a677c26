"""The XFS probes: the guest's XFS disk, the probe names the C program prints, and their
comparison — not compared while the model has no filesystem "xfs", predicted from the ext4
probe's scenario on "xfs" once it has."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from gupcheck.conform import errors, initramfs, predict, qemu, races, runner
from gupcheck.conform.compare import AGREES, DISAGREES
from gupcheck.conform.kernels import Kernel
from gupcheck.conform.predict import PROBES, XFS_PROBES, predict_all
from gupcheck.conform.races import RACE_PROBES, RacePrediction, predict_race
from gupcheck.designs import DESIGNS
from gupcheck.kernel.system import KernelModel, Scenario

LINUX_6_1 = DESIGNS["linux-6.1"]
SOURCE = Path(__file__).resolve().parents[2] / "probes" / "gupprobe.c"


# ---- the disk ---------------------------------------------------------------------------------

def test_an_xfs_probe_gets_the_xfs_disk_and_module(
        fake_boot: Callable[[list[str]], dict[str, object]]) -> None:
    on_xfs = {"modules": initramfs.XFS_MODULES, "btrfs": False, "pi": False, "xfs": True}
    assert fake_boot(["xfs/dio_into_mmap/not_faulted"]) == on_xfs
    assert fake_boot(["race/xfs_dio_vs_fsync"]) == on_xfs
    assert "xfs" not in fake_boot(["race/dio_vs_fsync"])
    assert "xfs" not in fake_boot(["dio_into_mmap/not_faulted"])
    both = fake_boot(["race/btrfs_enospc", "race/xfs_enospc"])
    assert both["btrfs"] and both["xfs"]
    assert both["modules"] == (*initramfs.BTRFS_MODULES, *initramfs.XFS_MODULES)


def test_the_xfs_disk_is_one_more_virtio_drive_after_the_btrfs_one(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_kernel: Kernel) -> None:
    monkeypatch.setattr(qemu, "require_tool", lambda name: f"/usr/bin/{name}")
    args = (fake_kernel, tmp_path / "i.gz", tmp_path / "d.img", tmp_path / "r.txt", ["xfs"])
    assert "x.img" not in " ".join(qemu.command(*args))
    cmd = qemu.command(*args, read_iops=200, btrfs_disk=tmp_path / "b.img",
                       xfs_disk=tmp_path / "x.img")
    throttle = ",throttling.iops-read=200"
    assert [c for c in cmd if c.startswith("file=")] == [
        f"file={tmp_path / n},format=raw,if=virtio,cache=unsafe{throttle}"
        for n in ("d.img", "b.img", "x.img")]


def test_the_init_script_mounts_the_disk_with_the_xfs_magic_at_slash_xfs() -> None:
    """Whichever of vdb/vdc it is: the superblock's first 4 bytes are "XFSB" (the btrfs disk
    has its magic at 64 KiB, so a disk without XFSB stays /btr's)."""
    init = initramfs.INIT
    assert 'for d in /dev/vdb /dev/vdc; do' in init
    assert '"$(dd if=$d bs=4 count=1 2>/dev/null)" = XFSB ]' in init
    assert "mount -t xfs $d /xfs" in init and "mount -t btrfs $d /btr" in init
    assert init.index("mount -t xfs") < init.index("/gupprobe $args")


@pytest.mark.skipif(shutil.which("mkfs.xfs") is None, reason="mkfs.xfs not installed "
                    "(apt-get install xfsprogs)")
def test_the_xfs_image_is_made_on_the_host_sparse_and_above_xfs_minimum(tmp_path: Path) -> None:
    img = tmp_path / "x.img"
    qemu.make_xfs(img)
    assert img.stat().st_size == qemu.XFS_MIN_MIB << 20
    assert img.read_bytes()[:4] == b"XFSB"
    with pytest.raises(errors.ConformError, match="mkfs.xfs failed"):
        qemu.make_xfs(tmp_path / "small.img", size_mib=16)  # below XFS's minimum


def test_mkfs_xfs_names_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(errors.shutil, "which", lambda name: None)
    with pytest.raises(errors.ConformError, match="apt-get install xfsprogs$"):
        errors.require_tool("mkfs.xfs")


# ---- the probe names --------------------------------------------------------------------------

def test_xfs_probes_run_only_when_named_and_xfs_names_them_all() -> None:
    assert not set(XFS_PROBES) & set(runner.select(None))
    assert runner.select(["xfs"]) == list(XFS_PROBES)
    assert runner.select(["xfs/truncate_while_pinned"]) == [
        p for p in XFS_PROBES if p.startswith("xfs/truncate_while_pinned/")]
    with pytest.raises(KeyError):
        runner.select(["xfs/fork_cow_pinned"])  # anonymous memory: nothing to put on XFS


def test_each_xfs_probe_is_an_ext4_probe_on_xfs() -> None:
    """Same group and case as an ext4 probe, so the ext4 probe's fields are compared; an
    unmodelled ext4 probe stays unmodelled on XFS, for the same reason."""
    for name, probe in XFS_PROBES.items():
        ext4 = PROBES[name.removeprefix("xfs/")]
        assert (probe.predict is None) == (ext4.predict is None), name
        assert probe.why_not == ext4.why_not
    assert {p for p in XFS_PROBES if p.startswith("xfs/dio_into_mmap/")} == {
        f"xfs/{p}" for p in PROBES if p.startswith("dio_into_mmap/")}


@pytest.fixture(scope="module")
def probe_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("gcc") is None or not Path("/usr/include/liburing.h").exists():
        pytest.skip("cannot build the probe here (apt-get install gcc liburing-dev)")
    if Path("/xfs").is_dir():
        pytest.skip("this host has an /xfs: the probes would write there")
    out = tmp_path_factory.mktemp("probe") / "gupprobe"
    subprocess.run(["gcc", "-O2", "-Wall", "-static", "-pthread", "-o", str(out), str(SOURCE),
                    "-luring"], check=True, capture_output=True)
    return out


def _probe_lines(binary: Path, *args: str) -> list[str]:
    done = subprocess.run([str(binary), *args], capture_output=True, text=True, timeout=60,
                          check=False)
    return done.stdout.splitlines()


def test_the_c_program_runs_each_xfs_probe_by_its_name(probe_binary: Path) -> None:
    """Without an XFS at /xfs (this host) each XFS case prints its own line and says so: the
    names it prints are the catalogue's, case by case, and nothing is written anywhere."""
    lines = _probe_lines(probe_binary, "xfs")
    assert lines == [f"PROBE {p} error=no_xfs_at_/xfs" for p in XFS_PROBES]
    assert _probe_lines(probe_binary, "xfs/truncate_while_pinned/iouring_ext4_shared") == [
        "PROBE xfs/truncate_while_pinned/iouring_ext4_shared error=no_xfs_at_/xfs"]
    xfs_races = [p for p, r in RACE_PROBES.items() if r.filesystem == "xfs"]
    assert _probe_lines(probe_binary, *xfs_races) == [
        f"PROBE {p} error=no_xfs_at_/xfs" for p in xfs_races]
    assert _probe_lines(probe_binary, "xfs/fork_cow_pinned") == [
        "PROBE-ERROR unknown probe xfs/fork_cow_pinned"]


def test_the_kernel_command_line_names_all_xfs_probes_as_xfs(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_kernel: Kernel,
        fake_boot: Callable[[list[str]], dict[str, object]]) -> None:
    seen: list[list[str]] = []

    def boot(kernel: Kernel, initrd: Path, args: list[str], **kw: object) -> qemu.Boot:
        seen.append(args)
        return qemu.Boot("END\n", "", 1.0, False)

    monkeypatch.setattr(qemu, "boot", boot)
    for probes in ([*XFS_PROBES], [*PROBES, *XFS_PROBES, "race/xfs_dio_vs_fsync"],
                   ["xfs/dio_into_mmap/beyond_eof"], [*PROBES, "xfs/dio_into_mmap/beyond_eof"]):
        runner.boot_probes(fake_kernel, probes, fresh=True)
    assert seen == [["xfs"], ["all", "xfs", "race/xfs_dio_vs_fsync", "iterations=200"],
                    ["xfs/dio_into_mmap/beyond_eof"], ["all", "xfs/dio_into_mmap/beyond_eof"]]


# ---- parsing and comparing --------------------------------------------------------------------

GUEST = """BOOT release=6.1.0-57-amd64
PROBE xfs/dio_into_mmap/not_faulted read_ret=65536; read_errno=0; mem=B.1*16; disk=B.1*16; \
reread_after_drop=B.1*16
PROBE xfs/iouring_register_filebacked/ext4_shared_rw ret=-1; errno=EOPNOTSUPP
PROBE race/xfs_dio_vs_fsync iterations=200; read_errors=0; mem_mismatch=0; disk_mismatch=3; \
reread_mismatch=0; kmsg_warnings=0; xfs_messages=0; racer_loops=4000
KMSG warnings=0 bugs=0
END
"""
NAMES = ["xfs/dio_into_mmap/not_faulted", "xfs/iouring_register_filebacked/ext4_shared_rw",
         "race/xfs_dio_vs_fsync"]


def _conform(monkeypatch: pytest.MonkeyPatch) -> dict[str, runner.Row]:
    monkeypatch.setattr(runner, "boot_probes", lambda *a, **k: (GUEST, 1.0, False))
    kernel = Kernel("t", Path("/nonexistent"), None, "6.1.0", "linux-6.1")
    result = runner.conform(kernel, LINUX_6_1, NAMES)
    assert result.run.observations["race/xfs_dio_vs_fsync"].fields["xfs_messages"] == "0"
    return {r.probe: r for r in result.rows}


def _recording(monkeypatch: pytest.MonkeyPatch) -> list[Scenario]:
    """Record the scenarios the model is asked to run (it runs them, on its XFS module)."""
    asked: list[Scenario] = []
    real_end_states = predict.end_states

    def end_states(scenario: Scenario, design: object) -> object:
        asked.append(scenario)
        return real_end_states(scenario, design)

    def model(scenario: Scenario, cfg: object, props: object) -> KernelModel:
        asked.append(scenario)
        return KernelModel(scenario, cfg, props)

    monkeypatch.setattr(predict, "end_states", end_states)
    monkeypatch.setattr(races, "KernelModel", model)
    races._CACHE.clear()
    return asked


def test_each_xfs_probe_is_predicted_from_its_ext4_scenario_on_xfs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    asked = _recording(monkeypatch)
    rows = _conform(monkeypatch)
    assert [(s.name, s.filesystem) for s in asked] == [
        ("conform-not-faulted-xfs", "xfs"), ("deferred-redirty-vs-fsync-xfs", "xfs")]
    assert rows["xfs/dio_into_mmap/not_faulted"].status == AGREES
    lost = rows["race/xfs_dio_vs_fsync (lost writes)"]
    assert "deferred-redirty-vs-fsync-xfs" in lost.predicted and lost.status != DISAGREES
    races._CACHE.clear()


def test_every_xfs_probe_predicts_or_says_why_not() -> None:
    """No XFS probe is a model error: each is predicted, or says why it is not modelled."""
    preds = predict_all(LINUX_6_1, list(XFS_PROBES))
    assert not preds.errors
    for name, probe in XFS_PROBES.items():
        if probe.predict is None:
            assert preds.by_probe[name] is None and probe.why_not
        else:
            assert preds.by_probe[name] is not None, name
    pred = predict_race(RACE_PROBES["race/xfs_dio_vs_msync"], LINUX_6_1)
    assert pred.basis == "scenario dio-read-into-mmap-xfs"
    assert isinstance(pred, RacePrediction)
