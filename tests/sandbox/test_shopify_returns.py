"""Returns (returnCreate, returnProcess, reverseFulfillmentOrderDispose, returnClose, returnCancel), with
exchanges: the ReturnAgreement and its sales, the order's current totals, the return's refund, the
exchange items as line items on a new fulfillment order, the dispositions' inventory, the userErrors, the
admin shortcut and the shopper's returns. Every query goes through the GraphQL endpoint, so it is validated
against Shopify's schema; every amount is worked out by hand in the comment next to it.

Catalog: conftest_shopify's, plus TEE-20 at 20.00, CAP-15 at 15.00 and JACKET-50 at 50.00 (Main Warehouse).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.sandbox.conftest_shopify import *  # noqa: F403 (fixtures)
from tests.sandbox.conftest_shopify import Shop

MORE = {
    "locations": ["Main Warehouse"],
    "products": [
        {"title": "Tee",
         "variants": [{"sku": "TEE-20", "price": "20.00", "inventory": {"Main Warehouse": 10}}]},
        {"title": "Cap",
         "variants": [{"sku": "CAP-15", "price": "15.00", "inventory": {"Main Warehouse": 10}}]},
        {"title": "Jacket",
         "variants": [{"sku": "JACKET-50", "price": "50.00", "inventory": {"Main Warehouse": 4}}]},
    ],
}
MONEY = "shopMoney { amount currencyCode }"
FULFILLMENT_ORDERS = """query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 10) { nodes { id status
  assignedLocation { name } lineItems(first: 10) { nodes { id lineItem { id sku } totalQuantity
  remainingQuantity } } } } } }"""
FULFILL = """mutation($fulfillment: FulfillmentInput!) { fulfillmentCreate(fulfillment: $fulfillment) {
  fulfillment { id fulfillmentLineItems(first: 10) { nodes { id quantity lineItem { id sku } } } }
  userErrors { field message } } }"""
RETURN_FIELDS = """id name status createdAt closedAt totalQuantity order { id }
  returnLineItems(first: 10) { nodes { __typename id quantity processedQuantity unprocessedQuantity
    ... on ReturnLineItem { returnReasonNote fulfillmentLineItem { id quantity lineItem { id } } } } }
  exchangeLineItems(first: 10) { nodes { id quantity processedQuantity unprocessedQuantity variantId
    variantSku lineItems { id sku quantity currentQuantity } } }
  reverseFulfillmentOrders(first: 5) { nodes { id status lineItems(first: 10) { nodes { id totalQuantity
    fulfillmentLineItem { id lineItem { id } }
    dispositions { id createdAt quantity type location { id name } } } } } }
  refunds(first: 5) { nodes { id } }"""
CREATE = f"""mutation($input: ReturnInput!) {{ returnCreate(returnInput: $input) {{
  return {{ {RETURN_FIELDS} }} userErrors {{ field message code }} }} }}"""
PROCESS = f"""mutation($input: ReturnProcessInput!) {{ returnProcess(input: $input) {{
  return {{ {RETURN_FIELDS} }} userErrors {{ field message code }} }} }}"""
DISPOSE = """mutation($inputs: [ReverseFulfillmentOrderDisposeInput!]!) {
  reverseFulfillmentOrderDispose(dispositionInputs: $inputs) {
    reverseFulfillmentOrderLineItems { id totalQuantity dispositions { quantity type location { name } } }
    userErrors { field message code } } }"""
CLOSE = """mutation($id: ID!) { returnClose(id: $id) { return { id status closedAt }
  userErrors { field message code } } }"""
CANCEL = """mutation($id: ID!) { returnCancel(id: $id) { return { id status
  reverseFulfillmentOrders(first: 2) { nodes { status } } } userErrors { field message code } } }"""
ORDER = f"""query($id: ID!) {{ order(id: $id) {{
  updatedAt returnStatus displayFinancialStatus
  currentSubtotalPriceSet {{ {MONEY} }} currentTotalTaxSet {{ {MONEY} }}
  currentTotalPriceSet {{ {MONEY} }} currentTotalDiscountsSet {{ {MONEY} }}
  totalRefundedSet {{ {MONEY} }} totalOutstandingSet {{ {MONEY} }}
  lineItems(first: 4) {{ nodes {{ id sku quantity currentQuantity }} }}
  returns(first: 3) {{ nodes {{ id name status }} }}
  refunds {{ id totalRefundedSet {{ {MONEY} }} return {{ id name }}
    refundLineItems(first: 3) {{ nodes {{ quantity restockType restocked lineItem {{ id }} }} }}
    transactions(first: 2) {{ nodes {{ kind status amountSet {{ {MONEY} }} }} }} }}
  agreements(first: 4) {{ nodes {{ __typename reason happenedAt
    ... on ReturnAgreement {{ return {{ id }} }}
    sales(first: 4) {{ nodes {{ __typename actionType lineType quantity
      ... on ProductSale {{ lineItem {{ id sku }} }}
      totalAmount {{ {MONEY} }} totalTaxAmount {{ {MONEY} }}
      totalDiscountAmountBeforeTaxes {{ {MONEY} }} totalDiscountAmountAfterTaxes {{ {MONEY} }} }} }} }} }}
}} }}"""


def _m(bag: dict[str, Any]) -> Decimal:
    return Decimal(bag["shopMoney"]["amount"])


def _number(gid: str) -> str:
    return gid.rsplit("/", 1)[1]


def _seed(shop: Shop) -> None:
    shop.admin("POST", "/seed", MORE)


def _fulfill(shop: Shop, order_id: str, quantity: int | None = None) -> list[dict[str, Any]]:
    """Ship every open fulfillment order (or `quantity` units of the first line); returns the fulfillment
    line items."""
    fos = shop.data(FULFILLMENT_ORDERS, {"id": order_id})["order"]["fulfillmentOrders"]["nodes"]
    shipped = []
    for fo in (f for f in fos if f["status"] == "OPEN"):
        entry: dict[str, Any] = {"fulfillmentOrderId": fo["id"]}
        if quantity is not None:
            first_line = fo["lineItems"]["nodes"][0]["id"]
            entry["fulfillmentOrderLineItems"] = [{"id": first_line, "quantity": quantity}]
        done = shop.data(FULFILL, {"fulfillment": {"lineItemsByFulfillmentOrder": [entry]}})
        done = done["fulfillmentCreate"]
        assert done["userErrors"] == [], done
        shipped += done["fulfillment"]["fulfillmentLineItems"]["nodes"]
    return shipped


def _order(shop: Shop, order_id: str) -> dict[str, Any]:
    return shop.data(ORDER, {"id": order_id})["order"]


def _sales(agreement: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (s["actionType"], s["quantity"], s["lineItem"]["sku"], _m(s["totalAmount"]), _m(s["totalTaxAmount"]),
         _m(s["totalDiscountAmountBeforeTaxes"]), _m(s["totalDiscountAmountAfterTaxes"]))
        for s in agreement["sales"]["nodes"]
    ]


def _totals(order: dict[str, Any]) -> dict[str, Decimal]:
    return {name: _m(order[name]) for name in (
        "currentSubtotalPriceSet", "currentTotalTaxSet", "currentTotalPriceSet", "currentTotalDiscountsSet",
        "totalRefundedSet", "totalOutstandingSet")}


def _create(shop: Shop, order_id: str, lines: list[tuple[str, int]], exchange: list[tuple[str, int]] = ()):
    variables = {"input": {
        "orderId": order_id,
        "returnLineItems": [{"fulfillmentLineItemId": fli, "quantity": q, "returnReasonNote": "Too small"}
                            for fli, q in lines],
        "exchangeLineItems": [{"variantId": shop.ids(sku)["variant"], "quantity": q} for sku, q in exchange],
    }}
    return shop.data(CREATE, variables)["returnCreate"]


def _refund_input(amount: str) -> dict[str, Any]:
    return {"issueRefund": {"orderTransactions": [{
        "transactionAmount": {"amount": amount, "currencyCode": "USD"},
        "parentId": "gid://shopify/OrderTransaction/1"}]}}


def test_a_returned_unit_with_tax_and_a_code_discount_is_refunded_and_its_dispositions_restock(
    shop: Shop,
) -> None:
    _seed(shop)
    order = shop.admin("POST", "/orders", {"lines": [{"sku": "TEE-20", "quantity": 2}], "tax_rate": "0.10",
                                           "discount_code": "SAVE10", "discount_percentage": "10"})
    # 2 x 20.00 = 40.00, 10% off: 36.00 (4.00 discount); 10% tax on 36.00: 3.60; total 39.60.
    tee_line = order["lines"][0]["id"]
    (fli,) = _fulfill(shop, order["id"])
    assert (fli["quantity"], fli["lineItem"]["id"]) == (2, tee_line)
    assert shop.level("TEE-20") == {"available": 8, "committed": 0, "on_hand": 8}
    assert _order(shop, order["id"])["returnStatus"] == "NO_RETURN"
    shop.clock.advance(60)

    created = _create(shop, order["id"], [(fli["id"], 1)])
    assert created["userErrors"] == []
    ret = created["return"]
    assert (ret["name"], ret["status"], ret["closedAt"], ret["totalQuantity"]) == (
        f"{order['name']}-R1", "OPEN", None, 1)
    assert ret["createdAt"] == "2026-10-01T12:01:00Z" and ret["order"]["id"] == order["id"]
    (return_line,) = ret["returnLineItems"]["nodes"]
    assert return_line["__typename"] == "ReturnLineItem"
    assert (return_line["quantity"], return_line["processedQuantity"], return_line["unprocessedQuantity"],
            return_line["returnReasonNote"]) == (1, 0, 1, "Too small")
    assert return_line["fulfillmentLineItem"] == {"id": fli["id"], "quantity": 2,
                                                  "lineItem": {"id": tee_line}}
    (reverse,) = ret["reverseFulfillmentOrders"]["nodes"]
    (reverse_line,) = reverse["lineItems"]["nodes"]
    assert (reverse["status"], reverse_line["totalQuantity"], reverse_line["dispositions"]) == ("OPEN", 1, [])
    assert reverse_line["fulfillmentLineItem"]["lineItem"]["id"] == tee_line
    data = _order(shop, order["id"])
    assert (data["returnStatus"], data["updatedAt"]) == ("IN_PROGRESS", "2026-10-01T12:01:00Z")
    assert _m(data["currentTotalPriceSet"]) == Decimal("39.60"), "nothing is taken back before processing"

    shop.clock.advance(60)
    # One unit: 18.00 after its 2.00 discount, 1.80 tax: 19.80 back.
    processed = shop.data(PROCESS, {"input": {
        "returnId": ret["id"], "returnLineItems": [{"id": return_line["id"], "quantity": 1}],
        "financialTransfer": _refund_input("19.80")}})["returnProcess"]
    assert processed["userErrors"] == []
    assert processed["return"]["status"] == "OPEN", "open until returnClose"
    assert processed["return"]["returnLineItems"]["nodes"][0]["processedQuantity"] == 1
    (refund_ref,) = processed["return"]["refunds"]["nodes"]

    data = _order(shop, order["id"])
    assert data["updatedAt"] == "2026-10-01T12:02:00Z"
    assert [(n["sku"], n["quantity"], n["currentQuantity"]) for n in data["lineItems"]["nodes"]] == [
        ("TEE-20", 2, 1)]
    assert _totals(data) == {
        "currentSubtotalPriceSet": Decimal("18.00"), "currentTotalTaxSet": Decimal("1.80"),
        "currentTotalPriceSet": Decimal("19.80"), "currentTotalDiscountsSet": Decimal("2.00"),
        "totalRefundedSet": Decimal("19.80"), "totalOutstandingSet": Decimal("0.00")}
    assert data["displayFinancialStatus"] == "PARTIALLY_REFUNDED"
    placed, returned = data["agreements"]["nodes"]
    assert placed["__typename"] == "OrderAgreement"
    assert (returned["__typename"], returned["reason"], returned["happenedAt"], returned["return"]) == (
        "ReturnAgreement", "RETURN", "2026-10-01T12:02:00Z", {"id": ret["id"]})
    assert _sales(returned) == [("RETURN", -1, "TEE-20", Decimal("-19.80"), Decimal("-1.80"),
                                 Decimal("-2.00"), Decimal("-2.00"))]
    (refund,) = data["refunds"]
    assert refund["id"] == refund_ref["id"]
    assert (refund["return"], _m(refund["totalRefundedSet"])) == (
        {"id": ret["id"], "name": ret["name"]}, Decimal("19.80"))
    # The refund restocks nothing: the dispositions do.
    assert refund["refundLineItems"]["nodes"] == [
        {"quantity": 1, "restockType": "NO_RESTOCK", "restocked": False, "lineItem": {"id": tee_line}}]
    assert [(t["kind"], t["status"], _m(t["amountSet"])) for t in refund["transactions"]["nodes"]] == [
        ("REFUND", "SUCCESS", Decimal("19.80"))]
    assert shop.level("TEE-20") == {"available": 8, "committed": 0, "on_hand": 8}, "not back before disposal"

    main = shop.ids("TEE-20")["Main Warehouse"]
    disposed = shop.data(DISPOSE, {"inputs": [{"reverseFulfillmentOrderLineItemId": reverse_line["id"],
                                               "quantity": 1, "dispositionType": "RESTOCKED",
                                               "locationId": main}]})["reverseFulfillmentOrderDispose"]
    assert disposed["userErrors"] == []
    assert disposed["reverseFulfillmentOrderLineItems"] == [{"id": reverse_line["id"], "totalQuantity": 1,
        "dispositions": [{"quantity": 1, "type": "RESTOCKED", "location": {"name": "Main Warehouse"}}]}]
    assert shop.level("TEE-20") == {"available": 9, "committed": 0, "on_hand": 9}
    after = shop.data(f"query($id: ID!) {{ return(id: $id) {{ {RETURN_FIELDS} }} }}", {"id": ret["id"]})
    reverse = after["return"]["reverseFulfillmentOrders"]["nodes"][0]
    assert reverse["status"] == "CLOSED", "every unit disposed of"
    (disposition,) = reverse["lineItems"]["nodes"][0]["dispositions"]
    assert disposition["id"].startswith("gid://shopify/ReverseFulfillmentOrderDisposition/")
    assert (disposition["createdAt"], disposition["location"]["id"]) == ("2026-10-01T12:02:00Z", main)

    # The other unit comes back too, damaged: NOT_RESTOCKED leaves the stock alone.
    second = _create(shop, order["id"], [(fli["id"], 1)])["return"]
    assert second["name"] == f"{order['name']}-R2"
    second_line = second["reverseFulfillmentOrders"]["nodes"][0]["lineItems"]["nodes"][0]
    closed = shop.data(CLOSE, {"id": ret["id"]})["returnClose"]
    assert closed["userErrors"] == [] and closed["return"]["status"] == "CLOSED"
    assert closed["return"]["closedAt"] == "2026-10-01T12:02:00Z"
    assert _order(shop, order["id"])["returnStatus"] == "IN_PROGRESS", "the second return is open"
    disposed = shop.data(DISPOSE, {"inputs": [{"reverseFulfillmentOrderLineItemId": second_line["id"],
                                               "quantity": 1, "dispositionType": "NOT_RESTOCKED"}]})
    assert disposed["reverseFulfillmentOrderDispose"]["userErrors"] == []
    assert shop.level("TEE-20") == {"available": 9, "committed": 0, "on_hand": 9}
    assert shop.data(CLOSE, {"id": second["id"]})["returnClose"]["userErrors"] == []
    data = _order(shop, order["id"])
    assert data["returnStatus"] == "RETURNED"
    assert [(n["name"], n["status"]) for n in data["returns"]["nodes"]] == [
        (ret["name"], "CLOSED"), (second["name"], "CLOSED")]
    again = shop.data(CLOSE, {"id": ret["id"]})["returnClose"]
    assert (again["return"], again["userErrors"][0]["code"]) == (None, "INVALID_STATE")


def test_an_exchange_for_a_cheaper_item_refunds_the_difference_and_ships_the_new_line(shop: Shop) -> None:
    _seed(shop)
    order = shop.admin("POST", "/orders", {"lines": [{"sku": "TEE-20", "quantity": 1}], "tax_rate": "0.10"})
    # 20.00 + 2.00 tax = 22.00 paid.
    (fli,) = _fulfill(shop, order["id"])
    created = _create(shop, order["id"], [(fli["id"], 1)], exchange=[("CAP-15", 1)])
    assert created["userErrors"] == []
    ret = created["return"]
    (exchange,) = ret["exchangeLineItems"]["nodes"]
    assert exchange == {"id": exchange["id"], "quantity": 1, "processedQuantity": 0, "unprocessedQuantity": 1,
                        "variantId": shop.ids("CAP-15")["variant"], "variantSku": "CAP-15", "lineItems": []}
    assert shop.level("CAP-15") == {"available": 10, "committed": 0, "on_hand": 10}, "nothing committed yet"

    # Back: 20.00 + 2.00 tax = 22.00; out: 15.00 + 1.50 tax = 16.50; refund 5.50 (5.00 and 0.50 of tax).
    processed = shop.data(PROCESS, {"input": {
        "returnId": ret["id"],
        "returnLineItems": [{"id": ret["returnLineItems"]["nodes"][0]["id"], "quantity": 1}],
        "exchangeLineItems": [{"id": exchange["id"], "quantity": 1}],
        "financialTransfer": _refund_input("5.50")}})["returnProcess"]
    assert processed["userErrors"] == []
    (exchanged,) = processed["return"]["exchangeLineItems"]["nodes"]
    (cap_line,) = exchanged["lineItems"]
    assert (exchanged["processedQuantity"], exchanged["unprocessedQuantity"]) == (1, 0)
    assert (cap_line["sku"], cap_line["quantity"], cap_line["currentQuantity"]) == ("CAP-15", 1, 1)

    data = _order(shop, order["id"])
    assert [(n["id"], n["sku"], n["currentQuantity"]) for n in data["lineItems"]["nodes"]] == [
        (order["lines"][0]["id"], "TEE-20", 0), (cap_line["id"], "CAP-15", 1)]
    assert _totals(data) == {
        "currentSubtotalPriceSet": Decimal("15.00"), "currentTotalTaxSet": Decimal("1.50"),
        "currentTotalPriceSet": Decimal("16.50"), "currentTotalDiscountsSet": Decimal("0.00"),
        "totalRefundedSet": Decimal("5.50"), "totalOutstandingSet": Decimal("0.00")}
    returned = data["agreements"]["nodes"][-1]
    assert returned["__typename"] == "ReturnAgreement"
    assert _sales(returned) == [
        ("RETURN", -1, "TEE-20", Decimal("-22.00"), Decimal("-2.00"), Decimal("0.00"), Decimal("0.00")),
        ("ORDER", 1, "CAP-15", Decimal("16.50"), Decimal("1.50"), Decimal("0.00"), Decimal("0.00"))]
    (refund,) = data["refunds"]
    assert (_m(refund["totalRefundedSet"]), refund["return"]["id"]) == (Decimal("5.50"), ret["id"])
    fos = shop.data(FULFILLMENT_ORDERS, {"id": order["id"]})["order"]["fulfillmentOrders"]["nodes"]
    assert [(fo["status"], fo["assignedLocation"]["name"],
             [(n["lineItem"]["id"], n["totalQuantity"], n["remainingQuantity"])
              for n in fo["lineItems"]["nodes"]])
            for fo in fos] == [
        ("CLOSED", "Main Warehouse", [(order["lines"][0]["id"], 1, 0)]),
        ("OPEN", "Main Warehouse", [(cap_line["id"], 1, 1)])]
    assert shop.level("CAP-15") == {"available": 9, "committed": 1, "on_hand": 10}


def test_an_exchange_for_a_dearer_item_leaves_a_balance_to_collect(shop: Shop) -> None:
    _seed(shop)
    order = shop.admin("POST", "/orders", {"lines": [{"sku": "CAP-15", "quantity": 1}], "tax_rate": "0.10"})
    # Paid 15.00 + 1.50 = 16.50; the jacket is 50.00 + 5.00 = 55.00: 38.50 to collect, nothing refunded.
    (fli,) = _fulfill(shop, order["id"])
    ret = _create(shop, order["id"], [(fli["id"], 1)], exchange=[("JACKET-50", 1)])["return"]
    processed = shop.data(PROCESS, {"input": {
        "returnId": ret["id"],
        "returnLineItems": [{"id": ret["returnLineItems"]["nodes"][0]["id"], "quantity": 1}],
        "exchangeLineItems": [{"id": ret["exchangeLineItems"]["nodes"][0]["id"], "quantity": 1}]}})
    assert processed["returnProcess"]["userErrors"] == []
    data = _order(shop, order["id"])
    assert _totals(data) == {
        "currentSubtotalPriceSet": Decimal("50.00"), "currentTotalTaxSet": Decimal("5.00"),
        "currentTotalPriceSet": Decimal("55.00"), "currentTotalDiscountsSet": Decimal("0.00"),
        "totalRefundedSet": Decimal("0.00"), "totalOutstandingSet": Decimal("38.50")}
    assert data["refunds"] == [] and data["displayFinancialStatus"] == "PARTIALLY_PAID"
    assert shop.level("JACKET-50") == {"available": 3, "committed": 1, "on_hand": 4}


def _codes(payload: dict[str, Any]) -> list[tuple[list[str], str]]:
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


def test_user_errors_for_what_shopify_refuses(shop: Shop) -> None:
    _seed(shop)
    order = shop.admin("POST", "/orders", {"lines": [{"sku": "TEE-20", "quantity": 2}]})
    (fli,) = _fulfill(shop, order["id"], quantity=1)  # one unit shipped, one not
    path = ["returnInput", "returnLineItems", "0"]
    unfulfilled = _create(shop, order["id"], [("gid://shopify/FulfillmentLineItem/999", 1)])
    assert unfulfilled["return"] is None
    assert _codes(unfulfilled) == [([*path, "fulfillmentLineItemId"], "NOT_FOUND")]
    too_many = _create(shop, order["id"], [(fli["id"], 2)])
    assert _codes(too_many) == [([*path, "quantity"], "LESS_THAN_OR_EQUAL_TO")]
    assert "(1)" in too_many["userErrors"][0]["message"]
    assert _codes(_create(shop, order["id"], [(fli["id"], 0)])) == [([*path, "quantity"], "GREATER_THAN")]
    archived = _create(shop, order["id"], [(fli["id"], 1)], exchange=[("POSTER-1", 1)])
    assert _codes(archived) == [(["returnInput", "exchangeLineItems", "0", "variantId"], "INVALID")]
    other = shop.admin("POST", "/orders", {"lines": [{"sku": "CAP-15", "quantity": 1}]})
    (other_fli,) = _fulfill(shop, other["id"])
    assert _codes(_create(shop, order["id"], [(other_fli["id"], 1)])) == [
        ([*path, "fulfillmentLineItemId"], "NOT_FOUND")], "another order's fulfillment line item"
    assert _order(shop, order["id"])["returnStatus"] == "NO_RETURN", "nothing created"

    ret = _create(shop, order["id"], [(fli["id"], 1)])["return"]
    assert _codes(_create(shop, order["id"], [(fli["id"], 1)])) == [
        ([*path, "quantity"], "LESS_THAN_OR_EQUAL_TO")], "returned already"
    reverse_line = ret["reverseFulfillmentOrders"]["nodes"][0]["lineItems"]["nodes"][0]
    over = shop.data(DISPOSE, {"inputs": [{"reverseFulfillmentOrderLineItemId": reverse_line["id"],
                                           "quantity": 2, "dispositionType": "MISSING"}]})
    over = over["reverseFulfillmentOrderDispose"]
    assert over["reverseFulfillmentOrderLineItems"] is None
    assert _codes(over) == [(["dispositionInputs", "0", "quantity"], "LESS_THAN_OR_EQUAL_TO")]
    nowhere = shop.data(DISPOSE, {"inputs": [{"reverseFulfillmentOrderLineItemId": reverse_line["id"],
                                              "quantity": 1, "dispositionType": "RESTOCKED"}]})
    assert _codes(nowhere["reverseFulfillmentOrderDispose"]) == [
        (["dispositionInputs", "0", "locationId"], "BLANK")]
    return_line = ret["returnLineItems"]["nodes"][0]["id"]
    too_much = shop.data(PROCESS, {"input": {"returnId": ret["id"],
                                             "returnLineItems": [{"id": return_line, "quantity": 2}]}})
    assert _codes(too_much["returnProcess"]) == [(["input", "returnLineItems", "0", "quantity"],
                                                 "LESS_THAN_OR_EQUAL_TO")]

    canceled = shop.data(CANCEL, {"id": ret["id"]})["returnCancel"]
    assert canceled["userErrors"] == []
    assert canceled["return"]["status"] == "CANCELED"
    assert canceled["return"]["reverseFulfillmentOrders"]["nodes"] == [{"status": "CANCELED"}]
    late = shop.data(PROCESS, {"input": {"returnId": ret["id"],
                                         "returnLineItems": [{"id": return_line, "quantity": 1}]}})
    assert late["returnProcess"]["return"] is None
    assert _codes(late["returnProcess"]) == [(["input", "returnId"], "INVALID_STATE")]
    assert _order(shop, order["id"])["returnStatus"] == "NO_RETURN", "a canceled return does not count"

    fresh = _create(shop, order["id"], [(fli["id"], 1)])["return"]  # the unit can be returned again
    fresh_line = fresh["returnLineItems"]["nodes"][0]["id"]
    assert shop.data(PROCESS, {"input": {"returnId": fresh["id"], "returnLineItems": [
        {"id": fresh_line, "quantity": 1}]}})["returnProcess"]["userErrors"] == []
    refused = shop.data(CANCEL, {"id": fresh["id"]})["returnCancel"]
    assert _codes(refused) == [(["id"], "INVALID_STATE")], "processed: no longer cancelable"
    missing = shop.data(CLOSE, {"id": "gid://shopify/Return/999"})["returnClose"]
    assert _codes(missing) == [(["id"], "NOT_FOUND")]


def test_the_admin_shortcut_returns_exchanges_refunds_restocks_and_closes_in_one_go(shop: Shop) -> None:
    _seed(shop)
    order = shop.admin("POST", "/orders", {"lines": [{"sku": "TEE-20", "quantity": 2}], "tax_rate": "0.10"})
    number, tee_line = _number(order["id"]), order["lines"][0]["id"]
    _fulfill(shop, order["id"])
    assert shop.level("TEE-20") == {"available": 8, "committed": 0, "on_hand": 8}
    shop.clock.advance(5)
    # One tee back (22.00 with tax) for a cap (16.50 with tax): 5.50 refunded.
    done = shop.admin("POST", f"/orders/{number}/return", {
        "lines": [{"line_item_id": tee_line, "quantity": 1}], "exchange": [{"sku": "CAP-15", "quantity": 1}],
        "refund": True, "dispose": "RESTOCKED", "location_id": None, "close": True})
    assert done["return_id"] == f"gid://shopify/Return/{done['return_number']}"
    assert (done["return_status"], done["return_status_of_order"]) == ("CLOSED", "RETURNED")
    assert done["agreement_id"].startswith("gid://shopify/SalesAgreement/")
    (cap_line,) = done["line_item_ids"]
    assert [(li["id"], li["current_quantity"]) for li in done["lines"]] == [(tee_line, 1), (cap_line, 1)]
    assert done["updated_at"] == "2026-10-01T12:00:05+00:00"
    assert shop.level("TEE-20") == {"available": 9, "committed": 0, "on_hand": 9}, "restocked where shipped"
    assert shop.level("CAP-15") == {"available": 9, "committed": 1, "on_hand": 10}
    data = _order(shop, order["id"])
    (refund,) = data["refunds"]
    assert (refund["id"], _m(refund["totalRefundedSet"])) == (done["refund_id"], Decimal("5.50"))
    # 44.00 - 22.00 + 16.50 = 38.50, paid 44.00 less 5.50 back.
    assert (_m(data["currentTotalPriceSet"]), _m(data["totalOutstandingSet"])) == (Decimal("38.50"),
                                                                                 Decimal("0.00"))

    # No refund asked, not disposed, left open.
    kept = shop.admin("POST", f"/orders/{number}/return", {
        "lines": [{"line_item_id": tee_line, "quantity": 1}], "refund": False, "dispose": None,
        "close": False})
    assert (kept["refund_id"], kept["return_status"], kept["return_status_of_order"]) == (
        None, "OPEN", "IN_PROGRESS")
    assert shop.level("TEE-20") == {"available": 9, "committed": 0, "on_hand": 9}
    assert _m(_order(shop, order["id"])["totalOutstandingSet"]) == Decimal("-22.00"), "the merchant owes"

    for body, status in (
        ({"lines": [{"line_item_id": tee_line, "quantity": 1}]}, 422),  # nothing left to return
        ({"lines": [{"line_item_id": cap_line, "quantity": 1}]}, 422),  # not fulfilled
        ({"lines": []}, 400),
        ({"lines": [{"line_item_id": tee_line, "quantity": 1}], "dispose": "BROKEN"}, 400),
        ({"lines": [{"line_item_id": tee_line, "quantity": 1}], "exchange": [{"quantity": 1}]}, 400),
    ):
        answer = shop.admin("POST", f"/orders/{number}/return", body, expect=status)
        assert answer.get("userErrors") or answer.get("error"), answer
    shop.admin("POST", "/orders/999999/return", {"lines": [{"line_item_id": 1, "quantity": 1}]}, expect=400)


RETURNS = """query($id: ID!) { order(id: $id) { returnStatus returns(first: 5) { nodes { status
  exchangeLineItems(first: 2) { nodes { processedQuantity } } } } } }"""


def test_the_shopper_returns_fulfilled_units(shop: Shop) -> None:
    _seed(shop)
    quiet = shop.admin("POST", "/shopper/step", {"seed": 3, "steps": 3, "cancel_rate": 0, "refund_rate": 0})
    assert quiet["stats"]["returned"] == 0, "return_rate defaults to 0"
    skipped = shop.admin("POST", "/shopper/step", {"seed": 3, "steps": 3, "cancel_rate": 0, "refund_rate": 0,
                                                   "return_rate": 1.0})
    assert {a["reason"] for a in skipped["actions"]} == {"nothing to return"}, "nothing fulfilled yet"
    for placed in shop.admin("GET", "/orders?limit=10")["orders"]:
        _fulfill(shop, placed["id"])
    result = shop.admin("POST", "/shopper/step", {"seed": 5, "steps": 12, "cancel_rate": 0, "refund_rate": 0,
                                                  "return_rate": 0.5})
    returned = [a for a in result["actions"] if a["action"] == "return"]
    assert result["stats"]["returned"] == len(returned) >= 1, result
    for action in returned:
        data = shop.data(RETURNS, {"id": f"gid://shopify/Order/{action['order_id']}"})["order"]
        assert data["returnStatus"] == "RETURNED"
        assert all(r["status"] == "CLOSED" for r in data["returns"]["nodes"])
