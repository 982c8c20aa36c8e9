"""Migration 0023 (``published_inventory.held_units``, ``held_from``, ``held_until``, ``held_known``) on data
from 0022, on both engines: every level is kept as it was, with no hold; and it goes back down."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import MetaData, insert, select

from erpsync.warehouse import migrate
from erpsync.warehouse.engine import make_engine

WRITTEN = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
LEVELS = [("SKU-1", "loc-1", 5, WRITTEN), ("SKU-1", "loc-2", 0, None), ("SKU-2", "loc-1", 12, WRITTEN)]


def test_levels_are_kept_with_no_hold(empty_db_url):
    engine = make_engine(empty_db_url)
    migrate.upgrade(engine, "0022")
    before = MetaData()
    before.reflect(engine, only=["published_inventory"])
    with engine.begin() as conn:
        conn.execute(insert(before.tables["published_inventory"]), [
            {"store": "s", "sku": sku, "location_key": location, "quantity": quantity, "published_at": WRITTEN,
             "store_confirmed_at": confirmed, "run_id": "r"} for sku, location, quantity, confirmed in LEVELS])
    migrate.upgrade(engine)
    after = MetaData()
    after.reflect(engine, only=["published_inventory"])
    table = after.tables["published_inventory"]
    with engine.connect() as conn:
        rows = conn.execute(select(table.c.sku, table.c.location_key, table.c.quantity, table.c.held_units,
                                   table.c.held_from, table.c.held_until, table.c.held_known)
                            .order_by(table.c.sku, table.c.location_key)).all()
    assert [tuple(row) for row in rows] == [(sku, location, quantity, None, None, None, None)
                                            for sku, location, quantity, _ in LEVELS]
    migrate.downgrade(engine, "0022")
    down = MetaData()
    down.reflect(engine, only=["published_inventory"])
    assert "held_units" not in down.tables["published_inventory"].c
    with engine.connect() as conn:
        assert len(conn.execute(select(down.tables["published_inventory"])).all()) == len(LEVELS)
    engine.dispose()
