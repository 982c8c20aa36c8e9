"""What a new verified store event causes (erpsync.store.events.decide): a run of the order flow, or
nothing, and why. Property-based: the rules hold for any stamps and sets, not only for the examples."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from erpsync.store.events import Delivery, KnownOrder, OrderState, decide

T0 = dt.datetime(2026, 12, 5, tzinfo=dt.UTC)
MAX_AGE = dt.timedelta(hours=1)
seconds = st.integers(min_value=-7200, max_value=7200)
ids = st.frozensets(st.sampled_from([f"gid://shopify/Fulfillment/{n}" for n in range(4)]), max_size=3)
refunds = st.frozensets(st.sampled_from([f"gid://shopify/Refund/{n}" for n in range(3)]), max_size=2)
ORDER_TOPICS = ["orders/create", "orders/updated", "orders/cancelled", "orders/edited", "orders/paid",
                "refunds/create"]
OTHER_TOPICS = ["inventory_levels/update", "products/update", "fulfillments/create", "orders/fulfilled",
                "orders/partially_fulfilled"]


def at(offset: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=offset)


def delivery(topic="orders/updated", triggered=0, updated=0, state=None) -> Delivery:
    return Delivery(topic=topic, event_id="e", triggered_at=at(triggered), resource="gid://shopify/Order/1",
                    resource_updated_at=at(updated), order_state=state)


@given(topic=st.sampled_from(ORDER_TOPICS + OTHER_TOPICS), age=st.integers(min_value=0, max_value=7200))
def test_a_delivery_older_than_the_max_age_is_stale_whatever_it_says(topic, age):
    decision = decide(delivery(topic, triggered=-age), received_at=T0, max_age=MAX_AGE, known=None)
    assert (decision.outcome == "stale") == (age > 3600)


@given(topic=st.sampled_from(OTHER_TOPICS))
def test_inventory_product_and_fulfillment_topics_cause_no_run(topic):
    decision = decide(delivery(topic), received_at=T0, max_age=MAX_AGE, known=None)
    assert decision.outcome == "ignored" and not decision.wants_run and topic in decision.reason


@given(topic=st.sampled_from(ORDER_TOPICS), fulfilled=ids, refunded=refunds, cancelled=st.booleans())
def test_an_order_the_ledger_has_never_seen_always_runs(topic, fulfilled, refunded, cancelled):
    state = OrderState(fulfillment_ids=fulfilled, refund_ids=refunded, cancelled=cancelled, fulfilled_at=T0)
    assert decide(delivery(topic, state=state), received_at=T0, max_age=MAX_AGE, known=None).wants_run


@given(ours=ids, theirs=ids, known_refunds=refunds, order_refunds=refunds, known_cancelled=st.booleans(),
       cancelled=st.booleans(), fulfilled=seconds, updated=seconds)
def test_an_order_update_is_our_echo_exactly_when_nothing_in_it_is_new_to_us(
        ours, theirs, known_refunds, order_refunds, known_cancelled, cancelled, fulfilled, updated):
    known = KnownOrder(fulfillment_ids=ours, refund_ids=known_refunds, cancelled=known_cancelled)
    state = OrderState(fulfillment_ids=theirs, refund_ids=order_refunds, cancelled=cancelled,
                       fulfilled_at=at(fulfilled))
    decision = decide(delivery(updated=updated, state=state), received_at=at(7200),
                      max_age=dt.timedelta(hours=9), known=known)
    # Worked out from the rule's words: every fulfillment on the order is one we created (and it has one),
    # every refund is applied already, the cancellation is as we know it, and the order changed no later
    # than two seconds after its last fulfillment.
    nothing_new = (bool(theirs) and theirs <= ours and order_refunds <= known_refunds
                   and cancelled == known_cancelled and updated <= fulfilled + 2)
    assert decision.outcome == ("echo" if nothing_new else "run")


def test_only_orders_updated_can_be_an_echo():
    known = KnownOrder(fulfillment_ids=frozenset({"f"}), refund_ids=frozenset(), cancelled=False)
    state = OrderState(fulfillment_ids=frozenset({"f"}), fulfilled_at=T0)
    for topic in ("orders/create", "orders/cancelled", "refunds/create", "orders/edited"):
        assert decide(delivery(topic, state=state), received_at=T0, max_age=MAX_AGE, known=known).wants_run
    assert decide(delivery(state=state), received_at=T0, max_age=MAX_AGE, known=known).outcome == "echo"
