"""Scenarios: small workloads in which pinned pages meet writeback, reclaim and fsync.

Each is a TOML file shipped in this package (see :mod:`.loader` for the format); users add their
own files and name them by path, or point ``--scenario-dir`` at a folder of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from gupcheck.kernel.system import Scenario

from .loader import OPS, ScenarioError, load_file, parse

__all__ = ["OPS", "SCENARIOS", "ScenarioError", "load_dir", "load_file", "parse", "resolve"]


def _shipped() -> dict[str, Scenario]:
    out: dict[str, Scenario] = {}
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            sc = parse(entry.read_text(encoding="utf-8"), f"gupcheck/scenarios/{entry.name}")
            out[sc.name] = sc
    return out


#: the scenarios shipped with gupcheck, by name
SCENARIOS: dict[str, Scenario] = _shipped()


def load_dir(folder: Path) -> dict[str, Scenario]:
    """Every ``*.toml`` scenario in ``folder``."""
    if not folder.is_dir():
        raise ScenarioError(str(folder), None, "", "not a folder")
    return {sc.name: sc for sc in (load_file(p) for p in sorted(folder.glob("*.toml")))}


def resolve(name_or_path: str, dirs: Iterable[Path] = ()) -> Scenario:
    """A scenario by name (shipped, or in one of ``dirs``) or by the path of its file."""
    known = dict(SCENARIOS)
    for d in dirs:
        known.update(load_dir(d))
    if name_or_path in known:
        return known[name_or_path]
    path = Path(name_or_path)
    if name_or_path.endswith(".toml") or path.exists():
        return load_file(path)
    raise KeyError(name_or_path)
