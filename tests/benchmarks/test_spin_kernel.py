"""The Promela translation of a kernel scenario has gupcheck's state space, run live.

``benchmarks/promela/dio_msync_reclaim.pml`` translates the scenario that
``benchmarks/spin_kernel.py`` generates (read(O_DIRECT) into a shared mapping, msync, the
flusher, kswapd) under linux-6.12 step for step.  With SPIN's reductions off (``spin -o1 -o2
-o3``, ``gcc -DNOREDUCE``) and ``pan -c0``:

* its reachable states are gupcheck's distinct states under ``reduce="view"`` with the data
  values kept (the ghost history no checked property reads left out), and with ``-DHISTORY``
  gupcheck's unreduced states;
* both verify dirty-has-backing and pin-accounting, and both find the stable-writeback violation.

Skipped when ``spin`` or ``gcc`` is missing; a few seconds (three pan builds at ``-O0``).
"""

from __future__ import annotations

import functools
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gupcheck.designs import DESIGNS
from gupcheck.engine import Verdict, check
from gupcheck.kernel.system import KernelModel
from gupcheck.scenarios.loader import parse

ROOT = Path(__file__).resolve().parents[2]
PML = ROOT / "benchmarks" / "promela" / "dio_msync_reclaim.pml"


def _load(name: str, path: Path) -> Any:
    """benchmarks/ is not an installed package: load its modules by path."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


spin_runner = _load("benchmarks_spin_runner", ROOT / "benchmarks" / "spin_runner.py")
spin_kernel = _load("benchmarks_spin_kernel", ROOT / "benchmarks" / "spin_kernel.py")

if shutil.which("spin") is None:
    pytestmark = pytest.mark.skip(reason="spin is not installed (Debian package spin)")
elif not spin_runner.spin_available():
    pytestmark = pytest.mark.skip(reason="gcc is not installed (needed to compile SPIN's pan.c)")

CONFIG = {"NP": 1, "NW": 1, "NR": 1}


@functools.cache
def spin(**defines: int) -> dict[str, Any]:
    r = spin_runner.run_spin(PML, {**CONFIG, **defines}, reductions=False, search="dfs",
                             spin_flags=("-o2",), extra_pan_flags=("-c0",), cc_flags=("-O0",),
                             max_depth=10_000, hash_bits=18, timeout=60)
    assert r["search_completed"] and not r["depth_limit_hit"] and not r["memory_limit_hit"], \
        r["output"]
    return r


def gupcheck(properties: tuple[str, ...] = spin_kernel.PROPERTIES, reduce: str | None = None,
             data_values: bool = False, keep_going: bool = False, **config: int):
    c = {**CONFIG, **config}
    text = spin_kernel.scenario(c["NP"], c["NW"], c["NR"], properties)
    model = KernelModel(parse(text, "<test>"), DESIGNS["linux-6.12"], data_values=data_values)
    return check(model, liveness=False, reduce=reduce, keep_going=keep_going)


def test_promela_states_are_gupchecks_view_states() -> None:
    g = gupcheck(reduce="view", data_values=True)
    assert g.verdict is Verdict.HOLDS
    r = spin()
    assert r["errors"] == 0
    assert r["states_stored"] == g.stats.distinct == 2773


def test_with_two_pages_and_page_1_locked_by_kswapd_the_states_are_still_gupchecks() -> None:
    """2,1,2: kswapd's second attempt locks page 1, so the read's GUP, which keeps
    mmap_read_lock from page 0 to page 1, finds page 1 locked: its fault waits inside the
    read's step (gup._next_page), in both models; when kswapd has also unmapped it,
    filemap_fault drops the lock to sleep (fault.filemap_lock_wait) and GUP retries the page."""
    g = gupcheck(reduce="view", data_values=True, NP=2, NR=2)
    assert g.verdict is Verdict.HOLDS
    r = spin(NP=2, NR=2)
    assert r["errors"] == 0
    assert r["states_stored"] == g.stats.distinct == 685_684


def test_leaving_data_values_out_stores_fewer_states_than_spin() -> None:
    """Neither checked property compares data: the default view drops the values too."""
    g = gupcheck(reduce="view")
    assert g.verdict is Verdict.HOLDS
    assert g.stats.distinct < spin()["states_stored"]


def test_promela_with_history_states_are_gupchecks_unreduced_states() -> None:
    g = gupcheck()
    assert g.verdict is Verdict.HOLDS
    r = spin(HISTORY=1)
    assert r["errors"] == 0
    # 4852 until stable-writeback followed its definition (e901bca): a write bio records at
    # submit the threads holding its folio through GUP (Bio.early), and only their DMA is
    # recorded as a violation, so fewer states differ by the recorded violation
    assert r["states_stored"] == g.stats.distinct == 5067


def test_both_find_the_stable_writeback_violation() -> None:
    g = gupcheck(properties=("stable-writeback",))
    assert (g.verdict, g.property) == (Verdict.VIOLATED, "stable-writeback")
    r = spin(CHECK_SW=1)
    assert r["errors"] > 0
    assert "assertion violated" in r["error_messages"][0]


def test_with_stable_writeback_checked_the_states_are_gupchecks_view_states() -> None:
    """The view keeps a write bio's ``early`` set (and the violated property's name) when
    stable-writeback is checked; so does the Promela model under -DCHECK_SW.  pan -c0 goes on
    after the assertion, as gupcheck's keep_going does."""
    g = gupcheck(properties=spin_kernel.PROPERTIES + ("stable-writeback",), reduce="view",
                 data_values=True, keep_going=True)
    assert [f.property for f in g.findings] == ["stable-writeback"]
    assert spin(CHECK_SW=1)["states_stored"] == g.stats.distinct == 3255


SCRIPT = str(ROOT / "benchmarks" / "spin_kernel.py")


def test_repeated_rows_are_printed_once_each_with_the_one_core_comparison() -> None:
    """--repeat 2: every row runs twice, interleaved, and is printed once, with its fastest
    run; the line after the configuration compares gupcheck's fastest one-process row with
    SPIN's fastest complete row (issue 18's first goal), and the next gives that ratio in
    each round and the median."""
    out = subprocess.run([sys.executable, SCRIPT, "--config", "1,1,1",
                          "--row", "gupcheck view,sym", "--row", "spin dfs por", "--repeat", "2"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert "best of 2 interleaved runs" in out
    rows = re.findall(r"^\| 1,1,1 \| ([^|]+?) \| holds \| ([\d,]+) \|", out, re.MULTILINE)
    # the view leaves the data values out, as no checked property compares them
    assert rows == [("gupcheck view,sym", "1,402"), ("spin dfs por", "2,764")], out
    assert re.search(r"1,1,1: gupcheck on one core / SPIN's best: [\d.]+x the time "
                     r"\(gupcheck view,sym [\d.]+ s, spin dfs por [\d.]+ s\)", out), out
    ratios = re.search(r"1,1,1: each round's ratio: ([\d.]+)x, ([\d.]+)x; median ([\d.]+)x", out)
    assert ratios, out
    a, b, median = map(float, ratios.groups())
    assert abs(median - (a + b) / 2) < 0.01, out  # the median of two: their mean
