"""`gupcheck conform`'s errors: one line, a distinct exit code, the fix named, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gupcheck.cli import exitcodes
from gupcheck.cli.app import app
from gupcheck.cli.conform import ENVIRONMENT, load_design
from gupcheck.conform import errors, kernels

runner = CliRunner()


def test_an_unknown_probe_is_a_usage_error() -> None:
    res = runner.invoke(app, ["conform", "--probe", "nope"])
    assert res.exit_code == 2 and "unknown probe 'nope'" in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_a_kernel_of_ones_own_needs_a_design(tmp_path: Path) -> None:
    image = tmp_path / "bzImage"
    image.write_bytes(b"")
    res = runner.invoke(app, ["conform", "--kernel", str(image)])
    assert res.exit_code == 2 and "--design is required" in res.output


def test_modules_go_with_a_kernel_of_ones_own(tmp_path: Path) -> None:
    res = runner.invoke(app, ["conform", "--kernel", "debian-13", "--modules", str(tmp_path)])
    assert res.exit_code == 2 and "--modules goes with a kernel of your own" in res.output


def test_a_missing_tool_names_the_apt_command(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    monkeypatch.setenv("GUPCHECK_CACHE", str(tmp_path))
    monkeypatch.setattr(errors.shutil, "which", lambda name: None)
    res = runner.invoke(app, ["conform", "--kernel", "debian-12"])
    assert res.exit_code == ENVIRONMENT, res.output
    assert "apt-get not found" in res.output and "apt-get install apt" in res.output
    assert "Traceback" not in res.output


def test_each_tool_names_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(errors.shutil, "which", lambda name: None)
    with pytest.raises(errors.ConformError, match="apt-get install qemu-system-x86$"):
        errors.require_tool("qemu-system-x86_64")
    with pytest.raises(errors.ConformError, match="apt-get install e2fsprogs$"):
        errors.require_tool("mkfs.ext4")


def test_an_unreachable_archive_without_cache_is_an_environment_error(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GUPCHECK_CACHE", str(tmp_path))
    monkeypatch.setattr(kernels, "MIRROR", "http://127.0.0.1:9/debian")
    monkeypatch.setattr(kernels, "SECURITY", "http://127.0.0.1:9/debian-security")
    res = runner.invoke(app, ["conform", "--kernel", "debian-13", "--probe", "fork_cow_pinned"])
    assert res.exit_code == ENVIRONMENT, res.output
    assert "reachable" in res.output and "Traceback" not in res.output


@pytest.mark.parametrize("design", [[], ["--design", "linux-6.12"]])
def test_a_missing_bzimage_or_a_typo_is_a_usage_error_naming_the_choices(
        tmp_path: Path, design: list[str]) -> None:
    for kernel in (str(tmp_path / "bzImage"), "debian-14"):
        res = runner.invoke(app, ["conform", "--kernel", kernel, *design])
        assert res.exit_code == exitcodes.USAGE and "debian-12, debian-13" in res.output


def test_a_file_that_is_not_a_kernel_image_is_a_usage_error(tmp_path: Path) -> None:
    """Said before the tools are looked for (it was "liburing headers not found", exit 8)."""
    text = tmp_path / "passwd"
    text.write_text("root:x:0:0:root:/root:/bin/bash\n" * 40)
    res = runner.invoke(app, ["conform", "--kernel", str(text), "--design", "linux-6.12"])
    assert res.exit_code == exitcodes.USAGE, res.output
    assert "not an x86 kernel image" in res.output and "Traceback" not in res.output


def test_a_bzimage_is_known_by_its_boot_header(tmp_path: Path) -> None:
    image = tmp_path / "bzImage"
    image.write_bytes(bytes(0x202) + b"HdrS" + bytes(64))
    assert kernels.bzimage_problem(image) is None
    image.write_bytes(bytes(0x202) + b"HdrX" + bytes(64))
    assert "HdrS" in (kernels.bzimage_problem(image) or "")
    image.write_bytes(b"")
    assert kernels.bzimage_problem(image) is not None


def test_a_design_module_of_ones_own_is_loaded(tmp_path: Path) -> None:
    mod = tmp_path / "my_patch.py"
    mod.write_text("from dataclasses import replace\nfrom gupcheck.designs import DESIGNS\n"
                   "DESIGN = replace(DESIGNS['linux-6.12'], name='my-patch')\n")
    assert load_design(str(mod)).name == "my-patch"
    bad = tmp_path / "bad.py"
    bad.write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ValueError, match="boom"):
        load_design(str(bad))
    res = runner.invoke(app, ["conform", "--design", str(bad)])
    assert res.exit_code == exitcodes.DESIGN_MODULE and "Traceback" not in res.output


def test_iterations_must_be_positive() -> None:
    res = runner.invoke(app, ["conform", "--probe", "race", "--iterations", "0"])
    assert res.exit_code == 2 and "Traceback" not in res.output


def test_the_guest_shape_options_are_checked() -> None:
    for bad in (["--cpus", "0"], ["--slow-reads", "-1"]):
        res = runner.invoke(app, ["conform", "--probe", "race", *bad])
        assert res.exit_code == 2 and "Traceback" not in res.output
