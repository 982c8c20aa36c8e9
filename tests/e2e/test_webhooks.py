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
from erpsync.tasks.warm import WARM_MODULES
from erpsync.tryton.client import TrytonClient
from erpsync.warehouse.engine import make_engine
from erpsync.warehouse.schema import store_event
from sandbox.airflow_local import wait_for
from sandbox.tryton import catalog
from tests.conftest import scheduler_connections, trigger_and_wait
from tests.integration.flows.test_order_steps import in_stock, number, place
from tests.support.erp import sales_per_order

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


def queued_events(airflow) -> list[dict]:
    response = airflow.http.get(f"{airflow.url}/api/v2/dags/orders_sync/assets/queuedEvents", timeout=30)
    if response.status_code == 404:
        return []
    response.raise_for_status()
    return response.json()["queued_events"]


def finished(airflow) -> list[dict]:
    runs = event_runs(airflow)
    return runs if runs and all(r["state"] in ("success", "failed") for r in runs) else []


def settled(airflow, more_than: int) -> list[dict]:
    """The event runs once there are more than ``more_than``, all done, and no event waits for a run (so
    none will start): empty until then."""
    runs = finished(airflow)
    return runs if len(runs) > more_than and not queued_events(airflow) else []


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
    # The order's way had no Great Expectations import: the scheduler imported it before forking the tasks.
    log = scheduler.log_file.read_text()
    assert f"Warm task processes: imported {len(WARM_MODULES)} modules" in log
    validated = [line for line in log.splitlines()
                 if "Great Expectations ready" in line and "stage_orders" in line]
    assert validated and all("imported before this process started" in line for line in validated), validated

    # The store delivers that event again (at least once): recorded as one more delivery, no run.
    again = deliver(scheduler, order, "ev-create-1")
    assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
    # A burst: 30 events about one order within a second or so.
    burst = [deliver(scheduler, order, f"ev-burst-{n}", topic="orders/updated") for n in range(30)]
    assert [r.status_code for r in burst] == [200] * 30
    assert Counter(r.json()["outcome"] for r in burst) == Counter({"run": 30})
    runs = wait_for(lambda: settled(scheduler, 1), timeout_s=240, what="the burst's runs to finish")
    assert 2 <= len(runs) <= 3, f"a burst of 30 events made {len(runs) - 1} runs: {runs}"
    assert all(r["state"] == "success" for r in runs), runs
    assert sales_per_order(admin, [order["id"]]) == Counter({order["id"]: 1})

    forged = deliver(scheduler, order, "ev-forged", secret="shpss_not_the_secret")
    assert forged.status_code == 401 and forged.json()["outcome"] == "refused"
    # The answer comes after the receiver's work: an event it had asked for would be queued by now.
    assert queued_events(scheduler) == [] and len(event_runs(scheduler)) == len(runs), \
        "a refused delivery starts nothing"
    unknown = scheduler.http.post(f"{scheduler.url}/erpsync-webhooks/no_such_store", data=b"{}", timeout=30)
    assert unknown.status_code == 404

    with engine.connect() as conn:
        recorded = conn.execute(select(store_event.c.event_id, store_event.c.outcome,
                                       store_event.c.deliveries)
                                .order_by(store_event.c.id)).all()
    assert recorded[0] == ("ev-create-1", "run", 2)
    assert [outcome for _, outcome, _ in recorded[1:31]] == ["run"] * 30
    assert recorded[31:] == [(None, "refused", 1)]
    engine.dispose()


def test_the_store_s_own_webhooks_book_every_order_once_through_drops_duplicates_and_reordering(
        scheduler, use_warehouse, store, erp_admin, erp_sandbox, erp_settings, store_emulator):
    """The emulator delivers as Shopify does, with 20% of deliveries dropped, 10% duplicated, 10% held back
    and delivered after a later one, and 5% forged: every order is booked exactly once, by the runs the
    events start (a run reads every order changed since the last, so an order whose events were all lost
    rides along with a neighbour's) or else by the next safety-net poll (here, a run triggered like it)."""
    from erpsync.events.subscriptions import receiver_uri

    connections = scheduler_connections(erp_sandbox, erp_settings, store_emulator, use_warehouse)
    for conn in connections:
        if conn["conn_id"] == "store_default":
            conn["extra"] = json.dumps({**json.loads(conn["extra"]),
                                        "webhook_secret": store_emulator.client_secret()})
    scheduler.configure(connections=connections)
    engine = make_engine(use_warehouse)
    admin = TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)
    shop = ShopifySettings(shop_url=store.url, access_token=store.token()).store()
    trigger_and_wait(scheduler, "catalog_sync", {"full_refresh": True})
    trigger_and_wait(scheduler, "orders_sync")
    before = len(event_runs(scheduler))
    subscribed = shop.subscribe_webhooks(receiver_uri(scheduler.url, "store_default"))
    assert len(subscribed.created) + len(subscribed.kept) == 4
    try:
        store.admin("PUT", "/faults", {"seed": 16, "rules": [
            {"kind": "webhook_drop", "rate": 0.2, "match": "orders/"},
            {"kind": "webhook_duplicate", "rate": 0.1, "match": "orders/"},
            {"kind": "webhook_reorder", "rate": 0.1, "match": "orders/"},
            {"kind": "webhook_bad_signature", "rate": 0.05, "match": "orders/"}]})
        skus = in_stock(shop, 4)
        orders = []
        for n in range(16):
            orders.append(place(store, [{"sku": skus[n % 4], "quantity": 1}], email=f"hook{n}@example.com"))
        store.admin("POST", f"/orders/{number(orders[3])}/cancel", {"reason": "CUSTOMER", "restock": True})

        runs = wait_for(lambda: settled(scheduler, before), timeout_s=300,
                        what="the runs the store's events started")
        assert all(r["state"] == "success" for r in runs), runs
        # (A forged delivery is refused with 401, which the store retries, forged again or not: still going.)
        deliveries = store.admin("GET", "/webhooks?limit=500")["deliveries"]
        states = Counter(d["state"] for d in deliveries)
        assert states["dropped"] >= 1 and states["delivered"] >= 10, states
        booked_by_events = sales_per_order(admin, [o["id"] for o in orders])
        assert set(booked_by_events.values()) <= {1}, f"an order booked twice: {booked_by_events}"
        print(f"{len(orders)} orders, deliveries {dict(states)}: {len(booked_by_events)} booked by "
              f"{len(runs) - before} event-started runs")

        trigger_and_wait(scheduler, "orders_sync")  # the safety-net poll
        # Each order exactly once; the one cancelled at once, once if a run booked it before the
        # cancellation (the sale is then cancelled in the ERP), else never.
        cancelled = orders[3]["id"]
        sales = sales_per_order(admin, [o["id"] for o in orders])
        assert sales[cancelled] <= 1
        assert sales - Counter({cancelled: sales[cancelled]}) == Counter(
            o["id"] for o in orders if o["id"] != cancelled)
        with engine.connect() as conn:
            inbox = conn.execute(select(store_event.c.event_id, store_event.c.outcome,
                                        store_event.c.deliveries)).all()
        assert any(deliveries > 1 for _, _, deliveries in inbox), \
            "a duplicated delivery is counted on its event"
        assert [o for e, o, _ in inbox if e is None] == ["refused"] * sum(1 for e, _, _ in inbox if e is None)
        event_ids = [e for e, _, _ in inbox if e is not None]
        assert len(event_ids) == len(set(event_ids)), "one row per event"
    finally:
        store.admin("DELETE", "/faults")
        for node in store.admin("GET", "/webhooks?limit=1")["subscriptions"]:
            shop.client.execute(_delete_operation(), {"id": node["id"]})
        engine.dispose()


def _delete_operation():
    from erpsync.common.graphql import Operation

    return Operation("Unsubscribe", "mutation", "mutation Unsubscribe($id: ID!) { "
                     "webhookSubscriptionDelete(id: $id) { userErrors { message } } }")
