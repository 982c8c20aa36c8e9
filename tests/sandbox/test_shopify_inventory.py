"""inventorySetQuantities: the mandatory @idempotent key and changeFromQuantity, compare-and-swap against a
concurrent sale, the 250 limit, atomicity."""

from __future__ import annotations

from tests.sandbox.conftest_shopify import *  # noqa: F403 (fixtures)
from tests.sandbox.conftest_shopify import SET_QUANTITIES, Shop, new_key, quantities_input


def test_sets_available_and_reports_shopifys_changes(shop: Shop) -> None:
    ids = shop.ids("SHOE-40")
    data = shop.data(
        SET_QUANTITIES,
        {"input": quantities_input([(ids["item"], ids["Main Warehouse"], 7, 10)]), "key": new_key()},
    )
    group = data["inventorySetQuantities"]["inventoryAdjustmentGroup"]
    assert group["changes"] == [
        {"name": "available", "delta": -3, "quantityAfterChange": 7},
        {"name": "on_hand", "delta": -3, "quantityAfterChange": 7},
    ]
    assert shop.level("SHOE-40") == {"available": 7, "committed": 0, "on_hand": 7}


def test_same_idempotency_key_returns_the_first_result_and_does_not_apply_again(shop: Shop) -> None:
    ids = shop.ids("SHOE-40")
    variables = {"input": quantities_input([(ids["item"], ids["Main Warehouse"], 7, None)]), "key": new_key()}
    first = shop.data(SET_QUANTITIES, variables)["inventorySetQuantities"]
    shop.admin("POST", "/orders", {"lines": [{"sku": "SHOE-40", "quantity": 2}]})  # stock moves meanwhile
    retry = shop.data(SET_QUANTITIES, variables)["inventorySetQuantities"]
    assert retry == first
    assert shop.level("SHOE-40")["available"] == 5  # the retry did not set 7 again over the sale

    variables["input"]["quantities"][0]["quantity"] = 9
    mismatch = shop.data(SET_QUANTITIES, variables)["inventorySetQuantities"]
    assert mismatch["userErrors"][0]["code"] == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"


def test_stale_change_from_quantity_after_a_concurrent_sale_keeps_the_sale(shop: Shop) -> None:
    ids = shop.ids("SHOE-40")
    read = shop.data(
        """query($item: ID!, $loc: ID!) { inventoryItem(id: $item) { inventoryLevel(locationId: $loc) {
      quantities(names: ["available"]) { quantity } } } }""",
        {"item": ids["item"], "loc": ids["Main Warehouse"]},
    )
    seen = read["inventoryItem"]["inventoryLevel"]["quantities"][0]["quantity"]
    shop.admin("POST", "/orders", {"lines": [{"sku": "SHOE-40", "quantity": 1}]})  # the shopper buys one

    payload = shop.data(
        SET_QUANTITIES,
        {"input": quantities_input([(ids["item"], ids["Main Warehouse"], 50, seen)]), "key": new_key()},
    )["inventorySetQuantities"]
    assert payload["inventoryAdjustmentGroup"] is None
    assert payload["userErrors"] == [
        {
            "field": ["input", "quantities", "0", "changeFromQuantity"],
            "message": "The changeFromQuantity value does not match persisted value.",
            "code": "CHANGE_FROM_QUANTITY_STALE",
        }
    ]
    assert shop.level("SHOE-40") == {"available": 9, "committed": 1, "on_hand": 10}


def test_one_invalid_entry_applies_nothing(shop: Shop) -> None:
    ids = shop.ids("SHOE-40")
    hat = shop.ids("HAT-1")
    entries = [(ids["item"], ids["Main Warehouse"], 1, None), (hat["item"], hat["Main Warehouse"], 2, 999)]
    payload = shop.data(SET_QUANTITIES, {"input": quantities_input(entries), "key": new_key()})[
        "inventorySetQuantities"
    ]
    assert [e["code"] for e in payload["userErrors"]] == ["CHANGE_FROM_QUANTITY_STALE"]
    assert shop.level("SHOE-40")["available"] == 10


def test_missing_idempotent_directive_or_change_from_quantity_is_a_top_level_error(shop: Shop) -> None:
    ids = shop.ids("SHOE-40")
    without_key = SET_QUANTITIES.replace(" @idempotent(key: $key)", "").replace(", $key: String!", "")
    body = shop.gql(without_key, {"input": quantities_input([(ids["item"], ids["Main Warehouse"], 1, None)])})
    assert (
        body["errors"][0]["message"]
        == "The @idempotent directive is required for this mutation but was not provided."
    )
    assert body["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}
    assert body["data"] == {"inventorySetQuantities": None}

    no_cas = quantities_input([(ids["item"], ids["Main Warehouse"], 1, None)])
    del no_cas["quantities"][0]["changeFromQuantity"]
    body = shop.gql(SET_QUANTITIES, {"input": no_cas, "key": new_key()})
    assert (
        body["errors"][0]["message"]
        == "InventoryQuantityInput must include the following argument: changeFromQuantity."
    )
    assert shop.level("SHOE-40")["available"] == 10


def test_more_than_250_quantities_is_rejected_before_execution(shop: Shop) -> None:
    ids = shop.ids("SHOE-40")
    entries = [(ids["item"], ids["Main Warehouse"], 1, None)] * 251
    body = shop.gql(SET_QUANTITIES, {"input": quantities_input(entries), "key": new_key()})
    assert "data" not in body
    assert (
        body["errors"][0]["message"]
        == "The input array size of 251 is greater than the maximum allowed of 250."
    )
    assert body["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    assert body["errors"][0]["path"] == ["inventorySetQuantities", "input", "quantities"]


def test_setting_on_hand_moves_available(shop: Shop) -> None:
    ids = shop.ids("SHOE-40")
    shop.admin("POST", "/orders", {"lines": [{"sku": "SHOE-40", "quantity": 4}]})  # 6 available, 4 committed
    shop.data(
        SET_QUANTITIES,
        {
            "input": quantities_input([(ids["item"], ids["Main Warehouse"], 20, 10)], "on_hand"),
            "key": new_key(),
        },
    )
    assert shop.level("SHOE-40") == {"available": 16, "committed": 4, "on_hand": 20}
