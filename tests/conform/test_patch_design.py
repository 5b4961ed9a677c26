"""The design of patches/ext4-bounce-pinned: the search's best ext4 short-term combination of
5 December over linux-6.12, loadable with ``--design FILE.py``, and predicting the confirmed
races gone."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from gupcheck.cli.designs import load_design
from gupcheck.conform.races import RACE_PROBES, predict_race
from gupcheck.designs import DESIGNS
from gupcheck.designspace import config, parse_spec

MODULE = Path(__file__).resolve().parents[2] / "gupcheck" / "designs" / "ext4_bounce_pinned.py"
BEST = "proposal-base+writeback=bounce+dio-dirty=completion"  # docs/kernel-fix.md


def test_the_module_loads_as_a_design_module() -> None:
    cfg = load_design(str(MODULE))
    assert cfg.name == "ext4-bounce-pinned" and not cfg.relaxes


def test_it_is_the_searchs_best_combination_on_linux_6_12() -> None:
    """Every switch as in the combination, except the 6.5 long-term refusal the patched
    kernel keeps (proposal-base drops it; the short-term class never reaches it)."""
    ours, best = asdict(load_design(str(MODULE))), asdict(config(parse_spec(BEST)))
    differ = {k for k in ours if ours[k] != best[k]}
    assert differ == {"name", "longterm_file_refusal"}
    assert ours["longterm_file_refusal"] == asdict(DESIGNS["linux-6.12"])["longterm_file_refusal"]


@pytest.mark.parametrize("probe, prop", [
    ("race/dio_vs_fsync", "no-lost-write"),
    ("race/munmap_while_dma", "no-lost-write"),
    ("race/pi_dio_vs_msync", "stable-writeback"),
    ("race/pi_dio_vs_msync", "no-lost-write"),
])
def test_the_confirmed_races_are_predicted_gone(probe: str, prop: str) -> None:
    """Possible on linux-6.12 (the races conform confirmed on Debian 13), impossible with the
    patch: what the stock-versus-patched runs must show."""
    race = RACE_PROBES[probe]
    assert predict_race(race, DESIGNS["linux-6.12"]).possible[prop]
    assert not predict_race(race, load_design(str(MODULE))).possible[prop]


@pytest.mark.parametrize("alone, probe, prop", [
    ("proposal-base+writeback=bounce", "race/dio_vs_fsync", "no-lost-write"),
    ("proposal-base+dio-dirty=completion", "race/pi_dio_vs_msync", "stable-writeback"),
])
def test_neither_patch_alone_closes_every_confirmed_race(alone: str, probe: str,
                                                         prop: str) -> None:
    """Why the series has two patches (docs/kernel-fix.md): the bounce copy alone leaves the
    deferred re-dirtying, dirtying in the waiting task alone leaves the DMA into a page under
    writeback."""
    assert predict_race(RACE_PROBES[probe], config(parse_spec(alone))).possible[prop]
