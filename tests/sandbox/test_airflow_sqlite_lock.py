"""The sandbox Airflow's SQLite metadata database: no write fails upgrading a read still open
(sandbox/airflow_settings/sandbox_sqlite.py), and Airflow's processes connect with that setting."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import create_engine, event, exc, text

from sandbox.airflow_local import LOCAL_SETTINGS, AirflowLocal

spec = importlib.util.spec_from_file_location("sandbox_sqlite", LOCAL_SETTINGS / "sandbox_sqlite.py")
sandbox_sqlite = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sandbox_sqlite)

BUSY_TIMEOUT_S = 20


def airflow_like(engine):
    """What Airflow does to every SQLite metadata connection (airflow.utils.orm_event_handlers)."""
    @event.listens_for(engine, "connect")
    def wal(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
    return engine


def engines(path, kind: str):
    url = f"sqlite:///{path}"
    if kind == "airflow_default":
        make = lambda: create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S,
                                                        "check_same_thread": False})
    elif kind == "driver_isolation_immediate":  # sqlite3.connect(isolation_level="IMMEDIATE")
        make = lambda: create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False,
                                                        "isolation_level": "IMMEDIATE"})
    else:  # what Airflow builds from [database] sql_alchemy_connect_args = sandbox_sqlite.CONNECT_ARGS
        make = lambda: create_engine(url, connect_args={**sandbox_sqlite.CONNECT_ARGS, "timeout": BUSY_TIMEOUT_S,
                                                        "check_same_thread": False})
    return airflow_like(make()), airflow_like(make())  # two processes' engines


def write_while_another_commits(path, kind: str) -> float:
    """A reads (a result not fully fetched, as ORM code iterating a query leaves it), B commits a write
    meanwhile, then A writes and commits. Returns how long B waited; raises what A's write raised."""
    a_engine, b_engine = engines(path, kind)
    with a_engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS dag_run (id INTEGER PRIMARY KEY, dag_id TEXT)"))
        conn.execute(text("INSERT INTO dag_run (dag_id) VALUES " + ",".join(["('seed')"] * 50)))
    waited = []

    def other_writer():
        started = time.monotonic()
        with b_engine.begin() as conn:
            conn.execute(text("INSERT INTO dag_run (dag_id) VALUES ('other')"))
        waited.append(time.monotonic() - started)

    try:
        with a_engine.connect() as conn:
            rows = conn.execute(text("SELECT id FROM dag_run"))
            rows.fetchone()
            thread = threading.Thread(target=other_writer)
            thread.start()
            time.sleep(0.5)  # B has committed by now, or is waiting for A
            conn.execute(text("INSERT INTO dag_run (dag_id) VALUES ('scheduler')"))
            rows.close()
            conn.commit()
            thread.join(BUSY_TIMEOUT_S * 2)
        assert waited, "the other writer never got through"
        with a_engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM dag_run WHERE dag_id != 'seed'")).scalar_one() == 2
        return waited[0]
    finally:
        a_engine.dispose()
        b_engine.dispose()


@pytest.mark.parametrize("kind", ["airflow_default", "driver_isolation_immediate"])
def test_a_read_upgraded_to_a_write_fails_at_once_without_the_setting(tmp_path, kind):
    """The defect: `database is locked` at once, long before the busy timeout, with Airflow's engine as
    it is and with the driver's isolation level set to IMMEDIATE (it begins only at the first write)."""
    started = time.monotonic()
    with pytest.raises(exc.OperationalError, match="database is locked"):
        write_while_another_commits(tmp_path / "airflow.db", kind)
    assert time.monotonic() - started < BUSY_TIMEOUT_S / 2


def test_with_the_setting_both_writes_land(tmp_path):
    write_while_another_commits(tmp_path / "airflow.db", "buffered")


def test_the_buffered_cursor_hands_out_every_row_as_a_cursor_does(tmp_path):
    connection = sandbox_sqlite.BufferedConnection(str(tmp_path / "db"))
    cursor = connection.cursor()
    cursor.execute("CREATE TABLE t (x)")
    cursor.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(5)])
    assert cursor.execute("SELECT x FROM t WHERE x > ?", (0,)).fetchone() == (1,)
    assert cursor.fetchmany(2) == [(2,), (3,)] and cursor.fetchall() == [(4,)] and cursor.fetchone() is None
    assert list(cursor.execute("SELECT x FROM t")) == [(i,) for i in range(5)]
    assert cursor.execute("INSERT INTO t VALUES (9) RETURNING x").fetchall() == [(9,)]
    assert cursor.execute("UPDATE t SET x = x + 1").rowcount == 6


def test_airflow_processes_of_the_sandbox_load_the_setting(tmp_path):
    """An Airflow process started with the sandbox's environment builds its metadata engine with it."""
    airflow = AirflowLocal(home=tmp_path / "airflow", port=0)
    airflow.home.mkdir(parents=True)
    probe = ("from airflow import settings\n"
             "print(type(settings.engine.raw_connection().driver_connection).__name__)\n")
    result = subprocess.run([sys.executable, "-c", probe], env=airflow.env(), capture_output=True, text=True,
                            timeout=180, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-1:] == ["BufferedConnection"]
