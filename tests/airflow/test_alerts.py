"""Alerts, run by Airflow (dag.test), received by a local SMTP server and a local HTTP endpoint standing
in for Slack: each kind exactly once while the problem lasts, a recovery message when it clears, and
never a secret or a customer's data. (Quarantine and guardrail alerts: test_catalog_quality; held
orders: test_orders_dag.)"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import uuid
from html import escape
from urllib.parse import quote

import pytest
from sqlalchemy import delete, select, update

from erpsync.warehouse.engine import make_engine
from erpsync.warehouse.schema import row_error, sync_run
from erpsync.shopify.settings import ShopifySettings
from tests.airflow.conftest import load_dag, run_dag
from tests.conftest import free_port, warehouse_connection
from tests.support.alerts import AlertChannels

pytestmark = [pytest.mark.airflow]

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def assert_clean(channels: AlertChannels, secrets: list[str]) -> None:
    """No secret; no e-mail address but the alert recipients' own."""
    for text in channels.texts():
        assert not any(secret and secret in text for secret in secrets), text
        assert set(EMAIL.findall(text)) <= {AlertChannels.RECIPIENT, "erpsync@example.com"}, text


@pytest.mark.erp
def test_a_failed_task_alerts_once_on_both_channels_and_recovery_is_announced(
    airflow_connections, airflow_db, erp_sandbox, erp_settings, store, monkeypatch
):
    dag = load_dag("catalog_sync")
    for task in dag.tasks:
        task.retries = 0  # "after its retries": none here, to keep the test short
    with AlertChannels(monkeypatch) as channels:
        run_dag(dag, full_refresh=True)
        assert channels.count == 0

        # The ERP goes away (its login is kept: the alert must not show it).
        connection = json.loads(os.environ["AIRFLOW_CONN_ERP_DEFAULT"])
        monkeypatch.setenv("AIRFLOW_CONN_ERP_DEFAULT", json.dumps({**connection, "port": free_port()}))
        failed = run_dag(dag, expect="failed")
        assert channels.titled("FAILED catalog_sync.extract_products") == 1
        assert channels.titled("FAILED catalog_sync.extract_stock") == 1
        assert channels.count == 2, channels.slack.messages  # not the closing task, nor what never ran
        message = channels.slack.titled("FAILED catalog_sync.extract_products")[0]
        assert "ErpTransportError" in message and failed.run_id in message and "/dags/catalog_sync/runs/" in message

        run_dag(dag, expect="failed")  # still down: the same problem, no new message
        assert channels.count == 2

        monkeypatch.setenv("AIRFLOW_CONN_ERP_DEFAULT", json.dumps(connection))
        run_dag(dag)
        assert channels.titled("RESOLVED: FAILED catalog_sync.extract_products") == 1
        assert channels.titled("RESOLVED: FAILED catalog_sync.extract_stock") == 1
        assert channels.count == 4
        assert_clean(channels, [erp_settings.password, store.token()])


def test_stale_data_and_stuck_rows_alert_once_and_clear(warehouse_url, airflow_db, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_DEFAULT", json.dumps(warehouse_connection(warehouse_url)))
    monkeypatch.setenv("AIRFLOW_VAR_ERPSYNC_ALERTS", json.dumps({"freshness_minutes": {"catalog": 15, "orders": 10},
                                                                 "stuck_after_attempts": 5}))
    engine = make_engine(warehouse_url)
    now = dt.datetime.now(dt.UTC)
    _run(engine, "catalog", "catalog_sync", finished=now - dt.timedelta(hours=2))
    _run(engine, "orders", "orders_sync", finished=now - dt.timedelta(minutes=1))
    with engine.begin() as conn:
        conn.execute(row_error.insert(), [{
            "flow": "catalog", "entity": "variant", "record_key": f"JKT-{i:04d}-M", "operation": "publish_content",
            "status": "open", "error_kind": "ProductSetRefused", "error_message": "Title can't be blank",
            "attempts": 7, "first_failed_at": now - dt.timedelta(hours=3), "last_failed_at": now,
            "next_attempt_at": now + dt.timedelta(hours=1)} for i in range(3)])
    watch = load_dag("sync_watch")
    with AlertChannels(monkeypatch) as channels:
        run_dag(watch)
        assert channels.titled("STALE catalog") == 1
        assert channels.titled("STALE orders") == 0
        assert channels.titled("STUCK catalog: 3 row(s)") == 1
        stuck = channels.slack.titled("STUCK catalog")[0]
        assert "publish_content ProductSetRefused: 3" in stuck and "JKT-0000-M" in stuck
        assert channels.count == 2

        run_dag(watch)  # still so: suppressed
        assert channels.count == 2

        _run(engine, "catalog", "catalog_sync", finished=dt.datetime.now(dt.UTC))
        with engine.begin() as conn:
            conn.execute(row_error.update().values(status="resolved", resolved_at=dt.datetime.now(dt.UTC)))
        run_dag(watch)
        assert channels.titled("RESOLVED: STALE catalog") == 1
        assert channels.titled("RESOLVED: STUCK catalog") == 1
        assert channels.count == 4
        assert_clean(channels, [])
    with engine.begin() as conn:
        conn.execute(delete(sync_run))
    engine.dispose()


@pytest.mark.erp
def test_a_step_failing_run_after_run_is_stale_on_its_own_and_its_alert_names_it(
    catalog_dag, orders_dag, airflow_connections, erp_admin, store, monkeypatch
):
    """The order flow fails in every run because its fulfillment step cannot reach the store, while
    orders are booked in each of those runs: the alert and the health page say that shipments are stale
    (with the error the step raised and its log), not that orders are."""
    from erpsync.health import page
    from erpsync.tryton.client import TrytonClient
    from erpsync.warehouse.schema import sync_step
    from sandbox.tryton import catalog
    from tests.integration.flows.test_order_steps import erp_sales, in_stock, place, ship

    monkeypatch.setenv("AIRFLOW__ERPSYNC__EXTRACT_LAG_SECONDS", "1")
    monkeypatch.setenv("AIRFLOW_VAR_ERPSYNC_ALERTS", json.dumps({"freshness_minutes": {"catalog": 60, "orders": 1}}))
    for task in orders_dag.tasks:
        task.retries = 0
    engine = make_engine(airflow_connections)
    admin = TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)
    shop = ShopifySettings(shop_url=store.url, access_token=store.token()).store()
    watch = load_dag("sync_watch")
    step = "shipments sent to the store (push_fulfillments)"
    with AlertChannels(monkeypatch) as channels:
        run_dag(catalog_dag, full_refresh=True)
        first = place(store, [{"sku": in_stock(shop, 1)[0], "quantity": 1}], email="shipped@example.com")
        run_dag(orders_dag, full_refresh=False)
        with engine.connect() as conn:
            fulfilled_at, shop_name = conn.execute(select(sync_step.c.last_success_at, sync_step.c.store).where(
                sync_step.c.step == "push_fulfillments")).one()
        assert shop_name, "the order flow's steps are its store's"
        (sale,) = erp_sales(admin, [first["id"]]).values()
        ship(admin, sale["id"], tracking="1Z999AA10123456802")

        store.admin("PUT", "/faults", {"seed": 1, "rules": [
            {"kind": "error_5xx", "rate": 1.0, "status": 503, "match": "FulfillmentOrders"}]})
        second = place(store, [{"sku": in_stock(shop, 1)[0], "quantity": 1}], email="booked@example.com")
        failed = run_dag(orders_dag, expect="failed", full_refresh=False)
        states = {ti.task_id: ti.state for ti in failed.get_task_instances()}
        assert states["push_fulfillments"] == "failed" and states["ingest_orders"] == "success", states
        assert erp_sales(admin, [second["id"]]), "booked in the run whose fulfillments failed"
        # A minute after the last successful fulfillment step (its success moved a minute back rather
        # than waited for); the booking step succeeded since, just now.
        now = dt.datetime.now(dt.UTC).replace(tzinfo=fulfilled_at.tzinfo and dt.UTC)
        assert fulfilled_at < now - dt.timedelta(seconds=5)
        with engine.begin() as conn:
            conn.execute(update(sync_step).where(sync_step.c.step == "push_fulfillments")
                         .values(last_success_at=now - dt.timedelta(seconds=61)))
        run_dag(watch)

        stale = [title for title in channels.slack.titles() if title.startswith("STALE")]
        # The order flow is the store's: its steps, and their alerts, name the store.
        assert stale == [f"STALE orders in {shop_name}: {step} not done for 1 min"], stale
        (message,) = channels.slack.titled(f"STALE orders in {shop_name}: {step}")
        assert "StoreTransportError" in message and "503" in message, message
        assert "Still fresh: " in message and "orders booked in the ERP (ingest_orders)" in message, message
        log = f"/dags/orders_sync/runs/{quote(failed.run_id)}/tasks/push_fulfillments?try_number=1"
        assert log in message, message

        html = page.render(page.snapshot(engine, {"catalog": 60, "orders": 1}, dt.datetime.now(dt.UTC)))
        row = html[html.index(f"<tr id='step-orders-push_fulfillments@{shop_name}' data-store='{shop_name}'>"):]
        row = row[:row.index("</tr>")]
        assert "(stale)" in row and "StoreTransportError" in row and escape(log) in row, row
        booking = html[html.index(f"<tr id='step-orders-ingest_orders@{shop_name}' data-store='{shop_name}'>"):]
        assert "(fresh)" in booking[:booking.index("</tr>")]

        store.admin("DELETE", "/faults")
        run_dag(orders_dag, full_refresh=False)
        run_dag(watch)
        assert channels.titled(f"RESOLVED: STALE orders in {shop_name}: {step}") == 1
        assert [t for t in channels.slack.titles() if t.startswith("STALE")] == stale, "one alert, then its recovery"
        assert_clean(channels, [store.token()])
    engine.dispose()


@pytest.mark.erp
def test_reconciliation_drift_alerts_above_its_threshold_and_clears(
    airflow_connections, airflow_db, erp_settings, store, monkeypatch
):
    from erpsync.shopify.settings import ShopifySettings
    from erpsync.store.records import InventoryChange
    from tests.integration.flows.test_order_steps import in_stock, place

    monkeypatch.setenv("AIRFLOW_VAR_ERPSYNC_ALERTS", json.dumps({"max_catalog_drift": 0}))
    shop = ShopifySettings(shop_url=store.url, access_token=store.token()).store()
    reconcile = load_dag("reconcile")
    with AlertChannels(monkeypatch) as channels:
        run_dag(load_dag("catalog_sync"), full_refresh=True)
        run_dag(reconcile)
        assert channels.count == 0

        sku = in_stock(shop, 1)[0]
        variant = next(v for page in shop.iter_variants(skus=[sku]) for v in page)
        location = shop.locations()[0].id
        level = shop.inventory_levels([variant.inventory_item_id], [location])[0].available
        shop.set_inventory([InventoryChange(variant.inventory_item_id, location, level + 25, level)],
                           idempotency_key=f"manual-{uuid.uuid4().hex}")
        customer = place(store, [{"sku": sku, "quantity": 1}], email="drift.customer@example.com")
        drifted = run_dag(reconcile)
        assert channels.titled("DRIFT catalog: 1 difference") == 1, json.dumps(_counts(airflow_connections, drifted.run_id))
        assert channels.titled("DRIFT orders") == 0  # the missing order was booked by the reconciliation
        assert channels.count == 1

        run_dag(reconcile)
        assert channels.titled("RESOLVED: DRIFT catalog") == 1
        assert channels.count == 2
        assert_clean(channels, [erp_settings.password, store.token(), customer.get("email") or ""])


def _counts(warehouse_url: str, run_id: str) -> dict:
    engine = make_engine(warehouse_url)
    with engine.connect() as conn:
        counts = conn.execute(select(sync_run.c.counts).where(sync_run.c.run_id == run_id)).scalar_one()
    engine.dispose()
    return counts


def _run(engine, flow: str, dag_id: str, *, finished: dt.datetime) -> None:
    with engine.begin() as conn:
        conn.execute(sync_run.insert().values(
            flow=flow, dag_id=dag_id, run_id=f"manual__{uuid.uuid4().hex}", status="success",
            started_at=finished - dt.timedelta(seconds=20), finished_at=finished, counts={}, timings={}))



def test_a_broken_alert_channel_is_an_error_and_never_keeps_the_alert_from_the_others(warehouse_url, airflow_db,
                                                                                     monkeypatch):
    from erpsync.alerts import channels as alert_channels
    from erpsync.alerts.book import Alert, AlertBook

    engine = make_engine(warehouse_url)
    now = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)
    alert = Alert("test:broken-channel", "failure", "FAILED test_dag.some_task", ["what happened"])
    with AlertChannels(monkeypatch) as channels:
        # The e-mail channel is defined, but its Connection cannot be read (malformed JSON).
        monkeypatch.setenv("AIRFLOW_CONN_ALERTS_EMAIL", '{"conn_type": "smtp", "host": ')
        book = AlertBook(engine, alert_channels.send)
        assert book.fire(alert, now)
        assert len(channels.slack.titled("FAILED test_dag.some_task")) == 1 and channels.smtp.messages == []
        with pytest.raises(alert_channels.AlertDeliveryError) as raised:
            book.raise_undelivered()
        assert raised.value.delivered == ["slack"] and list(raised.value.broken) == ["alerts_email"]
        assert "alerts_email" in str(raised.value) and "Admin > Connections" in str(raised.value)

        # Recorded as sent: the next run does not send Slack the same alert again.
        again = AlertBook(engine, alert_channels.send)
        assert not again.fire(alert, now + dt.timedelta(minutes=1))
        again.raise_undelivered()
        assert len(channels.slack.messages) == 1

        # No channel takes an alert: it is not recorded as sent, so the next run sends it again.
        monkeypatch.setenv("AIRFLOW_CONN_ALERTS_SLACK", "{")
        other = Alert("test:nowhere", "failure", "FAILED test_dag.other_task", ["what happened"])
        nowhere = AlertBook(engine, alert_channels.send)
        assert not nowhere.fire(other, now)
        with pytest.raises(alert_channels.AlertDeliveryError) as raised:
            nowhere.raise_undelivered()
        assert raised.value.delivered == [] and set(raised.value.broken) == {"alerts_slack", "alerts_email"}
        assert nowhere.firing("test:nowhere") == []
    engine.dispose()


def test_a_channel_the_team_relies_on_without_its_connection_is_an_error(airflow_db, monkeypatch):
    from erpsync.alerts import channels as alert_channels

    with AlertChannels(monkeypatch) as channels:
        monkeypatch.delenv("AIRFLOW_CONN_ALERTS_EMAIL")
        assert alert_channels.send("[erpsync] optional e-mail", "text") == ["slack"], "e-mail is simply off"
        monkeypatch.setenv("AIRFLOW_VAR_ERPSYNC_ALERTS", json.dumps({"channels": ["slack", "email"]}))
        with pytest.raises(alert_channels.AlertDeliveryError) as raised:
            alert_channels.send("[erpsync] e-mail relied on", "text")
        assert raised.value.delivered == ["slack"] and list(raised.value.broken) == ["alerts_email"]
        assert len(channels.slack.titled("e-mail relied on")) == 1
