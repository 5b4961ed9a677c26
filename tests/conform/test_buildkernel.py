"""`gupcheck kernel build`: the series, the cache key, the errors — no kernel is built here.

The one test that touches real kernel source (the shipped series applies to the source the
build uses) runs only when that source is already in the cache."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gupcheck.cli import exitcodes
from gupcheck.cli.app import app
from gupcheck.conform import buildkernel
from gupcheck.conform.buildkernel import (
    PatchError,
    Source,
    apply_series,
    build_key,
    read_series,
    touched_files,
)
from gupcheck.conform.errors import ConformError

SERIES = Path(__file__).resolve().parents[2] / "patches" / "ext4-bounce-pinned"
runner = CliRunner()

PATCH = """\
From 0 Mon Sep 17 00:00:00 2001
Subject: [PATCH] demo

---
 a.c | 2 +-
 1 file changed, 1 insertion(+), 1 deletion(-)

diff --git a/a.c b/a.c
--- a/a.c
+++ b/a.c
@@ -1,3 +1,3 @@
 int a;
-int b;
+int c;
 int d;
"""


def _tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "a.c").write_text("int a;\nint b;\nint d;\n")
    return tree


def _series(tmp_path: Path, *patches: tuple[str, str]) -> Path:
    d = tmp_path / "series"
    d.mkdir()
    for name, text in patches:
        (d / name).write_text(text)
    return d


def test_the_shipped_series_applies_to_the_cached_source() -> None:
    source = buildkernel.cached_source()
    if source is None:
        pytest.skip("linux-source-6.12 is not in the cache (gupcheck kernel build fetches it)")
    buildkernel.check_applies(read_series(SERIES), source)


def test_the_shipped_series_is_two_patches_in_order() -> None:
    names = [p.name for p in read_series(SERIES)]
    assert names == sorted(names) and len(names) == 2
    assert touched_files(read_series(SERIES)[0]) == {"fs/ext4/page-io.c"}
    assert touched_files(read_series(SERIES)[1]) == {"fs/iomap/direct-io.c"}


def test_a_series_file_sets_the_order(tmp_path: Path) -> None:
    d = _series(tmp_path, ("1.patch", PATCH), ("2.patch", PATCH))
    (d / "series").write_text("# quilt\n2.patch\n\n1.patch  # first listed last\n")
    assert [p.name for p in read_series(d)] == ["2.patch", "1.patch"]


@pytest.mark.parametrize("setup, message", [
    (lambda d: None, "no patches"),
    (lambda d: (d / "series").write_text("gone.patch\n"), "lists gone.patch"),
    (lambda d: (d / "series").write_text("../../../../../../etc/passwd\n"),
     "lists ../../../../../../etc/passwd, outside the series directory"),
    (lambda d: (d / "series").write_bytes(b"\xff\xfe"), "cannot read it as text"),
    (lambda d: (d / "series").write_text("a\x00b.patch\n"), "not a file name"),
    (lambda d: ((d / "sub").mkdir(), (d / "series").write_text("sub\n")), "sub, which is not a"),
])
def test_an_unusable_series_is_a_patch_error(tmp_path: Path, setup, message: str) -> None:
    d = _series(tmp_path)
    setup(d)
    with pytest.raises(PatchError, match=message):
        read_series(d)
    with pytest.raises(PatchError, match="not a directory"):
        read_series(tmp_path / "missing")


def test_the_key_follows_source_patches_and_config(tmp_path: Path) -> None:
    one = _series(tmp_path, ("0001-x.patch", PATCH))
    key = build_key("6.12.118-1", read_series(one))
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    (renamed / "0001-other-name.patch").write_text(PATCH)
    assert build_key("6.12.118-1", read_series(renamed)) == key  # content, not names
    assert build_key("6.12.119-1", read_series(one)) != key
    assert build_key("6.12.118-1", []) != key
    assert build_key("6.12.118-1", read_series(one),
                     {**buildkernel.CONFIG, "XFS_FS": "n"}) != key
    (one / "0001-x.patch").write_text(PATCH.replace("int c;", "int e;"))
    assert build_key("6.12.118-1", read_series(one)) != key


def test_a_patch_that_applies_changes_the_tree(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    apply_series(read_series(_series(tmp_path, ("0001.patch", PATCH))), tree)
    assert (tree / "a.c").read_text() == "int a;\nint c;\nint d;\n"


def test_a_patch_that_does_not_apply_is_named_and_changes_nothing(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "a.c").write_text("int a;\nint x;\nint d;\n")
    series = read_series(_series(tmp_path, ("0007-broken.patch", PATCH)))
    with pytest.raises(PatchError, match="0007-broken.patch does not apply") as exc:
        apply_series(series, tree)
    assert "\n" not in str(exc.value)
    assert (tree / "a.c").read_text() == "int a;\nint x;\nint d;\n"
    assert sorted(p.name for p in tree.iterdir()) == ["a.c"]  # no .rej, no .orig


def test_a_cached_build_returns_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUPCHECK_CACHE", str(tmp_path / "cache"))
    tree = tmp_path / "cache" / "ksrc" / "6.12.118-1" / buildkernel.SOURCE_PACKAGE
    tree.mkdir(parents=True)
    (tree.parent / "ok").write_text("6.12.118-1\n")
    series = _series(tmp_path, ("0001.patch", PATCH))
    key = build_key("6.12.118-1", read_series(series))
    image = tmp_path / "cache" / "kbuild" / key / "bzImage"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"kernel")

    def no_run(*a: object, **k: object) -> None:
        raise AssertionError("a cached build ran a command")

    monkeypatch.setattr(subprocess, "run", no_run)
    built = buildkernel.build(series)
    assert built.cached and built.bzimage == image and built.key == key


def test_the_newest_cached_source_is_used(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUPCHECK_CACHE", str(tmp_path))
    for version in ("6.12.9-1", "6.12.118-1", "6.12.41-1"):
        (tmp_path / "ksrc" / version / buildkernel.SOURCE_PACKAGE).mkdir(parents=True)
        (tmp_path / "ksrc" / version / "ok").write_text(version)
    (tmp_path / "ksrc" / "6.12.200-1" / buildkernel.SOURCE_PACKAGE).mkdir(parents=True)
    assert buildkernel.cached_source() == Source(
        "6.12.118-1", tmp_path / "ksrc" / "6.12.118-1" / buildkernel.SOURCE_PACKAGE)


def test_missing_build_tools_are_named_with_their_packages(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(buildkernel.shutil, "which",
                        lambda name: None if name in ("flex", "bison") else "/usr/bin/x")
    with pytest.raises(ConformError, match="apt-get install bison flex"):
        buildkernel.check_build_tools()


def test_cli_without_a_series_is_a_usage_error() -> None:
    res = runner.invoke(app, ["kernel", "build"])
    assert res.exit_code == exitcodes.USAGE and "--stock" in res.output


def test_cli_a_missing_series_directory_is_a_usage_error(tmp_path: Path) -> None:
    res = runner.invoke(app, ["kernel", "build", str(tmp_path / "nope")])
    assert res.exit_code == exitcodes.USAGE and "not a directory" in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("error, code", [
    (PatchError("0002-x.patch does not apply to src: Hunk #1 FAILED"), exitcodes.USAGE),
    (ConformError("make bzImage failed: Error 2", "see build.log"), exitcodes.ENVIRONMENT),
    (OSError(28, "No space left on device", "/cache/kbuild/x"), exitcodes.IO_ERROR),
])
def test_cli_maps_each_failure_to_its_exit_code(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path, error: Exception,
                                                code: int) -> None:
    def fail(*a: object, **k: object) -> None:
        raise error

    monkeypatch.setattr("gupcheck.cli.kernel_build.build", fail)
    res = runner.invoke(app, ["kernel", "build", str(tmp_path)])
    assert res.exit_code == code, res.output
    assert res.output.startswith("gupcheck: ") and res.output.count("\n") == 1


def test_cli_prints_the_bzimage_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("gupcheck.cli.kernel_build.build", lambda p, jobs, log: buildkernel.Built(
        tmp_path / "bzImage", "k", True, 0.0))
    res = runner.invoke(app, ["kernel", "build", "--stock"])
    assert res.exit_code == 0 and res.output == f"{tmp_path / 'bzImage'}\n"


def test_an_option_olddefconfig_dropped_is_named(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """make olddefconfig silently drops an option whose dependency is off: the build stops
    with the option's name instead of producing a kernel that cannot mount its disks."""
    out = tmp_path / "out"
    out.mkdir()

    def fake_make(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        (out / ".config.new").write_text("CONFIG_EXT4_FS=y\n# CONFIG_XFS_FS is not set\n")
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(buildkernel.subprocess, "run", fake_make)
    with pytest.raises(ConformError, match="lacks XFS_FS after olddefconfig"):
        buildkernel.configure(tmp_path, out, {"EXT4_FS": "y", "XFS_FS": "y"},
                               tmp_path / "log")
    (out / ".config").write_text("old")

    def same(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        (out / ".config.new").write_text("CONFIG_EXT4_FS=y\n")
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(buildkernel.subprocess, "run", same)
    buildkernel.configure(tmp_path, out, {"EXT4_FS": "y"}, tmp_path / "log")
    assert (out / ".config").read_text() == "CONFIG_EXT4_FS=y\n"


PATCH_B = PATCH.replace("a.c", "b.c").replace("int c;", "int z;")


def test_a_second_series_reuses_the_work_tree_with_the_first_undone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The work tree is shared by every series: building series B after series A restores
    A's files from the pristine source before applying B, so B's kernel has none of A."""
    monkeypatch.setenv("GUPCHECK_CACHE", str(tmp_path / "cache"))
    tree = tmp_path / "cache" / "ksrc" / "6.12.118-1" / buildkernel.SOURCE_PACKAGE
    tree.mkdir(parents=True)
    (tree.parent / "ok").write_text("6.12.118-1\n")
    for name in ("a.c", "b.c"):
        (tree / name).write_text("int a;\nint b;\nint d;\n")
    monkeypatch.setattr(buildkernel, "check_build_tools", lambda: None)
    monkeypatch.setattr(buildkernel, "configure",
                        lambda src, out, cfg, log: (out / ".config").write_text("cfg"))
    real_run = subprocess.run

    def fake_make(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        if "make" not in cmd:
            return real_run(cmd, **kw)  # patch, cp
        src = Path(str(kw["cwd"]))
        image = Path(cmd[cmd.index("make") + 1].removeprefix("O=")) / "arch/x86/boot/bzImage"
        image.parent.mkdir(parents=True, exist_ok=True)
        image.write_text((src / "a.c").read_text() + (src / "b.c").read_text())
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(buildkernel.subprocess, "run", fake_make)
    first = buildkernel.build(_series(tmp_path, ("0001-a.patch", PATCH)))
    assert "int c;" in first.bzimage.read_text() and "int z;" not in first.bzimage.read_text()
    second_dir = tmp_path / "b"
    second_dir.mkdir()
    second = buildkernel.build(_series(second_dir, ("0001-b.patch", PATCH_B)))
    assert second.key != first.key and not second.cached
    assert "int c;" not in second.bzimage.read_text() and "int z;" in second.bzimage.read_text()
    assert "int c;" in first.bzimage.read_text()  # the first build's cache entry is kept
    assert (tree / "a.c").read_text() == "int a;\nint b;\nint d;\n"  # pristine untouched
    broken = tmp_path / "broken"
    broken.mkdir()
    with pytest.raises(PatchError, match="0002-bad.patch"):
        buildkernel.build(_series(broken, ("0001-a.patch", PATCH), ("0002-bad.patch", PATCH)))
    third = buildkernel.build(None)  # the stock source: nothing of A or B left
    assert "int c;" not in third.bzimage.read_text()
    assert "int z;" not in third.bzimage.read_text()
