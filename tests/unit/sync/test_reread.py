"""Which orders of a window the order flow reads whole: never one it lacks or that changed in something the
flows act on; not one staged in that version, nor one changed only by our own fulfillment."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from erpsync.store.records import OrderStamp
from erpsync.sync.orders.reread import Known, after_versions, plan

T0 = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
# A few whole seconds and versions, so that equal stamps and equal versions are common.
moments = st.integers(min_value=0, max_value=2).map(lambda s: T0 + dt.timedelta(seconds=s))
versions = st.sampled_from(["v1", "v2"])
ORDERS = [f"gid://shopify/Order/{n}" for n in range(1, 5)]


@st.composite
def windows(draw):
    """Stamps of some orders, what the sync state knows of each, and what the cheap version read says
    (an order may have changed again since its stamp, or be gone)."""
    stamps = {order_id: draw(moments) for order_id in draw(st.lists(st.sampled_from(ORDERS), unique=True))}
    known = {order_id: Known(draw(st.none() | moments), draw(st.none() | versions), draw(st.none() | moments))
             for order_id in ORDERS if draw(st.integers(0, 3))}  # most orders known
    read_back = {}
    for order_id, at in stamps.items():
        if draw(st.booleans()):  # still there; perhaps changed again since the stamp
            later = at + dt.timedelta(seconds=draw(st.sampled_from([0, 0, 1])))
            read_back[order_id] = OrderStamp(order_id, later, "#1", False, draw(st.none() | versions))
    return stamps, known, read_back, draw(moments)


def _left_unread(order_id, at, known, read_back, settled) -> bool:
    """The rule, written out: staged in the stamp's version, the stamp before the second from which staging
    is not trusted; or gone; or our fulfillment's change (the stamp is the one its answer gave, staging
    holds an earlier version) that the version read shows at the stamp with the staged version."""
    state = known.get(order_id, Known())
    if state.staged_at == at and at < settled:
        return True
    ours = (state.echo_at == at and state.staged_at is not None and state.staged_at < at
            and state.staged_version is not None)
    if not ours:
        return False
    if order_id not in read_back:
        return True
    again = read_back[order_id]
    return again.updated_at == at and again.version == state.staged_version


@settings(max_examples=500)
@given(windows())
def test_an_order_is_read_whole_exactly_when_the_rule_says_so(case):
    stamps, known, read_back, settled = case
    todo = plan(stamps, known, settled=settled)
    read = todo.read + after_versions(todo.echo, [read_back[o] for o in todo.echo if o in read_back], known)
    assert len(read) == len(set(read)), "never read twice in one run"
    assert set(todo.read).isdisjoint(todo.echo)
    for order_id, at in stamps.items():
        assert (order_id not in read) == _left_unread(order_id, at, known, read_back, settled), order_id


@given(windows())
def test_an_order_unstaged_or_changed_since_staging_or_in_the_unsettled_seconds_is_read_unless_our_echo(case):
    stamps, known, _, settled = case
    todo = plan(stamps, known, settled=settled)
    for order_id, at in stamps.items():
        state = known.get(order_id, Known())
        if state.echo_at != at and (state.staged_at is None or state.staged_at != at or at >= settled):
            assert order_id in todo.read


def test_our_fulfillment_after_a_refund_nobody_read_is_read_back():
    """A refund came between the staged read and our fulfillment: the stamp is our fulfillment's, but the
    version is not the staged one, so the order is read (the refund would otherwise be lost)."""
    order_id = ORDERS[0]
    staged, ours = T0, T0 + dt.timedelta(seconds=30)
    known = {order_id: Known(staged, "|False||PAID|2|0|20.00", ours)}
    todo = plan({order_id: ours}, known, settled=ours)
    assert (todo.read, todo.echo) == ([], [order_id])
    refunded = OrderStamp(order_id, ours, "#1001", False, "|False||PARTIALLY_REFUNDED|1|10.00|10.00")
    assert after_versions(todo.echo, [refunded], known) == [order_id]
    unchanged = OrderStamp(order_id, ours, "#1001", False, "|False||PAID|2|0|20.00")
    assert after_versions(todo.echo, [unchanged], known) == []
