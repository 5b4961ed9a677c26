"""--strategy swarm and --ray on the command line: exit codes, and one-line errors."""

from __future__ import annotations

import importlib.util
import json
import socket

import pytest
from typer.testing import CliRunner

from gupcheck.cli import app

runner = CliRunner()


def test_swarm_finds_the_lost_update_and_proves_nothing_when_clean() -> None:
    found = runner.invoke(app, ["demo", "lost-update", "--strategy", "swarm", "--walks", "50",
                                "--workers", "2", "--json"])
    assert found.exit_code == 1, found.output
    data = json.loads(found.stdout)
    assert (data["verdict"], data["strategy"]) == ("violated", "swarm")
    clean = runner.invoke(app, ["demo", "peterson", "--strategy", "swarm", "--walks", "10",
                                "--max-depth", "30"])
    assert clean.exit_code == 3, clean.output
    assert "not a proof" in clean.stdout


def test_ray_with_bfs_only_options_is_a_usage_error() -> None:
    r = runner.invoke(app, ["demo", "peterson", "--ray", "local", "--bitstate", "2^20"])
    assert r.exit_code == 2
    r = runner.invoke(app, ["demo", "peterson", "--ray", "local", "--strategy", "dfs"])
    assert r.exit_code == 2


def test_a_missing_ray_is_one_line_naming_the_extra(monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ray" else real(name, *a))
    for args in (["demo", "peterson", "--ray", "local"],
                 ["check", "dio-vs-reclaim", "--ray", "auto", "--strategy", "swarm"]):
        r = runner.invoke(app, args)
        assert r.exit_code == 2
        assert r.exception is None or isinstance(r.exception, SystemExit)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and "pip install 'gupcheck[ray]'" in lines[0], r.stderr


def test_the_engine_raises_a_clear_error_without_ray(monkeypatch) -> None:
    import sys

    import pytest

    from gupcheck.classic import Peterson
    from gupcheck.engine import check
    from gupcheck.engine.ray_bfs import RayNotInstalled

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now fails
    with pytest.raises(RayNotInstalled, match=r"pip install 'gupcheck\[ray\]'"):
        check(Peterson(), ray="local")


def test_a_cluster_address_nothing_answers_on_is_refused_at_once() -> None:
    """ray.init retries an unreachable address for minutes; gupcheck tries one connection."""
    pytest.importorskip("ray")
    with socket.socket() as s:  # a port nothing listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        for strategy in ("bfs", "swarm"):
            r = runner.invoke(app, ["demo", "peterson", "--strategy", strategy,
                                    "--ray", f"127.0.0.1:{port}"])
            assert r.exit_code == 2, r.output
            assert f"nothing answers on 127.0.0.1:{port}" in r.stderr
