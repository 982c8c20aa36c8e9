"""Which lines a store's refunds restocked since a moment, property-based: a refund counts when it was
made at or after the moment (the same second is in doubt), only its restocked lines with units, and one
refund's lines never hide another's."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from erpsync.sync.orders.restocks import edited_lines, restocked_lines

EPOCH = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
seconds = st.integers(min_value=0, max_value=3_600)
refund_lines = st.lists(st.fixed_dictionaries({
    "line_id": st.sampled_from([f"gid://shopify/LineItem/{n}" for n in (1, 2, 3)]),
    "quantity": st.integers(min_value=0, max_value=5), "restock": st.booleans(), "subtotal": st.just("9.99"),
}), max_size=3)
refunds = st.lists(st.tuples(seconds, refund_lines), max_size=4)


def as_staged(made: list[tuple[int, list[dict]]]) -> list[dict]:
    """The refunds as staging keeps them (``stg_order.refunds``): ISO times with the store's zone."""
    return [{"refund_id": f"gid://shopify/Refund/{n}", "total": "9.99", "lines": lines,
             "created_at": (EPOCH + dt.timedelta(seconds=at)).isoformat().replace("+00:00", "Z")}
            for n, (at, lines) in enumerate(made)]


@given(made=refunds, since=seconds)
def test_the_lines_restocked_with_units_by_a_refund_made_no_earlier_than_the_moment(made, since):
    expected = {line["line_id"] for at, lines in made if at >= since for line in lines
                if line["restock"] and line["quantity"] > 0}
    assert restocked_lines(as_staged(made), since=EPOCH + dt.timedelta(seconds=since)) == expected


@given(made=refunds)
def test_without_a_moment_every_restocked_line(made):
    expected = {line["line_id"] for _at, lines in made for line in lines
                if line["restock"] and line["quantity"] > 0}
    assert restocked_lines(as_staged(made)) == expected


@given(made=refunds, since=seconds)
def test_a_moment_read_back_without_its_zone_is_the_same_moment(made, since):
    moment = EPOCH + dt.timedelta(seconds=since)
    assert restocked_lines(as_staged(made), since=moment.replace(tzinfo=None)) == restocked_lines(
        as_staged(made), since=moment)


def test_no_refunds():
    assert restocked_lines(None) == set() == restocked_lines([], since=EPOCH)


def test_the_lines_an_edit_changed_since_a_moment_count_whether_units_came_or_went():
    at = (EPOCH + dt.timedelta(seconds=10)).isoformat().replace("+00:00", "Z")
    edits = [{"edit_id": "E1", "happened_at": at, "lines": [
        {"line_id": "L1", "quantity": -1, "added": False}, {"line_id": "L2", "quantity": 2, "added": True},
        {"line_id": "L3", "quantity": 0, "added": False}]}]
    assert edited_lines(edits) == {"L1", "L2"}
    same_second = EPOCH + dt.timedelta(seconds=10)
    assert edited_lines(edits, since=same_second) == {"L1", "L2"}, "the same second counts"
    assert edited_lines(edits, since=EPOCH + dt.timedelta(seconds=11)) == set()
    assert edited_lines(None) == set()


def test_the_lines_a_return_restocked_or_gave_in_exchange_since_a_moment():
    from erpsync.sync.orders.restocks import returned_lines

    at = (EPOCH + dt.timedelta(seconds=10)).isoformat()
    returns = [{"return_id": "R1", "happened_at": at, "returned": [
        {"line_id": "L1", "quantity": 1, "restocked": [["Central", 1]]},
        {"line_id": "L2", "quantity": 1, "restocked": []}],  # damaged: nothing came back to the shelf
        "exchanged": [{"line_id": "X1", "quantity": 1}]}]
    assert returned_lines(returns) == {"L1", "X1"}
    assert returned_lines(returns, since=EPOCH + dt.timedelta(seconds=10)) == {"L1", "X1"}
    assert returned_lines(returns, since=EPOCH + dt.timedelta(seconds=11)) == set()
    assert returned_lines(None) == set()
