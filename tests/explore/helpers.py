"""Shared by the explorer's tests: a saved counterexample and a server running in a thread."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gupcheck.designs import DESIGNS
from gupcheck.engine import check
from gupcheck.explore import Explorer, ExploreServer, serve
from gupcheck.kernel.system import KernelModel
from gupcheck.reports.json import result_to_dict
from gupcheck.scenarios import SCENARIOS

F1 = ("dio-vs-reclaim", "linux-6.1", "dirty-has-backing")  # the 2018 crash: 15 steps


def f1_model(design: str = "linux-6.1") -> KernelModel:
    return KernelModel(SCENARIOS[F1[0]], DESIGNS[design])


def save_f1(path: Path) -> int:
    """Write F1's counterexample as ``gupcheck check --trace-out`` does; return its length."""
    model = KernelModel(SCENARIOS[F1[0]], DESIGNS[F1[1]], [F1[2]])
    result = check(model, liveness=False)
    assert result.trace is not None
    data = {"scenario": F1[0], "design": F1[1], "errno": None,
            "properties": list(model.properties), **result_to_dict(result)}
    path.write_text(json.dumps(data), encoding="utf-8")
    return len(result.trace)


@contextmanager
def running(explorer: Explorer) -> Iterator[ExploreServer]:
    """The explorer served on an ephemeral port of 127.0.0.1 for the block's duration."""
    server = serve(explorer, 0)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
