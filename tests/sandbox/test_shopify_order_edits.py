"""Order editing (orderEditBegin/AddVariant/SetQuantity/Commit), what the edited order then reads (lines,
totals, fulfillment orders, inventory, Order.edited, Order.agreements and their sales), the userErrors, the
admin shortcut, persistence across a restart and the shopper's edits. Every figure is worked out by hand
from the catalog of conftest_shopify."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.sandbox.conftest_shopify import *  # noqa: F403 (fixtures)
from tests.sandbox.conftest_shopify import CATALOG, Shop, serve

CALCULATED = """
  id
  lineItems(first: 10) { nodes { id quantity editableQuantity editableQuantityBeforeChanges sku title
    restocking restockable variant { id } originalUnitPriceSet { shopMoney { amount } }
    discountedUnitPriceSet { shopMoney { amount } } } }
  addedLineItems(first: 10) { nodes { id quantity editableQuantity sku title variant { id }
    originalUnitPriceSet { shopMoney { amount } } } }
  stagedChanges(first: 10) { nodes { __typename
    ... on OrderStagedChangeAddVariant { quantity variant { id } }
    ... on OrderStagedChangeIncrementItem { delta lineItem { id } }
    ... on OrderStagedChangeDecrementItem { delta restock lineItem { id } } } }
  subtotalPriceSet { shopMoney { amount } } totalPriceSet { shopMoney { amount } }
  totalOutstandingSet { shopMoney { amount } }"""
BEGIN = f"""mutation($id: ID!) {{ orderEditBegin(id: $id) {{
  calculatedOrder {{ {CALCULATED} }} orderEditSession {{ id }} userErrors {{ field message }} }} }}"""
ADD = f"""mutation($id: ID!, $variant: ID!, $quantity: Int!, $location: ID, $duplicates: Boolean) {{
  orderEditAddVariant(id: $id, variantId: $variant, quantity: $quantity, locationId: $location,
                      allowDuplicates: $duplicates) {{
    calculatedLineItem {{ id quantity sku }} calculatedOrder {{ {CALCULATED} }}
    userErrors {{ field message }} }} }}"""
SET = f"""mutation($id: ID!, $line: ID!, $quantity: Int!, $restock: Boolean) {{
  orderEditSetQuantity(id: $id, lineItemId: $line, quantity: $quantity, restock: $restock) {{
    calculatedLineItem {{ id quantity editableQuantity editableQuantityBeforeChanges restocking }}
    calculatedOrder {{ {CALCULATED} }} userErrors {{ field message }} }} }}"""
COMMIT = """mutation($id: ID!) { orderEditCommit(id: $id, notifyCustomer: false, staffNote: "Swapped") {
  order { id edited updatedAt } userErrors { field message } } }"""
ORDER = """query($id: ID!) { order(id: $id) {
  edited updatedAt displayFinancialStatus currentSubtotalLineItemsQuantity subtotalLineItemsQuantity
  subtotalPriceSet { shopMoney { amount } } totalPriceSet { shopMoney { amount } }
  currentSubtotalPriceSet { shopMoney { amount } } currentTotalPriceSet { shopMoney { amount } }
  currentTotalTaxSet { shopMoney { amount } } totalOutstandingSet { shopMoney { amount } }
  lineItems(first: 10) { nodes { id sku quantity currentQuantity unfulfilledQuantity } }
  fulfillmentOrders(first: 10) { nodes { status assignedLocation { name }
    lineItems(first: 10) { nodes { lineItem { id } totalQuantity remainingQuantity } } } }
} }"""
AGREEMENTS = """query($id: ID!) { order(id: $id) { agreements(first: 5) { nodes {
  __typename id happenedAt reason
  ... on RefundAgreement { refund { id } }
  sales(first: 25) { nodes { __typename id actionType lineType quantity
    ... on ProductSale { lineItem { id } }
    totalAmount { shopMoney { amount } } totalTaxAmount { shopMoney { amount } } } } } } } }"""


def _amount(bag: dict[str, Any]) -> Decimal:
    return Decimal(bag["shopMoney"]["amount"])


def _calc_summary(calculated: dict[str, Any]) -> dict[str, Any]:
    return {
        "lines": [(n["sku"], n["quantity"], n["editableQuantity"], n["editableQuantityBeforeChanges"],
                   n["restocking"]) for n in calculated["lineItems"]["nodes"]],
        "added": [(n["sku"], n["quantity"], _amount(n["originalUnitPriceSet"]))
                  for n in calculated["addedLineItems"]["nodes"]],
        "subtotal": _amount(calculated["subtotalPriceSet"]),
        "total": _amount(calculated["totalPriceSet"]),
        "outstanding": _amount(calculated["totalOutstandingSet"]),
    }


def _sales(agreement: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (s["__typename"], s["actionType"], s["lineType"], s["quantity"], (s.get("lineItem") or {}).get("id"),
         _amount(s["totalAmount"]), _amount(s["totalTaxAmount"]))
        for s in agreement["sales"]["nodes"]
    ]


def _fo_lines(order: dict[str, Any]) -> list[tuple[str, str, list[tuple[str, int, int]]]]:
    return [
        (fo["status"], fo["assignedLocation"]["name"],
         [(n["lineItem"]["id"], n["totalQuantity"], n["remainingQuantity"])
          for n in fo["lineItems"]["nodes"]])
        for fo in order["fulfillmentOrders"]["nodes"]
    ]


def _number(gid: str) -> str:
    return gid.rsplit("/", 1)[1]


def _begin(shop: Shop, order_id: str) -> dict[str, Any]:
    begun = shop.data(BEGIN, {"id": order_id})["orderEditBegin"]
    assert begun["userErrors"] == [], begun
    return begun


def test_an_edit_adds_a_variant_and_lowers_a_line_and_the_order_its_stock_and_agreements_follow(
    shop: Shop,
) -> None:
    order = shop.admin("POST", "/orders", {"lines": [{"sku": "SHOE-40", "quantity": 3}], "tax_rate": "0.10",
                                           "shipping_price": "5.00"})
    # 3 x 89.90 = 269.70 + 10% tax 26.97; shipping 5.00 + 0.50 tax: 302.17, paid at checkout.
    shoe_line = order["lines"][0]["id"]
    assert shop.level("SHOE-40") == {"available": 7, "committed": 3, "on_hand": 10}
    hat = shop.ids("HAT-1")["variant"]
    shop.clock.advance(60)

    begun = _begin(shop, order["id"])
    calc_id = begun["calculatedOrder"]["id"]
    assert calc_id.startswith("gid://shopify/CalculatedOrder/")
    assert begun["orderEditSession"]["id"] == f"gid://shopify/OrderEditSession/{_number(calc_id)}"
    assert _calc_summary(begun["calculatedOrder"]) == {
        "lines": [("SHOE-40", 3, 3, 3, False)], "added": [], "subtotal": Decimal("269.70"),
        "total": Decimal("302.17"), "outstanding": Decimal("0")}
    calc_shoe = begun["calculatedOrder"]["lineItems"]["nodes"][0]["id"]
    assert calc_shoe == f"gid://shopify/CalculatedLineItem/{_number(shoe_line)}"

    added = shop.data(ADD, {"id": calc_id, "variant": hat, "quantity": 2})["orderEditAddVariant"]
    assert added["userErrors"] == []
    assert (added["calculatedLineItem"]["quantity"], added["calculatedLineItem"]["sku"]) == (2, "HAT-1")
    # + 2 x 25.00 and 10% tax on it: 55.00 more, owed by the customer.
    assert _calc_summary(added["calculatedOrder"]) == {
        "lines": [("SHOE-40", 3, 3, 3, False)], "added": [("HAT-1", 2, Decimal("25.00"))],
        "subtotal": Decimal("319.70"), "total": Decimal("357.17"), "outstanding": Decimal("55.00")}

    lowered = shop.data(SET, {"id": calc_id, "line": calc_shoe, "quantity": 1, "restock": True})
    lowered = lowered["orderEditSetQuantity"]
    assert lowered["userErrors"] == []
    assert lowered["calculatedLineItem"] == {"id": calc_shoe, "quantity": 1, "editableQuantity": 1,
                                             "editableQuantityBeforeChanges": 3, "restocking": True}
    # - 2 x 89.90 = 179.80 and its 17.98 tax: 197.78 back to the customer, net 142.78.
    assert _calc_summary(lowered["calculatedOrder"]) == {
        "lines": [("SHOE-40", 1, 1, 3, True)], "added": [("HAT-1", 2, Decimal("25.00"))],
        "subtotal": Decimal("139.90"), "total": Decimal("159.39"), "outstanding": Decimal("-142.78")}
    changes = lowered["calculatedOrder"]["stagedChanges"]["nodes"]
    assert changes == [
        {"__typename": "OrderStagedChangeDecrementItem", "delta": 2, "restock": True,
         "lineItem": {"id": shoe_line}},
        {"__typename": "OrderStagedChangeAddVariant", "quantity": 2, "variant": {"id": hat}},
    ]
    before = shop.data(ORDER, {"id": order["id"]})["order"]
    assert before["edited"] is False and before["updatedAt"] == "2026-10-01T12:00:00Z", "staged only"
    assert shop.level("SHOE-40") == {"available": 7, "committed": 3, "on_hand": 10}

    shop.clock.advance(30)
    committed = shop.data(COMMIT, {"id": calc_id})["orderEditCommit"]
    assert committed["userErrors"] == []
    assert committed["order"] == {"id": order["id"], "edited": True, "updatedAt": "2026-10-01T12:01:30Z"}

    data = shop.data(ORDER, {"id": order["id"]})["order"]
    lines = data["lineItems"]["nodes"]
    hat_line = lines[1]["id"]
    assert hat_line == added["calculatedLineItem"]["id"].replace("CalculatedLineItem", "LineItem")
    assert [(n["sku"], n["quantity"], n["currentQuantity"], n["unfulfilledQuantity"]) for n in lines] == [
        ("SHOE-40", 3, 1, 1), ("HAT-1", 2, 2, 2)]  # quantity keeps the removed units
    assert (data["currentSubtotalLineItemsQuantity"], data["subtotalLineItemsQuantity"]) == (3, 3)
    assert {k: _amount(data[k]) for k in ("subtotalPriceSet", "totalPriceSet", "currentSubtotalPriceSet",
                                          "currentTotalPriceSet", "currentTotalTaxSet",
                                          "totalOutstandingSet")} == {
        "subtotalPriceSet": Decimal("139.90"), "totalPriceSet": Decimal("159.39"),
        "currentSubtotalPriceSet": Decimal("139.90"), "currentTotalPriceSet": Decimal("159.39"),
        # 8.99 on the shoe left, 5.00 on the hats, 0.50 on shipping
        "currentTotalTaxSet": Decimal("14.49"), "totalOutstandingSet": Decimal("-142.78")}
    assert data["displayFinancialStatus"] == "PAID", "the merchant owes: still paid"
    # The hats go on the open fulfillment order of the location they are committed at.
    assert _fo_lines(data) == [("OPEN", "Main Warehouse", [(shoe_line, 1, 1), (hat_line, 2, 2)])]
    assert shop.level("SHOE-40") == {"available": 9, "committed": 1, "on_hand": 10}  # restocked
    assert shop.level("HAT-1") == {"available": 1, "committed": 2, "on_hand": 3}

    body = shop.gql(AGREEMENTS, {"id": order["id"]})
    assert body["extensions"]["cost"]["requestedQueryCost"] <= 1000
    placed, edit = body["data"]["order"]["agreements"]["nodes"]
    assert (placed["__typename"], placed["reason"], placed["happenedAt"]) == (
        "OrderAgreement", "ORDER", "2026-10-01T12:00:00Z")
    assert _sales(placed) == [
        ("ProductSale", "ORDER", "PRODUCT", 3, shoe_line, Decimal("296.67"), Decimal("26.97")),
        ("ShippingLineSale", "ORDER", "SHIPPING", 1, None, Decimal("5.50"), Decimal("0.50"))]
    assert (edit["__typename"], edit["reason"], edit["happenedAt"]) == (
        "OrderEditAgreement", "ORDER_EDIT", "2026-10-01T12:01:30Z")
    assert _sales(edit) == [
        ("ProductSale", "RETURN", "PRODUCT", 2, shoe_line, Decimal("-197.78"), Decimal("-17.98")),
        ("ProductSale", "ORDER", "PRODUCT", 2, hat_line, Decimal("55.00"), Decimal("5.00"))]
    ids = [s["id"] for a in (placed, edit) for s in a["sales"]["nodes"]]
    assert len(set(ids)) == 4 and all(i.startswith("gid://shopify/Sale/") for i in ids)
    again = shop.data(AGREEMENTS, {"id": order["id"]})["order"]["agreements"]["nodes"]
    assert [s["id"] for a in again for s in a["sales"]["nodes"]] == ids, "stable ids"


def test_a_raised_quantity_a_duplicate_at_another_location_and_a_removal_without_restock(shop: Shop) -> None:
    order = shop.admin("POST", "/orders", {"lines": [{"sku": "SHOE-40", "quantity": 2},
                                                     {"sku": "HAT-1", "quantity": 1}]})
    shoe_line, hat_line = (line["id"] for line in order["lines"])
    ids = shop.ids("SHOE-40")
    calc_id = _begin(shop, order["id"])["calculatedOrder"]["id"]

    raised = shop.data(SET, {"id": calc_id, "line": hat_line.replace("LineItem", "CalculatedLineItem"),
                             "quantity": 3})["orderEditSetQuantity"]
    assert raised["userErrors"] == [] and raised["calculatedLineItem"]["quantity"] == 3
    assert raised["calculatedOrder"]["stagedChanges"]["nodes"] == [
        {"__typename": "OrderStagedChangeIncrementItem", "delta": 2, "lineItem": {"id": hat_line}}]
    variables = {"id": calc_id, "variant": ids["variant"], "quantity": 1, "location": ids["Outlet"]}
    refused = shop.data(ADD, variables)["orderEditAddVariant"]
    assert refused["calculatedOrder"] is None and refused["userErrors"][0]["field"] == ["variantId"]
    assert "already on the order" in refused["userErrors"][0]["message"]
    added = shop.data(ADD, {**variables, "duplicates": True})["orderEditAddVariant"]
    assert added["userErrors"] == []
    lowered = shop.data(SET, {"id": calc_id, "line": shoe_line.replace("LineItem", "CalculatedLineItem"),
                              "quantity": 1, "restock": False})["orderEditSetQuantity"]
    assert lowered["userErrors"] == [] and lowered["calculatedLineItem"]["restocking"] is False
    # 204.80 paid; + 2 hats 50.00, - 1 shoe 89.90, + 1 shoe 89.90: 50.00 to collect.
    assert _amount(lowered["calculatedOrder"]["totalOutstandingSet"]) == Decimal("50.00")
    assert shop.data(COMMIT, {"id": calc_id})["orderEditCommit"]["userErrors"] == []

    data = shop.data(ORDER, {"id": order["id"]})["order"]
    new_shoe = added["calculatedLineItem"]["id"].replace("CalculatedLineItem", "LineItem")
    assert [(n["id"], n["quantity"], n["currentQuantity"]) for n in data["lineItems"]["nodes"]] == [
        (shoe_line, 2, 1), (hat_line, 3, 3), (new_shoe, 1, 1)]
    assert _amount(data["currentTotalPriceSet"]) == Decimal("254.80")
    assert _amount(data["totalOutstandingSet"]) == Decimal("50.00")
    assert data["displayFinancialStatus"] == "PARTIALLY_PAID", "the customer owes the difference"
    assert _fo_lines(data) == [
        ("OPEN", "Main Warehouse", [(shoe_line, 1, 1), (hat_line, 3, 3)]),
        ("OPEN", "Outlet", [(new_shoe, 1, 1)])]
    # Without restock the removed shoe leaves committed and on_hand; the hats and the new shoe are committed.
    assert shop.level("SHOE-40") == {"available": 8, "committed": 1, "on_hand": 9}
    assert shop.level("SHOE-40", "Outlet") == {"available": 1, "committed": 1, "on_hand": 2}
    assert shop.level("HAT-1") == {"available": 0, "committed": 3, "on_hand": 3}
    edit = shop.data(AGREEMENTS, {"id": order["id"]})["order"]["agreements"]["nodes"][-1]
    assert _sales(edit) == [
        ("ProductSale", "ORDER", "PRODUCT", 2, hat_line, Decimal("50.00"), Decimal("0")),
        ("ProductSale", "RETURN", "PRODUCT", 1, shoe_line, Decimal("-89.90"), Decimal("0")),
        ("ProductSale", "ORDER", "PRODUCT", 1, new_shoe, Decimal("89.90"), Decimal("0"))]


FULFILL = """mutation($fulfillment: FulfillmentInput!) { fulfillmentCreate(fulfillment: $fulfillment) {
  fulfillment { id } userErrors { field message } } }"""
FO_LINES = """query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 5) { nodes { id
  lineItems(first: 5) { nodes { id } } } } } }"""


def _errors(payload: dict[str, Any]) -> list[tuple[list[str], str]]:
    return [(e["field"], e["message"]) for e in payload["userErrors"]]


def test_user_errors_for_what_shopify_refuses(shop: Shop) -> None:
    unknown = shop.data(BEGIN, {"id": "gid://shopify/Order/999"})["orderEditBegin"]
    assert unknown["calculatedOrder"] is None and _errors(unknown) == [(["id"], "Order does not exist.")]
    cancelled = shop.admin("POST", "/orders", {"lines": [{"sku": "HAT-1", "quantity": 1}]})
    shop.admin("POST", f"/orders/{_number(cancelled['id'])}/cancel", {"reason": "CUSTOMER"})
    refused = shop.data(BEGIN, {"id": cancelled["id"]})["orderEditBegin"]
    assert _errors(refused) == [(["id"], "Canceled orders can't be edited.")]
    assert shop.data(ADD, {"id": "gid://shopify/CalculatedOrder/999", "variant": shop.ids("HAT-1")["variant"],
                           "quantity": 1})["orderEditAddVariant"]["userErrors"][0]["field"] == ["id"]

    order = shop.admin("POST", "/orders", {"lines": [{"sku": "HAT-1", "quantity": 2}]})
    hat_line = order["lines"][0]["id"]
    fo = shop.data(FO_LINES, {"id": order["id"]})["order"]["fulfillmentOrders"]["nodes"][0]
    shipped = shop.data(FULFILL, {"fulfillment": {"lineItemsByFulfillmentOrder": [{
        "fulfillmentOrderId": fo["id"],
        "fulfillmentOrderLineItems": [{"id": fo["lineItems"]["nodes"][0]["id"], "quantity": 1}]}]}})
    assert shipped["fulfillmentCreate"]["userErrors"] == []
    calc_id = _begin(shop, order["id"])["calculatedOrder"]["id"]
    calc_hat = hat_line.replace("LineItem", "CalculatedLineItem")
    below = shop.data(SET, {"id": calc_id, "line": calc_hat, "quantity": 0})["orderEditSetQuantity"]
    assert below["calculatedOrder"] is None
    assert _errors(below) == [(["quantity"], "Quantity can't be lower than the fulfilled quantity (1).")]
    negative = shop.data(SET, {"id": calc_id, "line": calc_hat, "quantity": -1})["orderEditSetQuantity"]
    assert [f for f, _m in _errors(negative)] == [["quantity"]]
    missing = shop.data(SET, {"id": calc_id, "line": "gid://shopify/CalculatedLineItem/999", "quantity": 1})
    assert [f for f, _m in _errors(missing["orderEditSetQuantity"])] == [["lineItemId"]]
    for sku, quantity, field in (("HAT-1", 1, "variantId"),  # already on the order
                                 ("POSTER-1", 1, "variantId"),  # archived: not for sale
                                 ("SHOE-41", 0, "quantity"),
                                 ("SHOE-41", 6, "quantity")):  # 5 in stock, DENY
        payload = shop.data(ADD, {"id": calc_id, "variant": shop.ids(sku)["variant"], "quantity": quantity})
        assert [f for f, _m in _errors(payload["orderEditAddVariant"])] == [[field]], (sku, quantity)
    ok = shop.data(SET, {"id": calc_id, "line": calc_hat, "quantity": 1, "restock": True})
    assert ok["orderEditSetQuantity"]["userErrors"] == [], "the unfulfilled unit can go"
    assert shop.data(COMMIT, {"id": calc_id})["orderEditCommit"]["userErrors"] == []
    again = shop.data(COMMIT, {"id": calc_id})["orderEditCommit"]
    assert again["order"] is None
    assert _errors(again) == [(["id"], "The order edit has already been committed.")]
    late = shop.data(SET, {"id": calc_id, "line": calc_hat, "quantity": 2})["orderEditSetQuantity"]
    assert _errors(late) == [(["id"], "The order edit has already been committed.")]
    data = shop.data(ORDER, {"id": order["id"]})["order"]
    assert [(n["quantity"], n["currentQuantity"], n["unfulfilledQuantity"])
            for n in data["lineItems"]["nodes"]] == [(2, 1, 0)]
    assert shop.level("HAT-1") == {"available": 2, "committed": 0, "on_hand": 2}  # 1 shipped, 1 restocked


def test_an_edit_that_changes_nothing_leaves_the_order_alone(shop: Shop) -> None:
    order = shop.admin("POST", "/orders", {"lines": [{"sku": "HAT-1", "quantity": 1}]})
    calc_id = _begin(shop, order["id"])["calculatedOrder"]["id"]
    shop.clock.advance(10)
    assert shop.data(COMMIT, {"id": calc_id})["orderEditCommit"]["order"]["edited"] is False
    data = shop.data(AGREEMENTS, {"id": order["id"]})["order"]["agreements"]["nodes"]
    assert [a["reason"] for a in data] == ["ORDER"]
    assert shop.data(ORDER, {"id": order["id"]})["order"]["updatedAt"] == "2026-10-01T12:00:00Z"


def test_the_admin_shortcut_edits_in_one_go_and_refunds_have_agreements_too(shop: Shop) -> None:
    order = shop.admin("POST", "/orders", {"lines": [{"sku": "SHOE-40", "quantity": 2}]})
    number, shoe_line = _number(order["id"]), order["lines"][0]["id"]
    hat = shop.ids("HAT-1")
    shop.clock.advance(5)
    edited = shop.admin("POST", f"/orders/{number}/edit", {
        "add": [{"variant_id": hat["variant"], "quantity": 1, "location_id": hat["Main Warehouse"]}],
        "set": [{"line_item_id": shoe_line, "quantity": 1, "restock": True}]})
    assert edited["agreement_id"].startswith("gid://shopify/SalesAgreement/")
    (new_line,) = edited["line_item_ids"]
    assert [(li["id"], li["quantity"], li["current_quantity"]) for li in edited["lines"]] == [
        (shoe_line, 2, 1), (new_line, 1, 1)]
    assert edited["updated_at"] == "2026-10-01T12:00:05+00:00"
    assert shop.level("SHOE-40") == {"available": 9, "committed": 1, "on_hand": 10}
    assert shop.level("HAT-1") == {"available": 2, "committed": 1, "on_hand": 3}
    too_many = shop.admin("POST", f"/orders/{number}/edit", {"add": [{"sku": "SHOE-41", "quantity": 9}]},
                          expect=422)
    assert too_many["userErrors"][0]["field"] == ["quantity"]
    assert shop.level("SHOE-41") == {"available": 5, "committed": 0, "on_hand": 5}, "nothing applied"

    refund = shop.admin("POST", f"/orders/{number}/refund", {"lines": [{"line_item_id": new_line,
                                                                        "quantity": 1}]})
    nodes = shop.data(AGREEMENTS, {"id": order["id"]})["order"]["agreements"]["nodes"]
    assert [(a["__typename"], a["reason"]) for a in nodes] == [
        ("OrderAgreement", "ORDER"), ("OrderEditAgreement", "ORDER_EDIT"), ("RefundAgreement", "REFUND")]
    assert nodes[1]["id"] == edited["agreement_id"]
    assert nodes[2]["refund"]["id"] == refund["refund_id"]
    assert _sales(nodes[2]) == [("ProductSale", "RETURN", "PRODUCT", 1, new_line, Decimal("-25.00"),
                                 Decimal("0"))]
    data = shop.data(ORDER, {"id": order["id"]})["order"]
    # paid 179.80; edit: -89.90 + 25.00; refund of the hat 25.00 back: 89.90 left, 89.90 owed back.
    assert _amount(data["currentTotalPriceSet"]) == Decimal("89.90")
    assert _amount(data["totalOutstandingSet"]) == Decimal("-64.90")


def test_an_open_edit_and_the_agreements_survive_a_restart(emulator_home: Path, clock) -> None:
    with serve(emulator_home, "ENTERPRISE", clock) as shop:
        shop.admin("POST", "/seed", CATALOG)
        order = shop.admin("POST", "/orders", {"lines": [{"sku": "SHOE-41", "quantity": 2}]})
        calc_id = _begin(shop, order["id"])["calculatedOrder"]["id"]
        staged = shop.data(ADD, {"id": calc_id, "variant": shop.ids("HAT-1")["variant"], "quantity": 1})
        assert staged["orderEditAddVariant"]["userErrors"] == []
    with serve(emulator_home, "ENTERPRISE", clock) as shop:
        clock.advance(20)
        committed = shop.data(COMMIT, {"id": calc_id})["orderEditCommit"]
        assert committed["userErrors"] == [] and committed["order"]["edited"] is True
        first = shop.data(AGREEMENTS, {"id": order["id"]})["order"]["agreements"]["nodes"]
    with serve(emulator_home, "ENTERPRISE", clock) as shop:
        assert shop.data(AGREEMENTS, {"id": order["id"]})["order"]["agreements"]["nodes"] == first
        assert [a["happenedAt"] for a in first] == ["2026-10-01T12:00:00Z", "2026-10-01T12:00:20Z"]
        assert shop.level("HAT-1") == {"available": 2, "committed": 1, "on_hand": 3}
        again = shop.data(COMMIT, {"id": calc_id})["orderEditCommit"]
        assert again["userErrors"][0]["message"] == "The order edit has already been committed."


REASONS = """query($id: ID!) { order(id: $id) { edited agreements(first: 50) { nodes { reason } } } }"""


def test_the_shopper_edits_open_orders_through_the_same_code(shop: Shop) -> None:
    skus = ("SHOE-40", "SHOE-41", "HAT-1")
    locations = ("Main Warehouse", "Outlet")

    def levels() -> dict[str, dict[str, int]]:
        by_sku = {sku: shop.admin("GET", f"/inventory?sku={sku}")["levels"] for sku in skus}
        return {sku: {name: sum(levels[loc][name] for loc in locations if loc in levels)
                      for name in ("available", "committed", "on_hand")} for sku, levels in by_sku.items()}

    before = levels()
    quiet = shop.admin("POST", "/shopper/step", {"seed": 4, "steps": 5, "cancel_rate": 0, "refund_rate": 0})
    assert quiet["stats"]["edited"] == 0, "edit_rate defaults to 0"
    result = shop.admin("POST", "/shopper/step", {"seed": 11, "steps": 40, "cancel_rate": 0, "refund_rate": 0,
                                                  "edit_rate": 0.5})
    stats = result["stats"]
    edits = [a for a in result["actions"] if a["action"] == "edit"]
    assert stats["edited"] == len(edits) >= 4, stats
    assert {a["change"] for a in edits} == {"added", "lowered"}, edits
    edit_agreements = 0
    for order_id in {a["order_id"] for a in edits}:
        data = shop.data(REASONS, {"id": f"gid://shopify/Order/{order_id}"})["order"]
        assert data["edited"] is True
        edit_agreements += sum(a["reason"] == "ORDER_EDIT" for a in data["agreements"]["nodes"])
    assert edit_agreements == stats["edited"]
    after = levels()
    orders = shop.admin("GET", "/orders?limit=1000")["orders"]
    for sku in skus:  # nothing shipped, lowered units restocked: committed is what the orders still hold
        assert after[sku]["on_hand"] == before[sku]["on_hand"], sku
        held = sum(line["current_quantity"] for o in orders for line in o["lines"] if line["sku"] == sku)
        assert after[sku]["committed"] == held, sku
