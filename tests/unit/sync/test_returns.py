"""What a return books (pure): the return's and the exchange's sale lines, and what a refund given with
the return books beyond them. Amounts are worked out by hand in the comments."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, strategies as st

from erpsync.shopify.store import order_returns
from erpsync.sync.orders.returns import BookLine, booking, refund_beyond

LINES = {
    "L1": {"unit_price": Decimal("20.00"), "title": "Mug"},
    "L2": {"unit_price": Decimal("15.00"), "title": "Cup"},
    "X1": {"unit_price": Decimal("12.50"), "title": "Plate"},
}


def test_a_restocked_return_with_an_exchange_books_the_goods_back_and_the_exchange_once():
    ret = {"return_id": "R1", "happened_at": "2026-12-06T10:00:00+00:00",
           # 1 mug back: it carried 2.00 of discount and 1.44 of tax (8% of 18.00)
           "returned": [{"line_id": "L1", "quantity": 1, "discount": "-2.00", "tax": "-1.44",
                         "restocked": [["Central", 1]]}],
           # a plate in exchange: 12.50 plus 1.00 of tax (8%)
           "exchanged": [{"line_id": "X1", "quantity": 1, "discount": "0", "tax": "1.00"}]}
    booked = booking(ret, LINES, taxes_included=False)
    assert booked.returned == (
        BookLine("goods", -1, Decimal("20.00"), "L1", "Return: Mug"),
        BookLine("discount", 1, Decimal("2.00"), None, "Discounts (return)"),
        BookLine("tax", 1, Decimal("-1.44"), None, "Taxes (return)"),
    )
    assert booked.exchanged == (
        BookLine("goods", 1, Decimal("12.50"), "X1", "Exchange: Plate"),
        BookLine("tax", 1, Decimal("1.00"), None, "Taxes (exchange)"),
    )
    assert booked.location == "Central"
    # back: 20.00 - 2.00 + 1.44 = 19.44; exchange 13.50; the customer gets 5.94
    assert booked.total == Decimal("-5.94")
    assert refund_beyond(Decimal("5.94"), booked) == 0
    assert refund_beyond(Decimal("10.94"), booked) == Decimal("5.00")  # 5.00 of shipping refunded too


def test_units_not_restocked_are_money_only_and_taxes_included_add_no_tax_line():
    ret = {"return_id": "R2", "happened_at": "2026-12-06T10:00:00+00:00",
           "returned": [{"line_id": "L2", "quantity": 3, "discount": "0", "tax": "-2.50",
                         "restocked": [["East", 1]]}]}
    booked = booking(ret, LINES, taxes_included=True)
    assert booked.returned == (
        BookLine("goods", -1, Decimal("15.00"), "L2", "Return: Cup"),
        BookLine("refund", 1, Decimal("-30.00"), None, "Returned, not restocked: 2 x Cup"),
    )
    assert booked.exchanged == ()
    assert booked.total == Decimal("-45.00")


def _agreement(agreement_id, return_id, when, sales):
    return {"id": agreement_id, "happenedAt": when, "reason": "RETURN", "return": {"id": return_id},
            "sales": {"nodes": [{"lineType": "PRODUCT", "actionType": action, "quantity": quantity,
                                 "lineItem": {"id": line},
                                 "totalDiscountAmountBeforeTaxes": {"shopMoney": {"amount": discount}},
                                 "totalTaxAmount": {"shopMoney": {"amount": tax}}}
                                for action, line, quantity, discount, tax in sales]}}


def _return(return_id, status, *, unprocessed=0, total=2, dispositions=()):
    return {"id": return_id, "status": status,
            "returnLineItems": {"nodes": [{"quantity": total, "unprocessedQuantity": unprocessed}]},
            "exchangeLineItems": {"nodes": []},
            "reverseFulfillmentOrders": {"nodes": [{"lineItems": {"nodes": [{
                "totalQuantity": total, "fulfillmentLineItem": {"lineItem": {"id": "L1"}},
                "dispositions": [{"quantity": q, "type": t, "location": {"name": n}} for q, t, n in dispositions],
            }]}}]}}


def test_shopify_returns_are_read_from_their_agreements_and_dispositions():
    agreements = [
        {"id": "A0", "happenedAt": "2026-12-06T09:00:00Z", "reason": "ORDER", "sales": {"nodes": []}},
        _agreement("A1", "R1", "2026-12-06T10:00:00Z", [("RETURN", "L1", 2, "-4.00", "-2.88"),
                                                         ("ORDER", "X1", 1, "0.00", "1.00")]),
    ]
    # disposed in full: one restocked at East, one damaged
    settled = _return("R1", "OPEN", dispositions=[(1, "RESTOCKED", "East"), (1, "NOT_RESTOCKED", "East")])
    (ret,) = order_returns(agreements, [settled])
    assert ret.return_id == "R1" and ret.settled
    assert [(r.line_id, r.quantity, r.discount, r.tax, r.restocked) for r in ret.returned] == [
        ("L1", 2, Decimal("-4.00"), Decimal("-2.88"), (("East", 1),))]
    assert [(x.line_id, x.quantity, x.tax) for x in ret.exchanged] == [("X1", 1, Decimal("1.00"))]
    # half disposed: waits; closed: settled whatever is left; not processed (no agreement): nothing
    assert not order_returns(agreements, [_return("R1", "OPEN", dispositions=[(1, "RESTOCKED", "East")])])[0].settled
    assert order_returns(agreements, [_return("R1", "CLOSED")])[0].settled
    assert order_returns(agreements, [_return("R2", "OPEN")]) == ()
    assert not order_returns(agreements, [_return("R1", "OPEN", unprocessed=1,
                                                  dispositions=[(2, "RESTOCKED", "East")])])[0].settled


@given(st.lists(st.tuples(st.sampled_from(sorted(LINES)), st.integers(1, 5), st.integers(0, 5),
                          st.decimals("-5", "0", places=2), st.decimals("-3", "0", places=2)),
                min_size=1, max_size=3, unique_by=lambda t: t[0]),
       st.sampled_from(["Central", "East"]), st.booleans())
def test_where_and_whether_goods_are_restocked_never_changes_the_money(items, location, taxes_included):
    def ret(restock: bool) -> dict:
        return {"return_id": "R", "happened_at": "2026-12-06T10:00:00+00:00", "returned": [
            {"line_id": line, "quantity": quantity, "discount": str(discount), "tax": str(tax),
             "restocked": [[location, min(back, quantity)]] if restock and back else []}
            for line, quantity, back, discount, tax in items]}

    restocked, kept = booking(ret(True), LINES, taxes_included=taxes_included), booking(
        ret(False), LINES, taxes_included=taxes_included)
    assert restocked.total == kept.total
    # every returned unit is booked once: as goods back or as money only
    for line, quantity, back, _discount, _tax in items:
        goods = sum(-b.units for b in restocked.returned if b.kind == "goods" and b.line_id == line)
        assert goods == min(back, quantity)
    assert not any(b.kind == "goods" for b in kept.returned)


def test_a_returned_units_discount_is_what_takes_their_price_to_the_amount_the_store_took_off():
    """Two mugs at 10.00 with 0.25 of discount on the line, one returned: the store takes 9.88 off
    (19.75 / 2, rounded half up) and says 0.13 of discount (0.25 / 2, rounded on its own): 10.00 - 0.13
    would be 9.87, a cent away. The discount booked is the one that makes the store's 9.88: 0.12."""
    sale = _agreement("A1", "R1", "2026-12-06T10:00:00Z", [("RETURN", "L1", -1, "-0.13", "-0.79")])
    sale["sales"]["nodes"][0]["totalAmount"] = {"shopMoney": {"amount": "-10.67"}}  # 9.88 + 0.79 of tax
    (ret,) = order_returns([sale], [_return("R1", "CLOSED")], {"L1": Decimal("10.00")})
    (line,) = ret.returned
    assert (line.quantity, line.discount, line.tax) == (1, Decimal("-0.12"), Decimal("-0.79"))
    staged = {"return_id": "R1", "happened_at": "2026-12-06T10:00:00+00:00",
              "returned": [{"line_id": "L1", "quantity": 1, "discount": str(line.discount), "tax": str(line.tax),
                            "restocked": []}]}
    assert booking(staged, {"L1": {"unit_price": Decimal("10.00"), "title": "Mug"}},
                   taxes_included=False).total == Decimal("-10.67")

