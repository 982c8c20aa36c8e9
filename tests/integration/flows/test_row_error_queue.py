"""The row-level error queue on both warehouse engines: backoff, the terminal state, release by an operator."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from erpsync.sync.state.row_errors import (
    GIVE_UP_AFTER,
    HELD,
    RowFailure,
    due_keys,
    record_failures,
    resolve,
    retry_given_up,
    waiting_keys,
)
from erpsync.warehouse.schema import row_error

T0 = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)
WHERE = {"store": "shop-eu", "flow": "orders", "entity": "order", "operation": "fulfill"}


def _fail(engine, keys, now, kind="StoreRequestError", where=WHERE):
    with engine.begin() as conn:
        record_failures(conn, **where, run_id="r", now=now,
                        failures=[RowFailure(k, kind, f"fulfillmentCreate refused {k}") for k in keys])


def _rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(row_error.c.record_key, row_error.c.status, row_error.c.attempts).order_by(row_error.c.record_key))]


def test_a_row_that_keeps_failing_gives_up_and_is_no_longer_tried_until_released(warehouse):
    now = T0
    for _ in range(GIVE_UP_AFTER - 1):
        _fail(warehouse, ["A", "B"], now)
        with warehouse.connect() as conn:
            assert sorted(waiting_keys(conn, **WHERE, now=now)) == ["A", "B"], "not due straight after failing"
        now += dt.timedelta(hours=2)  # past any backoff
        with warehouse.connect() as conn:
            assert sorted(due_keys(conn, **WHERE, now=now)) == ["A", "B"]
            assert waiting_keys(conn, **WHERE, now=now) == set()
    assert _rows(warehouse) == [("A", "open", GIVE_UP_AFTER - 1), ("B", "open", GIVE_UP_AFTER - 1)]

    _fail(warehouse, ["A"], now)  # the last attempt
    assert _rows(warehouse) == [("A", "given_up", GIVE_UP_AFTER), ("B", "open", GIVE_UP_AFTER - 1)]
    later = now + dt.timedelta(days=30)
    with warehouse.connect() as conn:
        assert due_keys(conn, **WHERE, now=later) == ["B"], "a given-up row is never due on its own"
        assert waiting_keys(conn, **WHERE, now=later) == {"A"}

    with warehouse.begin() as conn:
        released = retry_given_up(conn, store="shop-eu", flow="orders", keys=["A", "B"], now=later)
        assert released == 1  # B was not given up
    with warehouse.connect() as conn:
        assert sorted(due_keys(conn, **WHERE, now=later)) == ["A", "B"]
    _fail(warehouse, ["A"], later)
    assert _rows(warehouse)[0] == ("A", "given_up", GIVE_UP_AFTER + 1), "released once, it gives up again at once"

    with warehouse.begin() as conn:
        assert resolve(conn, **WHERE, keys=["A", "B"], now=later) == 2, "success resolves a given-up row too"
    assert [status for _, status, _ in _rows(warehouse)] == ["resolved", "resolved"]


def test_a_row_held_by_a_guardrail_never_gives_up(warehouse):
    for n in range(GIVE_UP_AFTER + 3):
        _fail(warehouse, ["SKU-1"], T0 + dt.timedelta(minutes=n), kind=HELD)
    assert _rows(warehouse) == [("SKU-1", "open", GIVE_UP_AFTER + 3)]
    with warehouse.connect() as conn:
        assert due_keys(conn, **WHERE, now=T0 + dt.timedelta(minutes=GIVE_UP_AFTER + 3)) == ["SKU-1"]


def test_two_stores_keep_their_own_queues(warehouse):
    """The same order id failing in two stores is two rows; each store's retries, releases and successes
    touch only its own."""
    us = {**WHERE, "store": "shop-us"}
    for _ in range(GIVE_UP_AFTER):
        _fail(warehouse, ["A"], T0)
    _fail(warehouse, ["A", "B"], T0, where=us)
    with warehouse.connect() as conn:
        per_store = dict(conn.execute(select(row_error.c.store, func.count()).group_by(row_error.c.store)).all())
        assert per_store == {"shop-eu": 1, "shop-us": 2}
        assert waiting_keys(conn, **WHERE, now=T0) == {"A"}, "given up in shop-eu"
        assert sorted(waiting_keys(conn, **us, now=T0)) == ["A", "B"], "waiting for a retry in shop-us"
    later = T0 + dt.timedelta(hours=2)
    with warehouse.begin() as conn:
        assert retry_given_up(conn, store="shop-us", flow="orders", now=later) == 0, "nothing gave up in shop-us"
        assert resolve(conn, **us, keys=["A"], now=later) == 1
    with warehouse.connect() as conn:
        rows = conn.execute(select(row_error.c.store, row_error.c.record_key, row_error.c.status, row_error.c.attempts)
                            .order_by(row_error.c.store, row_error.c.record_key)).all()
    assert [tuple(r) for r in rows] == [("shop-eu", "A", "given_up", GIVE_UP_AFTER), ("shop-us", "A", "resolved", 1),
                                        ("shop-us", "B", "open", 1)]
