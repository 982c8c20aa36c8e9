"""Process control of one stock Vendure server: start, stop, status, info, reset.

`python -m sandbox.vendure <verb>` and the tests use the same class, `VendureServer(home, port)`.

A server lives in its home directory (VENDURE_HOME, default <DEMO_HOME or repo/var>/vendure):
    superadmin.json    the superadmin's identifier and password, mode 0600, made on first start
    vendure.sqlite     the database (SQLite; VENDURE_DB_URL names a PostgreSQL database instead)
    vendure.pid        the running `node server.js`, started in its own session
    vendure.log        its log
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from sandbox.tryton import process
from sandbox.vendure.client import VendureApi
from sandbox.vendure.errors import VendureSandboxError
from sandbox.vendure.settings import (
    ADMIN_API_PATH,
    HEALTH_PATH,
    LOG_TAIL_LINES,
    PACKAGE_DIR,
    SERVER_JS,
    SHOP_API_PATH,
    START_TIMEOUT,
    STOP_GRACE,
    SUPERADMIN_USERNAME,
    default_db_url,
    default_home,
    default_port,
)

HOST = "127.0.0.1"
PID_FILE, LOG_FILE, CREDENTIALS_FILE, SQLITE_FILE = (
    "vendure.pid",
    "vendure.log",
    "superadmin.json",
    "vendure.sqlite",
)


class VendureServer:
    def __init__(
        self, home: Path | str | None = None, port: int | None = None, db_url: str | None = None
    ) -> None:
        self.home = Path(home if home is not None else default_home()).resolve()
        self.port = port if port is not None else default_port()
        self.db_url = db_url if db_url is not None else default_db_url()
        if self.db_url and not self.db_url.startswith(("postgresql://", "postgres://")):
            raise VendureSandboxError("VENDURE_DB_URL must be a postgresql:// URL")

    # -- paths and identity ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def admin_api_url(self) -> str:
        return self.url + ADMIN_API_PATH

    @property
    def shop_api_url(self) -> str:
        return self.url + SHOP_API_PATH

    @property
    def log_file(self) -> Path:
        return self.home / LOG_FILE

    @property
    def credentials_file(self) -> Path:
        return self.home / CREDENTIALS_FILE

    def credentials(self) -> dict[str, str]:
        """The superadmin's identifier and password, generated on first use and kept 0600 in the home."""
        if not self.credentials_file.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            chosen = {
                "username": os.environ.get("VENDURE_SUPERADMIN_USERNAME") or SUPERADMIN_USERNAME,
                "password": os.environ.get("VENDURE_SUPERADMIN_PASSWORD") or secrets.token_urlsafe(24),
            }
            descriptor = os.open(self.credentials_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                json.dump(chosen, handle)
        return json.loads(self.credentials_file.read_text())

    # -- the APIs --------------------------------------------------------------------------------------

    def admin(self) -> VendureApi:
        """An Admin API session logged in as the superadmin."""
        api = VendureApi(self.admin_api_url)
        credentials = self.credentials()
        api.login(credentials["username"], credentials["password"])
        return api

    def shop(self) -> VendureApi:
        """A new, anonymous Shop API session (one cart)."""
        return VendureApi(self.shop_api_url)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + HEALTH_PATH, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    # -- verbs -----------------------------------------------------------------------------------------

    def start(self) -> dict[str, Any]:
        """Start `node server.js` in the background, in its own session, and wait until healthy."""
        pid = self._running_pid()
        if pid is not None:
            if process.wait_until(self.healthy, 10.0):
                return self.info()
            raise VendureSandboxError(
                f"vendure (pid {pid}) runs but does not answer on {self.url}: `stop` then `start`; "
                f"log tail:\n{self._log_tail()}"
            )
        if not (PACKAGE_DIR / "node_modules" / "@vendure" / "core").is_dir():
            raise VendureSandboxError(f"Vendure is not installed in {PACKAGE_DIR}: run `make vendure`")
        node = shutil.which("node")
        if node is None:
            raise VendureSandboxError("no `node` on PATH: Vendure needs Node.js 20 or later")
        if process.port_in_use(HOST, self.port):
            raise VendureSandboxError(
                f"port {self.port} is in use: stop what listens there, or set VENDURE_PORT"
            )
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "ab") as log:
            server = subprocess.Popen(
                [node, str(SERVER_JS), "--vendure-home", str(self.home)],  # the flag: _running_pid knows us
                cwd=PACKAGE_DIR,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._child_env(),
                start_new_session=True,
            )
        (self.home / PID_FILE).write_text(f"{server.pid}\n")

        def healthy_or_dead() -> bool:
            process.reap(server.pid)
            return not process.is_alive(server.pid) or self.healthy()

        answered = process.wait_until(healthy_or_dead, START_TIMEOUT, interval=0.25)
        if not (answered and process.is_alive(server.pid)):
            failure = (
                "exited" if not process.is_alive(server.pid) else f"not healthy after {START_TIMEOUT:.0f} s"
            )
            self.stop()
            raise VendureSandboxError(
                f"vendure {failure} (log {self.log_file}); its tail:\n{self._log_tail()}"
            )
        return self.info()

    def stop(self) -> bool:
        """SIGTERM the server's process group (SIGKILL after a grace period); True if one was running."""
        pid = self._running_pid()
        if pid is None:
            return False
        try:
            process.terminate(pid, STOP_GRACE)
        except TimeoutError as error:
            raise VendureSandboxError(
                f"could not stop vendure: {error}; kill it by hand (pid {pid})"
            ) from error
        (self.home / PID_FILE).unlink(missing_ok=True)
        return True

    def status(self) -> dict[str, Any]:
        pid = self._running_pid()
        return {
            "running": pid is not None,
            "pid": pid,
            "healthy": pid is not None and self.healthy(),
            "url": self.url,
        }

    def info(self, show_credentials: bool = False) -> dict[str, Any]:
        info = {
            "url": self.url,
            "admin_api_url": self.admin_api_url,
            "shop_api_url": self.shop_api_url,
            "database": "postgresql" if self.db_url else str(self.home / SQLITE_FILE),
            "credentials_file": str(self.credentials_file),
            "home": str(self.home),
            "log": str(self.log_file),
        }
        if show_credentials:
            info["credentials"] = self.credentials()
        return info

    def reset(self) -> dict[str, Any]:
        """Wipe the database; a running server is restarted on the empty one (Vendure recreates its
        schema, default channel and superadmin on boot). 3-5 s on SQLite."""
        was_running = self.stop()
        if self.db_url:
            self._wipe_postgres()
        else:
            for suffix in ("", "-journal", "-wal", "-shm"):
                (self.home / (SQLITE_FILE + suffix)).unlink(missing_ok=True)
        if was_running:
            self.start()
        return {"reset": True, "running": was_running}

    # -- internals -------------------------------------------------------------------------------------

    def _child_env(self) -> dict[str, str]:
        credentials = self.credentials()
        env = {key: value for key, value in os.environ.items() if not key.startswith("VENDURE_")}
        env.update(
            VENDURE_HOME=str(self.home),
            VENDURE_PORT=str(self.port),
            VENDURE_LISTEN=os.environ.get("VENDURE_LISTEN") or HOST,
            VENDURE_SUPERADMIN_USERNAME=credentials["username"],
            VENDURE_SUPERADMIN_PASSWORD=credentials["password"],
        )
        if self.db_url:
            env["VENDURE_DB_URL"] = self.db_url
        return env

    def _running_pid(self) -> int | None:
        """This home's server pid, or None; a stale pid file (dead or reused pid) is removed."""
        pid_file = self.home / PID_FILE
        try:
            pid = int(pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        process.reap(pid)
        if process.is_alive(pid) and str(self.home) in process.command_line(pid):
            return pid
        pid_file.unlink(missing_ok=True)
        return None

    def _wipe_postgres(self) -> None:
        import sqlalchemy

        url = self.db_url.replace("postgres://", "postgresql://", 1).replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
        engine = sqlalchemy.create_engine(url)
        try:
            with engine.begin() as connection:
                connection.execute(sqlalchemy.text("DROP SCHEMA public CASCADE"))
                connection.execute(sqlalchemy.text("CREATE SCHEMA public"))
        finally:
            engine.dispose()

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:])
        except FileNotFoundError:
            return "(no log yet)"
