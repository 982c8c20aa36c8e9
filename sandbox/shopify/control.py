"""Process control: start/stop/status/reset/info of an emulator in the background, or in a thread.

`python -m sandbox.shopify <verb>` and tests use the same class, `ShopifyEmulator(home, port)`.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.shopify.settings import (
    ADMIN_PREFIX,
    API_VERSION,
    GRAPHQL_PATH,
    SHOP_DOMAIN,
    TOKEN_HEADER,
    default_home,
    default_plan,
    default_port,
)

PID_FILE, LOG_FILE, TOKEN_FILE, CONFIG_FILE = "emulator.pid", "emulator.log", "access_token", "config.json"
CLIENT_SECRET_FILE = "client_secret"


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our child and has exited
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


@dataclass
class Running:
    """An emulator served from a thread of the current process (fast tests)."""

    url: str
    token: str
    app: Any
    client_secret: str

    @property
    def graphql_url(self) -> str:
        return self.url + GRAPHQL_PATH


class ShopifyEmulator:
    def __init__(
        self, home: Path | str | None = None, port: int | None = None, plan: str | None = None
    ) -> None:
        self.home = Path(home) if home is not None else default_home()
        self.port = port if port is not None else default_port()
        self.plan = plan or default_plan()

    # -- paths and identity ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def graphql_url(self) -> str:
        return self.url + GRAPHQL_PATH

    @property
    def token_file(self) -> Path:
        return self.home / TOKEN_FILE

    @property
    def client_secret_file(self) -> Path:
        return self.home / CLIENT_SECRET_FILE

    def _secret(self, path: Path, variable: str, generate: str) -> str:
        """A secret generated on first use and kept 0600 in the home directory; a deployment
        (docker-compose) may choose it with the environment variable instead."""
        self.home.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(os.environ.get(variable) or generate)
        return path.read_text().strip()

    def token(self) -> str:
        """The access token (X-Shopify-Access-Token)."""
        return self._secret(self.token_file, "SHOPIFY_EMULATOR_TOKEN", f"shpat_{secrets.token_hex(16)}")

    def client_secret(self) -> str:
        """The app's client secret, the key of the webhooks' X-Shopify-Hmac-Sha256."""
        return self._secret(
            self.client_secret_file, "SHOPIFY_EMULATOR_CLIENT_SECRET", f"shpss_{secrets.token_hex(16)}"
        )

    def _config(self) -> dict[str, Any]:
        path = self.home / CONFIG_FILE
        return json.loads(path.read_text()) if path.exists() else {}

    def _pid(self) -> int | None:
        try:
            return int((self.home / PID_FILE).read_text())
        except (FileNotFoundError, ValueError):
            return None

    # -- HTTP to the running emulator ------------------------------------------------------------------

    def admin(self, method: str, path: str, body: Any = None, timeout: float = 30) -> Any:
        request = urllib.request.Request(
            f"{self.url}{ADMIN_PREFIX}{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={TOKEN_HEADER: self.token(), "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}{ADMIN_PREFIX}/health", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    # -- verbs -----------------------------------------------------------------------------------------

    def start(self, timeout: float = 120) -> dict[str, Any]:
        """Start in the background (pid file and log in the home directory) and wait until healthy."""
        pid = self._pid()
        if pid is not None and _alive(pid):
            if self.healthy():
                return self.info()
            raise RuntimeError(f"emulator pid {pid} is running but not healthy on {self.url}; see the log")
        self.token()
        self.client_secret()
        log = open(self.home / LOG_FILE, "ab")  # noqa: SIM115 - handed to the child, closed below
        with log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "sandbox.shopify",
                    "--home",
                    str(self.home),
                    "--port",
                    str(self.port),
                    "--plan",
                    self.plan,
                    "serve",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=Path(__file__).resolve().parents[2],
            )
        (self.home / PID_FILE).write_text(str(process.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"emulator exited with {process.returncode}; see {self.home / LOG_FILE}")
            if self.healthy():
                return self.info()
            threading.Event().wait(0.2)
        self.stop()
        raise TimeoutError(f"emulator not healthy on {self.url} after {timeout}s; see {self.home / LOG_FILE}")

    def stop(self, timeout: float = 30) -> bool:
        """Stop the background emulator by its pid; True if one was running."""
        pid = self._pid()
        if pid is None or not _alive(pid):
            (self.home / PID_FILE).unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(pid):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 5
            threading.Event().wait(0.1)
        (self.home / PID_FILE).unlink(missing_ok=True)
        return True

    def status(self) -> dict[str, Any]:
        pid = self._pid()
        running = pid is not None and _alive(pid)
        return {
            "running": running,
            "pid": pid if running else None,
            "healthy": running and self.healthy(),
            "url": self.url,
        }

    def reset(self) -> dict[str, Any]:
        """Empty the store: through the running emulator, or by removing its database when stopped."""
        if self.status()["healthy"]:
            return self.admin("POST", "/reset")
        for name in ("store.sqlite3", "store.sqlite3-wal", "store.sqlite3-shm"):
            (self.home / name).unlink(missing_ok=True)
        return {"counts": None, "removed": True}

    def info(self, show_token: bool = False) -> dict[str, Any]:
        info = {
            "url": self.url,
            "graphql_url": self.graphql_url,
            "api_version": API_VERSION,
            "shop_domain": SHOP_DOMAIN,
            "token_header": TOKEN_HEADER,
            "access_token_file": str(self.token_file),
            "client_secret_file": str(self.client_secret_file),
            "home": str(self.home),
            "log": str(self.home / LOG_FILE),
            "plan": self.plan,
        }
        if show_token:
            info["access_token"] = self.token()
            info["client_secret"] = self.client_secret()
        return info

    # -- serving ---------------------------------------------------------------------------------------

    def serve(self, log_requests: bool = True) -> None:
        """Serve in the foreground until SIGTERM or SIGINT (what `start` runs in the child process)."""
        from sandbox.shopify.server import EmulatorApp, EmulatorServer

        app = EmulatorApp(
            self.home, self.token(), self.plan, config=self._config(), client_secret=self.client_secret()
        )
        # A container listens on every interface (SHOPIFY_EMULATOR_LISTEN=0.0.0.0); locally, loopback only.
        host = os.environ.get("SHOPIFY_EMULATOR_LISTEN", "127.0.0.1")
        server = EmulatorServer(app, host=host, port=self.port, log_requests=log_requests)

        def shut_down(_signum: int, _frame: Any) -> None:
            app.closing.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, shut_down)
        signal.signal(signal.SIGINT, shut_down)
        print(f"shopify emulator {API_VERSION} listening on {self.url}", flush=True)
        try:
            server.serve_forever()
        finally:
            server.server_close()
            app.close()

    @contextmanager
    def running_in_thread(
        self, clock: Any = None, config: dict[str, Any] | None = None, persist: bool = True
    ) -> Iterator[Running]:
        """Serve from a thread of this process on a free port; the store persists in `home` unless
        persist is False."""
        from sandbox.shopify.server import EmulatorApp, EmulatorServer

        app = EmulatorApp(
            self.home if persist else None,
            self.token(),
            self.plan,
            clock=clock,
            config=config,
            client_secret=self.client_secret(),
        )
        server = EmulatorServer(app, port=0)
        thread = threading.Thread(target=server.serve_forever, name="shopify-emulator", daemon=True)
        thread.start()
        try:
            yield Running(f"http://127.0.0.1:{server.port}", app.token, app, app.client_secret)
        finally:
            server.close()
            thread.join(timeout=10)
