"""The HTTP server: Shopify's request shape on the GraphQL path, the admin endpoints, fault injection.

Built on the standard library's threading HTTP server rather than an ASGI stack because fault injection
needs the raw socket: a dropped connection must close without any response bytes, which ASGI servers
do not let an application do.
"""

from __future__ import annotations

import hmac
import json
import secrets
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sandbox.shopify.admin import AdminApi
from sandbox.shopify.bucket import Buckets
from sandbox.shopify.clock import SystemClock
from sandbox.shopify.engine import Engine
from sandbox.shopify.errors import UNAUTHORIZED_BODY
from sandbox.shopify.faults import FaultInjector
from sandbox.shopify.settings import ADMIN_PREFIX, API_VERSION, GRAPHQL_PATH, TOKEN_HEADER, Plan
from sandbox.shopify.shopper import ShopperConfig, ShopperRunner
from sandbox.shopify.state.store import Store
from sandbox.shopify.webhooks import WebhookDispatcher, WebhookSettings

DB_FILE = "store.sqlite3"


class EmulatorApp:
    """Everything one emulator instance holds, independent of how it is served."""

    def __init__(
        self,
        home: Path | None,
        token: str,
        plan: str = "STANDARD",
        clock: Any = None,
        config: dict[str, Any] | None = None,
        client_secret: str | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self.token = token
        # The app's client secret signs webhooks (X-Shopify-Hmac-Sha256).
        self.client_secret = client_secret or secrets.token_hex(16)
        # Other apps installed on the store (admin POST /apps): each token has its own cost bucket, as
        # in Shopify, where the limit is per app and store. Kept in memory: gone with a restart.
        self.app_tokens: set[str] = set()
        self.store = Store(self.clock, home / DB_FILE if home is not None else None)
        config = config or {}
        saved_plan = self.store.meta.get("plan")
        self.buckets = Buckets(Plan.named(config.get("plan") or saved_plan or plan), self.clock)
        self.engine = Engine(self.store, self.buckets)
        self.faults = FaultInjector(config.get("faults"))
        self.webhooks = WebhookDispatcher(
            self.clock, self.faults, self.client_secret, WebhookSettings.from_config(config.get("webhooks"))
        )
        self.store.on_events = self.webhooks.publish
        self.shopper = ShopperRunner(self.store)
        self.admin = AdminApi(self)
        self.closing = threading.Event()
        if config.get("shopper"):
            self.shopper.start(ShopperConfig(**config["shopper"]))

    def set_plan(self, plan: Plan) -> None:
        self.buckets.set_plan(plan)
        with self.store.transaction():
            self.store.set_meta("plan", plan.name)

    def authorized(self, presented: str | None) -> bool:
        return presented is not None and any(
            hmac.compare_digest(presented.encode(), token.encode()) for token in (self.token, *self.app_tokens))

    def install_app(self) -> str:
        token = f"shpat_{secrets.token_hex(16)}"
        self.app_tokens.add(token)
        return token

    def close(self) -> None:
        self.closing.set()
        self.shopper.stop()
        self.store.close()
        self.webhooks.close()


class _Dropped(Exception):
    """The connection was closed on purpose, without a response."""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ShopifyEmulator"
    server: EmulatorServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle's algorithm and the client's
        # delayed ACK hold every response back by ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        if self.server.log_requests:
            super().log_message(format, *args)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _drop(self) -> None:
        # RST rather than FIN: the client sees the connection die with no response at all.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        self.close_connection = True
        raise _Dropped

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return None
        return json.loads(raw)

    def _dispatch(self, method: str) -> None:
        app = self.server.app
        url = urlsplit(self.path)
        try:
            if url.path == f"{ADMIN_PREFIX}/health":
                self._send(200, {"status": "ok", "api_version": API_VERSION})
            elif not app.authorized(self.headers.get(TOKEN_HEADER)):
                self._body_discard()
                self._send(401, UNAUTHORIZED_BODY)
            elif url.path == GRAPHQL_PATH and method == "POST":
                self._graphql(app)
            elif url.path.startswith(ADMIN_PREFIX):
                try:
                    body = self._body()
                except json.JSONDecodeError:
                    self._send(400, {"error": "body is not JSON"})
                    return
                answer = app.admin.handle(method, url.path, dict(parse_qsl(url.query)), body)
                self._send(answer.status, answer.body)
            else:
                self._body_discard()
                self._send(404, {"errors": "Not Found"})
        except _Dropped:
            pass

    def _body_discard(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def _graphql(self, app: EmulatorApp) -> None:
        try:
            payload = self._body()
        except json.JSONDecodeError:
            self._send(400, {"errors": {"query": "Required parameter missing or invalid"}})
            return
        query = payload.get("query", "") if isinstance(payload, dict) else ""
        fired = app.faults.decide(query if isinstance(query, str) else "")
        if "latency" in fired:
            app.closing.wait(fired["latency"].latency_ms / 1000)
        if "timeout" in fired:
            app.closing.wait(fired["timeout"].hold_seconds)
        if "drop_before" in fired:
            self._drop()
        if "error_5xx" in fired:
            status = fired["error_5xx"].status
            self._send(
                status,
                {
                    "errors": {
                        500: "Internal Server Error",
                        502: "Bad Gateway",
                        503: "Service Unavailable",
                        504: "Gateway Timeout",
                    }[status]
                },
            )
            return
        if "rate_limit_429" in fired:
            self._send(
                429,
                {"errors": "Exceeded the rate limit. Retry after the time in the Retry-After header."},
                {"Retry-After": str(fired["rate_limit_429"].retry_after)},
            )
            return
        token = self.headers.get(TOKEN_HEADER)
        if "throttle_storm" in fired:
            app.buckets.for_token(token).drain()
        result = app.engine.run(token, payload)
        if "drop_after" in fired:
            self._drop()
        self._send(result.status, result.body)

    def do_POST(self) -> None:  # noqa: N802 - the stdlib's naming
        self._dispatch("POST")

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, app: EmulatorApp, host: str = "127.0.0.1", port: int = 0, log_requests: bool = False
    ) -> None:
        self.app = app
        self.log_requests = log_requests
        super().__init__((host, port), Handler)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def close(self) -> None:
        self.app.closing.set()  # release requests held by latency/timeout faults first
        self.shutdown()
        self.server_close()
        self.app.close()
