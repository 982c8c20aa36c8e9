"""`make chaos-faults`: one fault at a time at each seam of the running demo, each with its own figures.

On a running demo (``make demo``, or ``make demo EXECUTOR=celery``; the same ``DEMO_HOME`` and ports), with
the shopper buying throughout, each fault in turn is injected, then healed:

- ``store_5xx``, ``store_timeouts``, ``store_throttle``, ``store_lost_answers``: the store answers 5xx /
  slowly or not within the client's read timeout / throttled / drops the connection before or after
  applying a write, at a rate, for ``--fault-s`` seconds (the store emulator's fault rules);
- ``erp_down``: the ERP server stopped for ``--fault-s`` seconds, then started;
- ``erp_partition``: the flows' ERP connection goes through a relay on loopback, which stops relaying for
  ``--fault-s`` seconds (connections open, nothing answers, requests held; then what was held is
  delivered, as TCP's retransmissions would after a partition heals);
- ``kill_worker_booking`` / ``kill_worker_publishing`` (CeleryExecutor): ``kill -9`` of the whole process
  tree of the Celery worker running ``ingest_orders`` during a burst of orders / ``publish_inventory``
  during a restock of many SKUs;
- ``kill_scheduler``: ``kill -9`` of the scheduler (with its LocalExecutor's task processes, on that
  executor) while an order run is in flight;
- ``restart_postgres`` (PostgreSQL warehouse): the machine's PostgreSQL cluster serving the warehouse
  (and here Airflow's metadata database: one server for both, as in docker-compose.yaml) stopped for
  ``--pg-down-s`` seconds while a burst of orders is being booked, then started.

After each heal it measures how long until the flows are **fresh again**: a probe order placed in the
store becomes a confirmed ERP sale, and a probe price change in the ERP shows in the store; how long until
the **row errors** opened since the fault began are all resolved (retried; none given up); and, the
shopper paused, it runs the independent audit (``tests/support/audit.py``): orders **missing**, booked
**twice**, store levels off what the ERP allows (**overwritten**: inventory written over a sale). It prints
one line per fault and a JSON report; exit status 1 unless every fault ends fresh, drained and with three
zeros.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from sandbox.airflow_local import component_tree, wait_for
from sandbox.chaos import BURSTS, level_histories, reconcile
from sandbox.demo import SHOPPER, Demo
from sandbox.shopify.control import ShopifyEmulator

log = logging.getLogger("chaos-faults")

STORE_FAULTS = {"store_5xx": "5xx", "store_timeouts": "timeouts", "store_throttle": "throttle_storm",
                "store_lost_answers": "lost_answers"}
BURST = 60  # orders placed at once before a kill or a restart, so that booking takes seconds
RESTOCK_SKUS = 300  # SKUs restocked at once before a kill during publishing
FRESH_TIMEOUT_S = 900  # the probes must be seen within this after the heal
DRAIN_TIMEOUT_S = 900  # the row errors opened since the fault began must be closed within this


@dataclass
class Outcome:
    fault: str
    injected: dict = field(default_factory=dict)  # what was done, and the fault's own figures
    fresh_orders_s: float | None = None  # heal -> the probe order is a confirmed ERP sale
    fresh_catalog_s: float | None = None  # heal -> the probe price change shows in the store
    errors_opened: int = 0
    errors_of_data: int = 0  # opened meanwhile for a record's own data (no fault's doing): reported only
    errors_drained_s: float | None = None
    missing: int | None = None
    twice: int | None = None
    overwritten: int | None = None
    audit: dict = field(default_factory=dict)
    skipped: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.skipped) or (
            self.fresh_orders_s is not None and self.fresh_catalog_s is not None
            and self.errors_drained_s is not None and self.missing == self.twice == self.overwritten == 0)

    def line(self) -> str:
        if self.skipped:
            return f"{self.fault:<24} skipped: {self.skipped}"

        def secs(value: float | None) -> str:
            return "never" if value is None else f"{value:.0f} s"
        return (f"{self.fault:<24} fresh again: orders {secs(self.fresh_orders_s)}, catalog "
                f"{secs(self.fresh_catalog_s)}; row errors {self.errors_opened} opened, all resolved "
                f"{secs(self.errors_drained_s)} after the heal{self._of_data()}; missing {self.missing}, "
                f"twice {self.twice}, overwritten {self.overwritten}{self._flows_alone()}; "
                f"{json.dumps(self.injected, default=str)}")

    def _of_data(self) -> str:
        return (f" ({self.errors_of_data} more for records' own data, left to a person)"
                if self.errors_of_data else "")

    def _flows_alone(self) -> str:
        """What the live flows had left before a reconciliation, when one had to run."""
        if "after_reconcile" not in self.audit:
            return ""
        alone = self.audit["flows_alone"]
        return (f" (after a reconciliation; the flows alone had left {alone['orders_missing']} missing, "
                f"{alone['levels_over']} levels over and {alone['levels_under']} under what the ERP allows)")


# -- the faults -------------------------------------------------------------------------------------------

class Suite:
    def __init__(self, demo: Demo, fault_s: float, pg_down_s: float):
        from bench.freshness import Freshness

        self.demo = demo
        self.fault_s = fault_s
        self.pg_down_s = pg_down_s
        self.probe = Freshness(demo, changes=24, mean_gap_s=1.0, seed=17)
        self.plan = self.probe.plan()
        self.relay: Relay | None = None
        self.audit_target = None
        self.faults: dict[str, Callable[[], dict]] = {
            **{name: (lambda kind=kind: self.store_burst(kind)) for name, kind in STORE_FAULTS.items()},
            "erp_down": self.erp_down,
            "erp_partition": self.erp_partition,
            "kill_worker_booking": lambda: self.kill_worker("orders_sync", "ingest_orders", self.order_burst),
            "kill_worker_publishing": lambda: self.kill_worker("catalog_sync", "publish_inventory",
                                                               self.restock_many),
            "kill_scheduler": self.kill_scheduler,
            "restart_postgres": self.restart_postgres,
        }

    def applies(self, name: str) -> str:
        """Why a fault does not apply to this demo ('' when it does)."""
        if name.startswith("kill_worker") and self.demo.celery is None:
            return "Celery workers only (make demo EXECUTOR=celery); the LocalExecutor's are the scheduler's"
        warehouse = make_url(self.demo.warehouse_url).get_backend_name()
        if name == "restart_postgres" and warehouse != "postgresql":
            return "the warehouse is SQLite here (make demo EXECUTOR=celery puts it in PostgreSQL)"
        return ""

    def store_burst(self, kind: str) -> dict:
        store = self.demo.store
        store.admin("PUT", "/faults", {"seed": 7, "rules": BURSTS[kind]})
        try:
            time.sleep(self.fault_s)
        finally:
            store.admin("DELETE", "/faults")
        return {"rules": BURSTS[kind], "seconds": self.fault_s}

    def erp_down(self) -> dict:
        erp = self.demo.erp
        erp.stop()
        try:
            time.sleep(self.fault_s)
        finally:
            erp.start()
        return {"seconds": self.fault_s}

    def erp_partition(self) -> dict:
        if self.relay is None:
            self.relay = Relay(self.demo.erp_port)
            self._erp_connection(self.relay.port)
            time.sleep(5)  # the next tasks read the connection anew; the relay carries their calls
        self.relay.cut()
        try:
            time.sleep(self.fault_s)
        finally:
            self.relay.heal()
        return {"seconds": self.fault_s, "connections_held": self.relay.held}

    def _erp_connection(self, port: int) -> None:
        (erp,) = [c for c in self.demo.connections() if c["conn_id"] == "erp_default"]
        self.demo.airflow.configure(connections=[{**erp, "port": port}])

    def close(self) -> None:
        if self.relay is not None:  # the flows call the ERP directly again
            self._erp_connection(self.demo.erp_port)
            self.relay.close()

    def order_burst(self) -> dt.datetime:
        return place_burst(self.demo.store, BURST)

    def restock_many(self) -> dt.datetime:
        from tests.support.erp import receive_many

        began = dt.datetime.now(dt.UTC)
        skus = sorted(v.sku for page in self.probe.store.iter_variants() for v in page
                      if v.product_status == "ACTIVE")[:RESTOCK_SKUS]
        products = self.probe.admin.model("product.product", "search", [("code", "in", skus)], 0, None, None)
        warehouse = self.probe.admin.web_shop.warehouses[0].id
        receive_many(self.probe.admin, products, warehouse, Decimal(1))
        return began

    def _metadata(self):
        return create_engine(self.demo.celery.metadata_url)

    def kill_worker(self, dag_id: str, task_id: str, stimulus: Callable[[], dt.datetime]) -> dict:
        """kill -9 of the Celery worker (its whole tree) running ``task_id`` of a run started after the
        stimulus; the lost try's end and the retry's start, timed from the kill, from Airflow's records."""
        engine = self._metadata()
        began = stimulus()

        def running() -> dict | None:
            with engine.connect() as conn:
                row = conn.execute(text(
                    "SELECT ti.run_id, ti.try_number, ti.hostname, ti.start_date FROM task_instance ti "
                    "JOIN dag_run r ON r.dag_id = ti.dag_id AND r.run_id = ti.run_id WHERE ti.dag_id = :d "
                    "AND ti.task_id LIKE :t AND ti.state = 'running' AND r.start_date >= :began"),
                    {"d": dag_id, "t": f"%{task_id}", "began": began}).mappings().first()
            return dict(row) if row else None

        def try_of(run_id: str) -> dict:
            with engine.connect() as conn:
                return dict(conn.execute(text(
                    "SELECT state, try_number, start_date FROM task_instance WHERE dag_id = :d "
                    "AND task_id LIKE :t AND run_id = :r"), {"d": dag_id, "t": f"%{task_id}", "r": run_id}
                ).mappings().one())

        try:
            ti = wait_for(running, timeout_s=600, interval_s=0.1, what=f"{dag_id}.{task_id} running")
            celery = self.demo.celery
            name = dict(zip(celery.worker_hostnames, celery.workers, strict=True))[ti["hostname"]]
            killed = self._kill(f"--celery-hostname {name}@")
            killed_at = dt.datetime.now(dt.UTC)
            wait_for(lambda: (t := try_of(ti["run_id"]))["try_number"] > ti["try_number"]
                     and t["state"] in ("success", "failed"), timeout_s=900, interval_s=1,
                     what=f"{task_id} of {ti['run_id']} tried again after {name} was killed")
            retried = try_of(ti["run_id"])
            with engine.connect() as conn:
                lost_end = conn.execute(text(
                    "SELECT end_date FROM task_instance_history WHERE dag_id = :d AND task_id LIKE :t "
                    "AND run_id = :r AND try_number = :n"),
                    {"d": dag_id, "t": f"%{task_id}", "r": ti["run_id"], "n": ti["try_number"]}).scalar()
        finally:
            engine.dispose()
        return {"worker": name, "processes_killed": len(killed), "run_id": ti["run_id"],
                "lost_try_ended_s": round((lost_end - killed_at).total_seconds(), 1) if lost_end else None,
                "retry_started_s": round((retried["start_date"] - killed_at).total_seconds(), 1),
                "retry": retried["state"]}

    def kill_scheduler(self) -> dict:
        self._order_run_after_burst(BURST // 3)
        killed = self._kill("airflow scheduler")
        return {"processes_killed": len(killed)}

    def _order_run_after_burst(self, count: int) -> None:
        """Place a burst of ``count`` orders, then return once an order run has started after it (the
        warehouse records each run's start, whatever the executor)."""
        began = place_burst(self.demo.store, count)
        warehouse = create_engine(self.demo.warehouse_url)
        try:
            wait_for(lambda: _running_since(warehouse, "orders", began), timeout_s=600, interval_s=0.2,
                     what="an order run after the burst")
        finally:
            warehouse.dispose()

    def _kill(self, marker: str) -> list[int]:
        supervisor = self.demo.airflow.recorded_pid()
        killed = component_tree(supervisor, marker) if supervisor else []
        if not killed:
            raise RuntimeError(f"no process of this demo's Airflow matches {marker!r}")
        for pid in killed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        log.info("kill -9 of %d process(es) of %r", len(killed), marker)
        return killed

    def restart_postgres(self) -> dict:
        url = make_url(self.demo.warehouse_url)
        cluster = pg_cluster(url.port or 5432)
        self._order_run_after_burst(BURST)
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "stop", "-m", "fast"],
                       check=True, timeout=120)
        try:
            time.sleep(self.pg_down_s)
        finally:
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", *cluster, "start"], check=True,
                           timeout=120)
        return {"cluster": "/".join(cluster), "down_s": self.pg_down_s}

    # -- after the heal ------------------------------------------------------------------------------------

    def fresh_again(self, outcome: Outcome, number: int) -> None:
        """From the heal: a price change committed in the ERP until the store shows it, and an order placed
        in the store until it is a confirmed ERP sale. When the shopper cancels the probe order before it
        was booked (it cancels some orders), another is placed and timed from the first one's placing."""
        probe = self.probe
        price = probe.change_price(self.plan.price_templates[number % len(self.plan.price_templates)])
        order = self._probe_order(number)
        probe.pending = [price, order]
        deadline = time.monotonic() + FRESH_TIMEOUT_S
        while probe.pending and time.monotonic() < deadline:
            probe.poll()
            if order in probe.pending and self._cancelled(order.key):
                log.info("probe order %s cancelled by the shopper before it was booked: another", order.key)
                again = self._probe_order(number)
                again.committed = order.committed
                probe.pending = [p for p in probe.pending if p is not order] + [again]
                order = again
            time.sleep(1)
        outcome.fresh_catalog_s = None if price.latency is None else round(price.latency, 1)
        outcome.fresh_orders_s = None if order.latency is None else round(order.latency, 1)
        probe.pending = []

    def _probe_order(self, number: int):
        for attempt in range(5):  # a SKU the shopper sold out meanwhile is refused by the store: another
            try:
                return self.probe.place_order(self.plan.order_skus, 1000 * number + attempt)
            except urllib.error.HTTPError as error:
                if error.code != 422:
                    raise
        raise RuntimeError("the store refused five probe orders (the probe SKUs sold out)")

    def _cancelled(self, order_id: str) -> bool:
        latest = self.demo.store.admin("GET", "/orders?limit=300")["orders"]
        return any(o["id"] == order_id and o["cancelled_at"] for o in latest)

    def drained(self, outcome: Outcome, since: dt.datetime, healed: float) -> None:
        """The row errors opened since the fault began: how many, and when all of them were resolved
        (seconds after the heal; 0 when none was opened). Those of a record's own data (the customers
        flow's refusals: an e-mail two parties share) are no fault's doing and wait for a person: counted
        apart, not waited for."""
        from erpsync.sync.customers import run as customers
        from erpsync.warehouse.schema import row_error

        engine = create_engine(self.demo.warehouse_url)
        of_data = (row_error.c.flow == customers.FLOW) & row_error.c.error_kind.in_(customers.DATA_REFUSALS)
        since_fault = select(func.count()).select_from(row_error).where(row_error.c.first_failed_at >= since)
        opened = since_fault.where(~of_data)
        try:
            def still_open() -> int:
                with engine.connect() as conn:
                    # Given up (left to a person) is not drained: a passing fault must not cost a record.
                    return conn.execute(opened.where(row_error.c.status != "resolved")).scalar()
            with engine.connect() as conn:
                outcome.errors_opened = conn.execute(opened).scalar()
                outcome.errors_of_data = conn.execute(since_fault.where(of_data)).scalar()
            if not outcome.errors_opened:
                outcome.errors_drained_s = 0.0
                return
            with contextlib.suppress(TimeoutError):
                wait_for(lambda: still_open() == 0, timeout_s=DRAIN_TIMEOUT_S, interval_s=5,
                         what="the row errors to close")
                outcome.errors_drained_s = round(time.monotonic() - healed, 1)
        finally:
            engine.dispose()

    def audited(self, outcome: Outcome, settle_s: float) -> None:
        """The shopper paused, the independent audit: orders missing and booked twice, and store levels off
        what the ERP allows, split into those that offer more than the ERP has (**overwritten**: a sale could
        oversell) and those that offer less. When the live flows left levels off (a write whose answer was
        lost can leave the store other than we believe, until the reconciliation reads it back), one
        reconciliation runs, as it would within its interval, and the audit reads again: the counts after it
        are the ones that must be zero."""
        # The shopper pauses while the audit reads: a level is checked against the orders the ERP does not
        # count yet, and under a shopper buying every second most levels would be in flight in some pass.
        store = self.demo.store
        store.admin("POST", "/shopper/stop")
        try:
            found = self._audit(settle_s)
            outcome.audit = {"flows_alone": _audit_figures(found, store)}
            if found.levels_off or found.orders_missing:
                state = reconcile(self.demo, quiet_s=0, minutes=60)["reconcile"]
                found = self._audit(settle_s)
                outcome.audit["after_reconcile"] = {"reconcile": state, **_audit_figures(found, store)}
        finally:
            store.admin("POST", "/shopper/start", SHOPPER)
        figures = _audit_figures(found)
        outcome.missing, outcome.twice = figures["orders_missing"], figures["orders_booked_twice"]
        outcome.overwritten = figures["levels_over"]

    def _audit(self, settle_s: float):
        from tests.support.audit import audit, demo_target

        if self.audit_target is None:
            # An app of its own, with its own cost bucket (in Shopify the limit is per app and store).
            token = self.demo.store.admin("POST", "/apps", {})["access_token"]
            self.audit_target = dataclasses.replace(demo_target(), store_token=token)
        return audit(self.audit_target, settle_s=settle_s, passes=4)

    def run(self, names: list[str], settle_s: float) -> list[Outcome]:
        outcomes = []
        for number, name in enumerate(names):
            outcome = Outcome(name)
            outcomes.append(outcome)
            if reason := self.applies(name):
                outcome.skipped = reason
                log.info("%s", outcome.line())
                continue
            log.info("fault %s: injected", name)
            since = dt.datetime.now(dt.UTC)
            outcome.injected = self.faults[name]()
            healed = time.monotonic()
            log.info("fault %s: healed (%s)", name, outcome.injected)
            self.fresh_again(outcome, number)
            self.drained(outcome, since, healed)
            self.audited(outcome, settle_s)
            log.info("%s", outcome.line())
        return outcomes


def _audit_figures(found, store=None) -> dict:
    """The audit's counts, its levels off split by direction, and a few of them as samples (with the
    store's history of each level when ``store`` is given)."""
    over = [level for level in found.levels_off if level["store"] > level["desired"]]
    under = [level for level in found.levels_off if level["store"] <= level["desired"]]
    summary = found.summary()
    return {"orders_missing": summary["orders_missing"],
            "orders_booked_twice": summary["orders_booked_twice"],
            "levels_checked": summary["levels_checked"],
            "levels_over": len(over),
            "levels_under": len(under),
            "outside_assortment": summary["outside_assortment"],
            "samples": {"over": level_histories(store, over) if store else over[:5],
                        "under": level_histories(store, under) if store else under[:5],
                        "missing": found.orders_missing[:5], "twice": found.orders_booked_twice[:5]}}


def _running_since(warehouse, flow: str, since: dt.datetime) -> bool:
    from erpsync.warehouse.schema import sync_run

    with warehouse.connect() as conn:
        return bool(conn.execute(select(func.count()).select_from(sync_run).where(
            sync_run.c.flow == flow, sync_run.c.started_at >= since)).scalar())


def pg_cluster(port: int) -> tuple[str, str]:
    """(version, name) of this machine's PostgreSQL cluster on ``port``, as pg_ctlcluster names it."""
    listed = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True)
    for line in listed.stdout.splitlines():
        version, name, cluster_port, *_ = line.split()
        if int(cluster_port) == port:
            return version, name
    raise RuntimeError(f"no PostgreSQL cluster of this machine listens on port {port} (pg_lsclusters): the "
                       "warehouse's server must be one pg_ctlcluster can restart")


def place_burst(store: ShopifyEmulator, count: int) -> dt.datetime:
    """Place ``count`` one-line orders in the store at once (SKUs the shopper bought: a sold-out one is
    refused by the store, as it should, and left out); returns when the burst began."""
    skus = sorted({line["sku"] for order in store.admin("GET", "/orders?limit=500")["orders"]
                   for line in order["lines"]})
    placed_at = dt.datetime.now(dt.UTC)
    placed, refused = 0, []
    while placed < count and skus:
        sku = skus[placed % len(skus)]
        try:
            store.admin("POST", "/orders", {"lines": [{"sku": sku, "quantity": 1}], "first_name": "Burst",
                                            "last_name": f"B{placed}", "email": f"b{placed}@example.com"})
        except urllib.error.HTTPError as error:
            refused.append(f"{sku}: {error.code} {error.read()[:200]!r}")
            skus.remove(sku)
            continue
        placed += 1
    if placed < count:
        raise RuntimeError(f"the store took {placed} orders of the burst of {count}; refused: {refused[:5]}")
    return placed_at


class Relay:
    """A TCP relay on loopback to ``target_port``. ``cut()``: it stops relaying, both ways, as a network
    partition that drops packets would (connections stay open, calls wait, new connections are accepted
    and wait); ``heal()``: it relays again, what it held first (TCP's retransmissions after a partition)."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self._open = threading.Event()
        self._open.set()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.held = 0  # connections that had to wait on a cut
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="relay-accept").start()

    def cut(self) -> None:
        self._open.clear()

    def heal(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._closed = True
        self._open.set()
        self._server.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        if not self._open.is_set():
            self.held += 1
            self._open.wait()
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
        except OSError:
            client.close()  # the ERP is down: refused, as it would be without the relay
            return
        upstream.settimeout(None)
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if not self._open.is_set():
                    self._open.wait()
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.chaos_faults",
                                     description=__doc__.splitlines()[0])
    every = ["store_5xx", "store_timeouts", "store_throttle", "store_lost_answers", "erp_down",
             "erp_partition", "kill_worker_booking", "kill_worker_publishing", "kill_scheduler",
             "restart_postgres"]
    parser.add_argument("--faults", default=",".join(every), help=f"comma-separated, in order; of {every}")
    parser.add_argument("--fault-s", type=float, default=120,
                        help="how long a store, ERP or network fault lasts")
    parser.add_argument("--pg-down-s", type=float, default=20, help="how long PostgreSQL stays down")
    parser.add_argument("--settle-s", type=float, default=120,
                        help="the audit's time for what is in flight")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.faults.split(",") if n.strip()]
    if unknown := sorted(set(names) - set(every)):
        parser.error(f"unknown fault(s) {unknown}: choose among {every}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S",
                        stream=sys.stdout)
    for noisy in ("urllib3", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    # Stopped (make's Ctrl-C, a CI timeout's SIGTERM): the finally below still routes the flows' ERP
    # connection past the relay, which dies with this process.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    demo = Demo.from_env()
    demo.store.admin("POST", "/shopper/start", SHOPPER)  # buying throughout, as the demo has it
    suite = Suite(demo, args.fault_s, args.pg_down_s)
    try:
        outcomes = suite.run(names, args.settle_s)
    finally:
        suite.close()
        demo.store.admin("DELETE", "/faults")
    print(f"\nFaults on the {demo.executor} executor, one at a time (shopper buying throughout):")
    for outcome in outcomes:
        print("  " + outcome.line())
    print(json.dumps([dataclasses.asdict(o) for o in outcomes], indent=2, default=str))
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
