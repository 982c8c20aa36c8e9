"""The sync-health page inside the running Airflow (the plugin), over a warehouse in a known state: closed
to visitors without a session, and, logged in through Airflow's own login page in a real headless
Chromium, showing the figures of that state. Screenshots go to var/screenshots/ for people to look at."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import requests

from erpsync.warehouse.engine import make_engine
from erpsync.warehouse.schema import alert_state, quarantine, row_error, store_event, sync_run, sync_step
from tests.support.browser import SCREENSHOTS, chromium, log_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def known_state(engine) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    runs = []
    # The first store's latest new orders came by webhook (an asset-triggered run,
    # the first recorded; the later ones staged nothing); the second has none.
    by_event = {"store": FIRST_STORE, "flow": "orders", "dag_id": "orders_sync",
                 "run_id": "asset_triggered__orders3",
                 "window_end": now - dt.timedelta(minutes=2), "status": "success",
                 "started_at": now - dt.timedelta(minutes=2), "finished_at": now - dt.timedelta(seconds=110),
                 "timings": {}, "error": None,
                 "counts": {"stage_orders": {"staged": 2}, "ingest_orders": {"created": 2}}}
    for i in range(6):  # catalog: a run every 30 s, the last one 20 s ago
        end = now - dt.timedelta(seconds=20 + 30 * (5 - i))
        runs.append({"flow": "catalog", "dag_id": "catalog_sync", "run_id": f"scheduled__catalog{i}",
                     "window_end": end - dt.timedelta(seconds=10), "status": "success",
                     "started_at": end - dt.timedelta(seconds=8), "finished_at": end, "timings": {}, "error": None,
                     "counts": {"extract_products": {"rows": 100 * i}, "extract_stock": {"rows": 40},
                                "publish_inventory": {"applied": 7, "dry_run": False}}})
    for i in range(3):
        end = now - dt.timedelta(minutes=30 - 5 * i)
        runs.append({"flow": "orders", "dag_id": "orders_sync", "run_id": f"scheduled__orders{i}",
                     "window_end": end - dt.timedelta(seconds=5), "status": "failed" if i == 2 else "success",
                     "started_at": end - dt.timedelta(seconds=6), "finished_at": end, "timings": {},
                     "error": "step(s) without a result: ingest_orders (see their logs)" if i == 2 else None,
                     "counts": {"extract_orders": {"rows": 12}, "ingest_orders": {"created": 11}}})
    runs.append({"flow": "reconcile", "dag_id": "reconcile", "run_id": "scheduled__reconcile0", "status": "success",
                 "window_end": now - dt.timedelta(minutes=3), "started_at": now - dt.timedelta(minutes=3),
                 "finished_at": now - dt.timedelta(minutes=2), "timings": {}, "error": None, "counts": {
                     "reconcile_catalog": {"variants_in_store": 540, "levels_in_store": 1080, "missing_in_store": 2,
                                           "status_drift": 0, "price_drift": 1, "inventory_drift": 3,
                                           "unmanaged_in_store": 0, "repaired": {"publish_content": 1,
                                                                                 "publish_prices": 1,
                                                                                 "publish_inventory": 3}},
                     "reconcile_orders": {"orders_in_store": 87, "missing_in_erp": 1, "in_flight": 12, "booked": 1,
                                          "still_missing": 0, "duplicates": 0}}})
    with engine.begin() as conn:
        conn.execute(sync_run.insert(), [by_event])
        conn.execute(sync_run.insert(), runs)
        conn.execute(quarantine.insert(), [
            {"store": "", "source": "erp", "entity": "product", "record_key": sku, "batch_id": "b1", "run_id": "scheduled__catalog5",
             "failed_expectations": ["list_price_positive"], "reason": "list price 0: set a price in the ERP",
             "payload": {"sku": sku}, "status": "open", "quarantined_at": now - dt.timedelta(minutes=9)}
            for sku in ("JKT-0001-M", "JKT-0001-L")] + [
            {"store": SECOND_STORE, "source": "store", "entity": "order", "record_key": "vendure:Order/7",
             "batch_id": "b2", "run_id": "scheduled__orders2", "failed_expectations": ["customer_contact"],
             "reason": "no e-mail and no phone: the ERP cannot match a party", "payload": {"id": 7},
             "status": "open", "quarantined_at": now - dt.timedelta(minutes=4)}])
        conn.execute(row_error.insert(), [
            {"store": FIRST_STORE, "flow": "catalog", "entity": "variant", "record_key": "PRK-0002-S", "operation": "publish_prices",
             "status": "open", "error_kind": "HeldByGuardrail",
             "error_message": "price_swing: the price moves 212% (limit 50%)", "attempts": 2,
             "first_failed_at": now - dt.timedelta(minutes=8), "last_failed_at": now, "next_attempt_at": now,
             "payload": {"from": "31.95", "to": "99.50", "move": "211%"}},
            {"store": FIRST_STORE, "flow": "orders", "entity": "order", "record_key": "gid://shopify/Order/1001", "operation": "create_sale",
             "status": "given_up", "error_kind": "SaleRefused", "error_message": "party blocked in the ERP",
             "attempts": 12, "first_failed_at": now - dt.timedelta(hours=7), "last_failed_at": now,
             "next_attempt_at": None, "payload": None},
            {"store": FIRST_STORE, "flow": "orders", "entity": "order", "record_key": "gid://shopify/Order/1042", "operation": "create_sale",
             "status": "open", "error_kind": "SaleRefused", "error_message": "country XK is not in the ERP",
             "attempts": 6, "first_failed_at": now - dt.timedelta(hours=2), "last_failed_at": now,
             "next_attempt_at": now + dt.timedelta(hours=1), "payload": None},
            {"store": SECOND_STORE, "flow": "orders", "entity": "order", "record_key": "vendure:Order/9",
             "operation": "create_sale", "status": "open", "error_kind": "SaleRefused",
             "error_message": "country ZZ is not in the ERP", "attempts": 1,
             "first_failed_at": now - dt.timedelta(minutes=3), "last_failed_at": now,
             "next_attempt_at": now + dt.timedelta(minutes=1), "payload": None}])
        conn.execute(sync_step.insert(), [
            {"flow": "orders", "step": "extract_orders", "dag_id": "orders_sync",
             "last_success_at": now - dt.timedelta(minutes=20), "last_success_run_id": "scheduled__orders2",
             "last_failed_at": None, "last_failed_run_id": None, "last_error": None, "last_error_run_id": None,
             "last_error_try": None},
            {"flow": "orders", "step": "ingest_orders", "dag_id": "orders_sync",
             "last_success_at": now - dt.timedelta(minutes=25), "last_success_run_id": "scheduled__orders1",
             "last_failed_at": now - dt.timedelta(minutes=20), "last_failed_run_id": "scheduled__orders2",
             "last_error": "ErpTransportError: the ERP did not answer", "last_error_run_id": "scheduled__orders2",
             "last_error_try": 2}])
        conn.execute(store_event.insert(), [
            {"store": FIRST_STORE, "event_id": f"ev-{i}", "topic": "orders/create", "outcome": "run",
             "deliveries": 1,
             "received_at": now - dt.timedelta(minutes=2 + i)} for i in range(3)] + [
            {"store": FIRST_STORE, "event_id": None, "topic": "orders/create", "outcome": "refused",
             "deliveries": 1, "received_at": now - dt.timedelta(minutes=1),
             "reason": "the X-Shopify-Hmac-Sha256 signature does not match"}])
        conn.execute(alert_state.insert().values(
            alert_key="catalog_sync/quarantine/erp.product", kind="quarantine", status="firing",
            title="QUARANTINE erp.product: 2 row(s) held back", details=[], occurrences=3,
            first_seen_at=now - dt.timedelta(minutes=9), last_seen_at=now, last_sent_at=now))


FIRST_STORE, SECOND_STORE = "demo-store.myshopify.com", "vendure-demo"  # rows carry their store's name

EXPECTED = ["JKT-0001-M", "list_price_positive: 2", "HELD by a guardrail", "PRK-0002-S", "SaleRefused",
            "country XK is not in the ERP", "QUARANTINE erp.product: 2 row(s) held back", "Inventory drift",
            "Not in the ERP yet, left to the order flow (in flight)",
            "step(s) without a result: ingest_orders", "Data staleness at run end", "Throughput (rows/s)",
            "orders booked in the ERP (ingest_orders)", "ErpTransportError: the ERP did not answer",
            "/dags/orders_sync/runs/scheduled__orders2/tasks/ingest_orders?try_number=2",
            # Row by row: each quarantined row with its reason, each held or given-up row with what to do.
            "list price 0: set a price in the ERP", "31.95 → 99.50 (211%)", "party blocked in the ERP", "(gave up)",
            "decide in Required actions", "/required_actions?response_received=false", "Rows 1-3 of 3",
            "Rows 1-4 of 4", "retried by the next run from",
            # What the runs did, in the reader's words, counted here from the runs above: 6 catalog runs
            # published 7 levels each; 3 order runs booked 11 orders each, and one started by an event 2.
            "42 levels published", "35 orders booked in the ERP",
            # How each store's changes arrive: the first's last new orders by event, its deliveries of the
            # hour.
            "How store changes arrive", "1 refused, 3 run"]


def test_the_sync_health_page_shows_a_known_state_to_logged_in_users_only(scheduler, use_warehouse):
    engine = make_engine(use_warehouse)
    known_state(engine)
    engine.dispose()
    page = f"{scheduler.url}/erpsync/health"

    anonymous = requests.get(page, headers={"Accept": "application/json"}, timeout=30)
    assert anonymous.status_code == 401
    browser = requests.get(page, headers={"Accept": "text/html"}, timeout=30, allow_redirects=False)
    assert browser.status_code == 303 and "/auth/login" in browser.headers["location"]
    forged = requests.get(page, headers={"Authorization": f"Bearer {uuid.uuid4().hex}"}, timeout=30)
    assert forged.status_code in (401, 403)

    response = scheduler.http.get(page, timeout=60)
    assert response.status_code == 200, response.text[:500]
    html = response.text
    missing = [text for text in EXPECTED if text not in html]
    assert not missing, missing
    assert f"{FIRST_STORE}</td><td class=ok>event (" in html  # its last new orders came by webhook
    queries = int(response.headers["X-Sync-Health-Queries"])
    print(f"sync-health page: {queries} queries, {response.headers['X-Sync-Health-Ms']} ms")
    assert queries <= 17  # one or two per section (8 sections), whatever the number of rows

    # The lists filtered: one dataset of the quarantine, one flow of the error queue.
    html = scheduler.http.get(page, params={"dataset": "erp.stock_level", "flow": "orders"}, timeout=60).text
    assert "id=quarantine-rows" not in html, "no row of erp.stock_level is quarantined"
    error_rows = html.split("id=error-rows")[1].split("<h2>")[0]
    assert "gid://shopify/Order/1042" in error_rows and "gid://shopify/Order/1001" in error_rows
    assert "vendure:Order/9" in error_rows
    assert "PRK-0002-S" not in error_rows and "Rows 1-3 of 3" in error_rows
    html = scheduler.http.get(page, params={"dataset": "erp.product"}, timeout=60).text
    quarantined = html.split("id=quarantine-rows")[1].split("<h2>")[0]
    assert "JKT-0001-M" in quarantined and "vendure:Order/7" not in quarantined

    # One store's rows (its links in the lists narrow them to it): the other rows are not listed.
    unfiltered = scheduler.http.get(page, timeout=60).text
    assert f"?store={SECOND_STORE}#quarantine-rows" in unfiltered and f"?store={SECOND_STORE}#error-rows" in unfiltered
    assert f"?dataset=store.order&store={SECOND_STORE}#quarantine-rows" in unfiltered
    html = scheduler.http.get(page, params={"store": SECOND_STORE}, timeout=60).text
    quarantined = html.split("id=quarantine-rows")[1].split("<h2>")[0]
    error_rows = html.split("id=error-rows")[1].split("<h2>")[0]
    assert "vendure:Order/7" in quarantined and "no e-mail and no phone" in quarantined
    assert "JKT-0001-M" not in quarantined and "Rows 1-1 of 1" in quarantined
    assert f"Row by row in store {SECOND_STORE}" in quarantined
    assert "vendure:Order/9" in error_rows and "country ZZ is not in the ERP" in error_rows
    assert "gid://shopify/Order/1042" not in error_rows and "PRK-0002-S" not in error_rows
    assert "Rows 1-1 of 1" in error_rows
    html = scheduler.http.get(page, params={"store": SECOND_STORE, "flow": "catalog"}, timeout=60).text
    assert "Rows 0-0 of 0" in html.split("id=error-rows")[1], "no catalog row of that store"
    plugins = scheduler.http.get(f"{scheduler.url}/api/v2/plugins", timeout=30).json()["plugins"]
    ours = next(p for p in plugins if p["name"] == "erpsync_health")
    assert ours["external_views"][0]["url_route"] == "sync-health"

    shots = in_chromium(scheduler)
    assert all(path.stat().st_size > 10_000 for path in shots)


# Which elements of a document scroll (their content overflows and their style lets them scroll).
SCROLL_PROBE = """
const out = [];
for (const el of [document.scrollingElement, ...document.querySelectorAll('*')]) {
  const style = getComputedStyle(el);
  const scrolls = el === document.scrollingElement ? style.overflowY !== 'hidden'
                                                   : /(auto|scroll)/.test(style.overflowY);
  if (scrolls && el.scrollHeight > el.clientHeight + 1)
    out.push(`${el.tagName}.${el.className}: ${el.scrollHeight}/${el.clientHeight}`);
}
return out;
"""


def in_chromium(scheduler) -> list:
    """Log in through Airflow's login page, open the page from the UI's navigation, take screenshots."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    with chromium() as driver:
        wait = WebDriverWait(driver, 60)
        log_in(driver, scheduler, "/erpsync/health")  # not logged in: sent to Airflow's login page

        driver.set_window_size(1280, 800)  # a laptop's screen: the page is longer than Airflow's frame
        driver.get(f"{scheduler.url}/plugin/sync-health")  # the page in the UI, under its navigation entry
        frame = wait.until(ec.presence_of_element_located((By.TAG_NAME, "iframe")))
        driver.switch_to.frame(frame)
        wait.until(ec.presence_of_element_located((By.ID, "drift")))
        body = driver.find_element(By.TAG_NAME, "body").text
        missing = [text for text in EXPECTED if text not in body and text not in driver.page_source]
        assert not missing, missing
        # One scrollbar: the page's own, inside Airflow's frame; neither Airflow's page around it nor an
        # element of ours scrolls as well.
        inner = set(driver.execute_script(SCROLL_PROBE))
        driver.switch_to.default_content()
        outer = driver.execute_script(SCROLL_PROBE)
        assert len(inner) == 1 and next(iter(inner)).startswith("HTML."), inner
        assert outer == [], f"Airflow's page scrolls around the frame too: {outer}"
        in_ui = SCREENSHOTS / "sync-health-in-airflow-ui.png"
        driver.save_screenshot(str(in_ui))

        driver.get(f"{scheduler.url}/erpsync/health")
        wait.until(ec.presence_of_element_located((By.ID, "drift")))
        height = driver.execute_script("return document.body.scrollHeight")
        driver.set_window_size(1440, max(900, height + 40))
        page = SCREENSHOTS / "sync-health.png"
        driver.save_screenshot(str(page))
        print(f"screenshots: {in_ui} {page}")
        return [in_ui, page]
