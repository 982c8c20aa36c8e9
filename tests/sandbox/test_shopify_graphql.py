"""The request shape, validation against Shopify's schema, Shopify's error shapes, queries and scalars."""

from __future__ import annotations

from tests.sandbox.conftest_shopify import *  # noqa: F403 (fixtures)
from tests.sandbox.conftest_shopify import Shop

PRODUCT_FIELDS = """
  id title handle status descriptionHtml description createdAt updatedAt legacyResourceId totalInventory
  options { name values }
  media(first: 5) { nodes { ... on MediaImage { id image { url } status } } }
  variants(first: 10) {
    nodes { id sku title price compareAtPrice position inventoryQuantity inventoryPolicy
            selectedOptions { name value } inventoryItem { id sku tracked } }
  }
"""


def test_missing_or_wrong_token_is_401_with_shopifys_body(shop: Shop) -> None:
    for token in ("", "shpat_wrong"):
        response = shop.post({"query": "{ shop { name } }"}, token=token)
        assert response.status_code == 401
        assert response.json() == {
            "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
        }


def test_unknown_field_is_rejected_before_execution_in_shopifys_shape(shop: Shop) -> None:
    body = shop.gql("query Catalog { products(first: 1) { nodes { id nope } } }")
    assert "data" not in body
    assert body["errors"] == [
        {
            "message": "Field 'nope' doesn't exist on type 'Product'",
            "locations": [{"line": 1, "column": 49}],
            "path": ["query Catalog", "products", "nodes", "nope"],
            "extensions": {"code": "undefinedField", "typeName": "Product", "fieldName": "nope"},
        }
    ]
    assert body["extensions"]["cost"]["requestedQueryCost"] == 0


def test_wrong_argument_type_and_unknown_argument_are_rejected(shop: Shop) -> None:
    errors = shop.gql('{ products(first: "ten", color: RED) { nodes { id } } }')["errors"]
    codes = {e["extensions"]["code"]: e for e in errors}
    assert codes["argumentLiteralsIncompatible"]["message"] == (
        "Argument 'first' on Field 'products' has an invalid value (\"ten\"). Expected type 'Int'."
    )
    assert codes["argumentNotAccepted"]["message"] == "Field 'products' doesn't accept argument 'color'"


def test_invalid_variable_is_rejected_and_nothing_changes(shop: Shop) -> None:
    ids = shop.ids("HAT-1")
    mutation = """mutation($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
      productVariantsBulkUpdate(productId: $productId, variants: $variants) {
        userErrors { field message } } }"""
    body = shop.gql(
        mutation, {"productId": ids["product"], "variants": [{"id": ids["variant"], "price": "cheap"}]}
    )
    assert "data" not in body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INVALID_VARIABLE"
    assert error["message"] == (
        "Variable $variants of type [ProductVariantsBulkInput!]! was provided invalid value "
        "for 0.price (invalid money 'cheap')"
    )
    assert shop.admin("GET", "/products?sku=HAT-1")["variants"][0]["price"] == "25.00"


def test_product_queries_return_shopifys_shapes_and_scalars(shop: Shop) -> None:
    data = shop.data(f'{{ products(first: 5, query: "sku:SHOE-40") {{ nodes {{ {PRODUCT_FIELDS} }} }} }}')
    [product] = data["products"]["nodes"]
    assert product["id"].startswith("gid://shopify/Product/")
    assert product["legacyResourceId"] == product["id"].rsplit("/", 1)[1]  # UnsignedInt64: a string
    assert product["description"] == "Grippy" and product["descriptionHtml"] == "<p>Grippy</p>"
    assert product["createdAt"] == "2026-10-01T12:00:00Z"
    assert product["options"] == [{"name": "Size", "values": ["40", "41"]}]
    assert product["media"]["nodes"][0]["image"]["url"] == "https://img.example/shoe.jpg"
    shoe_40 = product["variants"]["nodes"][0]
    assert shoe_40["price"] == "89.90" and shoe_40["compareAtPrice"] == "99.00"  # Money: strings
    assert shoe_40["inventoryQuantity"] == 12 and product["totalInventory"] == 17
    assert shoe_40["selectedOptions"] == [{"name": "Size", "value": "40"}]
    assert shoe_40["inventoryItem"]["sku"] == "SHOE-40"


def test_search_syntax_status_and_unknown_fields(shop: Shop) -> None:
    active = shop.data('{ products(first: 10, query: "status:active") { nodes { title } } }')
    assert [p["title"] for p in active["products"]["nodes"]] == ["Trail Shoe", "Wool Hat"]
    body = shop.gql('{ products(first: 10, query: "status:archived OR colour:red") { nodes { title } } }')
    assert [p["title"] for p in body["data"]["products"]["nodes"]] == ["Old Poster"]
    assert body["extensions"]["search"][0]["warnings"] == [
        {"field": "colour", "message": "Invalid search field for this query."}
    ]


def test_cursor_pagination_forward_backward_and_reverse(shop: Shop) -> None:
    query = """query($after: String, $before: String, $first: Int, $last: Int, $reverse: Boolean) {
      productVariants(first: $first, last: $last, after: $after, before: $before, reverse: $reverse,
                      sortKey: SKU) {
        edges { cursor node { sku } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""

    def page(**variables):
        return shop.data(query, variables)["productVariants"]

    first = page(first=2)
    assert [e["node"]["sku"] for e in first["edges"]] == ["HAT-1", "POSTER-1"]
    assert first["pageInfo"]["hasNextPage"] and not first["pageInfo"]["hasPreviousPage"]
    second = page(first=2, after=first["pageInfo"]["endCursor"])
    assert [e["node"]["sku"] for e in second["edges"]] == ["SHOE-40", "SHOE-41"]
    assert not second["pageInfo"]["hasNextPage"] and second["pageInfo"]["hasPreviousPage"]
    back = page(last=1, before=second["pageInfo"]["startCursor"])
    assert [e["node"]["sku"] for e in back["edges"]] == ["POSTER-1"]
    reverse = page(first=3, reverse=True)
    assert [e["node"]["sku"] for e in reverse["edges"]] == ["SHOE-41", "SHOE-40", "POSTER-1"]


def test_connections_require_first_or_last(shop: Shop) -> None:
    body = shop.gql("{ products { nodes { id } } }")
    assert body["errors"][0]["message"] == "you must provide one of first or last"
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert body["data"] is None


def test_node_nodes_and_inventory_levels(shop: Shop) -> None:
    ids = shop.ids("SHOE-40")
    data = shop.data(
        """query($ids: [ID!]!, $item: ID!) {
      nodes(ids: $ids) { id ... on ProductVariant { sku } ... on Location { name } }
      inventoryItem(id: $item) { inventoryLevels(first: 5) { nodes { id location { name }
        quantities(names: ["available", "on_hand", "committed"]) { name quantity } } } } }""",
        {"ids": [ids["variant"], ids["Outlet"]], "item": ids["item"]},
    )
    assert data["nodes"] == [
        {"id": ids["variant"], "sku": "SHOE-40"},
        {"id": ids["Outlet"], "name": "Outlet"},
    ]
    levels = data["inventoryItem"]["inventoryLevels"]["nodes"]
    assert levels[0]["id"].startswith("gid://shopify/InventoryLevel/")
    assert levels[1]["quantities"] == [
        {"name": "available", "quantity": 2},
        {"name": "on_hand", "quantity": 2},
        {"name": "committed", "quantity": 0},
    ]


def test_unmodelled_field_is_refused_not_invented(shop: Shop) -> None:
    body = shop.gql(
        "{ products(first: 1) { nodes { id contextualPricing(context: {}) {"
        " maxVariantPricing { price { amount } } } } } }"
    )
    assert body["errors"][0]["extensions"]["code"] == "NOT_MODELLED_BY_EMULATOR"
