"""The explorer's local web server: one static page and a small JSON API, standard library only.

Bound to 127.0.0.1 only.  Since a page on any web site can make the browser send requests to
``127.0.0.1``, and a DNS-rebinding site can even make them look same-origin, every request is
checked:

* the ``Host`` header must name ``127.0.0.1`` or ``localhost`` (with this server's port):
  a rebinding attack arrives with the attacker's host name;
* a ``POST`` must carry ``Content-Type: application/json`` (a cross-site form cannot send that
  without a CORS preflight, which this server never grants) and, if the browser sends an
  ``Origin``, it must be this server's;
* bodies are small JSON objects read as data; nothing is ever evaluated;
* the page is served with a Content-Security-Policy that allows only this server's own script
  and style, and the script writes every text with ``textContent`` (actor names come from a
  scenario file and could carry markup).

API (every answer is the page's whole data, :meth:`Explorer.view`, or ``{"error": ...}``):

    GET  /api/state
    POST /api/step    {"index": N}     take the N-th enabled step
    POST /api/back    {}               POST /api/forward {}
    POST /api/jump    {"index": N}     go to state N of the path
    POST /api/reset   {}               back to the start (the initial state or the loaded trace)
    POST /api/find    {"property": P}  a shortest path from here to a violation of P
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from gupcheck.engine import ModelError

from .session import ExploreError, Explorer

HOST = "127.0.0.1"
ALLOWED_HOSTS = frozenset({"127.0.0.1", "localhost"})
MAX_BODY = 64 * 1024

ASSETS = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/explore.js": ("explore.js", "text/javascript; charset=utf-8"),
    "/explore.css": ("explore.css", "text/css; charset=utf-8"),
}

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _asset(name: str) -> bytes:
    return (resources.files("gupcheck.explore") / "assets" / name).read_bytes()


def _split_host(value: str) -> tuple[str, str]:
    """``"localhost:8080"`` -> ``("localhost", "8080")``; ``"[::1]:80"`` -> ``("::1", "80")``."""
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        return name, rest.removeprefix(":")
    name, _, port = value.partition(":")
    return name, port


class ExploreServer(ThreadingHTTPServer):
    """An HTTP server for one :class:`Explorer`; requests are served one at a time on it."""

    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, explorer: Explorer, port: int = 0) -> None:
        super().__init__((HOST, port), Handler)
        self.explorer = explorer
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/"


class Handler(BaseHTTPRequestHandler):
    server: ExploreServer
    server_version = "gupcheck-explore"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the terminal shows the URL, not every click."""

    # --- checks ---------------------------------------------------------------------------------

    def _host_ok(self) -> bool:
        name, port = _split_host(self.headers.get("Host", ""))
        return name.lower() in ALLOWED_HOSTS and port in ("", str(self.server.server_address[1]))

    def _origin_ok(self) -> bool:
        origin = self.headers.get("Origin")
        if origin is None:
            return True
        port = self.server.server_address[1]
        return origin in {f"http://{h}:{port}" for h in ALLOWED_HOSTS}

    # --- answers --------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Content-Security-Policy", CSP)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    def do_GET(self) -> None:
        if not self._host_ok():
            self._error(HTTPStatus.FORBIDDEN, "bad Host header: the explorer answers only to "
                        "127.0.0.1 and localhost")
            return
        route = self.path.split("?", 1)[0]
        if route == "/api/state":
            self._call(lambda ex: None)
        elif route == "/favicon.ico":  # none: say so without an error in the console
            self.send_response(HTTPStatus.NO_CONTENT)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif route in ASSETS:
            name, ctype = ASSETS[route]
            self._send(HTTPStatus.OK, _asset(name), ctype)
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no such page: {route}")

    def do_POST(self) -> None:
        if not self._host_ok() or not self._origin_ok():
            self._error(HTTPStatus.FORBIDDEN, "bad Host or Origin header: the explorer answers "
                        "only to its own page on 127.0.0.1 and localhost")
            return
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "POST needs Content-Type: "
                        "application/json")
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._error(HTTPStatus.BAD_REQUEST, "bad Content-Length")
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except (ValueError, UnicodeDecodeError):
            self._error(HTTPStatus.BAD_REQUEST, "the body is not JSON")
            return
        if not isinstance(body, dict):
            self._error(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
            return
        action = self._action(self.path.split("?", 1)[0], body)
        if action is not None:
            self._call(action)

    def _action(self, route: str, body: dict[str, Any]) -> Callable[[Explorer], Any] | None:
        """The move a POST asks for, or ``None`` after answering an error."""
        if route in ("/api/step", "/api/jump"):
            index = body.get("index")
            if not isinstance(index, int) or isinstance(index, bool):
                self._error(HTTPStatus.BAD_REQUEST, f"{route} needs {{\"index\": <integer>}}")
                return None
            return (lambda ex: ex.step(index)) if route == "/api/step" else \
                (lambda ex: ex.jump(index))
        if route == "/api/find":
            prop = body.get("property")
            if not isinstance(prop, str):
                self._error(HTTPStatus.BAD_REQUEST, "/api/find needs {\"property\": <name>}")
                return None
            return lambda ex: ex.find(prop)
        simple: dict[str, Callable[[Explorer], Any]] = {
            "/api/back": Explorer.back, "/api/forward": Explorer.forward,
            "/api/reset": Explorer.reset}
        if route in simple:
            return simple[route]
        self._error(HTTPStatus.NOT_FOUND, f"no such action: {route}")
        return None

    def _call(self, action: Callable[[Explorer], Any]) -> None:
        """Run ``action`` on the explorer and answer the new view; a refused move is a 400
        with its one-line reason, a failing model a 500 with the model's message."""
        with self.server.lock:
            ex = self.server.explorer
            try:
                action(ex)
                data = ex.view()
            except ExploreError as err:
                self._error(HTTPStatus.BAD_REQUEST, str(err))
                return
            except ModelError as err:
                self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"the model failed: {err.message}")
                return
        self._json(HTTPStatus.OK, data)


def serve(explorer: Explorer, port: int = 0) -> ExploreServer:
    """A server for ``explorer`` on 127.0.0.1 (``port`` 0: an ephemeral one), not started yet:
    call ``serve_forever()`` (in a thread, for tests) and ``shutdown()``/``server_close()``."""
    return ExploreServer(explorer, port)
