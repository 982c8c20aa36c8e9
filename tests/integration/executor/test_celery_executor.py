"""The CeleryExecutor really starts and runs a task through a Celery worker.

Not only "the executor class resolves": a scheduler with the CeleryExecutor, a DAG processor, an API server
and one `airflow celery worker` run as separate processes on a PostgreSQL metadata database and a Redis
broker, a DAG of this test's own is triggered, and its task must run on the worker. A component that dies
(e.g. the scheduler crash-looping on ``ImportError: cannot import name 'retry'`` with celery 5.7.0) fails
the test, with the tail of every process log in the message.

The executor is the one the product ships (``erpsync.celery_executor``): a worker killed after its task
ended, before it stored the task's Celery result, must not keep that task's executor slot for ever. And
its settings: a task a killed worker had taken but not started runs elsewhere after the shipped queued
timeout (60 s), not Airflow's ten minutes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import os
import re
import secrets
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sandbox.airflow_local import CELERY_SETTINGS, AirflowLocal, read_env_file, wait_for
from tests.conftest import create_pg_database, drop_pg_database, free_port
from tests.support.broker import flush

pytestmark = [pytest.mark.postgres, pytest.mark.airflow]

REDIS_DB = 7  # a Redis database of this test's own: flushed before and after
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
DAG_ID = "celery_executor_probe"
WORKER_MARK = "ERPSYNC_CELERY_PROBE_PROCESS"  # set only in the Celery worker's environment

DAG_SOURCE = textwrap.dedent('''
    import os
    from pathlib import Path

    import pendulum
    from airflow.sdk import dag, task

    @dag(dag_id="{dag_id}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
    def probe():
        @task
        def touch(**context):
            # Which process tree ran it: only the Celery worker carries {mark}.
            Path({marker!r}).write_text(
                os.environ.get("{mark}", "not-on-the-celery-worker") + " " + context["run_id"]
            )
            return "ok"

        touch()

    probe()
''')


GATE_DAG_ID = "celery_executor_gate"
# Its task ends when the test says so: it reads a FIFO, which blocks until the test writes to it.
GATE_DAG_SOURCE = textwrap.dedent('''
    from pathlib import Path

    import pendulum
    from airflow.sdk import dag, task

    @dag(dag_id="{dag_id}", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
    def gate():
        @task(retries=0)
        def pass_gate():
            return Path({gate!r}).read_text()

        pass_gate()

    gate()
''')


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


class _Processes:
    """The Airflow components this test started, each in its own process group, logging to a file."""

    def __init__(self, airflow: AirflowLocal, logs: Path) -> None:
        self.airflow = airflow
        self.logs = logs
        self.started: dict[str, tuple[subprocess.Popen, Path]] = {}

    def start(self, name: str, args: list[str], extra_env: dict[str, str] | None = None) -> None:
        log_file = self.logs / f"{name}.log"
        with log_file.open("ab") as out:
            process = subprocess.Popen(
                [str(Path(sys.executable).parent / "airflow"), *args], stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env={**self.airflow.env(), **(extra_env or {})},
                start_new_session=True,
            )
        self.started[name] = (process, log_file)

    def dead(self) -> dict[str, int]:
        return {name: p.returncode for name, (p, _log) in self.started.items() if p.poll() is not None}

    def report(self) -> str:
        parts = []
        for name, (process, log_file) in self.started.items():
            state = "running" if process.poll() is None else f"exited with {process.returncode}"
            parts.append(f"--- {name} ({state}), last lines of {log_file}:\n{_tail(log_file)}")
        return "\n".join(parts)

    def log_text(self, name: str) -> str:
        return self.started[name][1].read_text(errors="replace")

    def stop(self, timeout_s: float = 30) -> None:
        for process, _log in self.started.values():
            _killpg(process.pid, signal.SIGTERM)
        for process, _log in self.started.values():
            try:
                process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                pass
            # The group may outlive its leader (task processes, gunicorn/uvicorn workers): kill what is left.
            _killpg(process.pid, signal.SIGKILL)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


def _killpg(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


@contextlib.contextmanager
def _deployment(tmp_path: Path, pg_server, **settings: str):
    """A CeleryExecutor Airflow of a test's own: metadata DB on PostgreSQL, broker on Redis, the executor
    the product ships (docker/airflow-celery.env), ``settings`` on top; its DAGs: the probe and the gate."""
    from sqlalchemy.engine import make_url

    db_url = create_pg_database(pg_server)
    dags = tmp_path / "dags"
    dags.mkdir()
    marker = tmp_path / "marker.txt"
    (dags / f"{DAG_ID}.py").write_text(DAG_SOURCE.format(dag_id=DAG_ID, marker=str(marker), mark=WORKER_MARK))
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    (dags / f"{GATE_DAG_ID}.py").write_text(GATE_DAG_SOURCE.format(dag_id=GATE_DAG_ID, gate=str(gate)))
    port = free_port()
    backend_url = make_url(db_url).render_as_string(hide_password=False)
    airflow = AirflowLocal(
        home=tmp_path / "airflow-home", port=port, dags_folder=dags, plugins_folder=tmp_path / "plugins",
        extra_env={
            "AIRFLOW__CORE__EXECUTOR": read_env_file(CELERY_SETTINGS)["AIRFLOW__CORE__EXECUTOR"],
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url,
            "AIRFLOW__CELERY__BROKER_URL": REDIS_URL,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{backend_url}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.5",
            **settings,
        },
    )
    (tmp_path / "plugins").mkdir()
    flush(REDIS_URL)
    processes = _Processes(airflow, tmp_path)
    try:
        airflow.migrate()
        processes.start("api-server", ["api-server", "--port", str(port)])
        processes.start("scheduler", ["scheduler"])
        processes.start("dag-processor", ["dag-processor"])
        processes.start("celery-worker", ["celery", "worker", "--celery-hostname", "w1@%h", "--concurrency", "1"],
                        extra_env={WORKER_MARK: "celery-worker"})
        yield _Deployment(airflow, processes, db_url, marker, gate)
    finally:
        processes.stop()
        try:
            flush(REDIS_URL)
        finally:
            drop_pg_database(pg_server, db_url)


@dataclasses.dataclass
class _Deployment:
    airflow: AirflowLocal
    processes: _Processes
    db_url: str
    marker: Path
    gate: Path

    def wait(self, check, *, timeout_s: float, what: str, interval_s: float = 1) -> None:
        """Until ``check`` holds; fails, with every process's log, on the timeout or a process's death."""
        processes = self.processes
        try:
            wait_for(lambda: processes.dead() or check(), timeout_s=timeout_s, what=what,
                     interval_s=interval_s)
        except TimeoutError as error:
            pytest.fail(f"{error}\n{processes.report()}", pytrace=False)
        assert not processes.dead(), f"Airflow processes died {processes.dead()} while waiting for {what}:\n" \
                                     f"{processes.report()}"

    def wait_until_up(self, worker: str = "celery-worker") -> None:
        # No triggerer in this deployment: the other components must be healthy.
        self.wait(lambda: self.airflow.healthy(("metadatabase", "scheduler", "dag_processor")), timeout_s=120,
                  what=f"Airflow to become healthy at {self.airflow.url}")
        self.wait_for_worker(worker)

    def wait_for_worker(self, worker: str) -> None:
        self.wait(lambda: " ready." in self.processes.log_text(worker), timeout_s=90,
                  what=f"the Celery worker {worker} to be ready")


@pytest.fixture
def celery_airflow(tmp_path, pg_server):
    with _deployment(tmp_path, pg_server) as deployment:
        yield deployment


def test_celery_executor_runs_a_task_on_a_celery_worker(celery_airflow):
    from sqlalchemy import create_engine, text

    airflow, processes, db_url, marker = (celery_airflow.airflow, celery_airflow.processes,
                                          celery_airflow.db_url, celery_airflow.marker)
    wait = celery_airflow.wait
    celery_airflow.wait_until_up()

    engine = create_engine(db_url)
    try:
        def scalar(sql: str, **params):
            with engine.connect() as conn:
                return conn.execute(text(sql), params).scalar()

        wait(lambda: scalar("SELECT count(*) FROM serialized_dag WHERE dag_id = :d", d=DAG_ID),
             timeout_s=90, what=f"DAG {DAG_ID} to be parsed")
        airflow._cli(["dags", "unpause", DAG_ID], timeout_s=120)
        airflow._cli(["dags", "trigger", DAG_ID], timeout_s=120)
        run_id = scalar("SELECT run_id FROM dag_run WHERE dag_id = :d", d=DAG_ID)
        assert run_id, f"`airflow dags trigger {DAG_ID}` made no run"

        def finished():
            state = scalar("SELECT state FROM dag_run WHERE dag_id = :d AND run_id = :r", d=DAG_ID, r=run_id)
            return state in ("success", "failed")

        wait(finished, timeout_s=240, what=f"run {run_id} of {DAG_ID} to finish")
        state = scalar("SELECT state FROM dag_run WHERE dag_id = :d AND run_id = :r", d=DAG_ID, r=run_id)
        with engine.connect() as conn:
            ti = conn.execute(text(
                "SELECT state, hostname, queue, try_number FROM task_instance "
                "WHERE dag_id = :d AND run_id = :r AND task_id = 'touch'"), {"d": DAG_ID, "r": run_id}).one()
    finally:
        engine.dispose()

    assert state == "success", f"run {run_id} ended {state!r} (task: {ti._asdict()}):\n{processes.report()}"
    assert ti.state == "success" and ti.try_number == 1, f"task instance {ti._asdict()}:\n{processes.report()}"
    assert marker.exists(), f"the task did not write {marker}:\n{processes.report()}"
    # The task process inherited the Celery worker's environment: it ran on the worker, not in the scheduler.
    assert marker.read_text() == f"celery-worker {run_id}", (
        f"marker says {marker.read_text()!r}: the task did not run on the Celery worker\n{processes.report()}")
    # The worker logs "succeeded" once its Celery task returns, which may be after the scheduler has seen
    # the task instance succeed (through the API server): wait for it.
    for event in ("received", "succeeded"):
        logged = lambda event=event: re.search(  # noqa: E731
            rf"Task execute_workload\[[0-9a-f-]+\] {event}", processes.log_text("celery-worker"))
        wait(logged, timeout_s=30, what=f"the Celery worker to log a task {event}", interval_s=0.5)
    dead = processes.dead()
    assert not dead, f"Airflow processes died {dead} during the run:\n{processes.report()}"


@pytest.fixture
def celery_airflow_one_slot(tmp_path, pg_server):
    with _deployment(tmp_path, pg_server, AIRFLOW__CORE__PARALLELISM="1") as deployment:
        yield deployment


def test_a_worker_killed_after_its_task_ended_gives_its_executor_slot_back(celery_airflow_one_slot):
    """A worker killed after its task ended, before it stored the task's Celery result, must not keep the
    task's executor slot taken for ever (Airflow's own CeleryExecutor does, until the scheduler restarts).

    Made to happen for sure: the Celery result table is locked against writes while the task ends; the
    worker, blocked storing the result, is killed (``kill -9`` of its process group); then the lock goes.
    With one executor slot in all, another DAG's task can only run once that slot is given back."""
    from sqlalchemy import create_engine, text

    deployment = celery_airflow_one_slot
    airflow, processes = deployment.airflow, deployment.processes
    deployment.wait_until_up()
    engine = create_engine(deployment.db_url)

    def scalar(sql: str, **params):
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def trigger(dag_id: str, run_id: str) -> None:
        deployment.wait(lambda: scalar("SELECT count(*) FROM serialized_dag WHERE dag_id = :d", d=dag_id),
                        timeout_s=90, what=f"DAG {dag_id} to be parsed")
        airflow._cli(["dags", "unpause", dag_id], timeout_s=120)
        airflow._cli(["dags", "trigger", dag_id, "--run-id", run_id], timeout_s=120)

    def task_state(run_id: str) -> str | None:
        return scalar("SELECT state FROM task_instance WHERE run_id = :r", r=run_id)

    def run_state(run_id: str) -> str | None:
        return scalar("SELECT state FROM dag_run WHERE run_id = :r", r=run_id)

    def open_gate() -> None:
        """Write to the gate's FIFO once the waiting task has it open (ENXIO until then)."""
        opened: list[int] = []

        def reader_there() -> bool:
            try:
                opened.append(os.open(deployment.gate, os.O_WRONLY | os.O_NONBLOCK))
            except OSError as error:
                if error.errno != errno.ENXIO:
                    raise
                return False
            return True

        deployment.wait(reader_there, timeout_s=60, what="the task to open its gate", interval_s=0.2)
        os.write(opened[0], b"go")
        os.close(opened[0])

    def waiting_on_the_lock() -> int:
        return scalar("SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                      "WHERE c.relname = 'celery_taskmeta' AND NOT l.granted")

    try:
        # A first run end to end: the worker stores its results, so the Celery result table exists.
        trigger(GATE_DAG_ID, "first")
        open_gate()
        deployment.wait(lambda: run_state("first") == "success", timeout_s=180,
                        what="the first run to succeed")

        trigger(GATE_DAG_ID, "killed")
        deployment.wait(lambda: task_state("killed") == "running", timeout_s=180,
                        what="the second run's task to run")
        worker = processes.started["celery-worker"][0]
        with engine.connect() as lock:
            lock.execute(text("LOCK TABLE celery_taskmeta IN SHARE MODE"))  # reads pass, writes wait
            open_gate()
            deployment.wait(lambda: task_state("killed") == "success", timeout_s=60,
                            what="the second run's task instance to succeed")
            deployment.wait(waiting_on_the_lock, timeout_s=60, interval_s=0.2,
                            what="the worker to wait on the lock, storing the task's result")
            del processes.started["celery-worker"]  # killed on purpose: not a death to report
            _killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
            lock.rollback()
        stored = scalar("SELECT count(*) FROM celery_taskmeta WHERE status = 'SUCCESS'")
        assert stored == 1, f"{stored} results stored: the killed worker stored its own, nothing was tested"

        # The only slot is the killed try's until the executor gives it back: a new worker, another DAG.
        processes.start("celery-worker-2", ["celery", "worker", "--celery-hostname", "w2@%h",
                                            "--concurrency", "1"], extra_env={WORKER_MARK: "celery-worker-2"})
        deployment.wait_for_worker("celery-worker-2")
        trigger(DAG_ID, "after")
        deployment.wait(lambda: run_state("after") == "success", timeout_s=180,
                        what="a task to run after the kill (its slot given back)")
        killed = scalar("SELECT state || ' ' || try_number FROM task_instance WHERE run_id = 'killed'")
        earlier_tries = scalar("SELECT count(*) FROM task_instance_history WHERE run_id = 'killed'")
    finally:
        engine.dispose()

    assert (killed, earlier_tries) == ("success 1", 0), "the killed worker's task ran more than once"
    assert deployment.marker.read_text() == "celery-worker-2 after"
    given_back = re.findall(r"Giving back the executor slot of (\(.*?\)) try (\d+)",
                            processes.log_text("scheduler"))
    assert given_back == [(f"('{GATE_DAG_ID}', 'pass_gate', 'killed', -1)", "1")], given_back
    dead = processes.dead()
    assert not dead, f"Airflow processes died {dead}:\n{processes.report()}"


QUEUED_SETTINGS = ("AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT",
                   "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL")


@pytest.fixture
def celery_airflow_queued_timeout(tmp_path, pg_server):
    """With the deployment's own queued-task timeout (docker/airflow-celery.env), not Airflow's 600 s."""
    shipped = read_env_file(CELERY_SETTINGS)
    with _deployment(tmp_path, pg_server, **{name: shipped[name] for name in QUEUED_SETTINGS}) as deployment:
        yield deployment


def test_a_task_a_killed_worker_had_taken_but_not_started_runs_on_another_worker_within_two_minutes(
        celery_airflow_queued_timeout):
    """A worker killed (``kill -9``) after it took a task's message from the broker and before it started
    it: Airflow's Celery settings acknowledge late, so the message dies unacknowledged with the worker and
    Redis gives it back only after its visibility timeout (a day). The scheduler must queue the task again
    after ``task_queued_timeout`` (60 s as shipped; 600 s by default: found by the chaos suite, which had a
    store's only pool slot stuck for 11 minutes), and another worker runs it, once.

    Made to happen for sure: the worker's pool process is stopped (SIGSTOP) before the task is triggered,
    so the worker receives the message and cannot start it; then the whole worker is killed."""
    import psutil
    from sqlalchemy import create_engine, text

    deployment = celery_airflow_queued_timeout
    airflow, processes = deployment.airflow, deployment.processes
    timeout_s = int(read_env_file(CELERY_SETTINGS)["AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT"])
    deployment.wait_until_up()
    engine = create_engine(deployment.db_url)

    def scalar(sql: str, **params):
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    try:
        deployment.wait(lambda: scalar("SELECT count(*) FROM serialized_dag WHERE dag_id = :d", d=DAG_ID),
                        timeout_s=90, what=f"DAG {DAG_ID} to be parsed")
        worker = processes.started["celery-worker"][0]
        pool = psutil.Process(worker.pid).children(recursive=True)
        assert pool, "the Celery worker has no pool process to stop"
        for child in pool:
            child.suspend()
        airflow._cli(["dags", "unpause", DAG_ID], timeout_s=120)
        airflow._cli(["dags", "trigger", DAG_ID, "--run-id", "lost"], timeout_s=120)
        deployment.wait(lambda: re.search(r"Task execute_workload\[[0-9a-f-]+\] received",
                                          processes.log_text("celery-worker")),
                        timeout_s=120, what="the worker to receive the task's message", interval_s=0.2)
        assert scalar("SELECT state FROM task_instance WHERE run_id = 'lost'") == "queued", "it must not start"
        del processes.started["celery-worker"]  # killed on purpose: not a death to report
        _killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        killed_at = dt.datetime.now(dt.UTC)

        processes.start("celery-worker-2", ["celery", "worker", "--celery-hostname", "w2@%h",
                                            "--concurrency", "1"], extra_env={WORKER_MARK: "celery-worker-2"})
        deployment.wait_for_worker("celery-worker-2")
        deployment.wait(lambda: scalar("SELECT state FROM dag_run WHERE run_id = 'lost'") in ("success", "failed"),
                        timeout_s=timeout_s + 120, what="the lost task to run on the other worker")
        state = scalar("SELECT state FROM dag_run WHERE run_id = 'lost'")
        with engine.connect() as conn:
            rescheduled = [at for (at,) in conn.execute(text(
                "SELECT dttm FROM log WHERE event = 'stuck in queued reschedule' AND run_id = 'lost'"))]
            ended_at = conn.execute(text("SELECT end_date FROM task_instance WHERE run_id = 'lost'")).scalar()
    finally:
        engine.dispose()

    assert state == "success", f"the lost task's run ended {state!r}:\n{processes.report()}"
    assert len(rescheduled) == 1, f"queued again {len(rescheduled)} times:\n{processes.report()}"
    assert deployment.marker.read_text() == "celery-worker-2 lost", "it ran on the other worker, once"
    # The figures (the wait above fails at the timeout and two minutes, far below Airflow's 600 s):
    again, done = ((at - killed_at).total_seconds() for at in (rescheduled[0], ended_at))
    print(f"lost task: killed at {killed_at:%H:%M:%S}, queued again {again:.0f} s later, done {done:.0f} s "
          f"after the kill (timeout {timeout_s} s)")
    dead = processes.dead()
    assert not dead, f"Airflow processes died {dead}:\n{processes.report()}"
