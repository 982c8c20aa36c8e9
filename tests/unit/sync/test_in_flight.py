"""Which orders the ERP lacks reconciliation leaves to the order flow: those it is on its way to (not yet
read, or staged and not booked), within the patience after their last change, never one it is done with."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from erpsync.store.records import OrderStamp
from erpsync.sync.reconcile.in_flight import FlowPosition, in_flight, split_in_flight

UNTIL = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
PATIENCE = dt.timedelta(minutes=30)

ages = st.integers(min_value=0, max_value=3 * 24 * 3600).map(lambda s: dt.timedelta(seconds=s))
patiences = st.integers(min_value=0, max_value=24 * 3600).map(lambda s: dt.timedelta(seconds=s))
cursors = st.none() | ages.map(lambda age: UNTIL - age)


def stamp(order_id: str, age: dt.timedelta) -> OrderStamp:
    return OrderStamp(order_id=order_id, updated_at=UNTIL - age, name=f"#{order_id}", cancelled=False)


@st.composite
def situations(draw):
    """An order the ERP lacks, and what the flow knows of it."""
    order = stamp("1001", draw(ages))
    flow = FlowPosition(cursor=draw(cursors), staged={"1001"} if draw(st.booleans()) else set(),
                        settled={"1001"} if draw(st.booleans()) else set(), overlap=draw(patiences))
    return order, flow


@given(situations(), patiences)
def test_an_order_older_than_the_patience_is_never_in_flight(situation, patience):
    order, flow = situation
    if order.updated_at < UNTIL - patience:
        assert not in_flight(order, flow, until=UNTIL, patience=patience)


@given(situations(), patiences, patiences)
def test_more_patience_never_takes_an_order_from_the_flow(situation, patience, more):
    order, flow = situation
    if in_flight(order, flow, until=UNTIL, patience=patience):
        assert in_flight(order, flow, until=UNTIL, patience=patience + more)


@given(situations(), ages, patiences)
def test_a_flow_further_behind_is_on_its_way_to_at_least_as_much(situation, back, patience):
    order, flow = situation
    if in_flight(order, flow, until=UNTIL, patience=patience) and flow.cursor is not None:
        behind = FlowPosition(cursor=flow.cursor - back, staged=flow.staged, settled=flow.settled,
                              overlap=flow.overlap)
        assert in_flight(order, behind, until=UNTIL, patience=patience)


@given(situations(), patiences)
def test_an_order_the_flow_is_done_with_is_never_in_flight(situation, patience):
    order, flow = situation
    done = FlowPosition(cursor=flow.cursor, staged=flow.staged, settled={order.order_id})
    assert not in_flight(order, done, until=UNTIL, patience=patience)


def test_the_flow_is_on_its_way_to_what_it_has_not_read_and_what_it_staged_but_not_to_what_it_read_past():
    cursor = UNTIL - dt.timedelta(minutes=5)
    flow = FlowPosition(cursor=cursor, staged={"staged"})
    assert in_flight(stamp("after", dt.timedelta(minutes=4)), flow, until=UNTIL, patience=PATIENCE)
    assert in_flight(stamp("at", dt.timedelta(minutes=5)), flow, until=UNTIL, patience=PATIENCE)
    assert in_flight(stamp("staged", dt.timedelta(minutes=20)), flow, until=UNTIL, patience=PATIENCE)
    # Read past without being staged (the store's search did not show it to the flow): missing.
    assert not in_flight(stamp("skipped", dt.timedelta(minutes=6)), flow, until=UNTIL, patience=PATIENCE)
    # The same, 31 minutes old: the flow has been at it for longer than the patience.
    assert not in_flight(stamp("staged", dt.timedelta(minutes=31)), flow, until=UNTIL, patience=PATIENCE)
    assert not in_flight(stamp("after", dt.timedelta(minutes=4)), flow, until=UNTIL, patience=dt.timedelta(0))


def test_what_the_flows_next_read_overlaps_is_not_yet_read():
    flow = FlowPosition(cursor=UNTIL - dt.timedelta(minutes=5), overlap=dt.timedelta(minutes=2))
    assert in_flight(stamp("overlapped", dt.timedelta(minutes=7)), flow, until=UNTIL, patience=PATIENCE)
    assert not in_flight(stamp("before", dt.timedelta(minutes=7, seconds=1)), flow, until=UNTIL, patience=PATIENCE)


def test_a_flow_that_never_staged_a_read_is_on_its_way_to_nothing_it_has_not_staged():
    flow = FlowPosition(cursor=None)
    assert not in_flight(stamp("new", dt.timedelta(seconds=1)), flow, until=UNTIL, patience=PATIENCE)


@given(st.lists(st.tuples(st.integers(min_value=1000, max_value=1100), ages), unique_by=lambda t: t[0]),
       cursors, patiences)
def test_the_split_puts_every_order_on_exactly_one_side(orders, cursor, patience):
    stamps = [stamp(str(order_id), age) for order_id, age in orders]
    staged = {s.order_id for s in stamps[::3]}
    missing, flying = split_in_flight(stamps, FlowPosition(cursor=cursor, staged=staged), until=UNTIL,
                                      patience=patience)
    assert sorted(missing + flying) == sorted(s.order_id for s in stamps)
    assert missing == sorted(missing) and flying == sorted(flying)
    assert set(flying) == {s.order_id for s in stamps
                           if in_flight(s, FlowPosition(cursor, staged), until=UNTIL, patience=patience)}
