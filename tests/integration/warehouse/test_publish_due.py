"""The publish steps' dirty set, on both engines: a step settles only the marks it read, so a SKU staged
again while a step was publishing stays due for the next run."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from erpsync.sync.state import publish_due

T0 = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.UTC)


def mark(engine, skus, *, stores=("a", "b"), steps=publish_due.PRODUCT_STEPS) -> None:
    with engine.begin() as conn:
        publish_due.mark(conn, stores=list(stores), steps=steps, skus=skus, now=T0)


def due(engine, store="a", step=publish_due.INVENTORY) -> dict[str, str]:
    with engine.connect() as conn:
        return publish_due.due(conn, store=store, step=step)


def settle(engine, marks, store="a", step=publish_due.INVENTORY) -> int:
    with engine.begin() as conn:
        return publish_due.settle(conn, store=store, step=step, marks=marks)


def test_each_store_and_step_settles_its_own_marks(warehouse):
    mark(warehouse, ["S1", "S2", "S1"])  # a SKU twice in one batch: one mark
    read = due(warehouse)
    assert sorted(read) == ["S1", "S2"]

    assert settle(warehouse, read) == 2
    assert due(warehouse) == {}
    assert sorted(due(warehouse, store="b")) == ["S1", "S2"], "the other store has not published them yet"
    assert sorted(due(warehouse, step=publish_due.PRICES)) == ["S1", "S2"], "nor has the prices step"
    assert settle(warehouse, read) == 0, "settling twice (a retried task) is harmless"


def test_a_sku_staged_again_while_a_step_publishes_stays_due(warehouse):
    mark(warehouse, ["S1", "S2"])
    read = due(warehouse)  # a publish step starts with these...
    mark(warehouse, ["S2"], steps=publish_due.STOCK_STEPS)  # ...while a newer staging changes S2 again

    assert settle(warehouse, read) == 1
    assert list(due(warehouse)) == ["S2"], "the newer change waits for the next run"
    assert sorted(due(warehouse, step=publish_due.CONTENT)) == ["S1", "S2"], "a stock change is no content change"


def test_marking_nothing_or_for_no_store_writes_nothing(warehouse):
    mark(warehouse, [])
    mark(warehouse, ["S1"], stores=())
    assert due(warehouse) == {}


@pytest.mark.postgres
def test_a_first_publishs_many_marks_are_settled_in_one_pass(pg_engine):
    """A catalog's first publish settles every SKU's mark. Deleted 1,000 at a time, each chunk read all of
    the step's marks left (planned on the statistics of the table before the marks came): rows read =
    chunks x marks, ~1 s a chunk at 104,490. Counted in the settling transaction itself."""
    with pg_engine.begin() as conn:
        conn.execute(text("ANALYZE publish_due"))  # what autovacuum last saw: no marks
    skus = [f"SKU-{n:06d}" for n in range(50_000)]
    mark(pg_engine, skus, stores=("a",), steps=(publish_due.INVENTORY,))
    with pg_engine.begin() as conn:
        settled = publish_due.settle(conn, store="a", step=publish_due.INVENTORY,
                                     marks=publish_due.due(conn, store="a", step=publish_due.INVENTORY))
        fetched = conn.execute(text("SELECT idx_tup_fetch + seq_tup_read FROM pg_stat_xact_user_tables "
                                    "WHERE relname = 'publish_due'")).scalar_one()
    assert settled == len(skus)
    assert fetched <= 3 * len(skus), f"{fetched} rows read to settle {len(skus)} marks"
    assert due(pg_engine, store="a") == {}
