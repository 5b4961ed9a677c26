"""Shared fixtures of the conform tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from gupcheck.conform import build, qemu, runner
from gupcheck.conform.kernels import Kernel
from gupcheck.conform.qemu import Boot


@pytest.fixture
def fake_kernel(tmp_path: Path) -> Kernel:
    """A kernel whose bzImage exists (its bytes are never booted)."""
    k = Kernel("t", tmp_path / "bzImage", None, "6.1", "linux-6.1")
    k.bzimage.write_bytes(b"kernel")
    return k


@pytest.fixture
def fake_boot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
              fake_kernel: Kernel) -> Callable[[Sequence[str]], dict[str, object]]:
    """``runner.boot_probes`` of ``fake_kernel`` with nothing built or booted: called with the
    probes, it returns what the boot was given — the initramfs' extra modules and whether QEMU
    got the btrfs disk, the PI NVMe namespace and (key "xfs", only when given) the XFS disk."""
    seen: dict[str, object] = {}
    monkeypatch.setattr(runner, "cache_dir", lambda: tmp_path)
    monkeypatch.setattr(build, "probe_binary", lambda log: tmp_path / "probe")
    monkeypatch.setattr(build, "initramfs_for", lambda k, p, log, extra=(): (
        seen.__setitem__("modules", extra), tmp_path / "i.gz")[1])

    def boot(kernel: Kernel, initrd: Path, args: list[str], **kw: object) -> Boot:
        seen["btrfs"], seen["pi"] = kw["btrfs"], kw["pi"]
        if kw.get("xfs"):  # recorded only when asked for: the other tests' dicts stay as they are
            seen["xfs"] = True
        return Boot("BOOT release=6.1\nEND\n", "", 1.0, False)

    monkeypatch.setattr(qemu, "boot", boot)

    def run(probes: Sequence[str]) -> dict[str, object]:
        seen.clear()
        runner.boot_probes(fake_kernel, list(probes), fresh=True)
        return dict(seen)

    return run
