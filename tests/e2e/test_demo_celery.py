"""The CeleryExecutor deployment, as a newcomer starts it: `make demo EXECUTOR=celery`, then `make stop`.

PostgreSQL metadata database and warehouse, Redis broker (both the machine's own servers), the API server,
scheduler, DAG processor, triggerer and two Celery workers, with docker-compose.yaml's settings. The flows
must run through both workers (read from Airflow's metadata database and from each worker's own log, not
from the demo's summary); a worker killed while it books orders, then the scheduler killed during an order
run, cost no order (each store order's ERP sales counted, read from the ERP and the store directly); and
`make stop` leaves nothing running. The Shopify store alone (DEMO_VENDURE=0): the second
store's flows are the same tasks on the same executor.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from tests.conftest import REPO, drop_pg_database, free_port
from tests.support.broker import flush
from sandbox.airflow_local import component_tree
from sandbox.chaos_faults import place_burst
from tests.support.demo import demo_processes, run_make

# One `make demo` of the Shopify store on the CeleryExecutor and two kills (some 8 minutes): `make test-long`.
pytestmark = [pytest.mark.e2e, pytest.mark.erp, pytest.mark.postgres, pytest.mark.long,
              pytest.mark.timeout(1800)]

REDIS_URL = "redis://127.0.0.1:6379/8"  # a Redis database of this test's own: flushed before and after
WORKERS = {"worker-1": "127.0.0.1", "worker-2": "127.0.0.2"}  # name -> the hostname its tasks report


@pytest.fixture
def celery_demo(tmp_path, pg_server):
    from sandbox.demo import demo_database, pg_database_url
    from sandbox.tryton.control import ErpSandbox

    home = tmp_path / "demo"
    ports = {"AIRFLOW_PORT": str(free_port()), "ERP_PORT": str(free_port()), "STORE_PORT": str(free_port())}
    ErpSandbox.from_env().clone(home / "erp", int(ports["ERP_PORT"]))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DEMO_"))}
    env.update(ports, DEMO_HOME=str(home), DEMO_VENDURE="0", EXECUTOR="celery", DEMO_PG_URL=pg_server,
               DEMO_BROKER_URL=REDIS_URL, DEMO_WORKER_LOG_PORTS=f"{free_port()},{free_port()}",
               AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()))
    databases = {purpose: pg_database_url(pg_server, demo_database(home, purpose))
                 for purpose in ("airflow", "warehouse")}
    flush(REDIS_URL)
    try:
        yield env, databases
    finally:
        subprocess.run(["make", "stop"], cwd=REPO, env=env, capture_output=True, timeout=300)
        for entry in demo_processes(str(home)):  # nothing of this demo outlives the test
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry.split(":", 1)[0]), signal.SIGKILL)
        flush(REDIS_URL)
        for url in databases.values():
            drop_pg_database(pg_server, url)


def test_make_demo_on_the_celery_executor_runs_on_both_workers_survives_kills_and_stops(celery_demo):
    from sqlalchemy import create_engine, text

    env, databases = celery_demo
    output, seconds = run_make("demo", env, timeout_s=1500)
    assert "Demo ready" in output and "CeleryExecutor, workers worker-1, worker-2" in output, output[-3000:]
    booked = re.search(r"orders_sync: \d+ run\(s\) \([^)]*\d+ success[^)]*\): "
                       r".*sales created in the ERP: (\d+)", output)
    assert booked and int(booked.group(1)) >= 1, f"the orders flowed into the ERP:\n{output[-3000:]}"
    fulfilled = re.search(r"Orders ledger: .*?(\d+) fulfilled", output)
    assert fulfilled and int(fulfilled.group(1)) >= 1, f"shipments flowed back:\n{output[-3000:]}"

    # Airflow's own records, in its PostgreSQL metadata database: every task instance went through this
    # deployment's Celery queue, and each worker ran some (the hostname a worker's tasks report is its own).
    airflow_db = create_engine(databases["airflow"])
    try:
        with airflow_db.connect() as conn:
            ran = conn.execute(text(
                "SELECT hostname, queue, state, count(*) FROM task_instance WHERE state IS NOT NULL "
                "AND hostname <> '' GROUP BY hostname, queue, state")).all()
            runs = conn.execute(text(
                "SELECT dag_id, state, count(*) FROM dag_run WHERE dag_id IN ('catalog_sync', 'orders_sync') "
                "GROUP BY dag_id, state")).all()
    finally:
        airflow_db.dispose()
    succeeded = {}
    for hostname, _queue, state, count in ran:
        if state == "success":
            succeeded[hostname] = succeeded.get(hostname, 0) + count
    assert {hostname for hostname, *_ in ran} <= set(WORKERS.values()), f"task instances ran elsewhere: {ran}"
    assert all(succeeded.get(host, 0) >= 1 for host in WORKERS.values()), f"each worker ran tasks: {ran}"
    assert len({queue for _h, queue, *_ in ran}) == 1, f"one Celery queue, this deployment's own: {ran}"
    assert {dag_id for dag_id, state, _n in runs if state == "success"} == {"catalog_sync", "orders_sync"}, \
        runs
    # ... and each worker says so in its own log (the supervisor prefixes each line with the worker's name).
    log = (Path(env["DEMO_HOME"]) / "airflow" / "standalone.log").read_text(errors="replace")
    for name in WORKERS:
        ran_one = rf"^{name}\s*\|.*Task execute_workload\[[0-9a-f-]+\] succeeded"
        assert re.search(ran_one, log, re.MULTILINE), f"{name} logged no task it ran"

    # Warm task processes on the workers too: each imported Great Expectations before its pool forked, so
    # staging's task processes found it imported (erpsync.celery_config).
    assert "Warm task processes: imported" in log
    logs = Path(env["DEMO_HOME"]) / "airflow" / "logs"
    staged = [line for path in logs.glob("dag_id=orders_sync/**/*.log") if "task_id=stage_orders" in str(path)
              for line in path.read_text(errors="replace").splitlines() if "Great Expectations ready" in line]
    assert staged and all("imported before this process started" in line for line in staged), staged[:3]

    # The warehouse is the PostgreSQL one: the flows' runs are recorded there.
    warehouse = create_engine(databases["warehouse"])
    try:
        with warehouse.connect() as conn:
            recorded = conn.execute(text("SELECT flow, count(*) FROM sync_run WHERE status = 'success' "
                                         "GROUP BY flow")).all()
    finally:
        warehouse.dispose()
    assert {flow for flow, _n in recorded} >= {"catalog", "orders"}, recorded

    # A worker killed (kill -9, its whole process tree) while it books orders: the task is noticed lost after
    # the heartbeat timeout and retried, the killed worker is started again.
    kill_the_worker_booking_orders(env, databases["airflow"])
    # The scheduler killed (kill -9) while an order run is in flight: the supervisor starts it again, the new
    # one adopts the Celery tasks that were queued or running, the run ends well and the flow goes on.
    kill_the_scheduler_during_a_run(env, databases["airflow"])

    # Every order placed (the shopper's and the burst's) becomes one ERP sale, none two: the shopper pauses,
    # then the ERP's sales are counted per store order (a list per order, not a set).
    booked_once(Path(env["DEMO_HOME"]), int(env["STORE_PORT"]), int(env["ERP_PORT"]))

    _, stop_s = run_make("stop", env, timeout_s=300)
    print(f"make demo EXECUTOR=celery: {seconds:.0f}s; make stop: {stop_s:.0f}s")
    assert demo_processes(env["DEMO_HOME"]) == []
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{env['AIRFLOW_PORT']}/api/v2/monitor/health", timeout=5)


def booked_once(home: Path, store_port: int, erp_port: int) -> None:
    from erpsync.tryton.client import TrytonClient
    from erpsync.tryton.rpc import TrytonRpc
    from sandbox.airflow_local import wait_for
    from sandbox.demo import SHOPPER
    from sandbox.shopify.control import ShopifyEmulator
    from sandbox.tryton import catalog
    from sandbox.tryton.control import ErpSandbox
    from tests.support.erp import sales_per_order

    emulator = ShopifyEmulator(home / "shopify", port=store_port)
    erp = ErpSandbox(home=home / "erp", port=erp_port)
    password = erp.admin_password_file.read_text().strip()
    admin = TrytonClient(TrytonRpc(erp.url, erp.info()["db_name"], "admin", password),
                         web_shop=catalog.WEB_SHOP_NAME)
    emulator.admin("POST", "/shopper/stop", {})
    try:
        orders = emulator.admin("GET", "/orders?limit=100000", timeout=120)["orders"]
        assert orders, "the shopper placed no order"
        # An order the store cancelled before its first read is rightly never booked: those may have 0 sales.
        live = [o["id"] for o in orders if o["cancelled_at"] is None]
        try:
            wait_for(lambda: all(sales_per_order(admin, live)[i] >= 1 for i in live), timeout_s=300,
                     interval_s=3, what=f"the {len(live)} live orders to be booked")
        except TimeoutError as error:
            counts = sales_per_order(admin, live)
            raise AssertionError(f"{error}: unbooked {[i for i in live if not counts[i]][:10]}") from None
        counts = sales_per_order(admin, [o["id"] for o in orders])
        twice = {order_id: n for order_id, n in counts.items() if n > 1}
        assert not twice, f"orders booked more than once: {twice}"
        print(f"{len(orders)} store orders, {len(live)} live: each booked once "
              f"({sum(counts.values())} ERP sales)")
    finally:
        emulator.admin("POST", "/shopper/start", SHOPPER)


BURST = 60  # orders placed at once, so that a run's booking takes seconds


def kill_the_worker_booking_orders(env: dict[str, str], airflow_db_url: str) -> None:
    from sqlalchemy import create_engine, text

    from sandbox.airflow_local import wait_for

    home = Path(env["DEMO_HOME"])
    placed_at = place_burst(store_of(env), BURST)
    engine = create_engine(airflow_db_url)

    def booking() -> dict | None:
        """The ingest_orders task instance that has been running for a second, in a run after the burst."""
        with engine.connect() as conn:
            row = conn.execute(text(
                "SELECT ti.run_id, ti.try_number, ti.hostname, ti.start_date FROM task_instance ti "
                "JOIN dag_run r ON r.dag_id = ti.dag_id AND r.run_id = ti.run_id "
                "WHERE ti.dag_id = 'orders_sync' AND ti.task_id = 'ingest_orders' AND ti.state = 'running' "
                "AND r.start_date >= :placed"), {"placed": placed_at}).mappings().first()
        if row and dt.datetime.now(dt.UTC) - row["start_date"] >= dt.timedelta(seconds=1):
            return dict(row)
        return None

    def try_of(run_id: str) -> dict:
        with engine.connect() as conn:
            return dict(conn.execute(text(
                "SELECT state, try_number, start_date FROM task_instance WHERE dag_id = 'orders_sync' "
                "AND task_id = 'ingest_orders' AND run_id = :r"), {"r": run_id}).mappings().one())

    try:
        ti = wait_for(booking, timeout_s=300, interval_s=0.2, what="a run booking the burst of orders")
        name = {host: name for name, host in WORKERS.items()}[ti["hostname"]]
        killed = component_tree(supervisor_of(home), f"--celery-hostname {name}@")
        assert killed, f"no process of {name}"
        for pid in killed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        killed_at = dt.datetime.now(dt.UTC)
        try:
            wait_for(lambda: (t := try_of(ti["run_id"]))["try_number"] > ti["try_number"]
                     and t["state"] in ("success", "failed"), timeout_s=600, interval_s=1,
                     what=f"ingest_orders of {ti['run_id']} to be tried again after {name} was killed")
        except TimeoutError as error:
            raise AssertionError(f"{error}: {try_of(ti['run_id'])}") from None
        retried = try_of(ti["run_id"])
        with engine.connect() as conn:
            noticed = conn.execute(text(
                "SELECT end_date FROM task_instance_history WHERE dag_id = 'orders_sync' "
                "AND task_id = 'ingest_orders' AND run_id = :r AND try_number = :t"),
                {"r": ti["run_id"], "t": ti["try_number"]}).scalar()
    finally:
        engine.dispose()
    assert retried["state"] == "success", retried
    assert noticed is not None, "the killed try has no end in the task instance history"
    noticed_s = (noticed - killed_at).total_seconds()
    retry_s = (retried["start_date"] - killed_at).total_seconds()
    print(f"kill -9 of {name} ({len(killed)} processes) during ingest_orders: the lost try ended after "
          f"{noticed_s:.0f} s ([scheduler] task_instance_heartbeat_timeout 20), the retry started after "
          f"{retry_s:.0f} s (retry_delay 10 s) and succeeded")
    # Well under the default 300 s: the deployment's heartbeat timeout is in effect; and the lost task runs
    # again within a minute of the kill (heartbeat timeout 20 s, then a first retry_delay of 10-20 s).
    assert noticed_s < 45, f"the lost try was noticed only after {noticed_s:.0f} s"
    assert retry_s < 60, f"the lost task ran again only {retry_s:.0f} s after the kill"
    # The supervisor started the killed worker again, and it is ready.
    log = home / "airflow" / "standalone.log"
    wait_for(lambda: re.search(rf"^supervisor\s*\|.*{name} started again", log.read_text(errors="replace"),
                               re.MULTILINE), timeout_s=120, what=f"{name} to be started again")


def kill_the_scheduler_during_a_run(env: dict[str, str], airflow_db_url: str) -> None:
    from sqlalchemy import create_engine, text

    from sandbox.airflow_local import wait_for

    home = Path(env["DEMO_HOME"])
    placed_at = place_burst(store_of(env), BURST // 3)
    engine = create_engine(airflow_db_url)

    def scalar(sql: str, **params):
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    try:
        in_flight = wait_for(lambda: scalar(
            "SELECT run_id FROM dag_run WHERE dag_id = 'orders_sync' AND state = 'running' "
            "AND start_date >= :placed", placed=placed_at), timeout_s=300, interval_s=0.2,
            what="an orders_sync run after the burst")
        killed = component_tree(supervisor_of(home), "airflow scheduler")
        assert killed, "no scheduler process"
        for pid in killed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        killed_at = dt.datetime.now(dt.UTC)
        try:
            fresh_at = wait_for(lambda: scalar(
                "SELECT min(end_date) FROM dag_run WHERE dag_id = 'orders_sync' AND state = 'success' "
                "AND start_date > :killed", killed=killed_at), timeout_s=600, interval_s=1,
                what="an orders_sync run started after the scheduler's kill to succeed")
            ended = wait_for(lambda: scalar(
                "SELECT state FROM dag_run WHERE dag_id = 'orders_sync' AND run_id = :r "
                "AND state IN ('success', 'failed')", r=in_flight), timeout_s=600, interval_s=1,
                what=f"the run in flight ({in_flight}) to end")
        except TimeoutError as error:
            runs = scalar("SELECT string_agg(run_id || ' ' || state, ', ') FROM dag_run "
                          "WHERE dag_id = 'orders_sync' AND start_date > :p", p=placed_at)
            raise AssertionError(f"{error}: {runs}") from None
    finally:
        engine.dispose()
    fresh_s = (fresh_at - killed_at).total_seconds()
    print(f"kill -9 of the scheduler ({len(killed)} processes) during orders_sync {in_flight}: started again "
          f"by the supervisor; that run ended {ended}; a run started after the kill succeeded {fresh_s:.0f} s "
          "after it")
    assert ended == "success", f"the run in flight during the scheduler's kill ended {ended}"


def store_of(env: dict[str, str]):
    from sandbox.shopify.control import ShopifyEmulator

    return ShopifyEmulator(Path(env["DEMO_HOME"]) / "shopify", port=int(env["STORE_PORT"]))


def supervisor_of(home: Path) -> int:
    return int((home / "airflow" / "standalone.pid").read_text())
