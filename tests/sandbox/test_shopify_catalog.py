"""Publishing content: productCreate/productUpdate, productSet, productVariantsBulkCreate/Update."""

from __future__ import annotations

from tests.sandbox.conftest_shopify import *  # noqa: F403 (fixtures)
from tests.sandbox.conftest_shopify import Shop

BULK_UPDATE = """mutation($productId: ID!, $variants: [ProductVariantsBulkInput!]!, $partial: Boolean) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants, allowPartialUpdates: $partial) {
    product { id updatedAt } productVariants { id sku price compareAtPrice }
    userErrors { field message code } } }"""


def test_bulk_update_changes_prices_skus_and_moves_updated_at(shop: Shop) -> None:
    ids = shop.ids("SHOE-40")
    shop.clock.advance(60)
    payload = shop.data(
        BULK_UPDATE,
        {
            "productId": ids["product"],
            "variants": [
                {
                    "id": ids["variant"],
                    "price": "79.00",
                    "compareAtPrice": None,
                    "inventoryItem": {"sku": "SHOE-40-EU"},
                }
            ],
        },
    )
    result = payload["productVariantsBulkUpdate"]
    assert result["userErrors"] == []
    assert result["productVariants"] == [
        {"id": ids["variant"], "sku": "SHOE-40-EU", "price": "79.00", "compareAtPrice": None}
    ]
    assert result["product"]["updatedAt"] == "2026-10-01T12:01:00Z"


def test_bulk_update_is_all_or_nothing_unless_partial_updates_are_allowed(shop: Shop) -> None:
    ids = shop.ids("SHOE-40")
    other = shop.ids("SHOE-41")
    variants = [{"id": ids["variant"], "price": "70.00"}, {"id": other["variant"], "price": "-1"}]
    refused = shop.data(BULK_UPDATE, {"productId": ids["product"], "variants": variants})[
        "productVariantsBulkUpdate"
    ]
    assert refused["productVariants"] is None
    assert refused["userErrors"] == [
        {
            "field": ["variants", "1", "price"],
            "message": "Price must be greater than or equal to 0",
            "code": "GREATER_THAN_OR_EQUAL_TO",
        }
    ]
    assert shop.admin("GET", "/products?sku=SHOE-40")["variants"][0]["price"] == "89.90"

    partial = shop.data(BULK_UPDATE, {"productId": ids["product"], "variants": variants, "partial": True})
    assert [v["price"] for v in partial["productVariantsBulkUpdate"]["productVariants"]] == ["70.00"]
    assert partial["productVariantsBulkUpdate"]["userErrors"][0]["code"] == "GREATER_THAN_OR_EQUAL_TO"


def test_bulk_update_rejects_variants_of_another_product_and_unknown_products(shop: Shop) -> None:
    shoe = shop.ids("SHOE-40")
    hat = shop.ids("HAT-1")
    foreign = shop.data(
        BULK_UPDATE, {"productId": shoe["product"], "variants": [{"id": hat["variant"], "price": "1"}]}
    )
    assert foreign["productVariantsBulkUpdate"]["userErrors"][0]["code"] == "MUST_BE_FOR_THIS_PRODUCT"
    missing = shop.data(BULK_UPDATE, {"productId": "gid://shopify/Product/999999", "variants": []})
    assert missing["productVariantsBulkUpdate"]["userErrors"][0]["code"] == "PRODUCT_DOES_NOT_EXIST"


def test_bulk_update_accepts_more_than_250_variants_in_one_call(shop: Shop) -> None:
    ids = shop.ids("SHOE-40")
    variants = [{"id": ids["variant"], "price": "70.00"}] * 300
    body = shop.gql(BULK_UPDATE, {"productId": ids["product"], "variants": variants, "partial": True})
    assert "errors" not in body  # the general 250 limit does not apply to this argument (2,048)
    assert body["extensions"]["cost"]["requestedQueryCost"] >= 10 + 60  # 10 + 0.2 per variant


def test_product_create_update_and_bulk_create_publish_a_new_product(shop: Shop) -> None:
    created = shop.data(
        """mutation($product: ProductCreateInput!, $media: [CreateMediaInput!]) {
      productCreate(product: $product, media: $media) { product { id handle status options { name values } }
        userErrors { field message } } }""",
        {
            "product": {
                "title": "Rain Jacket",
                "descriptionHtml": "<p>Dry</p>",
                "status": "DRAFT",
                "productOptions": [{"name": "Size", "values": [{"name": "M"}]}],
            },
            "media": [{"originalSource": "https://img.example/jacket.jpg", "mediaContentType": "IMAGE"}],
        },
    )
    product = created["productCreate"]["product"]
    assert product["handle"] == "rain-jacket" and product["status"] == "DRAFT"

    bulk = shop.data(
        """mutation($id: ID!, $variants: [ProductVariantsBulkInput!]!) {
      productVariantsBulkCreate(productId: $id, variants: $variants, strategy: REMOVE_STANDALONE_VARIANT) {
        productVariants { sku price selectedOptions { value } } userErrors { field message code } } }""",
        {
            "id": product["id"],
            "variants": [
                {
                    "optionValues": [{"optionName": "Size", "name": "L"}],
                    "price": "120.00",
                    "inventoryItem": {"sku": "JACKET-L"},
                },
                {
                    "optionValues": [{"optionName": "Size", "name": "XL"}],
                    "price": "125.00",
                    "inventoryItem": {"sku": "JACKET-XL"},
                },
            ],
        },
    )
    assert bulk["productVariantsBulkCreate"]["userErrors"] == []
    updated = shop.data(
        """mutation($product: ProductUpdateInput!) { productUpdate(product: $product) {
      product { status variants(first: 5) { nodes { sku } } } userErrors { field message } } }""",
        {"product": {"id": product["id"], "status": "ACTIVE"}},
    )
    assert updated["productUpdate"]["product"] == {
        "status": "ACTIVE",
        "variants": {"nodes": [{"sku": "JACKET-L"}, {"sku": "JACKET-XL"}]},
    }


def test_product_create_requires_a_title(shop: Shop) -> None:
    payload = shop.data("""mutation { productCreate(product: {title: " "}) { product { id }
      userErrors { field message } } }""")["productCreate"]
    assert payload == {
        "product": None,
        "userErrors": [{"field": ["title"], "message": "Title can't be blank"}],
    }


def test_product_set_creates_then_replaces_the_variant_list(shop: Shop) -> None:
    mutation = """mutation($input: ProductSetInput!, $identifier: ProductSetIdentifiers) {
      productSet(input: $input, identifier: $identifier, synchronous: true) {
        product { id title variants(first: 10) { nodes { sku price } } media(first: 5) { nodes { id } } }
        userErrors { field message code } } }"""
    options = [{"name": "Color", "values": [{"name": "Red"}, {"name": "Blue"}]}]
    first = shop.data(
        mutation,
        {
            "input": {
                "title": "Mug",
                "productOptions": options,
                "files": [{"originalSource": "https://img.example/mug.jpg"}],
                "variants": [
                    {
                        "optionValues": [{"optionName": "Color", "name": "Red"}],
                        "sku": "MUG-R",
                        "price": "9.00",
                    },
                    {
                        "optionValues": [{"optionName": "Color", "name": "Blue"}],
                        "sku": "MUG-B",
                        "price": "9.50",
                    },
                ],
            }
        },
    )
    product = first["productSet"]["product"]
    assert [v["sku"] for v in product["variants"]["nodes"]] == ["MUG-R", "MUG-B"]
    second = shop.data(
        mutation,
        {
            "identifier": {"id": product["id"]},
            "input": {
                "title": "Mug",
                "productOptions": [{"name": "Color", "values": [{"name": "Red"}]}],
                "variants": [
                    {
                        "optionValues": [{"optionName": "Color", "name": "Red"}],
                        "sku": "MUG-R",
                        "price": "8.00",
                    }
                ],
            },
        },
    )
    assert second["productSet"]["product"]["variants"]["nodes"] == [{"sku": "MUG-R", "price": "8.00"}]
    missing = shop.data(mutation, {"input": {"title": "X", "variants": []}})
    assert missing["productSet"]["userErrors"][0]["code"] == "PRODUCT_OPTIONS_INPUT_MISSING"


DELETE = """mutation($input: ProductDeleteInput!) {
  productDelete(input: $input) { deletedProductId userErrors { field message } } }"""


def test_product_delete_removes_the_product_its_variants_and_their_inventory(shop: Shop) -> None:
    ids = shop.ids("SHOE-40")
    deleted = shop.data(DELETE, {"input": {"id": ids["product"]}})["productDelete"]
    assert deleted == {"deletedProductId": ids["product"], "userErrors": []}
    found = shop.data("""query { productVariants(first: 5, query: "sku:SHOE-40") { nodes { id } } }""")
    assert found["productVariants"]["nodes"] == []
    again = shop.data(DELETE, {"input": {"id": ids["product"]}})["productDelete"]
    assert again == {"deletedProductId": None, "userErrors": [{"field": ["id"], "message": "Product does not exist"}]}
