"""Store webhooks through the real Airflow API server and scheduler: a signed delivery to the receiver
(the plugin's ``/erpsync-webhooks/<connection id>``) is recorded and starts the store's order flow at once
(its interval here is an hour), which books the order; a burst of events makes a run or two, not one per
event; a delivery with a bad signature is refused with 401 and starts nothing. Deliveries are signed by
the test itself, as Shopify documents it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections import Counter

import pytest
from sqlalchemy import select

from erpsync.shopify.settings import ShopifySettings
from erpsync.tryton.client import TrytonClient
from erpsync.warehouse.engine import make_engine
from erpsync.warehouse.schema import store_event
from sandbox.airflow_local import wait_for
from sandbox.tryton import catalog
from tests.conftest import scheduler_connections, trigger_and_wait
from tests.integration.flows.test_order_steps import in_stock, number, place, sales_per_order

pytestmark = [pytest.mark.e2e, pytest.mark.erp, pytest.mark.timeout(900)]

SECRET = "shpss_e2e_webhook_secret"


def with_webhooks(connections: list[dict]) -> list[dict]:
    for conn in connections:
        if conn["conn_id"] == "store_default":
            conn["extra"] = json.dumps({**json.loads(conn["extra"]), "webhook_secret": SECRET})
    return connections


def deliver(airflow, order: dict, event_id: str, topic: str = "orders/create", secret: str = SECRET):
    body = json.dumps({"id": int(number(order)), "admin_graphql_api_id": order["id"],
                       "updated_at": order["updated_at"], "email": "ava@example.com"}).encode()
    mac = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return airflow.http.post(f"{airflow.url}/erpsync-webhooks/store_default", data=body, timeout=30, headers={
        "Content-Type": "application/json", "X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": mac,
        "X-Shopify-Event-Id": event_id, "X-Shopify-Triggered-At": order["updated_at"],
        "X-Shopify-Shop-Domain": "demo-store.myshopify.com"})


def event_runs(airflow) -> list[dict]:
    response = airflow.http.get(f"{airflow.url}/api/v2/dags/orders_sync/dagRuns",
                                params={"run_type": "asset_triggered", "limit": 100}, timeout=30)
    response.raise_for_status()
    return response.json()["dag_runs"]


def finished(airflow) -> list[dict]:
    runs = event_runs(airflow)
    return runs if runs and all(r["state"] in ("success", "failed") for r in runs) else []


def test_a_store_webhook_books_its_order_at_once_and_a_burst_makes_a_run_or_two(
        scheduler, use_warehouse, store, erp_admin, erp_sandbox, erp_settings, store_emulator):
    scheduler.configure(connections=with_webhooks(
        scheduler_connections(erp_sandbox, erp_settings, store_emulator, use_warehouse)))
    engine = make_engine(use_warehouse)
    admin = TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)
    shop = ShopifySettings(shop_url=store.url, access_token=store.token()).store()
    trigger_and_wait(scheduler, "catalog_sync", {"full_refresh": True})
    trigger_and_wait(scheduler, "orders_sync")  # unpaused, its hourly interval's run done: quiet from here
    assert event_runs(scheduler) == []

    sku = in_stock(shop, 1)[0]
    order = place(store, [{"sku": sku, "quantity": 1}])
    sent = time.monotonic()
    answer = deliver(scheduler, order, "ev-create-1")
    assert (answer.status_code, answer.json()["outcome"]) == (200, "run"), answer.text
    [run] = wait_for(lambda: finished(scheduler), timeout_s=180, what="the run the webhook asked for")
    booked_after = time.monotonic() - sent
    assert run["state"] == "success", scheduler.task_states(scheduler.http, "orders_sync", run["dag_run_id"])
    assert sales_per_order(admin, [order["id"]]) == Counter({order["id"]: 1})
    print(f"webhook -> order booked in the ERP: {booked_after:.1f} s")

    # The store delivers that event again (at least once): recorded as one more delivery, no run.
    again = deliver(scheduler, order, "ev-create-1")
    assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
    # A burst: 30 events about one order within a second or so.
    burst = [deliver(scheduler, order, f"ev-burst-{n}", topic="orders/updated") for n in range(30)]
    assert [r.status_code for r in burst] == [200] * 30
    assert Counter(r.json()["outcome"] for r in burst) == Counter({"run": 30})
    runs = wait_for(lambda: len(finished(scheduler)) > 1 and finished(scheduler), timeout_s=240,
                    what="the burst's runs to finish")
    time.sleep(5)  # any further run the burst caused would be created by now
    runs = event_runs(scheduler)
    assert 2 <= len(runs) <= 3, f"a burst of 30 events made {len(runs) - 1} runs: {runs}"
    assert all(r["state"] == "success" for r in runs), runs
    assert sales_per_order(admin, [order["id"]]) == Counter({order["id"]: 1})

    forged = deliver(scheduler, order, "ev-forged", secret="shpss_not_the_secret")
    assert forged.status_code == 401 and forged.json()["outcome"] == "refused"
    time.sleep(3)
    assert len(event_runs(scheduler)) == len(runs), "a refused delivery starts nothing"
    unknown = scheduler.http.post(f"{scheduler.url}/erpsync-webhooks/no_such_store", data=b"{}", timeout=30)
    assert unknown.status_code == 404

    with engine.connect() as conn:
        recorded = conn.execute(select(store_event.c.event_id, store_event.c.outcome, store_event.c.deliveries)
                                .order_by(store_event.c.id)).all()
    assert recorded[0] == ("ev-create-1", "run", 2)
    assert [outcome for _, outcome, _ in recorded[1:31]] == ["run"] * 30
    assert recorded[31:] == [(None, "refused", 1)]
    engine.dispose()
