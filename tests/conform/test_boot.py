"""Boot Debian 12's real kernel and check every deterministic probe against the model.

Skipped, with the reason, only where the machine cannot do it (no QEMU, gcc, liburing or
static busybox; the Debian archive unreachable and nothing cached).  The kernel, probe binary
and initramfs are cached under the gupcheck cache; the boot itself is always fresh (~10 s
under TCG).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gupcheck.conform.compare import AGREES, DISAGREES, NO_RESULT, NOT_MODELLED
from gupcheck.conform.errors import ConformError, busybox_path
from gupcheck.conform.kernels import fetch_debian
from gupcheck.conform.predict import PROBES, XFS_PROBES
from gupcheck.conform.runner import conform
from gupcheck.designs import DESIGNS

#: disagreements found by this test and kept as findings (docs/conformance.md), not hidden.
#: (The first one — 6.1's io_pin_pages returning -EINVAL for VMAs of different files — is now
#: in the model: KernelConfig.iouring_same_file.)
KNOWN_FINDINGS: set[str] = set()

RACE = "race/dio_vs_msync"


def _environment() -> str | None:
    for tool, pkg in (("qemu-system-x86_64", "qemu-system-x86"), ("gcc", "gcc"),
                      ("mkfs.ext4", "e2fsprogs"), ("apt-get", "apt"), ("dpkg-deb", "dpkg")):
        if shutil.which(tool) is None:
            return f"{tool} not installed (apt-get install {pkg})"
    if not Path("/usr/include/liburing.h").exists():
        return "liburing headers not installed (apt-get install liburing-dev)"
    try:
        busybox_path()
    except ConformError as exc:
        return str(exc)
    return None


def test_debian_12_kernel_agrees_with_the_linux_6_1_model() -> None:
    missing = _environment()
    if missing:
        pytest.skip(f"cannot boot a kernel here: {missing}")
    try:
        kernel = fetch_debian("debian-12")
    except ConformError as exc:
        pytest.skip(f"Debian 12's kernel cannot be fetched: {exc}")
    # plus a few rounds of one racy probe (about a second more): it runs, reports its counts
    # and, whatever they are, is never a disagreement unless the model proved them zero
    result = conform(kernel, DESIGNS["linux-6.1"], [*PROBES, RACE], fresh=True, iterations=5)
    assert result.run.complete and result.run.release
    assert result.run.release.startswith("6.1.")
    assert set(result.run.observations) == {*PROBES, RACE}  # every probe reported
    assert result.run.observations[RACE].fields["iterations"] == "5"
    race_rows = [r for r in result.rows if r.probe.startswith(RACE + " (")]
    assert len(race_rows) == 2 and all(r.status not in (DISAGREES, NO_RESULT) for r in race_rows)
    result.rows = [r for r in result.rows if r not in race_rows]
    status = {r.probe: r.status for r in result.rows}
    disagree = {p for p, s in status.items() if s == DISAGREES}
    assert disagree == KNOWN_FINDINGS, [r for r in result.rows if r.status == DISAGREES]
    assert {p for p, s in status.items() if s not in (AGREES, DISAGREES)} == {
        p for p in PROBES if PROBES[p].predict is None}
    assert all(status[p] == NOT_MODELLED for p in PROBES if PROBES[p].predict is None)
    assert result.run.warnings == 0 and result.run.bugs == 0  # deterministic probes: no WARN


def test_debian_12_runs_the_xfs_probes_on_a_real_xfs() -> None:
    """The XFS disk is made, attached and mounted, and every XFS probe reports from it (a probe
    whose /xfs is not an XFS mount prints error=no_xfs_at_/xfs); none disagrees with the
    model, and while the model has no XFS the ones it would predict say so."""
    missing = _environment() or (None if shutil.which("mkfs.xfs") else
                                 "mkfs.xfs not installed (apt-get install xfsprogs)")
    if missing:
        pytest.skip(f"cannot boot a kernel with XFS here: {missing}")
    try:
        kernel = fetch_debian("debian-12")
    except ConformError as exc:
        pytest.skip(f"Debian 12's kernel cannot be fetched: {exc}")
    race = "race/xfs_dio_vs_fsync"
    result = conform(kernel, DESIGNS["linux-6.1"], [*XFS_PROBES, race], fresh=True,
                     iterations=5)
    assert result.run.complete and not result.run.errors, result.run.errors
    assert set(result.run.observations) == {*XFS_PROBES, race}
    assert not [o for o in result.run.observations.values() if "error" in o.fields]
    assert result.run.observations[race].fields["iterations"] == "5"
    assert not [r for r in result.rows if r.status == DISAGREES]
    status = {r.probe: r.status for r in result.rows}
    register = [p for p in XFS_PROBES if p.startswith("xfs/iouring_register_filebacked/")]
    assert register and all(status[p] == AGREES for p in register)
    predicted = [p for p, probe in XFS_PROBES.items() if probe.predict]
    assert all(status[p] == AGREES for p in predicted)  # the XFS model's predictions
    assert result.run.warnings == 0 and result.run.bugs == 0
