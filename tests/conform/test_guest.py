"""The guest's initramfs and QEMU command line, without booting anything."""

from __future__ import annotations

import gzip
import lzma
from pathlib import Path

import pytest

from gupcheck.conform import initramfs, qemu
from gupcheck.conform.errors import ConformError
from gupcheck.conform.kernels import Kernel


def _module(name: str, depends: str) -> bytes:
    return b"\x7fELF junk\x00" + f"name={name}\x00depends={depends}\x00vermagic=6.1\x00".encode()


def _tree(tmp_path: Path) -> Path:
    mods = tmp_path / "lib/modules/6.1.0-test"
    (mods / "kernel/fs/ext4").mkdir(parents=True)
    (mods / "kernel/fs/jbd2").mkdir(parents=True)
    (mods / "kernel/crypto").mkdir(parents=True)
    (mods / "kernel/fs/ext4/ext4.ko.xz").write_bytes(lzma.compress(_module("ext4", "jbd2,crc16")))
    (mods / "kernel/fs/jbd2/jbd2.ko").write_bytes(_module("jbd2", ""))
    (mods / "kernel/crypto/crc16.ko").write_bytes(_module("crc16", ""))
    (mods / "modules.builtin").write_text("kernel/drivers/block/virtio_blk.ko\n")
    return mods


def test_modules_come_with_their_dependencies_first_and_builtins_are_skipped(
        tmp_path: Path) -> None:
    order = initramfs.resolve_modules(_tree(tmp_path), ("virtio_blk", "ext4"))
    assert [n for n, _ in order] == ["jbd2", "crc16", "ext4"]
    assert initramfs.modinfo(order[-1][1])["depends"] == "jbd2,crc16"  # decompressed


def test_a_needed_module_that_is_nowhere_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConformError, match="virtio_pci not found"):
        initramfs.resolve_modules(_tree(tmp_path), ("virtio_pci",))


def test_the_initramfs_is_a_gzipped_newc_archive_with_init_and_the_probe(tmp_path: Path) -> None:
    (tmp_path / "busybox").write_bytes(b"BB")
    (tmp_path / "probe").write_bytes(b"PROBE")
    data = gzip.decompress(initramfs.build(tmp_path / "busybox", tmp_path / "probe",
                                           [("ext4", b"KO")]))
    assert data.startswith(b"070701")
    for name in (b"init\x00", b"gupprobe\x00", b"bin/busybox\x00", b"lib/modules/ext4.ko\x00",
                 b"TRAILER!!!\x00"):
        assert name in data
    assert b"ext4.ko\n" in data  # modules.order
    assert b"/dev/ttyS1" in data  # results on the second serial port


def test_qemu_runs_without_kvm_and_sends_results_to_a_file(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    monkeypatch.setattr(qemu, "require_tool", lambda name: f"/usr/bin/{name}")
    k = Kernel("t", tmp_path / "bzImage", None, "6.1", "linux-6.1")
    cmd = qemu.command(k, tmp_path / "i.gz", tmp_path / "d.img", tmp_path / "r.txt",
                       ["dio_into_mmap"])
    assert "tcg,thread=multi" in cmd and f"file:{tmp_path / 'r.txt'}" in cmd
    assert "gupprobe=dio_into_mmap" in cmd[cmd.index("-append") + 1]
    everything = qemu.command(k, tmp_path / "i.gz", tmp_path / "d.img", tmp_path / "r.txt", [])
    assert "gupprobe" not in everything[everything.index("-append") + 1]
