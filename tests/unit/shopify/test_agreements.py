"""Reading an order's sales agreements (Shopify's order editing and returns) into the product's records."""

from __future__ import annotations

from erpsync.shopify.store import order_edits


def test_agreements_of_one_second_are_read_in_the_order_they_happened_not_as_text():
    """The order's placement (SalesAgreement/9) and an edit of the same second (SalesAgreement/10): as
    text, ".../10" sorts first and the placed line would count as the edit's."""
    def sale(action, line, quantity):
        return {"lineType": "PRODUCT", "actionType": action, "quantity": quantity, "lineItem": {"id": line},
                "totalDiscountAmountBeforeTaxes": {"shopMoney": {"amount": "0"}},
                "totalTaxAmount": {"shopMoney": {"amount": "0"}}}

    when = "2026-12-06T10:00:00Z"
    placed = {"id": "gid://shopify/SalesAgreement/9", "happenedAt": when, "reason": "ORDER",
              "sales": {"nodes": [sale("ORDER", "L1", 2)]}}
    edit = {"id": "gid://shopify/SalesAgreement/10", "happenedAt": when, "reason": "ORDER_EDIT",
            "sales": {"nodes": [sale("RETURN", "L1", 1), sale("ORDER", "L2", 1)]}}
    (edited,) = order_edits([edit, placed])
    assert [(line.line_id, line.quantity, line.added) for line in edited.lines] == [("L1", -1, False),
                                                                                   ("L2", 1, True)]
