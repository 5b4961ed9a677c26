from __future__ import annotations

import pytest

from benchmarks import xxh3_speed


@pytest.mark.parametrize("size", [14, 300])
def test_it_checks_the_values_then_prints_a_row_per_way_of_hashing(
        size: int, capsys: pytest.CaptureFixture[str]) -> None:
    xxh3_speed.main(count=50, size=size, repeat=1)
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 4
    assert all(row.endswith(" ns/item") for row in rows)
    assert rows[0].startswith("xxhash") and rows[2].startswith("hash_slices alone")
