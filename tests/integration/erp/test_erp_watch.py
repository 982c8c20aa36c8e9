"""The ERP change watcher's trigger (what the triggerer runs) against the real Tryton server and a real
warehouse: one event per change, none when nothing changed, no repeat while the cursor has not moved
(nor after a restart), and it outlives an ERP outage."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import uuid
from decimal import Decimal

import pytest

from erpsync.events.erp_watch import ErpChangeTrigger
from erpsync.sync.catalog.extract import SOURCE
from erpsync.sync.catalog.watch import ANNOUNCED, WATCHED, newest_changes
from erpsync.tryton.client import TrytonClient
from erpsync.warehouse import db
from erpsync.warehouse.engine import make_engine
from sandbox.airflow_local import wait_for
from sandbox.tryton import catalog
from tests.conftest import warehouse_connection
from tests.support.erp import receive

pytestmark = pytest.mark.erp

POLL_S = 0.2
SETTLE_LOOKS = 10  # how many more looks at the ERP "no further event" is watched for
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)  # audit stamps only


@pytest.fixture(scope="module")
def admin(erp_admin) -> TrytonClient:
    return TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)


@pytest.fixture
def engine(monkeypatch, erp_sandbox, erp_settings, warehouse_url, admin):
    """The product's Connections pointing at the test ERP and this test's warehouse, whose catalog cursors
    have read everything the ERP holds so far (as after a catalog run)."""
    monkeypatch.setenv("AIRFLOW_CONN_ERP_DEFAULT", json.dumps({
        "conn_type": "tryton", "host": "127.0.0.1", "port": erp_sandbox.port, "schema": erp_settings.database,
        "login": erp_settings.login, "password": erp_settings.password,
        "extra": {"web_shop": catalog.WEB_SHOP_NAME},
    }))
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_DEFAULT", json.dumps(warehouse_connection(warehouse_url)))
    engine = make_engine(warehouse_url)
    newest = max(at for _, at in newest_changes(admin, {}, None))
    move_cursors(engine, newest + dt.timedelta(microseconds=1))
    yield engine
    engine.dispose()


def move_cursors(engine, to: dt.datetime) -> None:
    """What a catalog run's staging does: both extracts' cursors move to its window's end."""
    with engine.begin() as conn:
        for entity in WATCHED:
            db.advance_cursor(conn, SOURCE, entity, to, run_id="test", now=NOW)


class Watching:
    """The trigger's ``run()`` on an event loop of its own (as in the triggerer), collecting its events."""

    def __init__(self, **kwargs):
        self.trigger = ErpChangeTrigger(poll_seconds=POLL_S, **kwargs)
        self.looks = 0  # the trigger's looks at the ERP that returned, counted in its own thread
        look = self.trigger._look

        def counted(*args):
            found = look(*args)
            self.looks += 1
            return found

        self.trigger._look = counted
        self.events: list[dict] = []
        self.error: BaseException | None = None
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        async def consume() -> None:
            async for event in self.trigger.run():
                self.events.append(event.payload)

        self._task = self._loop.create_task(consume())
        try:
            self._loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except BaseException as error:  # noqa: BLE001 - the test reports it
            self.error = error

    def __enter__(self) -> Watching:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout=30)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and self.error is None

    def wait_for(self, count: int, timeout_s: float = 15.0) -> list[dict]:
        wait_for(lambda: len(self.events) >= count or not self.alive, timeout_s=timeout_s, interval_s=0.05,
                 what=f"{count} event(s) from the watcher (it has {len(self.events)})")
        assert self.error is None, f"the trigger died: {self.error!r}"
        return self.events

    def settle(self) -> list[dict]:
        """The events once the trigger has looked at the ERP ``SETTLE_LOOKS`` more times."""
        target = self.looks + SETTLE_LOOKS
        wait_for(lambda: self.looks >= target or not self.alive, timeout_s=30, interval_s=0.05,
                 what=f"{SETTLE_LOOKS} more looks at the ERP")
        assert self.alive, f"the trigger died: {self.error!r}"
        return self.events


def demo_template(admin: TrytonClient, offset: int) -> dict:
    (template,) = admin.model("product.template", "search_read", [("salable", "=", True)], offset, 1,
                              [("id", "ASC")], ["list_price", "products"])
    return template


def reprice(admin: TrytonClient, template: dict, factor: str = "1.10") -> dt.datetime:
    admin.model("product.template", "write", [template["id"]],
                {"list_price": (template["list_price"] * Decimal(factor)).quantize(Decimal("0.01"))})
    (row,) = admin.model("product.template", "read", [template["id"]], ["last_modified_at"])
    return row["last_modified_at"]


def describe(admin: TrytonClient, product_id: int) -> dt.datetime:
    admin.model("product.product", "write", [product_id], {"description": f"watched {uuid.uuid4().hex}"})
    (row,) = admin.model("product.product", "read", [product_id], ["last_modified_at"])
    return row["last_modified_at"]


def announced(engine) -> dt.datetime | None:
    with engine.connect() as conn:
        return db.get_cursor(conn, SOURCE, ANNOUNCED)


def test_a_quiet_erp_announces_nothing(engine):
    with Watching() as watch:
        assert watch.settle() == []
    assert announced(engine) is None


def test_each_change_is_announced_once_until_the_next_change(engine, admin):
    template = demo_template(admin, offset=120)
    with Watching() as watch:
        price_at = reprice(admin, template)
        assert watch.wait_for(1) == [{"erp_changed_at": price_at.isoformat()}]
        assert watch.settle() == [{"erp_changed_at": price_at.isoformat()}], "announced once, not each poll"

        described_at = describe(admin, template["products"][0])
        assert watch.wait_for(2)[1:] == [{"erp_changed_at": described_at.isoformat()}]
        assert len(watch.settle()) == 2

    # The catalog run those started stages the changes: its cursors pass them; nothing new to say.
    move_cursors(engine, described_at + dt.timedelta(microseconds=1))
    with Watching() as watch:
        assert watch.settle() == []
    assert announced(engine) == described_at


def test_a_restart_repeats_nothing_and_misses_nothing(engine, admin):
    template = demo_template(admin, offset=121)
    with Watching() as watch:
        price_at = reprice(admin, template)
        watch.wait_for(1)
    # Restarted (a triggerer restart, another triggerer taking over) while the run it started still runs:
    # the cursors have not moved, and the change is not announced again.
    with Watching() as watch:
        assert watch.settle() == []
    # A change made while no watcher ran is announced by the next one.
    stock_at = receive(admin, template["products"][0], admin.web_shop.warehouses[0].id, Decimal("3"))
    with Watching() as watch:
        events = watch.wait_for(1)
        assert watch.settle() == events
    assert events == [{"erp_changed_at": stock_at.isoformat()}]
    assert stock_at > price_at


def test_a_stock_move_is_announced(engine, admin):
    (product,) = demo_template(admin, offset=122)["products"][:1]
    with Watching() as watch:
        stock_at = receive(admin, product, admin.web_shop.warehouses[0].id, Decimal("2"))
        events = watch.wait_for(1)
        # Receiving is two ERP changes (the move created, then done): a watcher looking between them
        # rightly announces both, the last one at the move's final stamp.
        assert 1 <= len(watch.settle()) <= 2
    assert events[-1] == {"erp_changed_at": stock_at.isoformat()}


def test_the_watcher_outlives_an_erp_outage(engine, admin, erp_sandbox, erp_settings, caplog, capsys):
    template = demo_template(admin, offset=123)
    watch = Watching(max_backoff_seconds=1.0)
    failed: list[str] = []  # each look (or connection) that failed, in the watcher's own thread

    def counted(step):
        def run(*args):
            try:
                return step(*args)
            except Exception as error:
                failed.append(type(error).__name__)
                raise
        return run

    trigger = watch.trigger
    trigger._look, trigger._connect = counted(trigger._look), counted(trigger._connect)
    with watch:
        erp_sandbox.stop()
        try:
            # several, backing off
            wait_for(lambda: len(failed) >= 3 or not watch.alive, timeout_s=30, interval_s=0.05,
                     what="the watcher to fail three looks and keep trying")
            assert len(failed) >= 3, f"{failed}: the watcher did not keep trying"
            assert watch.alive and watch.events == []
        finally:
            erp_sandbox.start()
        price_at = reprice(admin, template)
        assert watch.wait_for(1, timeout_s=30) == [{"erp_changed_at": price_at.isoformat()}]
    # (Airflow's logging writes to stdout in a plain process, to the standard loggers in others)
    logged = capsys.readouterr().out + "\n".join(r.getMessage() for r in caplog.records)
    assert "ERP change watch failed" in logged, "the outage is logged"
    assert erp_settings.password not in logged, "no secret in the log"
