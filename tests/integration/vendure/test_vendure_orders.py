"""The order side of the product's Vendure store against a real, stock Vendure server: the orders of a
window (with the changes that do not move ``Order.updatedAt``), stamps, fulfillment."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from erpsync.common.window import Window
from sandbox.vendure.shopper import cancel_order, guest_checkout, refund_order
from tests.integration.vendure.test_vendure_store import GUEST, _by_sku, seeded, store  # noqa: F401 - fixtures
from tests.sandbox.conftest_vendure import *  # noqa: F403 - the `vendure` fixture
from tests.support.clock import next_second

pytestmark = pytest.mark.vendure

SHIPPING = Decimal("5.99")  # the sandbox's flat shipping (sandbox/vendure/seed.py), 0% tax


def _second(moment: dt.datetime) -> dt.datetime:
    """Vendure on SQLite keeps whole seconds (rounded down) of most of its timestamps."""
    return moment.replace(microsecond=0)


def _orders(store, window: Window) -> list:
    return [order for page in store.iter_orders(window) for order in page]


def _own_row_updated_at(seeded, order_id: str) -> dt.datetime:
    node = seeded.admin().data("query($id: ID!) { order(id: $id) { updatedAt } }", {"id": order_id})["order"]
    return dt.datetime.fromisoformat(node["updatedAt"].replace("Z", "+00:00"))


def test_a_placed_order_comes_whole_in_its_window_and_once(seeded, store):
    shoe = _by_sku(store)
    before = next_second()
    placed = guest_checkout(seeded.shop(), [(shoe["SHOE-40"].variant_id, 2), (shoe["SHOE-41"].variant_id, 1)], GUEST)
    after = next_second()
    orders = [o for o in _orders(store, Window(before, after)) if o.order_id == placed["id"]]
    assert len(orders) == 1
    (order,) = orders
    prices = {v.sku: v.price for v in shoe.values()}
    lines = sorted((line.sku, line.quantity, line.current_quantity, line.unit_price) for line in order.lines)
    assert lines == [("SHOE-40", 2, 2, prices["SHOE-40"]), ("SHOE-41", 1, 1, prices["SHOE-41"])]
    assert order.total == 2 * prices["SHOE-40"] + prices["SHOE-41"] + SHIPPING
    assert (order.shipping_total, order.tax_total, order.financial_status) == (SHIPPING, Decimal("0.00"), "PAID")
    assert order.customer.email == GUEST.email and order.customer.customer_id is not None
    assert order.shipping_address.city == GUEST.city and order.cancelled_at is None
    assert _second(before) <= order.updated_at < after and order.name == placed["code"]
    later = [o.order_id for o in _orders(store, Window(after, next_second()))]
    assert placed["id"] not in later, "nothing changed since"


def test_a_cancellation_and_a_refund_come_in_their_windows_though_updated_at_may_not_move(seeded, store):
    shoe = _by_sku(store)
    placed = guest_checkout(seeded.shop(), [(shoe["SHOE-40"].variant_id, 1)], GUEST)
    own_row = _own_row_updated_at(seeded, placed["id"])

    before_refund = next_second()
    refund_order(seeded.admin(), placed["id"], 250)
    after_refund = next_second()
    refunded = [o for o in _orders(store, Window(before_refund, after_refund)) if o.order_id == placed["id"]]
    assert len(refunded) == 1 and [r.total for r in refunded[0].refunds] == [Decimal("2.50")]
    assert refunded[0].financial_status == "PARTIALLY_REFUNDED" and refunded[0].refunded_total == Decimal("2.50")

    before_cancel = next_second()
    cancel_order(seeded.admin(), placed["id"])
    after_cancel = next_second()
    cancelled = [o for o in _orders(store, Window(before_cancel, after_cancel)) if o.order_id == placed["id"]]
    assert len(cancelled) == 1 and cancelled[0].cancelled_at is not None
    assert _second(before_cancel) <= cancelled[0].cancelled_at < after_cancel
    assert [line.current_quantity for line in cancelled[0].lines] == [0]
    stamps = [s for page in store.order_stamps(Window(before_cancel, after_cancel)) for s in page
              if s.order_id == placed["id"]]
    assert [(s.name, s.cancelled) for s in stamps] == [(placed["code"], True)]
    # What an extract by the order's own updatedAt would have seen (recorded, whatever this Vendure does).
    print("Order.updatedAt moved on refund/cancel:", _own_row_updated_at(seeded, placed["id"]) > own_row)


def test_fulfilment_ships_what_is_left_once_and_closes_the_order(seeded, store):
    shoe = _by_sku(store)
    placed = guest_checkout(seeded.shop(), [(shoe["SHOE-41"].variant_id, 2)], GUEST)
    (open_order,) = store.fulfillment_orders([placed["id"]])[placed["id"]]
    assert open_order.status == "OPEN" and [q for _, q in open_order.fulfillable] == [2]
    fulfillment = store.create_fulfillment([open_order], tracking_number="1Z999", tracking_company="UPS")
    (closed,) = store.fulfillment_orders([placed["id"]])[placed["id"]]
    assert (closed.status, closed.fulfillment_ids, closed.fulfillable) == ("CLOSED", (fulfillment.fulfillment_id,), ())
    assert fulfillment.order_updated_at is None and store.order_versions([placed["id"]]) == [], \
        "Vendure's orders carry no version: always read whole"
    node = seeded.admin().data("query($id: ID!) { order(id: $id) { state fulfillments { state trackingCode } } }",
                               {"id": placed["id"]})["order"]
    assert node == {"state": "Shipped", "fulfillments": [{"state": "Shipped", "trackingCode": "1Z999"}]}


def test_fulfilment_of_part_of_a_line_ships_that_part_and_the_rest_later(seeded, store):
    """The ERP shipped 1 of 2: Vendure gets a fulfillment of exactly 1 (the order PartiallyShipped), then
    one of the other; what each says is fulfilled is Vendure's own count of shipped units."""
    shoe = _by_sku(store)
    placed = guest_checkout(seeded.shop(), [(shoe["SHOE-41"].variant_id, 2)], GUEST)
    (open_order,) = store.fulfillment_orders([placed["id"]])[placed["id"]]
    ((line_id, sku),) = open_order.skus
    assert (sku, open_order.fulfilled, open_order.fulfillable) == ("SHOE-41", ((line_id, 0),), ((line_id, 2),))
    first = store.create_fulfillment([open_order], tracking_number="PART-1", tracking_company="UPS",
                                     units={line_id: 1})
    (part,) = store.fulfillment_orders([placed["id"]])[placed["id"]]
    assert (part.status, part.fulfilled, part.fulfillable) == ("OPEN", ((line_id, 1),), ((line_id, 1),))
    second = store.create_fulfillment([part], tracking_number="PART-2", tracking_company="UPS", units={line_id: 1})
    (closed,) = store.fulfillment_orders([placed["id"]])[placed["id"]]
    assert (closed.status, closed.fulfillment_ids, closed.fulfilled) == (
        "CLOSED", (first.fulfillment_id, second.fulfillment_id), ((line_id, 2),))
    node = seeded.admin().data(
        "query($id: ID!) { order(id: $id) { state fulfillments { state trackingCode lines { quantity } } } }",
        {"id": placed["id"]})["order"]
    assert node["state"] == "Shipped"
    assert sorted((f["trackingCode"], [line["quantity"] for line in f["lines"]]) for f in node["fulfillments"]) == [
        ("PART-1", [1]), ("PART-2", [1])]
