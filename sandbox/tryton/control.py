"""Control of one sandbox ERP instance: build, snapshot, reset, start, stop, health, clone.

This runs in the main environment (Airflow and the product, no trytond): it checks health with the
product's own JSON-RPC client, as the integration will connect. Whatever needs trytond runs in the
ERP environment (.venv-erp) as a subprocess: ``trytond-admin``, ``trytond``, ``sandbox.tryton.seed`` and
``sandbox.tryton.pgadmin``.

An instance lives in its home directory (ERP_HOME):
    trytond.conf            server configuration (regenerated on start: the port may change)
    sandbox.json            what was built: backend, database, pristine snapshot, seed fingerprint
    secrets/*.password      admin and integration passwords, mode 0600
    db/<name>.sqlite        working database (SQLite backend)
    pristine/<name>.sqlite  pristine snapshot (SQLite backend; PostgreSQL uses a template database)
    trytond.pid, logs/      the running server
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from erpsync.common.retry import Backoff
from erpsync.tryton.errors import ErpError
from erpsync.tryton.rpc import TrytonRpc
from sandbox.tryton import catalog, process
from sandbox.tryton.errors import BUILD_HINT, ErpSandboxError
from sandbox.tryton.stores import PostgresStore, SqliteStore, redact

HOST = "127.0.0.1"
PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parents[1]
# Modules to activate; trytond-admin adds their dependencies (account_invoice, web_user, ...).
MODULES = ["product", "stock", "sale", "product_price_list", "sale_price_list", "web_shop", "account",
           "company", "currency", "party", "country", "product_image", "sale_amendment"]
# A change to any of these files makes an existing snapshot stale: build then rebuilds from scratch.
FINGERPRINT_FILES = ["catalog.py", "seed.py", "requirements.txt"]
START_TIMEOUT = 90.0  # the server loads all modules before it listens: ~2 s here, more on a busy machine
STOP_GRACE = 15.0
LOG_TAIL_LINES = 30


@dataclass
class ErpSandbox:
    home: Path
    port: int = 8000
    db_name: str = "erp"
    db_url: str | None = None  # None: SQLite under home; "postgresql://user@host:port/": PostgreSQL
    listen_host: str = HOST  # a container listens on 0.0.0.0 (ERP_LISTEN); clients still use 127.0.0.1 here
    erp_python: Path = field(default_factory=lambda: REPO_ROOT / ".venv-erp" / "bin" / "python")
    # 1: trytond's own threaded server (one core). N > 1: N worker processes under gunicorn, as Tryton is
    # deployed in production, forked from one that loaded the database, so that N calls run on N cores.
    workers: int = 1
    out: object = field(default=sys.stdout, repr=False)  # progress messages; never secrets

    def __post_init__(self) -> None:
        self.home = Path(self.home).resolve()
        if self.db_url:
            if not self.db_url.startswith(("postgresql://", "postgres://")):
                raise ErpSandboxError(f"ERP_DB_URL must be a postgresql:// URL, got {redact(self.db_url)!r}")
            # The server URL only: trytond names the database per request and refuses a path in the URI.
            self.db_url = urlunsplit(urlsplit(self.db_url)._replace(path="/"))

    @classmethod
    def from_env(cls, environ: dict | None = None) -> ErpSandbox:
        env = os.environ if environ is None else environ
        port = env.get("ERP_PORT") or "8000"
        if not port.isdigit():
            raise ErpSandboxError(f"ERP_PORT must be a port number, got {port!r}")
        return cls(home=Path(env.get("ERP_HOME") or REPO_ROOT / "var" / "erp"),
                   port=int(port),
                   db_name=env.get("ERP_DB_NAME") or "erp",
                   db_url=env.get("ERP_DB_URL") or None,
                   listen_host=env.get("ERP_LISTEN") or HOST,
                   erp_python=Path(env.get("ERP_PYTHON") or REPO_ROOT / ".venv-erp" / "bin" / "python"))

    # ----------------------------------------------------------------------------------------- paths
    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def config_file(self) -> Path:
        return self.home / "trytond.conf"

    @property
    def state_file(self) -> Path:
        return self.home / "sandbox.json"

    @property
    def pid_file(self) -> Path:
        return self.home / "trytond.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "trytond.log"

    @property
    def admin_password_file(self) -> Path:
        return self.home / "secrets" / "admin.password"

    @property
    def integration_password_file(self) -> Path:
        return self.home / "secrets" / "integration.password"

    @property
    def backend(self) -> str:
        return "postgresql" if self.db_url else "sqlite"

    @property
    def store(self) -> SqliteStore | PostgresStore:
        # A PostgreSQL clone records the template it shares with its source in its state file.
        return self._make_store(self._state().get("pristine"))

    def _make_store(self, pristine: str | None = None) -> SqliteStore | PostgresStore:
        if self.db_url:
            return PostgresStore(self.db_url, self.db_name, self.erp_python, pristine=pristine)
        return SqliteStore(self.home, self.db_name, pristine=Path(pristine) if pristine else None)

    # -------------------------------------------------------------------------------------- commands
    def build(self, force: bool = False) -> None:
        """Create and seed the database and keep a pristine snapshot; a no-op when already built."""
        with self._locked():
            started = time.monotonic()
            reason = self._rebuild_reason(force)
            if reason is None and self.store.exists():
                self._say(f"build: up to date ({self._describe()}); `reset` restores the pristine data")
                return
            was_running = self._running_pid() is not None
            self._stop()
            if reason is None:
                self.store.restore()
                self._say(f"build: working database recreated from the snapshot in {_since(started)}")
            else:
                self._say(f"build: from scratch ({reason}); takes 1 minute on SQLite, 2-3 on PostgreSQL")
                self._build_from_scratch()
                self._say(f"build: done in {_since(started)} ({self._describe()})")
            if was_running:
                self._start()

    def grow(self, templates: int = 0, *, copies: int = 0) -> dict:
        """Add ``templates`` more templates (~3 variants each, stocked, in the web shop), or ``copies``
        copies of those grown before (SQLite: SQL, seconds), and make the result this instance's pristine
        snapshot: a large catalog for benchmarks, built once and reset in seconds."""
        if not self._state().get("pristine_owned", True):
            raise ErpSandboxError("grow replaces the snapshot: use an instance that owns its own (its own build, "
                                  "or a SQLite clone), not a PostgreSQL clone sharing its source's template")
        with self._locked():
            was_running = self._running_pid() is not None
            self._stop()
            self._require_erp_venv()
            self._write_config()
            how = ["--copies", str(copies)] if copies else ["--templates", str(templates)]
            output = self._run_step(f"add {copies} copies of the grown templates" if copies else
                                    f"add {templates} templates", [
                str(self.erp_python), "-m", "sandbox.tryton.bulk", "--database", self.db_name, *how],
                env={"TRYTOND_CONFIG": str(self.config_file)})
            self.store.snapshot()
            if was_running:
                self._start()
            return json.loads(output.strip().splitlines()[-1])

    def reset(self) -> None:
        """Restore the working database from the pristine snapshot; restart the server if it ran."""
        with self._locked():
            started = time.monotonic()
            was_running = self._running_pid() is not None
            self._stop()
            self.store.restore()
            if was_running:
                self._start()
            self._say(f"reset: pristine data restored in {_since(started)}"
                      + (" (server restarted)" if was_running else ""))

    def start(self) -> None:
        with self._locked():
            self._start()

    def stop(self) -> None:
        with self._locked():
            self._stop()

    def serve(self) -> None:
        """Run the server in the foreground, in place of this process (a container's main process)."""
        self._require_erp_venv()
        if not self.store.exists():
            raise ErpSandboxError(f"no working database {self.db_name!r}: {BUILD_HINT}")
        self._write_config()
        command = self._server_command()
        os.execve(command[0], command, self._child_env())

    def health(self) -> tuple[bool, str]:
        """Log in over JSON-RPC as the integration user: the check the product itself depends on."""
        if not self.integration_password_file.is_file():
            return False, f"not built: no {self.integration_password_file}"
        password = self.integration_password_file.read_text().strip()
        client = TrytonRpc(self.url, self.db_name, catalog.INTEGRATION_LOGIN, password,
                           read_timeout_s=10.0, backoff=Backoff(attempts=1))
        try:
            client.authenticate()
            client.logout()
        except (ErpError, ValueError) as error:  # ValueError: something else answers on the port
            return False, f"unhealthy: {client.url} {error}"
        return True, f"healthy: {client.url} login {catalog.INTEGRATION_LOGIN!r} (user {client.user_id})"

    def info(self, show_password: bool = False) -> dict:
        data = {
            "url": self.url, "rpc_url": f"{self.url}/{self.db_name}/rpc/", "db_name": self.db_name,
            "port": self.port, "home": str(self.home), "backend": self.backend,
            "db_url": redact(self.db_url) if self.db_url else None, "login": catalog.INTEGRATION_LOGIN,
            "password_file": str(self.integration_password_file),
            "admin_password_file": str(self.admin_password_file),
            "running_pid": self._running_pid(), "built": self._state().get("seed"),
        }
        if show_password:
            data["password"] = self.integration_password_file.read_text().strip()
        return data

    def clone(self, to: Path, port: int, db_name: str | None = None) -> ErpSandbox:
        """A new, stopped instance in ``to`` on ``port``, with a working database copied from our snapshot.

        The clone gets its own working database (PostgreSQL: ``<db>_clone<port>`` unless named) and a copy
        of our secrets; it resets from our pristine snapshot (SQLite: its own copy of it).
        """
        if not (self._state() and self.store.has_snapshot()):
            raise ErpSandboxError(f"{self.home} has no pristine snapshot: {BUILD_HINT}")
        default_name = f"{self.db_name}_clone{port}" if self.db_url else self.db_name
        target = ErpSandbox(home=to, port=port, db_name=db_name or default_name, db_url=self.db_url,
                            erp_python=self.erp_python, out=self.out)
        if target.home == self.home:
            raise ErpSandboxError("clone --to must be another directory than the source's ERP_HOME")
        with self._locked(), target._locked():
            target._stop()
            target._copy_secrets_from(self)
            state = {**self._state(), "db_name": target.db_name, "cloned_from": str(self.home)}
            if self.db_url:
                # Templates are frozen (no connections allowed), so sharing ours is safe and instant.
                state.update(pristine=self.store.pristine_ref, pristine_owned=False)
            else:
                target._make_store().import_snapshot(self.store.pristine)
                state.update(pristine=target._make_store().pristine_ref, pristine_owned=True)
            target._write_state(state)
            target.store.restore()
        return target

    def destroy(self) -> None:
        """Stop the server and drop the databases this instance owns (not a shared PostgreSQL template)."""
        with self._locked():
            self._stop()
            store = self.store
            store.drop()
            if self._state().get("pristine_owned", True):
                store.drop_snapshot()
            self.state_file.unlink(missing_ok=True)

    # ------------------------------------------------------------------------------------ internals
    def _build_from_scratch(self) -> None:
        # The files as they are before the seed runs: one edited during the build (it runs a minute) must
        # leave the snapshot stale, not be recorded as what was built.
        fingerprint = _fingerprint()
        self._require_erp_venv()
        self._ensure_secrets()
        self._write_config()
        # Our own snapshot, never the template a PostgreSQL clone shares with its source.
        store = self._make_store()
        store.create_empty()
        self._run_step("activate modules (trytond-admin)", self._admin_command(),
                       env={"TRYTONPASSFILE": str(self.admin_password_file)})
        summary = self._run_step("seed demo data", self._seed_command(),
                                 env={"TRYTOND_CONFIG": str(self.config_file)})
        store.snapshot()
        self._write_state({"fingerprint": fingerprint, **self._identity(),
                           "pristine": store.pristine_ref, "pristine_owned": True,
                           "seed": json.loads(summary.strip().splitlines()[-1]),
                           "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})

    def _rebuild_reason(self, force: bool) -> str | None:
        state = self._state()
        if force:
            return "--force"
        if not state:
            return "no snapshot of this database yet"
        if state.get("fingerprint") != _fingerprint():
            return "seed data or pinned versions changed since the snapshot"
        if not self.store.has_snapshot():
            return "the pristine snapshot is missing"
        return None

    def _start(self) -> None:
        pid = self._running_pid()
        if pid is not None:
            if process.wait_until(lambda: self.health()[0], 10.0):
                self._say(f"start: already running (pid {pid}) at {self.url}")
                return
            raise ErpSandboxError(f"trytond (pid {pid}) runs but does not answer: `stop` then `start`; "
                                  f"log tail:\n{self._log_tail()}")
        self._require_erp_venv()
        if not self.store.exists():
            raise ErpSandboxError(f"no working database {self.db_name!r}: {BUILD_HINT}")
        if process.port_in_use(HOST, self.port):
            raise ErpSandboxError(f"port {self.port} is in use: stop what listens there, or set ERP_PORT")
        self._write_config()
        started = time.monotonic()
        pid = self._spawn_server()
        answered = process.wait_until(lambda: self._healthy_or_dead(pid), START_TIMEOUT, interval=0.5)
        if not (answered and process.is_alive(pid)):
            failure = "exited" if not process.is_alive(pid) else f"not healthy after {START_TIMEOUT:.0f} s"
            self._stop()
            raise ErpSandboxError(f"trytond {failure} (log {self.log_file}); its tail:\n{self._log_tail()}")
        self._say(f"start: healthy in {_since(started)} at {self.url} (pid {pid}, log {self.log_file})")

    def _spawn_server(self) -> int:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        command = self._server_command()
        with open(self.log_file, "ab") as log:
            # Own session: the server outlives this command, and stop() can signal its whole process group.
            server = subprocess.Popen(command, cwd=self.home, stdin=subprocess.DEVNULL, stdout=log,
                                      stderr=subprocess.STDOUT, env=self._child_env(), start_new_session=True)
        self.pid_file.write_text(f"{server.pid}\n")
        return server.pid

    def _server_command(self) -> list[str]:
        if self.workers > 1:
            # --preload: the database's pool is loaded once, before the workers fork; a long call (a big
            # page of computed stock) must not be taken for a hung worker.
            return [str(self.erp_python.parent / "gunicorn"), "--workers", str(self.workers), "--preload",
                    "--bind", f"{self.listen_host}:{self.port}", "--timeout", "600", "--access-logfile", "-",
                    # On the command line (not only in the environment): _running_pid knows us by it.
                    "--env", f"TRYTOND_CONFIG={self.config_file}", "trytond.application:app"]
        # -v: INFO, one line per request and login, to diagnose the integration's calls.
        return [str(self.erp_python.parent / "trytond"), "-c", str(self.config_file), "-d", self.db_name, "-v"]

    def _healthy_or_dead(self, pid: int) -> bool:
        process.reap(pid)
        return not process.is_alive(pid) or self.health()[0]

    def _stop(self) -> None:
        pid = self._running_pid()
        if pid is None:
            return
        started = time.monotonic()
        try:
            process.terminate(pid, STOP_GRACE)
        except TimeoutError as error:
            raise ErpSandboxError(f"could not stop trytond: {error}; kill it by hand (pid {pid})") from error
        self.pid_file.unlink(missing_ok=True)
        self._say(f"stop: trytond (pid {pid}) stopped in {_since(started)}")

    def _running_pid(self) -> int | None:
        """The pid of this instance's server, or None; a stale pid file (dead or reused pid) is removed."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        process.reap(pid)
        if process.is_alive(pid) and any(str(self.config_file) in part for part in process.command_line(pid)):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def _admin_command(self) -> list[str]:
        # --email: trytond-admin otherwise prompts for the admin e-mail (and fails without a terminal).
        return [str(self.erp_python.parent / "trytond-admin"), "-c", str(self.config_file),
                "-d", self.db_name, "--all", "-u", *MODULES, "--activate-dependencies",
                "--email", "admin@example.com"]

    def _seed_command(self) -> list[str]:
        return [str(self.erp_python), "-m", "sandbox.tryton.seed", "--database", self.db_name,
                "--integration-password-file", str(self.integration_password_file)]

    def _run_step(self, title: str, command: list[str], env: dict | None = None) -> str:
        started = time.monotonic()
        log = self.home / "logs" / "build.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True,
                                env={**self._child_env(), **(env or {})})
        with open(log, "a") as handle:
            handle.write(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}\n")
        if result.returncode:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-LOG_TAIL_LINES:])
            raise ErpSandboxError(f"{title} failed (exit {result.returncode}, full output in {log}):\n{tail}")
        self._say(f"build: {title} in {_since(started)}")
        return result.stdout

    def _child_env(self) -> dict:
        # Only our config file may configure trytond: drop TRYTOND_* overrides from the caller's environment.
        env = {key: value for key, value in os.environ.items() if not key.startswith("TRYTOND")}
        env["PYTHONPATH"] = str(REPO_ROOT)
        if self.workers > 1:  # trytond.application reads its set-up from the environment
            env.update(TRYTOND_DATABASE_NAMES=self.db_name,
                       TRYTOND_LOGGING_LEVEL="30")  # warnings; gunicorn logs each request
        return env

    def _write_config(self) -> None:
        # Mode 0600 like the secrets: a PostgreSQL URL may carry a password.
        _write_secret(self.config_file, (
            "# Written by `python -m sandbox.tryton` on every build/start: edits are overwritten.\n"
            "[database]\n"
            f"uri = {self.store.uri}\n"
            f"path = {self.home / 'db'}\n"
            "# Nobody needs to discover databases over the network.\n"
            "list = False\n"
            "[web]\n"
            f"listen = {self.listen_host}:{self.port}"))

    def _ensure_secrets(self) -> None:
        # A deployment (docker-compose) may choose the integration user's password; otherwise we make one.
        chosen = {self.integration_password_file: os.environ.get("ERP_INTEGRATION_PASSWORD")}
        for path in (self.admin_password_file, self.integration_password_file):
            if not path.is_file():
                _write_secret(path, chosen.get(path) or secrets.token_urlsafe(24))

    def _copy_secrets_from(self, source: ErpSandbox) -> None:
        for theirs, ours in ((source.admin_password_file, self.admin_password_file),
                             (source.integration_password_file, self.integration_password_file)):
            _write_secret(ours, theirs.read_text().strip())

    def _require_erp_venv(self) -> None:
        if not (self.erp_python.is_file() and (self.erp_python.parent / "trytond").is_file()):
            raise ErpSandboxError(
                f"no ERP environment at {self.erp_python.parent.parent}: run `make erp-venv` "
                "(or point ERP_PYTHON at a Python with sandbox/tryton/requirements.txt installed)")

    def _state(self) -> dict:
        """What was built in this home, or {} if it was another backend, server or database name."""
        try:
            state = json.loads(self.state_file.read_text())
        except FileNotFoundError:
            return {}
        identity = self._identity()
        return state if all(state.get(key) == value for key, value in identity.items()) else {}

    def _identity(self) -> dict:
        return {"backend": self.backend, "db_name": self.db_name,
                "db_url": redact(self.db_url) if self.db_url else None}

    def _write_state(self, state: dict) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")

    def _describe(self) -> str:
        where = f"PostgreSQL {redact(self.db_url)}{self.db_name}" if self.db_url else str(self.store.path)
        return f"database {self.db_name!r} at {where}"

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:])
        except FileNotFoundError:
            return "(no log yet)"

    @contextlib.contextmanager
    def _locked(self):
        """One command at a time per home: two concurrent builds or a reset during a start would collide."""
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _say(self, message: str) -> None:
        print(message, file=self.out, flush=True)


def _write_secret(path: Path, value: str) -> None:
    """Write a file only its owner can read (the secrets directory itself is 0700 when we create it)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)  # O_CREAT's mode does not apply to an existing file
        handle.write(value + "\n")


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in FINGERPRINT_FILES:
        digest.update(name.encode() + b"\0" + (PACKAGE_DIR / name).read_bytes())
    return digest.hexdigest()


def _since(started: float) -> str:
    return f"{time.monotonic() - started:.1f} s"
