"""A local Airflow for the demo and the end-to-end tests: its four components sized for two cores, under
``sandbox/airflow_supervisor.py`` (``airflow standalone``'s components and output, and a component that
dies is started again).

Standard library only (plus ``requests``): it drives Airflow through its CLI and REST API, like a user.
Airflow runs in its own process group, so that stopping it stops the scheduler, the DAG processor, the
API server, the triggerer and every task worker they started, with nothing left behind.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from sandbox.airflow_supervisor import COMPONENTS as SUPERVISED
from sandbox.airflow_supervisor import COMPONENTS_ENV

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]


def wait_for(condition: Callable[[], Any], *, timeout_s: float, what: str, interval_s: float = 0.5) -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout_s`` naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(interval_s)


COMPONENTS = ("metadatabase", "scheduler", "dag_processor", "triggerer")  # what a health check asks for

# Airflow's SQLite metadata database (the local default) takes one writer at a time: the scheduler, the DAG
# processor, the API server and every task process queue behind each other. Python's default wait for
# the lock is 5 s, which a demo that has traded for an hour exceeds (the API server then answers 500).
SQLITE_BUSY_TIMEOUT_S = 60
# Its queries' rows are read whole when they run (sandbox/airflow_settings/sandbox_sqlite.py, on the
# PYTHONPATH of every Airflow process started here): no write upgrades a read still open, which fails at
# once, whatever the timeout, when another process wrote since that read began.
LOCAL_SETTINGS = REPO / "sandbox" / "airflow_settings"
# What the REST calls survive: a 5xx while the database is busy, a restart of the API server. A call that
# still fails after these is an error worth stopping for.
REST_RETRY = Retry(total=6, connect=6, read=3, status=6, backoff_factor=1.0, backoff_max=15,
                   status_forcelist=(500, 502, 503, 504), allowed_methods=None, raise_on_status=False)


UNPAUSE_READ_TIMEOUT_S = 120

# `[workers] min_heartbeat_interval`: see AirflowLocal.env (the CeleryExecutor's is in CELERY_SETTINGS).
MIN_HEARTBEAT_INTERVAL_S = "1"
# The CeleryExecutor deployment's settings, shared with docker-compose.yaml (its env_file).
CELERY_SETTINGS = REPO / "docker" / "airflow-celery.env"
WORKER_HOSTNAME_CALLABLE = "sandbox_worker.hostname"  # sandbox/airflow_settings/sandbox_worker.py


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (``#`` comments and blank lines skipped), as Compose's ``env_file`` reads them."""
    settings = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{path}:{number}: expected KEY=VALUE, got {line!r}")
        settings[key.strip()] = value.strip()
    return settings


@dataclass(frozen=True)
class CeleryDeployment:
    """Airflow on the CeleryExecutor on this machine: PostgreSQL metadata database, Redis broker, and
    ``workers`` Celery workers supervised beside the other components, with the settings of
    ``CELERY_SETTINGS``. ``queue`` is this deployment's own Celery queue, so that two deployments on one
    Redis never take each other's tasks. On one host each worker needs its own log server port, and tells
    its task instances apart by a hostname of its own: 127.0.0.N (a loopback address of this machine, so
    that the API server can still fetch a running task's log from it)."""

    metadata_url: str
    broker_url: str
    queue: str
    worker_log_ports: tuple[int, ...] = (8793, 8795)  # the triggerer's log server keeps 8794

    @property
    def workers(self) -> list[str]:
        return [f"worker-{n}" for n in range(1, len(self.worker_log_ports) + 1)]

    @property
    def worker_hostnames(self) -> list[str]:
        """The hostname each worker gives its task instances, in the order of ``workers``."""
        return [f"127.0.0.{n}" for n in range(1, len(self.worker_log_ports) + 1)]

    def components(self) -> list[dict[str, Any]]:
        """What the supervisor runs (sandbox/airflow_supervisor.py ``COMPONENTS_ENV``)."""
        planned: list[dict[str, Any]] = [{"name": name, "args": [name]} for name in SUPERVISED]
        workers = zip(self.workers, self.worker_log_ports, self.worker_hostnames, strict=True)
        for name, port, hostname in workers:
            planned.append({"name": name, "args": ["celery", "worker", "--celery-hostname", f"{name}@%h"],
                            "env": {"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(port),
                                    "AIRFLOW__CORE__HOSTNAME_CALLABLE": WORKER_HOSTNAME_CALLABLE,
                                    "ERPSYNC_WORKER_HOSTNAME": hostname}})
        return planned


@dataclass
class AirflowLocal:
    home: Path
    port: int = 8080
    parallelism: int = 4
    dags_folder: Path = REPO / "dags"
    plugins_folder: Path = REPO / "plugins"
    extra_env: dict[str, str] = field(default_factory=dict)
    celery: CeleryDeployment | None = None  # None: the LocalExecutor on SQLite

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sqlite_url(self) -> str:
        """The metadata database: SQLite in this home (Airflow's default file), waiting for its lock."""
        return f"sqlite:///{self.home / 'airflow.db'}?timeout={SQLITE_BUSY_TIMEOUT_S}"

    @property
    def pid_file(self) -> Path:
        """The supervisor's pid (the file keeps the name it had when ``airflow standalone`` ran here)."""
        return self.home / "standalone.pid"

    @property
    def log_file(self) -> Path:
        """Every component's output, each line prefixed with its name, and the supervisor's restarts."""
        return self.home / "standalone.log"

    @property
    def password_file(self) -> Path:
        return self.home / "simple_auth_manager_passwords.json.generated"

    def env(self) -> dict[str, str]:
        venv_bin = str(Path(sys.executable).parent)
        env = {
            **os.environ,
            "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(self.plugins_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            # Two cores: the default parallelism of 32 starts 32 workers (~5.5 GB); 4 keeps ~1.8 GB.
            "AIRFLOW__CORE__PARALLELISM": str(self.parallelism),
            "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            # A task's supervisor looks at its process again at least this often: after a task whose sockets
            # closed before its exit status came, it held the executor slot ~5 s (the default) longer than the
            # task ran (README "Real time"; docker/airflow-celery.env says the same for the CeleryExecutor).
            "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": MIN_HEARTBEAT_INTERVAL_S,
        }
        env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(LOCAL_SETTINGS), os.environ.get("PYTHONPATH")]))
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = self.sqlite_url
        if self.celery is not None:
            env.update(self._celery_env(self.celery))
        env.update(self.extra_env)
        if env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("sqlite"):
            # The SQLite driver's connection factory: a PostgreSQL metadata database (the CeleryExecutor's)
            # takes no such argument.
            env.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS", "sandbox_sqlite.CONNECT_ARGS")
        return env

    def _celery_env(self, celery: CeleryDeployment) -> dict[str, str]:
        from sqlalchemy.engine import make_url

        backend = make_url(celery.metadata_url).render_as_string(hide_password=False)
        return {
            **read_env_file(CELERY_SETTINGS),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": celery.metadata_url,
            "AIRFLOW__CELERY__BROKER_URL": celery.broker_url,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{backend}",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": celery.queue,
            # The log server port the API server asks a worker for a running task's log (the first one's).
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(celery.worker_log_ports[0]),
            # One secret for every process: a worker's task tokens are checked by the API server.
            "AIRFLOW__API_AUTH__JWT_SECRET": self._jwt_secret(),
            COMPONENTS_ENV: json.dumps(celery.components()),
        }

    def _jwt_secret(self) -> str:
        """This deployment's secret for the tokens of the Execution API, made once and kept in its home."""
        path = self.home / "jwt_secret"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            # 64 bytes: what PyJWT asks of a key for HS512 (it warns below that).
            path.write_text(secrets.token_urlsafe(64))
        return path.read_text().strip()

    # -- set-up (before start) ----------------------------------------------------------------------

    def migrate(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self._cli(["db", "migrate"], timeout_s=300)

    def configure(self, *, connections: Iterable[dict[str, Any]]) -> None:
        """Create or update Connections and the product's pools in the metadata database, in one process."""
        script = (
            "import json, sys\n"
            "from airflow.models import Connection\n"
            "from erpsync.tasks.pools import ensure_pools\n"
            "from airflow.utils.session import create_session\n"
            "spec = json.load(sys.stdin)\n"
            "with create_session() as session:\n"
            "    for c in spec['connections']:\n"
            "        old = session.query(Connection).filter(Connection.conn_id == c['conn_id']).one_or_none()\n"
            "        if old is not None:\n"
            "            session.delete(old)\n"
            "            session.flush()\n"
            "        session.add(Connection(**c))\n"
            "ensure_pools()\n"
        )
        subprocess.run(
            [sys.executable, "-c", script], input=json.dumps({"connections": list(connections)}),
            text=True, env=self.env(), check=True, capture_output=True, timeout=120,
        )

    # -- processes ----------------------------------------------------------------------------------

    def recorded_pid(self) -> int | None:
        """The pid of the last supervisor started here, alive or not: the id of its process group, which
        its children keep after it died."""
        try:
            return int(self.pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return None

    def pid(self) -> int | None:
        pid = self.recorded_pid()
        if pid is None:
            return None
        # Alive, not a zombie (killed, not yet reaped by its parent: a dead Airflow all the same), and
        # Airflow (a pid file that outlived a reboot may name someone else's process by now).
        return pid if any(live == pid for live, _ in _live_processes()) and _is_airflow(pid) else None

    def start(self, *, timeout_s: float = 240) -> None:
        if self.pid() is not None and self.healthy():
            log.info("Airflow already running at %s", self.url)
            return
        if self.pid() is not None or self.processes():
            # Not healthy, or what is left of a crash (the standalone process killed, its api-server or
            # scheduler still holding the ports and answering from a dead deployment): all of it goes.
            log.info("stopping what is left of an earlier Airflow of %s", self.home)
            self.stop()
        self.home.mkdir(parents=True, exist_ok=True)
        log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        with self.log_file.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, str(REPO / "sandbox" / "airflow_supervisor.py")],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env(),
                start_new_session=True,  # its own process group: stop() signals all of it
            )
        self.pid_file.write_text(str(process.pid))
        try:
            wait_for(lambda: process.poll() is not None or self.healthy(), timeout_s=timeout_s,
                     what=f"Airflow to become healthy at {self.url}", interval_s=2)
        except TimeoutError as error:
            raise RuntimeError(f"{error}; last lines of {self.log_file}:\n{self._log_tail()}") from None
        if process.poll() is not None:
            raise RuntimeError(f"Airflow exited with {process.returncode}; see {self.log_file}:\n{self._log_tail()}")
        if self.celery is not None:
            try:
                wait_for(lambda: process.poll() is not None or self.workers_ready(log_offset),
                         timeout_s=timeout_s, interval_s=2,
                         what=f"Celery workers {', '.join(self.celery.workers)} to be ready")
            except TimeoutError as error:
                raise RuntimeError(f"{error}; last lines of {self.log_file}:\n{self._log_tail()}") from None

    def workers_ready(self, log_offset: int = 0) -> bool:
        """Every Celery worker has said it is ready (``<name>@<host> ready.``) since ``log_offset`` of the
        supervisor's log."""
        with self.log_file.open("rb") as log_file:
            log_file.seek(log_offset)
            text = log_file.read().decode("utf-8", "replace")
        return all(re.search(rf"^{re.escape(name)}\s*\|.*{re.escape(name)}@\S+ ready\.", text, re.MULTILINE)
                   for name in self.celery.workers)

    def stop(self, *, timeout_s: float = 90) -> None:
        """Stop every Airflow process of this home: the supervisor first (it stops each component once, in
        order: sandbox/airflow_supervisor.py), the whole process group after ``timeout_s``, then any
        straggler."""
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):  # it may have just ended
                os.kill(pid, signal.SIGTERM)
            try:
                wait_for(lambda: not _group_alive(pid), timeout_s=timeout_s, what="Airflow to stop")
            except TimeoutError:
                log.warning("Airflow did not stop within %ss; killing it", timeout_s)
                _signal_group(pid, signal.SIGKILL)
                with contextlib.suppress(TimeoutError):  # a killed process takes a moment to go
                    wait_for(lambda: not _group_alive(pid), timeout_s=10, what="Airflow's processes to end")

        def none_left() -> bool:  # again until none is left: a dying parent may just have forked a child
            left = self.processes()
            for straggler in left:
                _kill(straggler)
            return not left

        wait_for(none_left, timeout_s=timeout_s, what=f"every process of the Airflow of {self.home} to end",
                 interval_s=0.5)
        self.pid_file.unlink(missing_ok=True)

    def processes(self) -> list[int]:
        """Pids of every live process of this Airflow: its process group (also when its leader died: the
        api-server overwrites its own environment with its process title, so the group is how to find
        it), and any process whose AIRFLOW_HOME is this home (a task that left the group)."""
        marker = f"AIRFLOW_HOME={self.home}".encode()
        group = self.recorded_pid()
        found = []
        for pid, pgid in _live_processes():
            if pid == os.getpid():
                continue
            if group is not None and pgid == group and _is_airflow(pid):
                found.append(pid)
                continue
            try:
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker in environ:
                found.append(pid)
        return found

    # -- REST API -----------------------------------------------------------------------------------

    def healthy(self, components: tuple[str, ...] = COMPONENTS) -> bool:
        try:
            response = requests.get(f"{self.url}/api/v2/monitor/health", timeout=5)
        except requests.RequestException:
            return False
        if response.status_code != 200:
            return False
        body = response.json()
        return all((body.get(component) or {}).get("status") == "healthy" for component in components)

    def admin_password(self) -> str:
        return json.loads(self.password_file.read_text())["admin"]

    def session(self) -> requests.Session:
        response = requests.post(
            f"{self.url}/auth/token", json={"username": "admin", "password": self.admin_password()}, timeout=30
        )
        response.raise_for_status()
        http = requests.Session()
        http.mount(self.url, HTTPAdapter(max_retries=REST_RETRY))
        http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return http

    def wait_for_dag(self, http: requests.Session, dag_id: str, *, timeout_s: float = 180) -> None:
        wait_for(lambda: http.get(f"{self.url}/api/v2/dags/{dag_id}", timeout=30).status_code == 200,
                 timeout_s=timeout_s, what=f"DAG {dag_id} to be parsed", interval_s=2)

    def unpause(self, http: requests.Session, dag_id: str) -> None:
        # Idempotent, so waited for longer than other calls: on a loaded two-core machine (CI running the
        # Celery demo beside this one) the API server answered no unpause for 2.5 minutes, its SQLite
        # metadata database busy with the scheduler's and the DAG processor's first writes.
        http.patch(f"{self.url}/api/v2/dags/{dag_id}", json={"is_paused": False},
                   timeout=(10, UNPAUSE_READ_TIMEOUT_S)).raise_for_status()

    def trigger(self, http: requests.Session, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        """Start a manual run. The run's id is ours, so a retried call whose first answer was lost (the
        run exists: 409) starts no second run."""
        run_id = f"manual__{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime())}_{uuid.uuid4().hex[:8]}"
        response = http.post(
            f"{self.url}/api/v2/dags/{dag_id}/dagRuns",
            json={"dag_run_id": run_id, "logical_date": None, "conf": conf or {}}, timeout=30,
        )
        if response.status_code != 409:
            response.raise_for_status()
        return run_id

    def run_state(self, http: requests.Session, dag_id: str, run_id: str) -> str:
        response = http.get(f"{self.url}/api/v2/dags/{dag_id}/dagRuns/{run_id}", timeout=30)
        response.raise_for_status()
        return response.json()["state"]

    def wait_for_run(self, http: requests.Session, dag_id: str, run_id: str, *, timeout_s: float = 600) -> str:
        state = wait_for(
            lambda: (s := self.run_state(http, dag_id, run_id)) in ("success", "failed") and s,
            timeout_s=timeout_s, what=f"run {run_id} of {dag_id} to finish", interval_s=2,
        )
        return state

    def backfill(self, http: requests.Session, dag_id: str, start: str, end: str, *, timeout_s: float = 900
                 ) -> dict[str, str]:
        """`airflow backfill create` over [start, end] (reprocessing completed runs), wait until it
        completes; return the state of each run it made."""
        args = ["backfill", "create", "--dag-id", dag_id, "--from-date", start, "--to-date", end,
                "--reprocess-behavior", "completed", "--max-active-runs", "1"]
        def listed() -> list[dict[str, Any]]:
            response = http.get(f"{self.url}/api/v2/backfills", params={"dag_id": dag_id, "limit": 100}, timeout=30)
            response.raise_for_status()
            return response.json()["backfills"]

        known = {b["id"] for b in listed()}
        for attempt in range(1, 4):
            try:
                self._cli(args, timeout_s=120)
                break
            except RuntimeError as error:
                # Airflow's SQLite metadata database (the local default) gets locked while the scheduler
                # writes. The CLI may have failed before creating the backfill (ask again) or after
                # (it exists: wait for it).
                if "database is locked" not in str(error) or attempt == 3:
                    raise
                if any(b["id"] not in known for b in listed()):
                    break
                time.sleep(2 * attempt)
        backfill = max((b for b in listed() if b["id"] not in known), key=lambda b: b["id"])
        try:
            wait_for(lambda: http.get(f"{self.url}/api/v2/backfills/{backfill['id']}", timeout=30
                                      ).json()["completed_at"],
                     timeout_s=timeout_s, what=f"backfill {backfill['id']} of {dag_id} to complete", interval_s=3)
        except TimeoutError as error:
            raise TimeoutError(f"{error}; {self.runs_report(http, dag_id)}") from None
        runs = http.get(f"{self.url}/api/v2/dags/{dag_id}/dagRuns", params={"run_type": "backfill", "limit": 100},
                        timeout=30).json()["dag_runs"]
        # Runs of this backfill: in its range (a second backfill over the same range reprocesses them).
        return {run["dag_run_id"]: run["state"] for run in runs
                if backfill["from_date"] <= run["logical_date"] <= backfill["to_date"]}

    def runs_report(self, http: requests.Session, dag_id: str, *, scheduler_lines: int = 15) -> str:
        """What a stuck wait was waiting on: ``dag_id``'s latest runs (type, state, when queued, started
        and ended) and, for those not finished, their task states; with the scheduler's last lines."""
        lines = []
        try:
            response = http.get(f"{self.url}/api/v2/dags/{dag_id}/dagRuns",
                                params={"limit": 20, "order_by": "-run_after"}, timeout=30)
            response.raise_for_status()
            for run in response.json()["dag_runs"]:
                line = (f"{run['dag_run_id']} {run['run_type']} {run['state']} queued {run.get('queued_at')}"
                        f" started {run.get('start_date')} ended {run.get('end_date')}")
                if run["state"] not in ("success", "failed"):
                    line += f" {self.task_states(http, dag_id, run['dag_run_id'])}"
                lines.append(line)
        except (requests.RequestException, KeyError, ValueError) as error:  # the report must not hide the wait
            lines.append(f"(the API did not list them: {error!r})")
        tail = self._log_tail(400).splitlines()
        scheduler = [line for line in tail if "scheduler" in line.split("|", 1)[0]]
        scheduler = scheduler[-scheduler_lines:] if scheduler_lines else []
        return (f"the latest runs of {dag_id}: " + "; ".join(lines)
                + "\nthe scheduler's last lines:\n" + "\n".join(scheduler) + f"\n(logs under {self.home})")

    def task_states(self, http: requests.Session, dag_id: str, run_id: str) -> dict[str, str]:
        response = http.get(f"{self.url}/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", timeout=30)
        response.raise_for_status()
        return {ti["task_id"]: ti["state"] for ti in response.json()["task_instances"]}

    # -- internals ----------------------------------------------------------------------------------

    def _cli(self, args: list[str], *, timeout_s: float) -> str:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "airflow"), *args], env=self.env(), capture_output=True,
            text=True, timeout=timeout_s,
        )
        if result.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
        return result.stdout

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def _is_airflow(pid: int) -> bool:
    """An Airflow process by its command line: the process titles all start "airflow ...", but for a Celery
    worker's, which Celery sets (``[celeryd: worker-1@host:MainProcess] -active- (celery worker ...)``,
    written over its command line and its environment alike). A crashed supervisor's Celery workers went
    unseen by that test, lived on beside the next deployment's and took its tasks from the queue, each
    failing at once: their output went to the dead supervisor (``make chaos``'s crash, 2026-12-07)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"airflow" in cmdline or cmdline.startswith(b"[celeryd: ")


def _live_processes() -> list[tuple[int, int]]:
    """(pid, process group) of every process that is not a zombie."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after it.
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if state != "Z":
            found.append((int(entry.name), int(pgrp)))
    return found


def _group_alive(pgid: int) -> bool:
    return any(group == pgid for _pid, group in _live_processes())


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def component_tree(supervisor_pid: int, marker: str) -> list[int]:
    """Pids of the supervisor's component whose command line holds ``marker`` (e.g. ``airflow scheduler``,
    a worker's ``--celery-hostname worker-1@``) and of all its descendants (a worker's pool processes,
    task supervisors and tasks): what ``kill -9`` of that component, as the OOM killer would, takes down."""
    parents: dict[int, int] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
            parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    tree = {pid for pid, parent in parents.items()
            if parent == supervisor_pid and marker in commands.get(pid, "")}
    grew = True
    while grew:
        children = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= children
        grew = bool(children)
    return sorted(tree)
