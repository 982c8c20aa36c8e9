"""Migration 0021 (``order_adjustment.told_at``) on data from 0020, on both engines: the edits the earlier
rule took as told to the store are stamped when their order was fulfilled more than a week before the
upgrade; every other edit stays untold, for the fulfillment flow to look at once. The expected stamps are
written out here from the rows, not computed by the migration's own query."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import MetaData, insert, select

from erpsync.warehouse import migrate
from erpsync.warehouse.engine import make_engine

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
LONG_AGO = NOW - dt.timedelta(days=30)
YESTERDAY = NOW - dt.timedelta(days=1)

# order: (ledger state, its updated_at, adjustments: (kind, ref, state, sale, updated_at, told_at after))
HOUR = dt.timedelta(hours=1)
ORDERS = {
    "o-old": ("fulfilled", LONG_AGO, [("edit", "e1", "applied", 11, LONG_AGO - HOUR, LONG_AGO),
                                      ("edit", "e2", "applied", 12, LONG_AGO, LONG_AGO),
                                      ("edit", "e3", "applied", 13, LONG_AGO + HOUR, None),
                                      ("edit", "e4", "applied", None, LONG_AGO - HOUR, None),
                                      ("edit", "e5", "not_possible", None, LONG_AGO, None),
                                      ("refund", "r1", "applied", 14, LONG_AGO, None)]),
    "o-recent": ("fulfilled", YESTERDAY, [("edit", "e1", "applied", 21, YESTERDAY - HOUR, None)]),
    "o-open": ("confirmed", LONG_AGO, [("edit", "e1", "applied", 31, LONG_AGO - HOUR, None)]),
}


def test_edits_the_earlier_rule_took_as_told_are_stamped_and_recent_ones_are_looked_at_again(empty_db_url):
    engine = make_engine(empty_db_url)
    migrate.upgrade(engine, "0020")
    before = MetaData()
    before.reflect(engine, only=["order_ledger", "order_adjustment"])
    ledger, adjustment = before.tables["order_ledger"], before.tables["order_adjustment"]
    with engine.begin() as conn:
        for i, (order_id, (state, updated_at, adjustments)) in enumerate(ORDERS.items()):
            conn.execute(insert(ledger).values(store="s", store_order_id=order_id, state=state,
                                               erp_sale_id=i + 1, attempts=1, created_at=LONG_AGO,
                                               updated_at=updated_at))
            conn.execute(insert(adjustment), [
                {"store": "s", "store_order_id": order_id, "kind": kind, "store_ref": ref, "state": st,
                 "erp_sale_id": sale, "created_at": at, "updated_at": at}
                for kind, ref, st, sale, at, _ in adjustments])
    migrate.upgrade(engine)
    after = MetaData()
    after.reflect(engine, only=["order_adjustment"])
    table = after.tables["order_adjustment"]
    with engine.connect() as conn:
        found = sorted(conn.execute(select(table.c.store_order_id, table.c.kind, table.c.store_ref,
                                           table.c.told_at)).all())
    expected = sorted((order_id, kind, ref, told) for order_id, (_, _, adjustments) in ORDERS.items()
                      for kind, ref, _, _, _, told in adjustments)
    assert [(o, k, r, _utc(t)) for o, k, r, t in found] == expected
    migrate.downgrade(engine, "0020")
    engine.dispose()


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """A reflected column gives SQLite's text back naive (the warehouse keeps UTC there)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
