"""The fast lane's lists (conftest.py) name tests that exist: a renamed test would otherwise
fall silently into the fast lane, or a slow list go stale."""

from __future__ import annotations

import re
from pathlib import Path

import conftest

ROOT = Path(conftest.__file__).resolve().parent


def _defined(path: str) -> set[str]:
    text = (ROOT / path).read_text(encoding="utf-8")
    return set(re.findall(r"^def (test_\w+)", text, re.MULTILINE))


def test_every_slow_module_and_test_exists() -> None:
    for path in conftest.SLOW_MODULES:
        assert (ROOT / path).is_file(), path
    for path, names in conftest.SLOW_TESTS.items():
        assert names <= _defined(path), (path, names - _defined(path))
    for nodeid in conftest.SLOW_IDS:
        path, _, rest = nodeid.partition("::")
        assert rest.split("[")[0] in _defined(path), nodeid
    for path, fixtures in conftest.SLOW_FIXTURES.items():
        text = (ROOT / path).read_text(encoding="utf-8")
        for name in fixtures:
            assert re.search(rf"^def {name}\(", text, re.MULTILINE), (path, name)


def test_a_test_is_slow_by_module_name_fixture_or_id() -> None:
    assert conftest.is_slow("tests/engine/test_ray.py", "test_x", "", [])
    assert conftest.is_slow("tests/kernel/test_view.py", "test_the_view_keeps_every_cell",
                            "", [])
    assert conftest.is_slow("tests/test_matrix_cells.py", "test_cell", "", ["matrix"])
    assert not conftest.is_slow("tests/test_matrix_cells.py", "test_tables", "", [])
    assert not conftest.is_slow("tests/engine/test_waitfor.py", "test_x", "", [])
