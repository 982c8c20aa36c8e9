"""Housekeeping on a warehouse with a season of data in it, on both engines: what is past its retention
is deleted, personal data past its period is blanked, open work is never touched, and a second run does
nothing. Every expected count is written out here from the rows the test inserts."""

from __future__ import annotations

import datetime as dt
import json
import logging

from sqlalchemy import func, select

from erpsync.sync.housekeeping.policy import RetentionConfig
from erpsync.sync.housekeeping.purge import purge
from erpsync.warehouse.schema import order_ledger, quarantine, raw_record, row_error, stg_order
from erpsync.warehouse.schema import store_event, sync_run

AS_OF = dt.datetime(2026, 12, 4, 3, 17, tzinfo=dt.UTC)
NOW = AS_OF + dt.timedelta(minutes=2)
# raw rows kept 60 days, the run log 90, closed rows 45; personal data blanked after 30.
CONFIG = RetentionConfig(raw_days=60, run_log_days=90, closed_days=45, personal_data_days=30, batch_rows=3)


def ago(days: float) -> dt.datetime:
    return AS_OF - dt.timedelta(days=days)


def order(n: int) -> dict:
    return {"order_id": f"order-{n}", "name": f"#{1000 + n}", "currency": "USD",
            "customer": {"customer_id": None, "email": f"buyer{n}@example.com", "first_name": f"Ada{n}",
                         "last_name": "Jensen"},
            "shipping_address": {"first_name": f"Ada{n}", "last_name": "Jensen", "address1": f"{n} Oak Avenue",
                                 "city": "Austin", "zip": "73301", "country_code": "US", "phone": f"+1 512 555 01{n:02d}"},
            "lines": [{"line_id": "1", "sku": f"SKU-{n}", "quantity": n}]}


def seed(engine) -> None:
    raw = [("product", f"SKU-{n}", ago(70), {"sku": f"SKU-{n}"}) for n in range(5)]  # deleted
    raw += [("product", f"SKU-{n}", ago(40), {"sku": f"SKU-{n}"}) for n in range(5, 7)]  # kept
    raw += [("order", f"order-{n}", ago(40), order(n)) for n in range(10, 14)]  # kept, blanked
    raw += [("order", f"order-{n}", ago(10), order(n)) for n in range(20, 22)]  # kept as they are
    with engine.begin() as conn:
        conn.execute(raw_record.insert(), [
            {"source": "store" if entity == "order" else "erp", "store": "store_default" if entity == "order" else "",
             "entity": entity, "record_key": key, "batch_id": "b", "run_id": "r", "extracted_at": at,
             "payload": payload} for entity, key, at, payload in raw])
        conn.execute(sync_run.insert(), [
            {"flow": "orders", "dag_id": "orders_sync", "run_id": f"run-{days}-{n}", "status": "success",
             "started_at": ago(days), "finished_at": ago(days), "counts": {}, "timings": {}}
            for days, count in ((100, 4), (50, 3)) for n in range(count)])  # 4 deleted
        conn.execute(store_event.insert(), [
            {"store": "store_default", "event_id": f"event-{days}-{n}", "topic": "orders/create",
             "received_at": ago(days), "outcome": "run"}
            for days, count in ((91, 2), (89, 1), (1, 2)) for n in range(count)])  # 2 deleted
        conn.execute(row_error.insert(), [
            {"flow": "catalog", "entity": "product", "record_key": f"E-{n}", "operation": "publish_inventory",
             "status": status, "error_kind": "x", "error_message": "x", "first_failed_at": ago(100),
             "last_failed_at": ago(closed or 100), "resolved_at": ago(closed) if closed else None}
            for n, (status, closed) in enumerate([("resolved", 50)] * 3 + [("resolved", 10), ("open", None),
                                                                              ("given_up", None)])])  # 3 deleted
        conn.execute(quarantine.insert(), [
            {"store": "store_default", "source": "store", "entity": "order", "record_key": f"order-{n}",
             "batch_id": "b", "failed_expectations": ["known_sku"], "reason": "unknown SKU", "payload": order(n),
             "status": status, "quarantined_at": ago(100), "resolved_at": ago(closed) if closed else None}
            for n, status, closed in [(30, "released", 50), (31, "superseded", 50),  # deleted
                                      (32, "released", 40), (33, "expired", 35),  # kept, blanked
                                      (34, "open", None),  # kept as it is: booked with it once fixed
                                      (35, "superseded", 10)]])  # kept as it is
        # Staged orders: booking is the one step that reads their customer and addresses.
        staged = [(40, 40, "confirmed"), (41, 40, "cancelled"), (42, 40, "fulfilled"),  # blanked
                  (43, 40, "pending"), (44, 40, None),  # not booked yet: kept, booking needs them
                  (45, 10, "confirmed")]  # changed lately: kept
        conn.execute(stg_order.insert(), [
            {"store": "store_default", "store_order_id": f"order-{n}", "order_name": f"#{1000 + n}",
             "store_created_at": ago(days), "store_updated_at": ago(days), "currency": "USD",
             "customer_ref": f"customer-{n}", "customer": order(n)["customer"],
             "shipping_address": order(n)["shipping_address"], "billing_address": None, "subtotal": 10,
             "discount_total": 0, "shipping_total": 0, "tax_total": 0, "total": 10, "requires_shipping": True,
             "batch_id": "b", "staged_at": ago(days)} for n, days, _ in staged])
        conn.execute(order_ledger.insert(), [
            {"store": "store_default", "store_order_id": f"order-{n}", "state": state, "created_at": ago(days),
             "updated_at": ago(days)} for n, days, state in staged if state])


def keys(engine, table) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(table.c.record_key)).scalars())


def payload_texts(engine, table) -> dict[str, str]:
    with engine.connect() as conn:
        return {key: json.dumps(payload) for key, payload in
                conn.execute(select(table.c.record_key, table.c.payload).where(table.c.entity == "order"))}


def test_retention_and_the_personal_data_purge_do_their_work_once_and_never_touch_open_work(warehouse, caplog):
    seed(warehouse)
    caplog.set_level(logging.INFO, logger="erpsync.sync.housekeeping")
    first = purge(warehouse, CONFIG, as_of=AS_OF, now=NOW).as_counts()
    assert first == {"raw_deleted": 5, "runs_deleted": 4, "events_deleted": 2, "errors_deleted": 3,
                     "quarantine_deleted": 2,
                     "raw_orders_purged": 4, "quarantined_orders_purged": 2, "staged_orders_purged": 3,
                     # 9 an order: the customer's e-mail and 2 names; the address's 2 names, street, city,
                     # zip and phone
                     "personal_fields_blanked": 9 * (4 + 2 + 3)}
    assert keys(warehouse, raw_record) == sorted(["SKU-5", "SKU-6", *(f"order-{n}" for n in (10, 11, 12, 13, 20, 21))])
    with warehouse.connect() as conn:
        assert conn.execute(select(func.count()).select_from(sync_run)).scalar() == 3
        assert sorted(conn.execute(select(store_event.c.event_id)).scalars()) == [
            "event-1-0", "event-1-1", "event-89-0"]
        assert sorted(conn.execute(select(row_error.c.record_key)).scalars()) == ["E-3", "E-4", "E-5"]
    assert keys(warehouse, quarantine) == [f"order-{n}" for n in (32, 33, 34, 35)]

    texts = {**payload_texts(warehouse, raw_record), **payload_texts(warehouse, quarantine)}
    for n in (10, 11, 12, 13, 32, 33):  # blanked: nobody can be told from them any more
        assert f"buyer{n}@" not in texts[f"order-{n}"] and "Oak Avenue" not in texts[f"order-{n}"]
        assert f'"SKU-{n}"' in texts[f"order-{n}"] and '"US"' in texts[f"order-{n}"]  # the rest is kept
    for n in (20, 21, 34, 35):
        assert f"buyer{n}@example.com" in texts[f"order-{n}"] and f"{n} Oak Avenue" in texts[f"order-{n}"]
    with warehouse.connect() as conn:
        staged = {key: (json.dumps([customer, address]), ref, total) for key, customer, address, ref, total in
                  conn.execute(select(stg_order.c.store_order_id, stg_order.c.customer, stg_order.c.shipping_address,
                                      stg_order.c.customer_ref, stg_order.c.total))}
    assert sorted(staged) == [f"order-{n}" for n in range(40, 46)]
    for n in range(40, 46):
        text, ref, total = staged[f"order-{n}"]
        assert (f"buyer{n}@example.com" in text) == (n >= 43) and (f"{n} Oak Avenue" in text) == (n >= 43)
        assert ref == f"customer-{n}" and total == 10, "only the customer and addresses are blanked"
    with warehouse.connect() as conn:
        stamped = conn.execute(select(func.count()).select_from(raw_record)
                               .where(raw_record.c.personal_data_purged_at == NOW)).scalar()
    assert stamped == 4
    assert "@example.com" not in caplog.text and "Oak" not in caplog.text, "the log names no one"
    assert "raw_record: 5 row(s)" in caplog.text  # progress, batch by batch (3 a batch)

    second = purge(warehouse, CONFIG, as_of=AS_OF, now=NOW + dt.timedelta(days=1)).as_counts()
    assert set(second.values()) == {0}, second
