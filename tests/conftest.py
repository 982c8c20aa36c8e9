"""Shared fixtures: an isolated Airflow home, fresh warehouse databases on both engines, the PostgreSQL
server (required: a missing server fails the run, it never skips)."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Airflow reads its configuration at first import: point it at a throwaway home before any test imports it.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="erpsync-test-airflow-"))
os.environ.update({
    "AIRFLOW_HOME": str(_AIRFLOW_HOME),
    "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
})

PG_ADMIN_URL = os.environ.get("TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _pg_admin_engine():
    from sqlalchemy import create_engine

    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The PostgreSQL server's admin URL; fails (never skips) when the server is not there."""
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    engine = _pg_admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as error:
        pytest.fail(
            f"PostgreSQL is required for these tests and is not reachable at {PG_ADMIN_URL} ({error.orig}).\n"
            "Start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"
            "or point TEST_PG_URL at another server; deselect with -m 'not postgres' only when you mean it.",
            pytrace=False,
        )
    finally:
        engine.dispose()
    return PG_ADMIN_URL


def create_pg_database(admin_url: str, template: str | None = None) -> str:
    """Create a database with a unique name (from ``template`` when given) and return its URL."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = f"erpsync_test_{uuid.uuid4().hex[:12]}"
    engine = _pg_admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(admin_url: str, url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    engine = _pg_admin_engine()
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_db_url(request, tmp_path) -> Iterator[str]:
    """An empty database on each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
        return
    admin = request.getfixturevalue("pg_server")
    url = create_pg_database(admin)
    try:
        yield url
    finally:
        drop_pg_database(admin, url)


@pytest.fixture(scope="session")
def _pg_migrated_template(request) -> Iterator[str]:
    """A PostgreSQL database migrated to head once per session, copied for each test that needs one."""
    from erpsync.warehouse.migrate import upgrade_url

    admin = request.getfixturevalue("pg_server")
    url = create_pg_database(admin)
    upgrade_url(url)
    from sqlalchemy.engine import make_url

    try:
        yield make_url(url).database
    finally:
        drop_pg_database(admin, url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def warehouse_url(request, tmp_path) -> Iterator[str]:
    """A warehouse migrated to head, fresh for each test, on each engine."""
    if request.param == "sqlite":
        from erpsync.warehouse.migrate import upgrade_url

        url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
        upgrade_url(url)
        yield url
        return
    yield from pg_warehouse(request)


def pg_warehouse(request) -> Iterator[str]:
    """A fresh PostgreSQL warehouse migrated to head (a copy of the session's migrated template)."""
    admin = request.getfixturevalue("pg_server")
    url = create_pg_database(admin, template=request.getfixturevalue("_pg_migrated_template"))
    try:
        yield url
    finally:
        drop_pg_database(admin, url)


@pytest.fixture
def pg_engine(request):
    """An engine on a fresh PostgreSQL warehouse migrated to head."""
    from erpsync.warehouse.engine import make_engine

    for url in pg_warehouse(request):
        engine = make_engine(url)
        yield engine
        engine.dispose()


@pytest.fixture
def warehouse(warehouse_url):
    """An engine on a fresh migrated warehouse (each engine in turn)."""
    from erpsync.warehouse.engine import make_engine

    engine = make_engine(warehouse_url)
    try:
        yield engine
    finally:
        engine.dispose()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def erp_sandbox(tmp_path_factory):
    """A running Tryton server of our own, cloned from the pristine demo snapshot (`make test` builds it),
    on a free port: tests never touch the user's demo instance."""
    from sandbox.tryton.control import ErpSandbox

    base = ErpSandbox.from_env()
    if not base.store.has_snapshot():
        pytest.fail(f"no pristine ERP snapshot in {base.home}: run `make erp-build` (make test does)",
                    pytrace=False)
    clone = base.clone(tmp_path_factory.mktemp("erp"), free_port())
    clone.start()
    try:
        yield clone
    finally:
        clone.stop()
        clone.destroy()


@pytest.fixture(scope="session")
def erp_settings(erp_sandbox):
    """How the product reaches the sandbox ERP: the integration user, as a deployment would."""
    from sandbox.tryton import catalog
    from erpsync.tryton.settings import TrytonSettings

    info = erp_sandbox.info(show_password=True)
    return TrytonSettings(
        base_url=erp_sandbox.url, database=info["db_name"], login=info["login"], password=info["password"],
        web_shop=catalog.WEB_SHOP_NAME,
    )


@pytest.fixture(scope="session")
def erp_admin(erp_sandbox):
    """An admin channel to the sandbox ERP, for tests that arrange data the integration user may not write."""
    from erpsync.tryton.rpc import TrytonRpc

    password = erp_sandbox.admin_password_file.read_text().strip()
    return TrytonRpc(erp_sandbox.url, erp_sandbox.db_name, "admin", password)


@pytest.fixture(scope="session")
def airflow_db():
    """Airflow's metadata database (SQLite, in the throwaway AIRFLOW_HOME), created once per session."""
    from airflow.utils import db as airflow_db_utils

    airflow_db_utils.resetdb()


STORE_LOCATIONS = ["Central Warehouse", "East Coast Warehouse"]  # the sandbox ERP's warehouse names


@pytest.fixture(scope="session")
def store_emulator(tmp_path_factory):
    """A store emulator process of our own on a free port (Enterprise plan: tests not about throttling
    never wait for the bucket)."""
    from sandbox.shopify.control import ShopifyEmulator

    emulator = ShopifyEmulator(tmp_path_factory.mktemp("shopify"), port=free_port(), plan="ENTERPRISE")
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def store(store_emulator):
    """The emulator, emptied, with one location per ERP warehouse (as a merchant's store has)."""
    store_emulator.admin("POST", "/reset")
    store_emulator.admin("DELETE", "/faults")
    store_emulator.admin("POST", "/seed", {"locations": STORE_LOCATIONS, "products": []})
    return store_emulator


@pytest.fixture
def airflow_connections(monkeypatch, erp_settings, erp_sandbox, warehouse_url, store):
    """The product's Connections as a deployment defines them, pointing at the test ERP and warehouse."""
    import json

    from sandbox.tryton import catalog

    monkeypatch.setenv("AIRFLOW_CONN_ERP_DEFAULT", json.dumps({
        "conn_type": "tryton", "host": "127.0.0.1", "port": erp_sandbox.port, "schema": erp_settings.database,
        "login": erp_settings.login, "password": erp_settings.password,
        "extra": {"web_shop": catalog.WEB_SHOP_NAME},
    }))
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_DEFAULT", json.dumps(warehouse_connection(warehouse_url)))
    monkeypatch.setenv("AIRFLOW_CONN_STORE_DEFAULT", json.dumps({
        "conn_type": "shopify", "host": store.url, "password": store.token(),
        "extra": {"api_version": "2026-10", "plan": "ENTERPRISE", "store_name": "test-store"},
    }))
    return warehouse_url


@pytest.fixture(scope="session")
def scheduler(tmp_path_factory, erp_sandbox, erp_settings, store_emulator):
    """A real Airflow (supervised: scheduler, DAG processor, API server, triggerer, LocalExecutor) of our
    own, on a free port, with the product's Connections pointing at the test ERP and store. DAGs run only
    when a test triggers them. Tests point `warehouse_default` at their own warehouse (`use_warehouse`)."""
    yield from running_airflow(tmp_path_factory, erp_sandbox, erp_settings, store_emulator, {
        "AIRFLOW__ERPSYNC__CATALOG_INTERVAL_SECONDS": "-1",  # manual runs only
        "AIRFLOW__ERPSYNC__ORDERS_INTERVAL_SECONDS": "3600",  # hourly intervals: what backfills need
    })


def running_airflow(tmp_path_factory, erp_sandbox, erp_settings, store_emulator, settings: dict[str, str]):
    from sandbox.airflow_local import AirflowLocal

    airflow = AirflowLocal(
        home=tmp_path_factory.mktemp("airflow"), port=free_port(),
        extra_env={
            "AIRFLOW__ERPSYNC__EXTRACT_LAG_SECONDS": "1",  # the test ERP was built minutes ago
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            **settings,
        },
    )
    airflow.migrate()
    airflow.configure(connections=scheduler_connections(erp_sandbox, erp_settings, store_emulator, None))
    airflow.start()
    try:
        airflow.http = airflow.session()
        yield airflow
    finally:
        airflow.stop()


def scheduler_connections(erp_sandbox, erp_settings, store_emulator, warehouse_url) -> list[dict]:
    import json

    from sandbox.tryton import catalog

    connections = [
        {"conn_id": "erp_default", "conn_type": "tryton", "host": "127.0.0.1", "port": erp_sandbox.port,
         "schema": erp_settings.database, "login": erp_settings.login, "password": erp_settings.password,
         "extra": json.dumps({"web_shop": catalog.WEB_SHOP_NAME})},
        {"conn_id": "store_default", "conn_type": "shopify", "host": store_emulator.url,
         "password": store_emulator.token(),
         "extra": json.dumps({"api_version": "2026-10", "plan": "ENTERPRISE", "store_name": "test-store"})},
    ]
    if warehouse_url:
        connections.append({"conn_id": "warehouse_default", **warehouse_connection(warehouse_url)})
    return connections


@pytest.fixture
def use_warehouse(scheduler, erp_sandbox, erp_settings, store_emulator, warehouse_url, store):
    """Point the running Airflow's `warehouse_default` at this test's fresh warehouse (and an empty store)."""
    scheduler.configure(connections=scheduler_connections(erp_sandbox, erp_settings, store_emulator, warehouse_url))
    return warehouse_url


def warehouse_connection(warehouse_url: str) -> dict:
    """The `warehouse_default` Connection (as Airflow takes it in JSON) for a warehouse URL."""
    from sqlalchemy.engine import make_url

    url = make_url(warehouse_url)
    if url.get_backend_name() == "sqlite":
        return {"conn_type": "sqlite", "host": url.database}
    return {"conn_type": "postgres", "host": url.host, "port": url.port, "schema": url.database,
            "login": url.username, "password": url.password or ""}


def trigger_and_wait(airflow, dag_id: str, conf: dict | None = None, timeout_s: float = 600) -> str:
    """Trigger a run through the REST API, wait for it; fail with the task states when it fails."""
    airflow.wait_for_dag(airflow.http, dag_id)
    if airflow.http.get(f"{airflow.url}/api/v2/dags/{dag_id}", timeout=30).json()["is_paused"]:
        airflow.unpause(airflow.http, dag_id)
        settle_after_unpause(airflow, dag_id)
    run_id = airflow.trigger(airflow.http, dag_id, conf)
    state = airflow.wait_for_run(airflow.http, dag_id, run_id, timeout_s=timeout_s)
    assert state == "success", f"{dag_id} {run_id}: {state} {airflow.task_states(airflow.http, dag_id, run_id)}"
    return run_id


def settle_after_unpause(airflow, dag_id: str) -> None:
    """Unpausing a scheduled DAG makes the scheduler start the run of its latest interval: let that run
    finish first, so that the run a test triggers next is the one doing the work the test checks."""
    from sandbox.airflow_local import wait_for

    def scheduled() -> list[dict]:
        response = airflow.http.get(f"{airflow.url}/api/v2/dags/{dag_id}/dagRuns",
                                    params={"run_type": "scheduled"}, timeout=30)
        response.raise_for_status()
        return response.json()["dag_runs"]

    try:
        runs = wait_for(scheduled, timeout_s=20, what=f"the scheduled run {dag_id} starts when unpaused")
    except TimeoutError:
        return  # manual runs only: nothing starts on its own
    for run in runs:
        airflow.wait_for_run(airflow.http, dag_id, run["dag_run_id"])
