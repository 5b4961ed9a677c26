"""The explorer's HTTP API, in process: a server on an ephemeral port, called with urllib."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gupcheck.explore import Explorer, ExploreServer, read_trace

from .helpers import F1, f1_model, running, save_f1


@pytest.fixture()
def server() -> Iterator[ExploreServer]:
    with running(Explorer(f1_model())) as srv:
        yield srv


def call(server: ExploreServer, path: str, body: Any = None, *,
         headers: dict[str, str] | None = None, raw: bytes | None = None) -> tuple[int, Any]:
    """GET (no body) or POST (a JSON body) ``path``; the status and the decoded JSON answer."""
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json"} if data is not None else {}
    hdrs.update(headers or {})
    req = urllib.request.Request(server.url.rstrip("/") + path, data=data, headers=hdrs,
                                 method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _fields(view: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(g, k): v for g, k, v, _, _ in view["state"]}


def test_the_server_listens_on_localhost_only(server: ExploreServer) -> None:
    assert server.server_address[0] == "127.0.0.1"
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", server.url)


def test_stepping_back_and_forward_through_the_api(server: ExploreServer) -> None:
    status, start = call(server, "/api/state")
    assert status == 200 and start["cursor"] == 0
    status, after = call(server, "/api/step", {"index": 0})
    assert status == 200 and after["cursor"] == 1 and len(after["path"]) == 2
    assert after["path"][1]["label"] == start["steps"][0]["label"]
    assert _fields(after) != _fields(start)
    assert any(row[4] for row in after["state"])  # what the step changed is marked
    status, back = call(server, "/api/back", {})
    assert status == 200 and back["cursor"] == 0 and _fields(back) == _fields(start)
    assert back["steps"][0]["next"]  # the path goes on with the step just taken
    _, fwd = call(server, "/api/forward", {})
    assert _fields(fwd) == _fields(after)
    _, jumped = call(server, "/api/jump", {"index": 0})
    assert _fields(jumped) == _fields(start)
    _, reset = call(server, "/api/reset", {})
    assert len(reset["path"]) == 1


def test_a_loaded_trace_is_violated_at_its_last_state(tmp_path: Path) -> None:
    n = save_f1(tmp_path / "f1.json")
    ex = Explorer.from_trace(f1_model(), read_trace(tmp_path / "f1.json"))
    with running(ex) as srv:
        _, first = call(srv, "/api/state")
        assert first["cursor"] == 0 and len(first["path"]) == n + 1
        _, last = call(srv, "/api/jump", {"index": n})
        prop = next(p for p in last["props"] if p["name"] == F1[2])
        assert prop["status"] == "violated" and "no buffers" in prop["why"]


def test_find_through_the_api_extends_the_path(server: ExploreServer) -> None:
    status, view = call(server, "/api/find", {"property": F1[2]})
    assert status == 200 and view["cursor"] == len(view["path"]) - 1 > 0
    assert "violated" in view["notice"]
    status, err = call(server, "/api/find", {"property": "nope"})
    assert status == 400 and "no safety property" in err["error"]


@pytest.mark.parametrize(("path", "body", "code", "reason"), [
    ("/api/step", {"index": 99}, 400, "no enabled step #99"),
    ("/api/step", {"index": "0"}, 400, "needs"),
    ("/api/step", {"index": True}, 400, "needs"),
    ("/api/jump", {"index": -1}, 400, "no state #-1"),
    ("/api/back", {}, 400, "already at the first state"),
    ("/api/find", {}, 400, "needs"),
    ("/api/nothing", {}, 404, "no such action"),
])
def test_a_bad_request_gets_a_one_line_error(server: ExploreServer, path: str, body: Any,
                                             code: int, reason: str) -> None:
    status, answer = call(server, path, body)
    assert status == code and reason in answer["error"] and "\n" not in answer["error"]
    _, state = call(server, "/api/state")
    assert state["cursor"] == 0 and len(state["path"]) == 1  # nothing moved


def test_requests_for_another_host_are_refused(server: ExploreServer) -> None:
    """DNS rebinding: the attacker's page reaches 127.0.0.1 under its own host name."""
    status, answer = call(server, "/api/state", headers={"Host": "attacker.example"})
    assert status == 403 and "Host" in answer["error"]
    status, _ = call(server, "/api/step", {"index": 0}, headers={"Host": "attacker.example"})
    assert status == 403
    status, _ = call(server, "/", headers={"Host": "attacker.example"})
    assert status == 403
    port = server.server_address[1]
    status, _ = call(server, "/api/state", headers={"Host": f"localhost:{port}"})
    assert status == 200


def test_posts_need_json_and_this_servers_origin(server: ExploreServer) -> None:
    status, answer = call(server, "/api/step", raw=b"index=0",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 415 and "application/json" in answer["error"]
    status, _ = call(server, "/api/step", {"index": 0},
                     headers={"Origin": "http://attacker.example"})
    assert status == 403
    status, answer = call(server, "/api/step", raw=b"{not json")
    assert status == 400 and "not JSON" in answer["error"]
    status, answer = call(server, "/api/step", raw=b"[0]")
    assert status == 400 and "object" in answer["error"]
    _, state = call(server, "/api/state")
    assert state["cursor"] == 0
    status, _ = call(server, "/api/step", {"index": 0}, headers={"Origin": server.url[:-1]})
    assert status == 200


def test_the_page_fetches_nothing_from_elsewhere(server: ExploreServer) -> None:
    with urllib.request.urlopen(server.url, timeout=30) as resp:
        html = resp.read().decode()
        csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    refs = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert refs and all(r.startswith("/") and not r.startswith("//") for r in refs)
    for ref in refs:
        with urllib.request.urlopen(server.url.rstrip("/") + ref, timeout=30) as resp:
            body = resp.read().decode()
        assert not re.search(r"https?://", body), ref  # no CDN, no web font
    status, answer = call(server, "/nothing")
    assert status == 404 and "no such page" in answer["error"]
