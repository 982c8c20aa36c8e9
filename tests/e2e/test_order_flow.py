"""The order flow end to end through the real Airflow scheduler, against the sandbox Tryton server and
the store emulator, on both warehouse engines: orders booked exactly once with matching totals, changes
applied once, a cleared run and a backfill (twice) that double nothing and recover a missed window."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import select

from erpsync.shopify.settings import ShopifySettings
from erpsync.tryton.client import TrytonClient
from erpsync.warehouse.engine import make_engine
from erpsync.warehouse.schema import row_error, sync_cursor, sync_run
from sandbox.airflow_local import wait_for
from sandbox.tryton import catalog
from tests.conftest import trigger_and_wait
from tests.integration.flows.test_order_poison import BILLING, make_digital, open_errors
from tests.integration.flows.test_order_steps import erp_sales, in_stock, number, place
from tests.support.erp import sales_per_order

pytestmark = [pytest.mark.e2e, pytest.mark.erp, pytest.mark.timeout(1800)]


def counts(engine, run_id: str) -> dict:
    with engine.connect() as conn:
        return conn.execute(select(sync_run.c.counts).where(sync_run.c.run_id == run_id)).scalar_one()


def test_orders_reach_the_erp_exactly_once_through_reruns_and_backfills(scheduler, use_warehouse, store, erp_admin):
    engine = make_engine(use_warehouse)
    admin = TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)
    shop = ShopifySettings(shop_url=store.url, access_token=store.token()).store()
    trigger_and_wait(scheduler, "catalog_sync", {"full_refresh": True})

    skus = in_stock(shop, 5)
    make_digital(store, shop, skus[4])
    orders = [
        place(store, [{"sku": skus[0], "quantity": 2, "discount": "2.50"}, {"sku": skus[1], "quantity": 1}],
              email="returning@example.com", shipping_price="4.90", tax_rate="0.0825"),
        place(store, [{"sku": skus[2], "quantity": 1}], email="returning@example.com"),
        place(store, [{"sku": skus[3], "quantity": 1}], email="cancel@example.com"),
        place(store, [{"sku": skus[0], "quantity": 2}], email="refund@example.com", tax_rate="0.08"),
        # A download: no shipping address, booked with the billing address.
        place(store, [{"sku": skus[4], "quantity": 1}], email="digital@example.com", shipping_address=None,
              billing_address=BILLING),
    ]
    # One that cannot be booked (a country the ERP lacks): held alone, with a reason naming it and the fix.
    far = place(store, [{"sku": skus[1], "quantity": 1}], email="far@example.com",
                shipping_address={"address1": "1 Nowhere", "city": "Limbo", "zip": "0", "country_code": "ZZ"})
    # (Unpausing the DAG also makes the scheduler start the run of its latest interval: that run or the
    # triggered one books the orders, whichever comes first.)
    booked = trigger_and_wait(scheduler, "orders_sync")
    sales = erp_sales(admin, [o["id"] for o in orders])
    assert {web_id: sale["total_amount"] for web_id, sale in sales.items()} == {
        o["id"]: Decimal(o["total"]) for o in orders}
    assert sales[orders[0]["id"]]["party"] == sales[orders[1]["id"]]["party"]
    assert erp_sales(admin, [far["id"]]) == {}
    [(key, operation, kind, message)] = open_errors(engine)
    assert (key, operation, kind) == (far["id"], "create_sale", "UnknownCountry")
    assert far["name"] in message and "ZZ" in message

    # The refund product is missing in the ERP (set wrong in the Variable): the refund waits, alone, and the
    # cancellation of another order goes through in the same run; once the Variable is right, it is booked.
    variable = f"{scheduler.url}/api/v2/variables"
    scheduler.http.post(variable, json={"key": "erpsync_orders", "value": json.dumps(
        {"refund_product": "NO-SUCH-REFUND"})}, timeout=30).raise_for_status()
    store.admin("POST", f"/orders/{number(orders[3])}/refund", {"lines": [{"sku": skus[0], "quantity": 1, "restock": True}]})
    store.admin("POST", f"/orders/{number(orders[2])}/cancel", {"reason": "CUSTOMER", "restock": True})
    changed = counts(engine, trigger_and_wait(scheduler, "orders_sync"))
    assert changed["apply_order_changes"]["cancellations"] == 1 and changed["apply_order_changes"]["refunds"] == 0
    held = {(key, kind): message for key, _, kind, message in open_errors(engine)}
    assert set(held) == {(far["id"], "UnknownCountry"), (orders[3]["id"], "ChangeNotPossibleYet")}
    assert "NO-SUCH-REFUND" in held[(orders[3]["id"], "ChangeNotPossibleYet")]
    scheduler.http.delete(f"{variable}/erpsync_orders", timeout=30).raise_for_status()
    # Its retry comes after a backoff (30 s at first): runs until one books it. Any run may be the one (an
    # event or the interval may start one besides ours): the ERP is asked, not our runs' counts.
    def refund_booked() -> list[str]:
        run_id = trigger_and_wait(scheduler, "orders_sync")
        refunds = refund_sales(admin, orders[3]["id"])
        # What each try saw, printed for a failure's report.
        print(dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), run_id, refunds,
              counts(engine, run_id)["apply_order_changes"], _held(engine))
        return refunds

    wait_for(refund_booked, timeout_s=300, what="the held refund to be booked once its product is found", interval_s=1)
    assert len(refund_sales(admin, orders[3]["id"])) == 1, "the refund, once"
    assert [(key, kind) for key, _, kind, _ in open_errors(engine)] == [(far["id"], "UnknownCountry")]

    quiet = trigger_and_wait(scheduler, "orders_sync")
    assert _activity(counts(engine, quiet)) == (0, 0, 0)

    # Clearing a whole run repeats it: nothing doubles.
    scheduler.http.post(f"{scheduler.url}/api/v2/dags/orders_sync/clearTaskInstances", json={
        "dag_run_id": booked, "dry_run": False, "only_failed": False, "reset_dag_runs": True}, timeout=30,
    ).raise_for_status()
    assert scheduler.wait_for_run(scheduler.http, "orders_sync", booked) == "success"
    assert _activity(counts(engine, booked)) == (0, 0, 0)

    # A window the flow never read (the cursor jumped over it, as after an outage): a normal run misses its
    # orders, a backfill over it books them, and a second backfill books nothing more.
    missed = [place(store, [{"sku": skus[1], "quantity": 1}], email=f"missed{i}@example.com") for i in range(2)]
    # The store stamps whole seconds: let the clock leave the orders' second before the run reads its window.
    stamped = max(dt.datetime.fromisoformat(o["updated_at"]) for o in missed)
    wait_for(lambda: dt.datetime.now(dt.UTC) >= stamped + dt.timedelta(seconds=2), timeout_s=10,
             what="two seconds past the missed orders", interval_s=0.1)
    with engine.begin() as conn:
        conn.execute(sync_cursor.update().where(sync_cursor.c.entity == "order")
                     .values(cursor_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)))
    trigger_and_wait(scheduler, "orders_sync")
    assert erp_sales(admin, [o["id"] for o in missed]) == {}

    now = dt.datetime.now(dt.UTC)
    window = ((now - dt.timedelta(hours=2)).isoformat(), (now + dt.timedelta(hours=1)).isoformat())
    for _ in range(2):
        runs = scheduler.backfill(scheduler.http, "orders_sync", *window)
        assert runs and set(runs.values()) == {"success"}, runs
        assert len(erp_sales(admin, [o["id"] for o in missed])) == len(missed)
    everything = orders + missed
    assert sales_per_order(admin, [o["id"] for o in everything]) == Counter(o["id"] for o in everything), \
        "each order exactly once"
    assert len(refund_sales(admin, orders[3]["id"])) == 1, "and its refund, once"
    assert erp_sales(admin, [far["id"]]) == {}, "and the one the ERP cannot take, never"
    engine.dispose()


def refund_sales(admin: TrytonClient, order_id: str) -> list[str]:
    """The web ids of the ERP's refund sales of a store order, one per sale (two would show twice)."""
    rows = admin.model("sale.sale", "search_read", [("web_id", "like", f"{order_id}#refund:%")],
                       0, None, None, ["web_id"])
    return [row["web_id"] for row in rows]


def _held(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(row_error.c.record_key, row_error.c.error_kind, row_error.c.attempts,
                   row_error.c.last_failed_at, row_error.c.next_attempt_at, row_error.c.error_message)
            .where(row_error.c.flow == "orders", row_error.c.status == "open"))]


def _activity(run_counts: dict) -> tuple[int, int, int]:
    return (run_counts["ingest_orders"]["created"], run_counts["apply_order_changes"]["cancellations"],
            run_counts["apply_order_changes"]["refunds"])
