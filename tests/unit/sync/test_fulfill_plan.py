"""What the store is told the ERP shipped (pure): exactly each shipment's units, per location, never what
the store no longer has to fulfil, and nothing twice however often it is planned again. Expected plans are
written out by hand; the properties simulate the store taking each plan."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings, strategies as st

from erpsync.store.records import FulfillmentOrder
from erpsync.sync.orders.fulfill_plan import Fulfilment, Shipped, plan


def fo(fo_id: str, location: str, *lines: tuple[str, str, int, int], status: str = "OPEN") -> FulfillmentOrder:
    """A fulfillment order: lines of (line id, SKU, units still to fulfil, units fulfilled)."""
    return FulfillmentOrder(fo_id, status, (), location, tuple((line, left) for line, _, left, _ in lines),
                            tuple((line, sku) for line, sku, _, _ in lines),
                            tuple((line, done) for line, _, _, done in lines))


def test_a_part_shipment_fulfils_exactly_its_units_with_its_tracking():
    orders = [fo("FO1", "L1", ("a", "MUG", 3, 0), ("b", "CUP", 2, 0))]
    assert plan([Shipped(10, "T1", (("MUG", 2),))], orders, complete=False) == [
        Fulfilment("L1", 10, "T1", (("FO1", "a", 2),))]


def test_the_later_shipment_fulfils_the_rest_and_what_is_fulfilled_counts_against_the_first():
    # The first shipment's 2 mugs are fulfilled in the store already (1 of 3 left).
    orders = [fo("FO1", "L1", ("a", "MUG", 1, 2), ("b", "CUP", 2, 0))]
    shipments = [Shipped(11, "T2", (("MUG", 1), ("CUP", 2))), Shipped(10, "T1", (("MUG", 2),))]
    assert plan(shipments, orders, complete=True) == [
        Fulfilment("L1", 11, "T2", (("FO1", "a", 1), ("FO1", "b", 2)))]


def test_a_shipment_over_two_locations_is_one_fulfillment_per_location():
    orders = [fo("FO2", "L2", ("c", "CUP", 2, 0)), fo("FO1", "L1", ("a", "MUG", 1, 0))]
    assert plan([Shipped(10, "T1", (("MUG", 1), ("CUP", 2)))], orders, complete=True) == [
        Fulfilment("L1", 10, "T1", (("FO1", "a", 1),)), Fulfilment("L2", 10, "T1", (("FO2", "c", 2),))]


def test_one_sku_on_two_fulfillment_orders_fills_the_first_location_then_the_next():
    orders = [fo("FO1", "L1", ("a", "MUG", 2, 0)), fo("FO2", "L2", ("c", "MUG", 2, 0))]
    assert plan([Shipped(10, None, (("MUG", 3),))], orders, complete=False) == [
        Fulfilment("L1", 10, None, (("FO1", "a", 2),)), Fulfilment("L2", 10, None, (("FO2", "c", 1),))]


def test_what_the_store_refunded_or_cancelled_is_never_asked_for():
    # 3 mugs sold, 2 cancelled in the store after the ERP shipped all 3: 1 left to fulfil.
    orders = [fo("FO1", "L1", ("a", "MUG", 1, 0))]
    assert plan([Shipped(10, "T1", (("MUG", 3),))], orders, complete=True) == [
        Fulfilment("L1", 10, "T1", (("FO1", "a", 1),))]
    closed = [fo("FO1", "L1", ("a", "MUG", 0, 0), status="CANCELLED")]
    assert plan([Shipped(10, "T1", (("MUG", 3),))], closed, complete=True) == []


def test_fulfilled_in_the_store_beyond_the_erp_asks_for_nothing():
    orders = [fo("FO1", "L1", ("a", "MUG", 1, 2))]
    assert plan([Shipped(10, "T1", (("MUG", 1),))], orders, complete=False) == []


def test_lines_the_erp_never_ships_are_fulfilled_once_it_has_shipped_all_the_rest():
    orders = [fo("FO1", "L1", ("a", "MUG", 1, 0), ("s", "GIFT-WRAP", 1, 0))]
    shipments = [Shipped(10, "T1", (("MUG", 1),))]
    assert plan(shipments, orders, complete=False, unshipped_skus=frozenset({"GIFT-WRAP"})) == [
        Fulfilment("L1", 10, "T1", (("FO1", "a", 1),))]
    assert plan(shipments, orders, complete=True, unshipped_skus=frozenset({"GIFT-WRAP"})) == [
        Fulfilment("L1", 10, "T1", (("FO1", "a", 1), ("FO1", "s", 1)))]


# -- properties: the store takes each plan -------------------------------------------------------------

SKUS = ("A", "B", "C")


@st.composite
def situations(draw):
    """Fulfillment orders (some units fulfilled already, some taken off by refunds) and the ERP's
    shipments of the same SKUs, possibly more or fewer units than the store has."""
    orders, n = [], 0
    for index in range(draw(st.integers(1, 3))):
        lines = []
        for sku in draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=3)):
            n += 1
            lines.append((f"l{n}", sku, draw(st.integers(0, 4)), draw(st.integers(0, 3))))
        orders.append(fo(f"FO{index}", draw(st.sampled_from(["L1", "L2"])), *lines,
                         status=draw(st.sampled_from(["OPEN", "OPEN", "IN_PROGRESS", "CLOSED"]))))
    shipments = [Shipped(sid, f"T{sid}", tuple(Counter(draw(st.lists(st.sampled_from(SKUS), max_size=6))).items()))
                 for sid in range(draw(st.integers(0, 3)))]
    return orders, shipments


def take(orders: list[FulfillmentOrder], fulfilments: list[Fulfilment]) -> list[FulfillmentOrder]:
    """The fulfillment orders after the store made these fulfillments (refusing any over-ask)."""
    asked = Counter()
    for f in fulfilments:
        for fo_id, line_id, units in f.lines:
            assert units > 0
            asked[fo_id, line_id] += units
    after = []
    for order in orders:
        remaining = dict(order.remaining)
        for (fo_id, line_id), units in asked.items():
            if fo_id == order.fulfillment_order_id:
                assert order.status not in ("CLOSED", "CANCELLED"), "a closed fulfillment order was asked"
                assert units <= remaining[line_id], "more than the store has left to fulfil"
        after.append(FulfillmentOrder(
            order.fulfillment_order_id, order.status, (), order.location_id,
            tuple((line, left - asked[order.fulfillment_order_id, line]) for line, left in order.remaining),
            order.skus, tuple((line, done + asked[order.fulfillment_order_id, line]) for line, done in order.fulfilled)))
    return after


def open_units(orders: list[FulfillmentOrder]) -> Counter:
    found = Counter()
    for order in orders:
        if order.status not in ("CLOSED", "CANCELLED"):
            skus = dict(order.skus)
            for line, left in order.remaining:
                found[skus[line]] += left
    return found


def done_units(orders: list[FulfillmentOrder]) -> Counter:
    found = Counter()
    for order in orders:
        skus = dict(order.skus)
        for line, done in order.fulfilled:
            found[skus[line]] += done
    return found


@settings(max_examples=300)
@given(situations())
def test_each_sku_gets_what_the_erp_shipped_beyond_what_is_fulfilled_up_to_what_is_open(situation):
    orders, shipments = situation
    fulfilments = plan(shipments, orders, complete=False)
    shipped = Counter()
    for shipment in shipments:
        shipped.update(dict(shipment.units))
    planned = Counter()
    for f in fulfilments:
        by_fo = {o.fulfillment_order_id: o for o in orders}
        assert {by_fo[fo_id].location_id for fo_id, _, _ in f.lines} == {f.location_id}, "one location each"
        assert f.tracking == f"T{f.shipment_id}"
        for fo_id, line_id, units in f.lines:
            planned[dict(by_fo[fo_id].skus)[line_id]] += units
    before, open_ = done_units(orders), open_units(orders)
    for sku in SKUS:
        assert planned[sku] == min(max(0, shipped[sku] - before[sku]), open_[sku]), sku
    take(orders, fulfilments)


@settings(max_examples=300)
@given(situations(), st.integers(0, 3))
def test_planning_again_after_the_store_took_a_plan_asks_for_nothing_and_parts_add_up(situation, first):
    orders, shipments = situation
    once = take(orders, plan(shipments, orders, complete=False))
    assert plan(shipments, once, complete=False) == [], "nothing twice"
    # The ERP's shipments told one run at a time end where telling them all at once does.
    stepwise = orders
    for count in (first, len(shipments)):
        stepwise = take(stepwise, plan(shipments[:count], stepwise, complete=False))
    assert done_units(stepwise) == done_units(once)
