"""The local Airflow on the CeleryExecutor (sandbox/airflow_local.py): its settings and its components."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import stat

import pytest

from sandbox.airflow_local import (
    CELERY_SETTINGS,
    LOCAL_SETTINGS,
    AirflowLocal,
    CeleryDeployment,
    read_env_file,
)
from sandbox.airflow_supervisor import COMPONENTS_ENV

CELERY = CeleryDeployment(metadata_url="postgresql+psycopg://postgres@127.0.0.1:5432/airflow_x",
                          broker_url="redis://127.0.0.1:6379/5", queue="tasks_x",
                          worker_log_ports=(9001, 9003))


def test_an_env_file_is_read_as_compose_reads_it_and_a_bad_line_is_named(tmp_path):
    path = tmp_path / "a.env"
    path.write_text("# comment\n\nA=1\n B = two words \nC=x=y\n")
    assert read_env_file(path) == {"A": "1", "B": "two words", "C": "x=y"}
    path.write_text("A=1\nnot a setting\n")
    with pytest.raises(ValueError, match=r"a\.env:2: expected KEY=VALUE"):
        read_env_file(path)


def test_every_shared_setting_reaches_the_celery_deployment_as_written(tmp_path):
    shared = read_env_file(CELERY_SETTINGS)
    assert shared["AIRFLOW__CORE__EXECUTOR"] == "erpsync.celery_executor.CeleryExecutor"
    env = AirflowLocal(home=tmp_path, celery=CELERY).env()
    assert {key: env[key] for key in shared} == shared
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == CELERY.metadata_url
    assert "AIRFLOW__DATABASE__SQL_ALCHEMY_CONNECT_ARGS" not in env  # SQLite's, not PostgreSQL's
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"] == f"db+{CELERY.metadata_url}"
    assert env["AIRFLOW__OPERATORS__DEFAULT_QUEUE"] == "tasks_x"


def test_the_local_executor_keeps_sqlite_and_runs_no_worker(tmp_path):
    env = AirflowLocal(home=tmp_path).env()
    # The same supervisor setting as the CeleryExecutor's (a slot freed within a second of its task's end).
    assert env["AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL"] == read_env_file(CELERY_SETTINGS)[
        "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL"] == "1"
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("sqlite:///")
    assert COMPONENTS_ENV not in env


def test_every_process_shares_one_jwt_secret_kept_in_the_home(tmp_path):
    first = AirflowLocal(home=tmp_path, celery=CELERY).env()["AIRFLOW__API_AUTH__JWT_SECRET"]
    again = AirflowLocal(home=tmp_path, celery=CELERY).env()["AIRFLOW__API_AUTH__JWT_SECRET"]
    assert first == again and len(first.encode()) >= 64  # HS512 wants a 64-byte key
    assert stat.S_IMODE((tmp_path / "jwt_secret").stat().st_mode) == 0o600
    other = AirflowLocal(home=tmp_path / "other", celery=CELERY).env()
    assert other["AIRFLOW__API_AUTH__JWT_SECRET"] != first
    planned = json.loads(AirflowLocal(home=tmp_path, celery=CELERY).env()[COMPONENTS_ENV])
    assert not any("AIRFLOW__API_AUTH__JWT_SECRET" in c.get("env", {}) for c in planned)


def test_two_workers_beside_the_four_components_each_with_its_log_port_and_hostname():
    planned = CELERY.components()
    assert [c["name"] for c in planned] == ["scheduler", "dag-processor", "api-server", "triggerer",
                                            "worker-1", "worker-2"]
    workers = planned[4:]
    assert [c["args"] for c in workers] == [["celery", "worker", "--celery-hostname", "worker-1@%h"],
                                            ["celery", "worker", "--celery-hostname", "worker-2@%h"]]
    assert [c["env"]["AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT"] for c in workers] == ["9001", "9003"]
    assert [c["env"]["ERPSYNC_WORKER_HOSTNAME"] for c in workers] == CELERY.worker_hostnames == [
        "127.0.0.1", "127.0.0.2"]
    assert all(c["env"]["AIRFLOW__CORE__HOSTNAME_CALLABLE"] == "sandbox_worker.hostname" for c in workers)


def test_a_worker_reports_its_own_hostname_and_others_the_machines(monkeypatch):
    import importlib
    import socket

    monkeypatch.syspath_prepend(str(LOCAL_SETTINGS))  # on the PYTHONPATH of every Airflow process started
    sandbox_worker = importlib.import_module("sandbox_worker")
    monkeypatch.setenv("ERPSYNC_WORKER_HOSTNAME", "127.0.0.2")
    assert sandbox_worker.hostname() == "127.0.0.2"
    monkeypatch.delenv("ERPSYNC_WORKER_HOSTNAME")
    assert sandbox_worker.hostname() == socket.getfqdn()


LEFT_BEHIND = """
import os, sys
pid = os.fork()
if pid == 0:  # what a crashed supervisor leaves: a worker with Celery's title, no Airflow in its environment
    os.execve(sys.executable, [sys.argv[1], "-c", "import signal; signal.pause()"], {"PATH": "/usr/bin:/bin"})
print(pid, flush=True)  # then the supervisor is gone; its worker lives on in its process group
"""


def test_a_celery_worker_a_crashed_supervisor_left_running_is_found_and_stopped(tmp_path):
    """Killed with SIGKILL, the supervisor leaves its Celery workers running in its process group; their
    title (Celery's own, written over the command line and the environment) names neither Airflow nor the
    home. The next start must stop them: left, they take the new deployment's tasks from the queue."""
    import subprocess
    import sys

    from sandbox.airflow_local import _live_processes

    airflow = AirflowLocal(home=tmp_path / "airflow", port=1, celery=CELERY)
    airflow.home.mkdir(parents=True)
    title = "[celeryd: worker-1@vm:MainProcess] -active- (celery worker --celery-hostname worker-1@%h)"
    supervisor = subprocess.Popen([sys.executable, "-c", LEFT_BEHIND, title], stdout=subprocess.PIPE, text=True,
                                  start_new_session=True)
    worker = int(supervisor.stdout.readline())
    assert supervisor.wait(timeout=30) == 0
    airflow.pid_file.write_text(str(supervisor.pid))
    try:
        assert airflow.pid() is None, "the supervisor is gone"
        assert airflow.processes() == [worker]
        airflow.stop(timeout_s=30)
        assert worker not in {pid for pid, _group in _live_processes()}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker, signal.SIGKILL)
