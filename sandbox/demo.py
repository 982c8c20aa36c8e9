"""`make demo` / `make stop`: the whole integration on one machine, on embedded defaults.

``up``: build and start the sandbox ERP; start the two stores, each seeded from the ERP's catalog the
first time, with a shopper placing orders in each: the Shopify emulator (Connection ``store_default``, web
shop "Online Store") and a stock Vendure server (``store_vendure``, web shop "Vendure Store"); migrate
the warehouse; prepare Airflow (metadata DB, Connections, pools, ``[erpsync] stores``), start it,
unpause and trigger the DAGs, wait for their runs, print a summary. Run again, it reuses what exists.
``down``: stop everything it started.

Where things live: ``DEMO_HOME`` (default ``<repo>/var``) holds the ERP (``erp/``), the stores
(``shopify/``, ``vendure/``), Airflow's home (``airflow/``) and the SQLite warehouse
(``warehouse.sqlite``); ``WAREHOUSE_URL`` puts the warehouse in PostgreSQL instead. Ports:
``AIRFLOW_PORT`` (8080), ``ERP_PORT`` (8000), ``STORE_PORT`` (8100), ``VENDURE_PORT`` (3000). Everything
listens on 127.0.0.1. ``DEMO_VENDURE=0`` runs the Shopify store alone (the chaos suite does).
``DEMO_WEBHOOKS=1``: the Shopify store's webhooks start its order flow (the store Connection gets the
emulator's client secret, ``reconcile`` subscribes the store to Airflow's API server), and its order poll
runs every 5 minutes as the safety net. ``DEMO_ERP_WATCH_S=1``: the ERP change watcher looks every second
and starts the catalog flow on a change; the catalog's poll then runs every 5 minutes as the safety net.
``DEMO_EXECUTOR=celery`` (``make demo EXECUTOR=celery``): Airflow on the CeleryExecutor with two Celery
workers, its metadata database and the warehouse in PostgreSQL (``DEMO_PG_URL``), the broker in Redis
(``DEMO_BROKER_URL``), with the settings docker-compose.yaml reads (``docker/airflow-celery.env``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import logging
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import make_url

from sandbox.airflow_local import REPO, AirflowLocal, CeleryDeployment, wait_for
from sandbox.background import BackgroundModule
from sandbox.shopify.control import ShopifyEmulator
from sandbox.tryton import catalog
from sandbox.tryton.control import ErpSandbox
from sandbox.tryton.shipper import ErpShipper
from sandbox.vendure.control import VendureServer

log = logging.getLogger("demo")

DEMO_DAGS = ["catalog_sync", "orders_sync"]  # in this order: orders need the catalog's SKUs staged
# On their own schedules; review_held: when work waits for a person; housekeeping: daily (one run at once).
MONITORING_DAGS = ["sync_watch", "reconcile", "review_held", "housekeeping"]
VENDURE_CONN = "store_vendure"
# The second store's own DAGs (erpsync.tasks.stores): triggered after catalog_sync has staged, as orders_sync.
VENDURE_DAGS = [f"catalog_publish__{VENDURE_CONN}", f"orders_sync__{VENDURE_CONN}"]
VENDURE_MONITORING_DAGS = [f"reconcile__{VENDURE_CONN}"]
VENDURE_STORE_NAME = "vendure-demo"
VENDURE_SHOPPER = ["--rate", "0.3", "--seed", "11", "--cancel-rate", "0.05", "--refund-rate", "0.05"]
STORE_PLAN = "STANDARD"
EXECUTORS = ("local", "celery")
# DEMO_EXECUTOR=celery: the metadata database and the warehouse in this PostgreSQL (DEMO_PG_URL), the broker
# in this Redis database (DEMO_BROKER_URL); both run on this machine.
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BROKER_URL = "redis://127.0.0.1:6379/5"
# DEMO_WEBHOOKS=1 / DEMO_ERP_WATCH_S: the polls left as the safety net under the events
WEBHOOK_SAFETY_POLL_S = 300
# With events on, the scheduler looks for work every 0.25 s instead of every second when idle: a task
# boundary of the hot path costs ~0.3-0.8 s instead of ~1 s (the idle cost is in bench/NOTES.md).
REALTIME_SCHEDULER_IDLE_SLEEP_S = 0.25
# An action every two seconds: orders, now and then a cancel or refund; a third of the refunds wait for the
# payment gateway's answer (ten actions later, one in five refused) and are booked once their money moved;
# one new shopper in ten checks out as a guest with a phone number and no e-mail; one action in twenty
# edits an open order (a variant added, or a unit less), which the ERP's sales follow; three in a hundred
# return a shipped unit (half of them exchanged for another item), which the ERP books as a return (and a
# sale of the exchange) and its warehouse receives.
SHOPPER = {"rate": 0.5, "seed": 7, "pending_refund_rate": 0.3, "phone_only_rate": 0.1, "edit_rate": 0.05,
           "return_rate": 0.03}
# The ERP's warehouse ships what was sold 15-25 s earlier; every 3rd shipment with several units of a
# product ships half of them first, and the rest on a later round (fulfilled in the store in two parts).
SHIPPER = {"every_s": 10, "after_s": 15, "partial_every": 3}


@dataclass
class Demo:
    home: Path
    airflow_port: int
    erp_port: int
    store_port: int
    warehouse_url: str
    vendure_port: int = 3000
    with_vendure: bool = False  # the second store (make demo: on; the benchmarks and chaos: off)
    webhooks: bool = False  # the Shopify store's webhooks start its order flow; its poll every 5 minutes
    erp_watch_s: int = 0  # > 0: the ERP watcher starts the catalog flow on a change; its poll every 5 minutes
    safety_poll_s: int = WEBHOOK_SAFETY_POLL_S  # the polls' interval under the events
    executor: str = "local"  # "celery": CeleryExecutor, two workers, metadata DB and warehouse in PostgreSQL
    pg_admin_url: str = PG_ADMIN_URL  # where the CeleryExecutor's databases are created
    broker_url: str = BROKER_URL
    worker_log_ports: tuple[int, ...] = (8793, 8795)
    # The shoppers buy from the start (the demo shows orders flowing); a benchmark that places its own orders
    # turns them off, so that its start-up does not book the orders of the hour it took (1,497 at 100k).
    shoppers: bool = True

    @classmethod
    def from_env(cls) -> Demo:
        home = Path(os.environ.get("DEMO_HOME") or REPO / "var").resolve()
        executor = (os.environ.get("DEMO_EXECUTOR") or "local").lower()
        if executor not in EXECUTORS:
            raise SystemExit(f"DEMO_EXECUTOR (make demo EXECUTOR=...) is {executor!r}: choose one of "
                             f"{', '.join(EXECUTORS)}")
        pg_admin_url = os.environ.get("DEMO_PG_URL") or PG_ADMIN_URL
        default_warehouse = (f"sqlite:///{home / 'warehouse.sqlite'}" if executor == "local"
                             else pg_database_url(pg_admin_url, demo_database(home, "warehouse")))
        ports = os.environ.get("DEMO_WORKER_LOG_PORTS")
        return cls(
            home=home,
            airflow_port=int(os.environ.get("AIRFLOW_PORT") or 8080),
            erp_port=int(os.environ.get("ERP_PORT") or 8000),
            store_port=int(os.environ.get("STORE_PORT") or 8100),
            warehouse_url=os.environ.get("WAREHOUSE_URL") or default_warehouse,
            executor=executor, pg_admin_url=pg_admin_url,
            broker_url=os.environ.get("DEMO_BROKER_URL") or BROKER_URL,
            worker_log_ports=tuple(int(p) for p in ports.split(",")) if ports else (8793, 8795),
            vendure_port=int(os.environ.get("VENDURE_PORT") or 3000),
            with_vendure=os.environ.get("DEMO_VENDURE", "1") != "0",
            webhooks=os.environ.get("DEMO_WEBHOOKS", "0") == "1",
            erp_watch_s=int(os.environ.get("DEMO_ERP_WATCH_S") or 0),
        )

    @property
    def erp(self) -> ErpSandbox:
        return ErpSandbox(home=self.home / "erp", port=self.erp_port)

    @property
    def store(self) -> ShopifyEmulator:
        return ShopifyEmulator(home=self.home / "shopify", port=self.store_port, plan=STORE_PLAN)

    @property
    def vendure(self) -> VendureServer:
        return VendureServer(self.home / "vendure", self.vendure_port)

    @property
    def vendure_shopper(self) -> BackgroundModule:
        vendure = self.vendure
        return BackgroundModule(
            "sandbox.vendure", ["--home", str(vendure.home), "--port", str(vendure.port), "shopper", *VENDURE_SHOPPER],
            vendure.home / "shopper.pid", vendure.home / "logs" / "shopper.log")

    @property
    def store_conn_ids(self) -> list[str]:
        return ["store_default", VENDURE_CONN] if self.with_vendure else ["store_default"]

    @property
    def airflow(self) -> AirflowLocal:
        # The optional customers flow (reconcile's sync_customers), on for the Shopify store: its checkouts'
        # accounts are linked to the parties their orders made, and new ERP parties become accounts.
        settings = {"AIRFLOW__ERPSYNC__STORES": ",".join(self.store_conn_ids),
                    "AIRFLOW__ERPSYNC__STORE_CUSTOMERS__STORE_DEFAULT": "both"}
        if self.webhooks:  # reconcile subscribes the store (task subscribe_webhooks) to the API server
            settings.update({"AIRFLOW__ERPSYNC__WEBHOOK_BASE_URL": f"http://127.0.0.1:{self.airflow_port}",
                             "AIRFLOW__ERPSYNC__ORDERS_INTERVAL_SECONDS__STORE_DEFAULT":
                                 str(self.safety_poll_s)})
        if self.erp_watch_s > 0:
            settings.update({"AIRFLOW__ERPSYNC__ERP_WATCH_SECONDS": str(self.erp_watch_s),
                             "AIRFLOW__ERPSYNC__CATALOG_INTERVAL_SECONDS": str(self.safety_poll_s)})
        if self.webhooks or self.erp_watch_s > 0:
            settings["AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME"] = str(REALTIME_SCHEDULER_IDLE_SLEEP_S)
        return AirflowLocal(home=self.home / "airflow", port=self.airflow_port, extra_env=settings,
                            celery=self.celery)

    @property
    def celery(self) -> CeleryDeployment | None:
        if self.executor != "celery":
            return None
        return CeleryDeployment(
            metadata_url=pg_database_url(self.pg_admin_url, demo_database(self.home, "airflow")),
            broker_url=self.broker_url, queue=demo_database(self.home, "tasks"),
            worker_log_ports=self.worker_log_ports)

    def pg_databases(self) -> list[str]:
        """The PostgreSQL databases of this demo (none on the LocalExecutor with the SQLite warehouse)."""
        urls = [self.celery.metadata_url] if self.celery else []
        if make_url(self.warehouse_url).get_backend_name() == "postgresql":
            urls.append(self.warehouse_url)
        return urls

    def create_pg_databases(self) -> None:
        """Create this demo's PostgreSQL databases that do not exist yet (kept across `make stop`)."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.pg_admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                for url in self.pg_databases():
                    name = make_url(url).database
                    found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
                    if not found.scalar():
                        conn.execute(text(f'CREATE DATABASE "{name}"'))
                        log.info("created PostgreSQL database %s", name)
        finally:
            engine.dispose()

    # -- up -----------------------------------------------------------------------------------------

    def up(self, *, show_fulfillment: bool = True, stage_timeout_s: float = 1800,
           run_timeout_s: float = 600) -> None:
        """Start everything and run each DAG once; ``show_fulfillment``: then wait until a shipment made
        in the ERP has flowed back to the store (the demo shows it; a benchmark does not need it).
        ``stage_timeout_s``: how long the first catalog run may take to stage it, ``run_timeout_s`` each
        first run to finish after that (a 100k catalog's first extract and publish take most of an hour)."""
        started = time.monotonic()
        started_at = dt.datetime.now(dt.UTC)
        erp = self.erp
        step("ERP: build (seconds from its pristine snapshot; minutes the first time)", erp.build)
        step("ERP: start", erp.start)
        step("ERP: start the warehouse worker (ships sold goods)",
             lambda: ErpShipper(erp).start(**SHIPPER))
        step("store: start the emulator", self.store.start)
        seed = "seed from the ERP catalog (first run only)"
        step(f"store: {seed}" + (" and start the shopper" if self.shoppers else ", no shopper"), self.prepare_store)
        if self.with_vendure:
            step("Vendure: start (a stock Vendure server)", self.vendure.start)
            step(f"Vendure: {seed}" + (" and start its shopper" if self.shoppers else ", no shopper"),
                 self.prepare_vendure)
        if self.pg_databases():
            step("PostgreSQL: create the demo's databases (first run only)", self.create_pg_databases)
        step("warehouse: migrate", self.migrate_warehouse)
        airflow = self.airflow
        step("Airflow: migrate its metadata database", airflow.migrate)
        step("Airflow: register Connections and pools",
             lambda: airflow.configure(connections=self.connections()))
        what = ("LocalExecutor, parallelism 4" if self.celery is None else
                f"CeleryExecutor, workers {', '.join(self.celery.workers)}, Redis broker")
        step(f"Airflow: start (its components supervised, {what})", airflow.start)
        http = airflow.session()
        runs = {}
        failed = []
        demo_dags = DEMO_DAGS + (VENDURE_DAGS if self.with_vendure else [])
        for dag_id in demo_dags:  # each triggered once the one before has staged; then they run side by side
            airflow.wait_for_dag(http, dag_id)
            airflow.unpause(http, dag_id)
            runs[dag_id] = airflow.trigger(http, dag_id)
            log.info("triggered %s: %s", dag_id, runs[dag_id])
            if dag_id == "catalog_sync":  # the orders' SKUs must be staged before the orders are booked
                wait_for(lambda: airflow.task_states(http, "catalog_sync", runs["catalog_sync"]).get("stage_catalog")
                         in ("success", "failed", "upstream_failed"), timeout_s=stage_timeout_s, interval_s=2,
                         what="catalog_sync to stage the catalog")
        for dag_id in demo_dags:
            state = airflow.wait_for_run(http, dag_id, runs[dag_id], timeout_s=run_timeout_s)
            log.info("%s %s: %s", dag_id, runs[dag_id], state)
            if state != "success":
                failed.append(f"{dag_id} ({airflow.task_states(http, dag_id, runs[dag_id])})")
        for dag_id in MONITORING_DAGS + (VENDURE_MONITORING_DAGS if self.with_vendure else []):
            # on their own schedules: the watch every minute, reconcile every 15
            airflow.wait_for_dag(http, dag_id)
            airflow.unpause(http, dag_id)
        if not failed and show_fulfillment:
            step("orders: wait for a shipment to flow back to the store", self.wait_for_fulfillment)
        self.print_summary(runs, started_at, time.monotonic() - started)
        if failed:
            raise SystemExit(f"demo run(s) failed: {', '.join(failed)}; logs under {airflow.home / 'logs'}")

    def prepare_store(self) -> None:
        store = self.store
        if store.admin("GET", "/state")["counts"]["products"] == 0:
            payload = store_seed(self.erp_client())
            counts = store.admin("POST", "/seed", payload, timeout=300)
            log.info("store seeded: %s", counts)
        if self.shoppers:
            store.admin("POST", "/shopper/start", SHOPPER)

    def prepare_vendure(self) -> None:
        from sandbox.vendure.seed import configure_store, seed_catalog

        admin = self.vendure.admin()
        configure_store(admin)
        if admin.data("{ products(options: { take: 1 }) { totalItems } }")["products"]["totalItems"] == 0:
            counts = seed_catalog(admin, store_seed(self.erp_client()))
            log.info("Vendure seeded: %s", counts)
        if self.shoppers:
            self.vendure_shopper.start()

    def vendure_counts(self) -> dict[str, int]:
        data = self.vendure.admin().data("""{ products(options: { take: 1 }) { totalItems }
            productVariants(options: { take: 1 }) { totalItems } orders(options: { take: 1 }) { totalItems } }""")
        return {name: data[name]["totalItems"] for name in ("products", "productVariants", "orders")}

    def erp_client(self):
        from erpsync.tryton.settings import TrytonSettings

        info = self.erp.info(show_password=True)
        return TrytonSettings(base_url=self.erp.url, database=info["db_name"], login=info["login"],
                              password=info["password"], web_shop=catalog.WEB_SHOP_NAME).client()

    def wait_for_fulfillment(self) -> None:
        from erpsync.warehouse.engine import make_engine
        from erpsync.warehouse.schema import order_ledger

        engine = make_engine(self.warehouse_url)
        try:
            wait_for(lambda: _count(engine, order_ledger, order_ledger.c.state == "fulfilled"), timeout_s=240,
                     what="a shipment to flow back to the store", interval_s=5)
        finally:
            engine.dispose()

    def migrate_warehouse(self) -> None:
        from erpsync.warehouse.migrate import upgrade_url

        upgrade_url(self.warehouse_url)

    def connections(self) -> list[dict]:
        info = self.erp.info(show_password=True)
        url = make_url(self.warehouse_url)
        if url.get_backend_name() == "sqlite":
            warehouse = {"conn_type": "sqlite", "host": url.database}
        else:
            warehouse = {"conn_type": "postgres", "host": url.host, "port": url.port, "schema": url.database,
                         "login": url.username, "password": url.password}
        return [
            {
                "conn_id": "erp_default", "conn_type": "tryton", "host": "127.0.0.1", "port": self.erp_port,
                "schema": info["db_name"], "login": info["login"], "password": info["password"],
                "extra": json.dumps({"web_shop": catalog.WEB_SHOP_NAME}),
                "description": "Sandbox Tryton ERP (make demo)",
            },
            {"conn_id": "warehouse_default", "description": "Sync warehouse (make demo)", **warehouse},
            {
                "conn_id": "store_default", "conn_type": "shopify", "host": self.store.url,
                "password": self.store.token(),
                "extra": json.dumps({"api_version": "2026-10", "plan": STORE_PLAN,
                                     "store_name": "demo-store.myshopify.com",
                                     **({"webhook_secret": self.store.client_secret()}
                                        if self.webhooks else {})}),
                "description": "Shopify Admin API emulator (make demo)",
            },
            *([self.vendure_connection()] if self.with_vendure else []),
        ]

    def vendure_connection(self) -> dict:
        credentials = self.vendure.credentials()
        return {
            "conn_id": VENDURE_CONN, "conn_type": "vendure", "host": self.vendure.url,
            "login": credentials["username"], "password": credentials["password"],
            "extra": json.dumps({"store_name": VENDURE_STORE_NAME, "erp_web_shop": catalog.VENDURE_WEB_SHOP_NAME}),
            "description": "Vendure server, the second store (make demo)",
        }

    def print_summary(self, runs: dict[str, str], started_at: dt.datetime, seconds: float) -> None:
        from erpsync.warehouse.engine import make_engine
        from erpsync.warehouse.schema import sync_run

        from sqlalchemy import func

        from erpsync.warehouse.schema import order_ledger

        # Every run since `up` began: a scheduled run may have done the work before the triggered one.
        engine = make_engine(self.warehouse_url)
        with engine.connect() as conn:
            rows = list(conn.execute(select(sync_run).where(sync_run.c.started_at >= started_at)
                                     .order_by(sync_run.c.started_at)))
            states = conn.execute(select(order_ledger.c.store, order_ledger.c.state, func.count())
                                  .group_by(order_ledger.c.store, order_ledger.c.state)).all()
        engine.dispose()
        by_store: dict[str, list[str]] = {}
        for store, state, n in sorted(states):
            by_store.setdefault(store, []).append(f"{n} {state}")
        ledger = "; ".join(f"{store}: {', '.join(counts)}" for store, counts in by_store.items()) or "no orders yet"
        airflow = self.airflow
        # The shopper keeps buying: show that orders are arriving in the store.
        store_counts = (wait_for(lambda: (c := self.store.admin("GET", "/state")["counts"])["orders"] and c,
                                 timeout_s=60, what="the shopper's first order") if self.shoppers
                        else self.store.admin("GET", "/state")["counts"])
        buying = "the shopper keeps buying" if self.shoppers else "no shopper"
        lines = [
            "",
            "=" * 72,
            f"Demo ready in {seconds:.0f}s.",
            f"  Airflow UI:  {airflow.url}   login: admin   password: {airflow.admin_password()}",
            f"               (the password is also in {airflow.password_file})",
            f"  Sync health: {airflow.url}/plugin/sync-health (Browse > Sync health)",
            f"  ERP:         {self.erp.url} (Tryton, database {self.erp.db_name!r}, "
            f"web shop {catalog.WEB_SHOP_NAME!r})",
            f"  Store:       {self.store.url}/admin/api/2026-10/graphql.json (Shopify emulator, "
            f"{STORE_PLAN} plan): {store_counts['products']} products, {store_counts['variants']} variants, "
            f"{store_counts['orders']} orders so far ({buying})",
            *([self.vendure_summary()] if self.with_vendure else []),
            f"  Warehouse:   {make_url(self.warehouse_url).render_as_string(hide_password=True)}",
        ]
        for dag_id, run_id in runs.items():
            dag_rows = [r for r in rows if r.dag_id == dag_id]
            # Runs keep coming (the DAGs are scheduled): some may still be running when this prints.
            states = ", ".join(f"{n} {state}" for state, n in sorted(Counter(r.status for r in dag_rows).items()))
            lines.append(f"  {dag_id}: {len(dag_rows)} run(s) ({states}): {_moved([r.counts for r in dag_rows])}")
        lines.append(f"  Orders ledger: {ledger}")
        if self.celery is not None:
            lines.append(f"  Celery workers (task instances by their Hostname): {self.worker_summary()}")
        lines += ["  Stop everything with: make stop", "=" * 72]
        print("\n".join(lines), flush=True)

    def worker_summary(self) -> str:
        """How many task instances each Celery worker ran, from Airflow's metadata database."""
        from sqlalchemy import create_engine, text

        engine = create_engine(self.celery.metadata_url)
        try:
            with engine.connect() as conn:
                ran = dict(conn.execute(text("SELECT hostname, count(*) FROM task_instance "
                                             "WHERE hostname <> '' GROUP BY hostname")).all())
        finally:
            engine.dispose()
        hosts = self.celery.worker_hostnames
        return ", ".join(f"{name} ({host}): {ran.get(host, 0)}"
                         for name, host in zip(self.celery.workers, hosts, strict=True))

    def vendure_summary(self) -> str:
        counts = (wait_for(lambda: (c := self.vendure_counts())["orders"] and c, timeout_s=60,
                           what="the Vendure shopper's first order") if self.shoppers else self.vendure_counts())
        buying = "its shopper keeps buying" if self.shoppers else "no shopper"
        return (f"  Vendure:     {self.vendure.url}/admin-api (stock Vendure, Connection {VENDURE_CONN!r}, web shop "
                f"{catalog.VENDURE_WEB_SHOP_NAME!r}): {counts['products']} products, {counts['productVariants']} "
                f"variants, {counts['orders']} orders so far ({buying})")

    # -- down ---------------------------------------------------------------------------------------

    def down(self) -> None:
        step("Airflow: stop", self.airflow.stop)
        step("store: stop", self.store.stop)
        step("Vendure: stop its shopper", self.vendure_shopper.stop)
        step("Vendure: stop", self.vendure.stop)
        step("ERP: stop the warehouse worker", ErpShipper(self.erp).stop)
        step("ERP: stop", self.erp.stop)


def demo_database(home: Path, purpose: str) -> str:
    """A name of this demo's own (by its home), so that a test's demo never shares the user's."""
    return f"erpsync_demo_{purpose}_{hashlib.sha1(str(home).encode()).hexdigest()[:8]}"


def pg_database_url(admin_url: str, database: str) -> str:
    return make_url(admin_url).set(database=database).render_as_string(hide_password=False)


def store_seed(erp) -> dict:
    """The emulator's seed payload from the ERP's active catalog: one store product per template, its
    variants priced from the web shop's price list (the list price as compare-at when higher), stocked at
    one store location per ERP warehouse with the forecast quantity."""
    products = [p for page in erp.iter_changed_products(None) for p in page if p.active and p.salable]
    warehouses = erp.web_shop.warehouses
    levels = {(lvl.erp_product_id, lvl.warehouse_id): lvl.forecast_quantity
              for lvl in erp.stock_levels([p.erp_product_id for p in products])}
    by_template: dict[int, list] = {}
    for product in products:
        by_template.setdefault(product.template_id, []).append(product)
    return {
        "locations": [w.name for w in warehouses],
        "products": [
            {
                "title": variants[0].title,
                "description": f"<p>{variants[0].description or ''}</p>",
                "option_name": "Variant",
                "variants": [
                    {
                        "sku": v.sku,
                        "option": v.sku.rsplit("-", 1)[-1],
                        "price": str(v.sale_price),
                        "compare_at_price": str(v.list_price) if v.list_price > v.sale_price else None,
                        "inventory": {w.name: max(0, int(levels.get((v.erp_product_id, w.id), 0)))
                                      for w in warehouses},
                    }
                    for v in variants
                ],
            }
            for variants in by_template.values()
        ],
    }


def _moved(runs: list[dict]) -> str:
    """One line of what runs moved: rows extracted, staged, quarantined; changes published or booked."""
    totals: dict[str, int] = {}

    def add(label: str, value: int) -> None:
        totals[label] = totals.get(label, 0) + value

    for counts in runs:
        for step, c in counts.items():
            if step.startswith("extract_"):
                add(f"{step.removeprefix('extract_')} extracted", c["rows"])
            elif step.startswith("publish_"):
                add(f"{step.removeprefix('publish_')} published", c["applied"])
            elif step == "stage_orders":
                add("orders staged", c["staged"])
                add("orders held", c["quarantined"])
            elif step == "ingest_orders":
                add("sales created in the ERP", c["created"])
            elif step == "apply_order_changes":
                add("cancellations applied", c["cancellations"])
                add("refunds booked", c["refunds"])
            elif step == "push_fulfillments":
                add("fulfillments sent to the store", c["fulfilled"])
        for dataset, staged in (counts.get("stage_catalog") or {}).items():
            if isinstance(staged, dict) and "staged" in staged:
                add(f"{dataset} staged", staged["staged"])
                add(f"{dataset} quarantined", staged["quarantined"])
    return ", ".join(f"{label}: {value}" for label, value in totals.items())


def _count(engine, table, *where) -> int:
    from sqlalchemy import func

    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def step(title: str, action) -> None:
    started = time.monotonic()
    log.info("%s ...", title)
    action()
    log.info("%s: done in %.1fs", title, time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.demo", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stdout)
    for noisy in ("urllib3", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    demo = Demo.from_env()
    if args.command == "up":
        demo.up()
    else:
        demo.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
