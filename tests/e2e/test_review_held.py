"""Held work decided by a person in Airflow's own UI, through the real scheduler and a real Chromium.

A price moving three times over is held by the guardrail. ``sync_watch`` sees it waiting and starts
``review_held``, whose question appears in Airflow's Required actions with the SKUs, from what to what.
Approved in the UI, the next catalog run publishes exactly that; a second swing, rejected in the UI, leaves
the store as it was, run after run. A row that gave up retrying is asked about in the same way, and "Retry
now" releases it. Expected prices come from the ERP, read here, not from the product's code.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from erpsync.shopify.settings import ShopifySettings
from erpsync.sync.state import reviews
from erpsync.tryton.client import TrytonClient
from erpsync.warehouse.engine import make_engine
from erpsync.warehouse.schema import review_decision, row_error
from sandbox.airflow_local import wait_for
from sandbox.tryton import catalog
from tests.conftest import trigger_and_wait
from tests.support.browser import SCREENSHOTS, chromium, log_in
from tests.support.erp import swing_price

pytestmark = [pytest.mark.e2e, pytest.mark.erp, pytest.mark.timeout(1800)]

QUESTION = "review_held_changes"
GIVEN_UP_QUESTION = "review_given_up_rows"


def prices(shop, skus) -> dict[str, Decimal]:
    return {v.sku: v.price for page in shop.iter_variants(skus=skus) for v in page}


def review_run(airflow, seen: set[str]) -> str:
    """Let sync_watch look once (it announces held work) and return the run of review_held that starts.
    sync_watch runs on its schedule only while unpaused: one run, then paused again, so that exactly one
    announcement (one review run) follows each step of the test."""
    airflow.wait_for_dag(airflow.http, "sync_watch")

    def runs() -> list[str]:
        return [r["dag_run_id"] for r in airflow.http.get(f"{airflow.url}/api/v2/dags/review_held/dagRuns",
                                                          params={"limit": 100}, timeout=30).json()["dag_runs"]]

    # Runs there before this look are not its own: a second sync_watch run of an earlier step (started before
    # it was paused again) announces the same held work, and its review run waits behind the first one
    # (max one active), then asks nothing once the first was answered.
    seen.update(runs())

    def started() -> str | None:
        return next((run for run in runs() if run not in seen), None)

    airflow.unpause(airflow.http, "sync_watch")
    try:
        run_id = wait_for(started, timeout_s=180, what="sync_watch to start a run of review_held")
    finally:
        airflow.http.patch(f"{airflow.url}/api/v2/dags/sync_watch", json={"is_paused": True}, timeout=30)
    seen.add(run_id)
    return run_id


def waiting(airflow, run_id: str, task_id: str) -> dict:
    """The question, once the task waits for a person (Airflow's own record of it)."""
    url = f"{airflow.url}/api/v2/dags/review_held/dagRuns/{run_id}/taskInstances/{task_id}/-1/hitlDetails"

    def asked() -> dict | None:
        response = airflow.http.get(url, timeout=30)
        state = airflow.task_states(airflow.http, "review_held", run_id).get(task_id)
        assert state not in ("failed", "upstream_failed", "skipped"), f"{task_id}: {state}"
        return response.json() if response.status_code == 200 and state == "awaiting_input" else None

    return wait_for(asked, timeout_s=180, what=f"{task_id} of {run_id} to wait for a person")


def answer_in_the_ui(driver, airflow, run_id: str, task_id: str, option: str, expect: list[str]) -> None:
    """Open the task's Required action in the UI, check it shows ``expect``, click ``option``."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # The UI re-renders while it polls: an element found a moment ago may be gone; find it again.
    wait = WebDriverWait(driver, 60, ignored_exceptions=(StaleElementReferenceException,))

    def button(d):
        return next((b for b in d.find_elements(By.TAG_NAME, "button")
                     if b.text.strip() == option and b.is_enabled()), None)

    def clicked(d) -> bool:
        found = button(d)
        if found is None:
            return False
        found.click()
        return True

    driver.get(f"{airflow.url}/dags/review_held/runs/{run_id}/tasks/{task_id}/required_actions")
    wait.until(button)
    text = wait.until(lambda d: d.find_element(By.TAG_NAME, "body").text)
    missing = [e for e in expect if e not in text]
    assert not missing, f"the Required action does not show {missing}"
    driver.save_screenshot(str(SCREENSHOTS / f"required-action-{task_id}-{option.split()[0].lower()}.png"))
    # A click the UI dropped (it re-rendered under it: seen in CI) records no answer: Airflow's own record
    # says whether one was taken; only then is the same button clicked again, on the page loaded afresh.
    hitl = f"{airflow.url}/api/v2/dags/review_held/dagRuns/{run_id}/taskInstances/{task_id}/-1/hitlDetails"
    for attempt in range(3):
        if attempt:
            driver.get(f"{airflow.url}/dags/review_held/runs/{run_id}/tasks/{task_id}/required_actions")
        wait.until(clicked)
        try:
            wait_for(lambda: airflow.http.get(hitl, timeout=30).json().get("response_received"), timeout_s=60,
                     what=f"{task_id} to record the answer {option!r}")
            break
        except TimeoutError:
            if attempt == 2:
                raise
    answer = airflow.http.get(hitl, timeout=30).json()
    assert answer["chosen_options"] == [option], answer
    wait_for(lambda: airflow.task_states(airflow.http, "review_held", run_id)[task_id] == "success", timeout_s=180,
             what=f"{task_id} to take the answer {option!r}")


def finished(airflow, run_id: str) -> None:
    state = airflow.wait_for_run(airflow.http, "review_held", run_id, timeout_s=300)
    assert state == "success", airflow.task_states(airflow.http, "review_held", run_id)


def decisions(engine) -> list[tuple]:
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(
            review_decision.c.operation, review_decision.c.record_key, review_decision.c.subject,
            review_decision.c.decision, review_decision.c.decided_by)))


def test_held_work_is_approved_and_rejected_in_airflows_ui(scheduler, use_warehouse, store, erp_admin):
    engine = make_engine(use_warehouse)
    admin = TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)
    shop = ShopifySettings(shop_url=store.url, access_token=store.token()).store()
    scheduler.unpause(scheduler.http, "review_held")
    trigger_and_wait(scheduler, "catalog_sync", {"full_refresh": True})
    seen: set[str] = set()

    approved, wanted = swing_price(admin, 60)
    approved_skus = sorted(wanted)
    rejected = None
    try:
        published = prices(shop, approved_skus)
        assert published and all(published[sku] * 2 < price for sku, price in wanted.items())
        trigger_and_wait(scheduler, "catalog_sync")
        assert prices(shop, approved_skus) == published, "held: not published"

        run_id = review_run(scheduler, seen)
        question = waiting(scheduler, run_id, QUESTION)
        assert all(sku in question["body"] and str(price) in question["body"] for sku, price in wanted.items())
        with chromium() as driver:
            log_in(driver, scheduler, "/required_actions")
            answer_in_the_ui(driver, scheduler, run_id, QUESTION, "Approve",
                             [approved_skus[0], str(wanted[approved_skus[0]]), "held by a guardrail"])
        finished(scheduler, run_id)
        trigger_and_wait(scheduler, "catalog_sync")
        assert prices(shop, approved_skus) == wanted
        assert decisions(engine) == sorted(("publish_prices", sku, str(price), "approved", "admin")
                                           for sku, price in wanted.items())

        # A second swing, and an order that gave up retrying: one review run asks both questions.
        rejected, refused = swing_price(admin, 70)
        rejected_skus = sorted(refused)
        before = prices(shop, rejected_skus)
        trigger_and_wait(scheduler, "catalog_sync")
        now = dt.datetime.now(dt.UTC)
        with engine.begin() as conn:
            conn.execute(row_error.insert().values(
                flow="orders", entity="order", record_key="gid://shopify/Order/990001", operation="create_sale",
                status="given_up", error_kind="SaleRefused", error_message="country ZZ is not in the ERP",
                attempts=12, first_failed_at=now - dt.timedelta(hours=6), last_failed_at=now, next_attempt_at=None))
        run_id = review_run(scheduler, seen)
        waiting(scheduler, run_id, QUESTION)
        waiting(scheduler, run_id, GIVEN_UP_QUESTION)
        with chromium() as driver:
            log_in(driver, scheduler, "/required_actions")
            answer_in_the_ui(driver, scheduler, run_id, GIVEN_UP_QUESTION, "Retry now",
                             ["gid://shopify/Order/990001", "country ZZ is not in the ERP"])
            answer_in_the_ui(driver, scheduler, run_id, QUESTION, "Reject",
                             [rejected_skus[0], str(refused[rejected_skus[0]])])
        finished(scheduler, run_id)
        for _ in range(2):  # rejected: the store keeps what it had, run after run, and nobody is asked again
            trigger_and_wait(scheduler, "catalog_sync")
            assert prices(shop, rejected_skus) == before
        with engine.connect() as conn:
            statuses = conn.execute(select(row_error.c.record_key, row_error.c.status, row_error.c.error_kind)
                                    .where(row_error.c.status != "resolved")).all()
        assert sorted(statuses) == sorted([("gid://shopify/Order/990001", "open", "SaleRefused"),
                                           *((sku, "open", "HeldByGuardrail") for sku in rejected_skus)])
        assert [d for d in decisions(engine) if d[3] != "approved"] == sorted(
            [("create_sale", "gid://shopify/Order/990001", now.isoformat(), "retry", "admin"),
             *(("publish_prices", sku, str(price), "rejected", "admin") for sku, price in refused.items())])
        with engine.connect() as conn:
            assert reviews.held_awaiting(conn) == [] and reviews.given_up_awaiting(conn) == [], decisions(engine)
        watch = trigger_and_wait(scheduler, "sync_watch")  # nothing undecided waits: nobody is asked again
        assert scheduler.task_states(scheduler.http, "sync_watch", watch)["announce_held_work"] == "skipped"
    finally:
        admin.model("product.template", "write", [approved["id"]], {"list_price": approved["list_price"]})
        if rejected:
            admin.model("product.template", "write", [rejected["id"]], {"list_price": rejected["list_price"]})
        engine.dispose()
