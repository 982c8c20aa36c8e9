"""set_product for Vendure (include/erpsync/vendure/content.py) against a real, stock Vendure server:
what it makes is read back through the Admin API with this test's own queries."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from erpsync.store.records import ProductDraft, VariantDraft
from erpsync.vendure.client import VendureClient
from erpsync.vendure.content import set_product
from erpsync.vendure.settings import VendureSettings
from sandbox.vendure.client import VendureApi
from sandbox.vendure.seed import seed_catalog
from tests.sandbox.conftest_vendure import *  # noqa: F403 - the `vendure` fixture

pytestmark = pytest.mark.vendure

CATALOG = {
    "locations": ["Main Warehouse", "Outlet"],
    "products": [{
        "title": "Seeded Sock", "description": "<p>Warm</p>", "option_name": "Size",
        "variants": [{"sku": "SOCK-M", "option": "M", "price": "9.90", "compare_at_price": None,
                      "inventory": {"Main Warehouse": 4}},
                     {"sku": "SOCK-L", "option": "L", "price": "9.90", "compare_at_price": None,
                      "inventory": {"Main Warehouse": 4}}],
    }],
}

PRODUCT = """
query($id: ID!) {
  product(id: $id) {
    name slug description enabled
    channels { code }
    optionGroups { name }
    variants { id sku price options { name } stockLevels { stockLocation { name } stockOnHand } }
  }
}"""
BY_SKU = """
query($skus: [String!]!) {
  productVariants(options: {filter: {sku: {in: $skus}}}) { items { sku productId } }
}"""
NAMED = """
query($name: String!) {
  products(options: {filter: {name: {eq: $name}}}) { totalItems items { id } }
}"""


@pytest.fixture(scope="module")
def admin(vendure) -> VendureApi:
    """This test's own Admin API session, on a store seeded with one product (configured to sell)."""
    api = vendure.admin()
    seed_catalog(api, CATALOG)
    return api


@pytest.fixture(scope="module")
def client(vendure, admin) -> VendureClient:
    settings = VendureSettings(base_url=vendure.url, store_name="vendure-content", **vendure.credentials())
    return settings.store().client


@pytest.fixture(scope="module")
def locations(admin) -> dict[str, str]:
    return {loc["name"]: loc["id"] for loc in admin.data("{ stockLocations { items { id name } } }")
            ["stockLocations"]["items"]}


def _draft(title: str, variants: list[VariantDraft] | None, *, product_id: str | None = None,
           status: str = "ACTIVE") -> ProductDraft:
    return ProductDraft(product_id=product_id, title=title, description_html=f"<p>{title}</p>", status=status,
                        image_urls=(), option_name="Size",
                        variants=None if variants is None else tuple(variants))


def _product(admin: VendureApi, product_id: str) -> dict:
    return admin.data(PRODUCT, {"id": product_id})["product"]


def _shirts(locations: dict[str, str]) -> list[VariantDraft]:
    main, outlet = locations["Main Warehouse"], locations["Outlet"]
    return [VariantDraft("SHIRT-S", "S", Decimal("19.90"), None, inventory=((main, 5), (outlet, 1))),
            VariantDraft("SHIRT-M", "M", Decimal("21.00"), None, inventory=((main, 7),)),
            VariantDraft("SHIRT-L", "L", Decimal("22.50"), None, inventory=((outlet, 3),))]


def test_creates_then_updates_then_archives_a_product(admin, client, locations):
    created = set_product(client, _draft("Linen Shirt", _shirts(locations)))
    assert created.applied and created.error is None and created.confirmed_at is not None
    ids = {v.sku: v.variant_id for v in created.variants}
    assert sorted(ids) == ["SHIRT-L", "SHIRT-M", "SHIRT-S"]
    assert all(v.inventory_item_id == v.variant_id for v in created.variants)

    made = _product(admin, created.product_id)
    assert (made["name"], made["slug"], made["description"], made["enabled"]) == (
        "Linen Shirt", "linen-shirt", "<p>Linen Shirt</p>", True)
    assert [c["code"] for c in made["channels"]] == ["__default_channel__"]
    assert [g["name"] for g in made["optionGroups"]] == ["Size"]
    variants = {v["sku"]: v for v in made["variants"]}
    assert {sku: v["price"] for sku, v in variants.items()} == {
        "SHIRT-S": 1990, "SHIRT-M": 2100, "SHIRT-L": 2250}
    assert {sku: [o["name"] for o in v["options"]] for sku, v in variants.items()} == {
        "SHIRT-S": ["S"], "SHIRT-M": ["M"], "SHIRT-L": ["L"]}
    stock = {sku: {lvl["stockLocation"]["name"]: lvl["stockOnHand"] for lvl in v["stockLevels"]}
             for sku, v in variants.items()}
    # Vendure gives a new variant a level at every stock location of the channel: 0 where none was sent.
    assert stock == {"SHIRT-S": {"Default Stock Location": 0, "Main Warehouse": 5, "Outlet": 1},
                     "SHIRT-M": {"Default Stock Location": 0, "Main Warehouse": 7, "Outlet": 0},
                     "SHIRT-L": {"Default Stock Location": 0, "Main Warehouse": 0, "Outlet": 3}}

    small, medium, _ = _shirts(locations)
    updated = set_product(client, _draft("Linen Shirt, washed", [
        VariantDraft("SHIRT-S", "S", Decimal("18.00"), None, variant_id=ids["SHIRT-S"]),
        VariantDraft("SHIRT-M", "M", medium.price, None, variant_id=ids["SHIRT-M"]),
        VariantDraft("SHIRT-XL", "XL", Decimal("24.00"), None, inventory=((locations["Main Warehouse"], 2),)),
    ], product_id=created.product_id))
    assert updated.applied, updated.error
    assert updated.product_id == created.product_id
    after = _product(admin, created.product_id)
    assert (after["name"], after["slug"], after["enabled"]) == ("Linen Shirt, washed", "linen-shirt", True)
    assert {v["sku"]: v["price"] for v in after["variants"]} == {
        "SHIRT-S": 1800, "SHIRT-M": 2100, "SHIRT-XL": 2400}
    assert {v.sku: v.variant_id for v in updated.variants} == {
        "SHIRT-S": ids["SHIRT-S"], "SHIRT-M": ids["SHIRT-M"],
        "SHIRT-XL": next(v["id"] for v in after["variants"] if v["sku"] == "SHIRT-XL")}
    assert admin.data(BY_SKU, {"skus": ["SHIRT-L"]})["productVariants"]["items"] == []

    archived = set_product(client, _draft("Linen Shirt, washed", None, product_id=created.product_id,
                                          status="ARCHIVED"))
    assert archived.applied, archived.error
    gone = _product(admin, created.product_id)
    assert gone["enabled"] is False
    assert sorted(v["sku"] for v in gone["variants"]) == ["SHIRT-M", "SHIRT-S", "SHIRT-XL"]
    assert sorted(v.sku for v in archived.variants) == ["SHIRT-M", "SHIRT-S", "SHIRT-XL"]


def test_the_same_create_twice_makes_one_product(admin, client, locations):
    main = locations["Main Warehouse"]
    draft = _draft("Wool Cap", [
        VariantDraft("CAP-1", "One size", Decimal("15.00"), None, inventory=((main, 3),)),
        VariantDraft("CAP-2", "Kids", Decimal("12.00"), None, inventory=((main, 2),))])
    first = set_product(client, draft)
    again = set_product(client, draft)  # as after a lost answer: still no product id
    assert first.applied and again.applied, (first.error, again.error)
    assert again.product_id == first.product_id
    assert set(again.variants) == set(first.variants)
    assert admin.data(NAMED, {"name": "Wool Cap"})["products"]["totalItems"] == 1
    found = admin.data(BY_SKU, {"skus": ["CAP-1", "CAP-2"]})["productVariants"]["items"]
    assert sorted(v["sku"] for v in found) == ["CAP-1", "CAP-2"]
    stock = _product(admin, first.product_id)["variants"][0]["stockLevels"]
    assert {lvl["stockLocation"]["name"]: lvl["stockOnHand"] for lvl in stock}["Main Warehouse"] == 3


def test_a_sku_of_another_product_refuses_that_draft_only(admin, client):
    clash = _draft("Sock Copy", [VariantDraft("SOCK-M", "M", Decimal("9.00"), None),
                                 VariantDraft("COPY-1", "XL", Decimal("9.00"), None)])
    good = _draft("Rain Jacket", [VariantDraft("JACKET-1", "M", Decimal("99.95"), None)])
    finer = _draft("Odd Price", [VariantDraft("ODD-1", "M", Decimal("1.005"), None)])
    with ThreadPoolExecutor(3) as pool:  # one client, several threads, as publish_content calls it
        refused, made, odd = pool.map(lambda d: set_product(client, d), [clash, good, finer])

    assert not refused.applied and refused.product_id is None
    assert "SOCK-M" in refused.error and "COPY-1" not in refused.error
    assert not odd.applied and "1.005" in odd.error
    for name in ("Sock Copy", "Odd Price"):
        assert admin.data(NAMED, {"name": name})["products"]["totalItems"] == 0, name
    left = admin.data(BY_SKU, {"skus": ["SOCK-M", "COPY-1"]})["productVariants"]["items"]
    assert [v["sku"] for v in left] == ["SOCK-M"]

    assert made.applied, made.error
    jacket = _product(admin, made.product_id)
    assert (jacket["name"], jacket["enabled"]) == ("Rain Jacket", True)
    assert [(v["sku"], v["price"]) for v in jacket["variants"]] == [("JACKET-1", 9995)]
