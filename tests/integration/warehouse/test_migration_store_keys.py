"""Migration 0012 (the store in every per-store key) on single-store data: nothing lost, every row of the
store side moved to the store, and back down again; on both engines."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import MetaData, func, insert, select

from erpsync.warehouse import migrate
from erpsync.warehouse.engine import make_engine

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
STORE = "shop-eu"


def _raw(i: int, source: str, entity: str) -> dict:
    return {"source": source, "entity": entity, "record_key": f"k{i}", "batch_id": f"b{i}", "run_id": "r",
            "extracted_at": T0, "payload": {"i": i}}


def _quarantined(i: int, source: str, entity: str) -> dict:
    return {"source": source, "entity": entity, "record_key": f"k{i}", "batch_id": "b", "failed_expectations": ["x"],
            "reason": "bad", "payload": {}, "status": "open", "quarantined_at": T0}


def _error(flow: str, operation: str, key: str = "SKU-1") -> dict:
    return {"flow": flow, "entity": "variant" if flow == "catalog" else "order", "record_key": key,
            "operation": operation, "status": "open", "error_kind": "E", "error_message": "m", "attempts": 1,
            "first_failed_at": T0, "last_failed_at": T0}


def _run(flow: str, dag_id: str) -> dict:
    return {"flow": flow, "dag_id": dag_id, "run_id": "scheduled__1", "status": "success", "started_at": T0,
            "counts": {}, "timings": {}}


def _alert(key: str) -> dict:
    return {"alert_key": key, "kind": "k", "status": "firing", "title": "t", "first_seen_at": T0, "last_seen_at": T0}


# Single-store data at revision 0011, and the store each row belongs to after 0012 ('' = the ERP side).
ROWS: dict[str, list[tuple[dict, str]]] = {
    "raw_record": [(_raw(1, "erp", "product"), ""), (_raw(2, "erp", "product"), ""),
                   (_raw(3, "erp", "stock_level"), ""), (_raw(4, "store", "order"), STORE),
                   (_raw(5, "store", "order"), STORE)],
    "quarantine": [(_quarantined(1, "erp", "product"), ""), (_quarantined(2, "store", "order"), STORE),
                   (_quarantined(3, "store", "order"), STORE)],
    "sync_cursor": [({"source": s, "entity": e, "cursor_at": T0, "updated_at": T0}, STORE if s == "store" else "")
                    for s, e in [("erp", "product"), ("erp", "stock_level"), ("store", "order")]],
    "row_error": [(_error("catalog", "publish_inventory"), STORE), (_error("catalog", "publish_prices"), STORE),
                  (_error("catalog", "publish_content", "SKU-2"), STORE),
                  (_error("orders", "create_sale", "o1"), STORE),
                  (_error("orders", "fulfill", "o1"), STORE), (_error("catalog", "extract_products"), "")],
    "sync_run": [(_run("catalog", "catalog_sync"), ""), (_run("orders", "orders_sync"), STORE),
                 (_run("reconcile", "reconcile"), STORE)],
    "sync_step": [({"flow": f, "step": s, "dag_id": d, "last_success_at": T0}, store) for f, s, d, store in [
        ("catalog", "extract_products", "catalog_sync", ""), ("catalog", "publish_inventory", "catalog_sync", ""),
        ("orders", "ingest_orders", "orders_sync", STORE), ("orders", "push_fulfillments", "orders_sync", STORE),
        ("reconcile", "reconcile_orders", "reconcile", STORE)]],
    "review_decision": [({"flow": f, "entity": "variant", "record_key": k, "operation": o, "subject": "9.90",
                          "decision": "approved", "decided_at": T0, "review_run_id": "manual__1"}, STORE)
                        for f, k, o in [("catalog", "SKU-1", "publish_prices"), ("catalog", "SKU-2", "publish_prices"),
                                        ("orders", "o1", "create_sale")]],
    "alert_state": [(_alert(k), store) for k, store in [
        ("catalog_sync/quarantine/erp.product", ""), ("catalog_sync/failure/extract_products", ""),
        ("catalog/extract_products/stale", ""), ("catalog_sync/guardrail/price_swing", STORE),
        ("catalog/stuck_rows", STORE), ("orders_sync/quarantine/store.order", STORE),
        ("orders_sync/failure/ingest_orders", STORE), ("orders/ingest_orders/stale", STORE),
        ("orders/stuck_rows", STORE), ("reconcile/drift/catalog", STORE), ("orders/stale", "")]],
}
IDENTITY = {  # the columns that tell the rows of a table apart (apart from the store)
    "raw_record": ("source", "entity", "record_key", "batch_id"), "quarantine": ("source", "entity", "record_key"),
    "sync_cursor": ("source", "entity"), "row_error": ("flow", "entity", "record_key", "operation"),
    "sync_run": ("flow", "dag_id", "run_id"), "sync_step": ("flow", "step"),
    "review_decision": ("flow", "entity", "record_key", "operation"), "alert_state": ("alert_key",),
}


def _at_0011(url: str, stores: tuple[str, ...] = (STORE,)):
    engine = make_engine(url)
    migrate.upgrade(engine, "0011")
    tables = MetaData()
    tables.reflect(engine)
    with engine.begin() as conn:
        for table, rows in ROWS.items():
            conn.execute(insert(tables.tables[table]), [row for row, _ in rows])
        for i, store in enumerate(stores):  # the tables that carry the store already
            conn.execute(insert(tables.tables["publish_due"]), [
                {"store": store, "step": "publish_inventory", "sku": f"SKU-{i}", "token": "t", "marked_at": T0}])
            conn.execute(insert(tables.tables["order_ledger"]), [
                {"store": store, "store_order_id": f"o{i}", "state": "created", "created_at": T0, "updated_at": T0}])
    return engine


def _rows(engine, table: str) -> list[tuple]:
    """Every row of ``table`` as (identity..., store), sorted: duplicates stay visible."""
    t = MetaData()
    t.reflect(engine, only=[table])
    columns = [t.tables[table].c[c] for c in IDENTITY[table]]
    if "store" in t.tables[table].c:
        columns.append(t.tables[table].c.store)
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(*columns)))


def _expected(table: str, *, with_store: bool) -> list[tuple]:
    rows = []
    for row, store in ROWS[table]:
        identity = tuple(row[c] for c in IDENTITY[table])
        if table == "alert_state" and store and with_store:
            identity = (f"{store}/{identity[0]}",)
        rows.append((*identity, store) if with_store else identity)
    return sorted(rows)


def test_upgrade_moves_single_store_rows_to_their_store_and_downgrade_restores_them(empty_db_url):
    engine = _at_0011(empty_db_url)
    try:
        migrate.upgrade(engine, "0012")
        for table in ROWS:
            assert _rows(engine, table) == _expected(table, with_store=True), table
            assert _count_per_store(engine, table) == Counter(store for _, store in ROWS[table]), table

        migrate.downgrade(engine, "0011")
        for table in ROWS:
            assert _rows(engine, table) == _expected(table, with_store=False), table
        assert migrate.current_revision(engine) == "0011"
    finally:
        engine.dispose()


def _count_per_store(engine, name: str) -> Counter:
    table = _table(engine, name)
    with engine.connect() as conn:
        return Counter(dict(conn.execute(select(table.c.store, func.count()).group_by(table.c.store)).all()))


def _table(engine, name: str):
    tables = MetaData()
    tables.reflect(engine, only=[name])
    return tables.tables[name]


def test_upgrade_without_any_store_row_leaves_everything_to_the_erp_side(empty_db_url):
    engine = _at_0011(empty_db_url, stores=())
    try:
        migrate.upgrade(engine, "0012")
        for table in ROWS:
            rows = _rows(engine, table)
            assert len(rows) == len(ROWS[table]) and {r[-1] for r in rows} == {""}, table
    finally:
        engine.dispose()


def test_upgrade_refuses_data_of_two_stores(empty_db_url):
    engine = _at_0011(empty_db_url, stores=("shop-eu", "shop-us"))
    try:
        with pytest.raises(RuntimeError, match="2 stores"):
            migrate.upgrade(engine, "0012")
    finally:
        engine.dispose()


def test_downgrade_refuses_when_two_stores_share_a_key(empty_db_url):
    engine = _at_0011(empty_db_url)
    try:
        migrate.upgrade(engine, "0012")
        with engine.begin() as conn:
            conn.execute(insert(_table(engine, "sync_cursor")),
                         [{"store": "shop-us", "source": "store", "entity": "order", "cursor_at": T0,
                           "updated_at": T0}])
        with pytest.raises(RuntimeError, match="sync_cursor"):
            migrate.downgrade(engine, "0011")
    finally:
        engine.dispose()
