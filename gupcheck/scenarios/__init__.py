"""Scenarios: small workloads in which pinned pages meet writeback, reclaim and fsync.

Each is a TOML file shipped in this package (see :mod:`.loader` for the format); users add their
own files and name them by path, or point ``--scenario-dir`` at a folder of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from gupcheck.kernel.system import Scenario

from .loader import OPS, ScenarioError, load_file, locate, parse

__all__ = ["OPS", "SCENARIOS", "ScenarioError", "catalogue", "load_dir", "load_file", "parse",
           "resolve", "resolve_source"]


def _shipped() -> dict[str, tuple[Scenario, str]]:
    out: dict[str, tuple[Scenario, str]] = {}
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            origin = f"gupcheck/scenarios/{entry.name}"
            sc = parse(entry.read_text(encoding="utf-8"), origin)
            out[sc.name] = (sc, origin)
    return out


_SHIPPED = _shipped()

#: the scenarios shipped with gupcheck, by name
SCENARIOS: dict[str, Scenario] = {name: sc for name, (sc, _) in _SHIPPED.items()}


def _catalogue(dirs: Iterable[Path]) -> dict[str, tuple[Scenario, str]]:
    """The shipped scenarios and those of ``dirs``, with the file each comes from.

    A name may be used once: a folder's file named like a shipped scenario, or two files with
    one name, would silently replace one scenario with another, so that is a ScenarioError
    naming both files."""
    known = dict(_SHIPPED)
    seen: set[Path] = set()
    for folder in dirs:
        if not folder.is_dir():
            raise ScenarioError(str(folder), None, "", "not a folder")
        if folder.resolve() in seen:  # the same folder given twice holds no second definition
            continue
        seen.add(folder.resolve())
        for path in sorted(folder.glob("*.toml")):
            sc = load_file(path)
            if sc.name in known:
                raise ScenarioError(str(path), locate_name(path), "name",
                                    f"scenario {sc.name!r} is also defined by "
                                    f"{known[sc.name][1]}: rename one of them")
            known[sc.name] = (sc, str(path))
    return known


def locate_name(path: Path) -> int | None:
    """The line of the top-level ``name`` key of a scenario file that loaded."""
    return locate(path.read_text(encoding="utf-8"), "name")


def load_dir(folder: Path) -> dict[str, Scenario]:
    """Every ``*.toml`` scenario in ``folder`` (a name used by a shipped scenario or by two
    files is refused)."""
    shipped = set(_SHIPPED)
    return {n: sc for n, (sc, _) in _catalogue([folder]).items() if n not in shipped}


def catalogue(dirs: Iterable[Path] = ()) -> dict[str, Scenario]:
    """The shipped scenarios and every scenario in ``dirs``, by name (no name twice)."""
    return {name: sc for name, (sc, _) in _catalogue(dirs).items()}


def resolve(name_or_path: str, dirs: Iterable[Path] = ()) -> Scenario:
    """A scenario by name (shipped, or in one of ``dirs``) or by the path of its file."""
    return resolve_source(name_or_path, dirs)[0]


def resolve_source(name_or_path: str, dirs: Iterable[Path] = ()) -> tuple[Scenario, Path | None]:
    """:func:`resolve`, and the file the scenario was read from (None for a shipped one), so
    that a trace can record which file, and which content, it was found in."""
    known = _catalogue(dirs)
    if name_or_path in known:
        sc, origin = known[name_or_path]
        return sc, None if name_or_path in _SHIPPED else Path(origin)
    path = Path(name_or_path)
    if name_or_path.endswith(".toml") or path.exists():
        return load_file(path), path
    raise KeyError(name_or_path)
