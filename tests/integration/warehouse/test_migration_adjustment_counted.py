"""Migration 0022 (``order_adjustment.erp_counted_at``) on data from 0021, on both engines: applied edits
and exchanges (fulfilled ones too), which the ERP booked before the upgrade, are stamped with the upgrade's time (a stock read
from then on counts them); an edit the ERP could not follow, a refund and a return are left unstamped."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import MetaData, insert, select

from erpsync.warehouse import migrate
from erpsync.warehouse.engine import make_engine

LONG_AGO = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
# (kind, ref, state, stamped by the upgrade)
ADJUSTMENTS = [("edit", "e1", "applied", True), ("edit", "e2", "not_possible", False),
               ("exchange", "r1", "applied", True), ("exchange", "r2", "fulfilled", True),
               ("return", "r1", "applied", False), ("refund", "f1", "applied", False)]


def test_applied_edits_and_exchanges_count_from_the_upgrade(empty_db_url):
    engine = make_engine(empty_db_url)
    migrate.upgrade(engine, "0021")
    before = MetaData()
    before.reflect(engine, only=["order_adjustment"])
    with engine.begin() as conn:
        conn.execute(insert(before.tables["order_adjustment"]), [
            {"store": "s", "store_order_id": "o1", "kind": kind, "store_ref": ref, "state": state,
             "created_at": LONG_AGO, "updated_at": LONG_AGO} for kind, ref, state, _ in ADJUSTMENTS])
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    migrate.upgrade(engine)
    ended = dt.datetime.now(dt.UTC)
    after = MetaData()
    after.reflect(engine, only=["order_adjustment"])
    table = after.tables["order_adjustment"]
    with engine.connect() as conn:
        found = {(kind, ref): at for kind, ref, at in conn.execute(
            select(table.c.kind, table.c.store_ref, table.c.erp_counted_at))}
    assert len(found) == len(ADJUSTMENTS)
    for kind, ref, _, stamped in ADJUSTMENTS:
        at = found[(kind, ref)]
        if stamped:
            assert at is not None and started <= _utc(at) <= ended, (kind, ref, at)
        else:
            assert at is None, (kind, ref, at)
    migrate.downgrade(engine, "0021")
    engine.dispose()


def _utc(value: dt.datetime) -> dt.datetime:
    """A reflected column gives SQLite's text back naive (the warehouse keeps UTC there)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
