"""The order ledger's moves are compare-and-set, on both engines: a step acting on what it read a moment
ago never undoes what another step did in between."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from erpsync.sync.orders import ledger
from erpsync.warehouse import db
from erpsync.warehouse.schema import order_ledger

STORE = "test-store"


def rows(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(order_ledger.c.store_order_id, order_ledger.c.state, order_ledger.c.erp_sale_id,
                   order_ledger.c.attempts).order_by(order_ledger.c.store_order_id))]


def move(engine, order_id: str, to: str, **values) -> bool:
    with engine.begin() as conn:
        return ledger.move(conn, store=STORE, order_id=order_id, to=to, **values)


def claim(engine, order_id: str, run_id: str) -> bool:
    with engine.begin() as conn:
        return ledger.claim(conn, store=STORE, order_id=order_id, run_id=run_id)


def age(engine, order_id: str, by: dt.timedelta) -> None:
    """Make the order's claim look ``by`` older, by the database's clock (which the lease is measured on)."""
    with engine.begin() as conn:
        conn.execute(order_ledger.update().where(order_ledger.c.store_order_id == order_id)
                     .values(updated_at=db.clock(conn) - by))


def test_a_late_claim_never_turns_a_booked_order_back(warehouse):
    assert claim(warehouse, "o1", "run-a")  # no row yet: created, claimed
    assert claim(warehouse, "o1", "run-a")  # the same run again (its task retried): claimed again
    assert move(warehouse, "o1", "created", erp_sale_id=7)
    assert move(warehouse, "o1", "confirmed")
    # A run that read the order before it was booked claims it late, or records a failure: no effect.
    assert not claim(warehouse, "o1", "run-b")
    assert not move(warehouse, "o1", "failed", last_error="late")
    assert not move(warehouse, "o1", "created", erp_sale_id=8)
    assert rows(warehouse) == [("o1", "confirmed", 7, 2)]


def test_a_claim_is_its_runs_until_it_expires(warehouse):
    assert claim(warehouse, "o4", "run-a")
    assert not claim(warehouse, "o4", "run-b"), "an overlapping run leaves it to the run that claimed it"
    age(warehouse, "o4", ledger.CLAIM_LEASE - dt.timedelta(seconds=30))
    assert not claim(warehouse, "o4", "run-b"), "still within its lease"
    age(warehouse, "o4", ledger.CLAIM_LEASE)
    assert claim(warehouse, "o4", "run-b"), "the attempt died: its claim expired"
    assert not claim(warehouse, "o4", "run-a"), "and is run-b's now (its claim is fresh)"
    assert move(warehouse, "o4", "failed", last_error="refused")
    assert claim(warehouse, "o4", "run-c"), "a failed order is anyone's to retry"
    assert rows(warehouse) == [("o4", "pending", None, 3)]


def test_a_rows_times_are_the_databases_clock_not_the_workers(warehouse):
    with warehouse.connect() as conn:
        before = db.clock(conn)
    assert before.tzinfo == dt.UTC
    assert claim(warehouse, "o5", "run-a")
    with warehouse.connect() as conn:
        after = db.clock(conn)
        created, updated = conn.execute(select(order_ledger.c.created_at, order_ledger.c.updated_at)).one()
    assert before <= created == updated <= after


def test_each_state_is_reached_only_from_the_states_before_it(warehouse):
    assert not move(warehouse, "o2", "confirmed"), "nothing to confirm: no row"
    assert not move(warehouse, "o2", "failed"), "no attempt to fail"
    assert rows(warehouse) == []
    assert move(warehouse, "o2", "cancelled")  # cancelled in the store before it was ever booked
    assert not claim(warehouse, "o2", "run-a")
    assert rows(warehouse) == [("o2", "cancelled", None, 0)]
    assert set(ledger.SOURCES) == {"failed", "created", "confirmed", "fulfilled", "cancelled", "cancel_failed"}


@pytest.mark.parametrize("meanwhile", ["booked again", "sale replaced"])
def test_reconciliation_reopens_only_a_row_still_as_it_read_it(warehouse, meanwhile):
    assert move(warehouse, "o3", "created", erp_sale_id=7) and move(warehouse, "o3", "confirmed")
    with warehouse.begin() as conn:  # as reconciliation read it
        state, sale = conn.execute(select(order_ledger.c.state, order_ledger.c.erp_sale_id)).one()
    if meanwhile == "booked again":  # the order flow cancelled it in between
        assert move(warehouse, "o3", "cancelled")
    else:
        with warehouse.begin() as conn:
            conn.execute(order_ledger.update().values(erp_sale_id=9))
    with warehouse.begin() as conn:
        assert not ledger.reopen(conn, store=STORE, order_id="o3", state=state, erp_sale_id=sale)
    assert len(rows(warehouse)) == 1
    with warehouse.begin() as conn:
        now_state, now_sale = conn.execute(select(order_ledger.c.state, order_ledger.c.erp_sale_id)).one()
        assert ledger.reopen(conn, store=STORE, order_id="o3", state=now_state, erp_sale_id=now_sale)
    assert rows(warehouse) == []
