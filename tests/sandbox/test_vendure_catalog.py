"""Seeding the sandbox Vendure from the ERP catalog's payload, checked through the Admin and Shop APIs."""

from __future__ import annotations

import time

import pytest

from sandbox.vendure.seed import minor_units, seed_catalog
from tests.sandbox.conftest_shopify import CATALOG
from tests.sandbox.conftest_vendure import *

pytestmark = pytest.mark.vendure

# The Shopify emulator tests' trail shoe: 2 variants, SHOE-40 stocked at both locations.
SHOES = {"locations": CATALOG["locations"], "products": CATALOG["products"][:1]}

VARIANTS = """query($skus: [String!]!) {
  productVariants(options: {filter: {sku: {in: $skus}}, sort: {sku: ASC}}) {
  items { sku price currencyCode enabled stockOnHand options { code name }
          stockLevels { stockLocation { name } stockOnHand stockAllocated }
          product { name slug enabled description channels { code } optionGroups { name } } } } }"""


def test_one_product_with_two_variants(vendure):
    admin = vendure.admin()
    assert seed_catalog(admin, SHOES) == {"locations": 3, "products": 1, "variants": 2, "skipped_products": 0}

    items = admin.data(VARIANTS, {"skus": ["SHOE-40", "SHOE-41"]})["productVariants"]["items"]
    assert [(v["sku"], v["price"], v["currencyCode"], v["enabled"], v["stockOnHand"]) for v in items] == [
        ("SHOE-40", 8990, "USD", True, 12),
        ("SHOE-41", 8990, "USD", True, 5),
    ]
    assert [
        {level["stockLocation"]["name"]: level["stockOnHand"] for level in v["stockLevels"]} for v in items
    ] == [
        {"Main Warehouse": 10, "Outlet": 2, "Default Stock Location": 0},
        {"Main Warehouse": 5, "Outlet": 0, "Default Stock Location": 0},
    ]
    assert [v["options"] for v in items] == [[{"code": "40", "name": "40"}], [{"code": "41", "name": "41"}]]
    assert items[0]["product"] == {
        "name": "Trail Shoe",
        "slug": "trail-shoe",
        "enabled": True,
        "description": "<p>Grippy</p>",
        "channels": [{"code": "__default_channel__"}],
        "optionGroups": [{"name": "Size"}],
    }
    # A guest sees it in the Shop API, priced (0% tax: the price itself).
    product = vendure.shop().data(
        '{ product(slug: "trail-shoe") { name variants { sku priceWithTax currencyCode stockLevel } } }'
    )["product"]
    assert product == {
        "name": "Trail Shoe",
        "variants": [
            {"sku": "SHOE-40", "priceWithTax": 8990, "currencyCode": "USD", "stockLevel": "IN_STOCK"},
            {"sku": "SHOE-41", "priceWithTax": 8990, "currencyCode": "USD", "stockLevel": "IN_STOCK"},
        ],
    }

    # Seeding again adds nothing: no second product, no second stock location.
    assert seed_catalog(admin, SHOES) == {"locations": 3, "products": 0, "variants": 0, "skipped_products": 1}
    assert admin.data('{ products(options: {filter: {name: {eq: "Trail Shoe"}}}) { totalItems } }') == {
        "products": {"totalItems": 1}
    }


def test_prices_are_whole_cents():
    assert [minor_units(price) for price in ("89.90", "91.5", "0.01", "12", "19.999")] == [
        8990,
        9150,
        1,
        1200,
        2000,
    ]


def test_a_single_variant_product_has_no_option_group(vendure):
    admin = vendure.admin()
    seed_catalog(
        admin,
        {
            "locations": ["Main Warehouse"],
            "products": [
                {
                    "title": "Wool Hat",
                    "variants": [{"sku": "HAT-1", "price": "25.00", "inventory": {"Main Warehouse": 3}}],
                },
            ],
        },
    )
    (hat,) = admin.data(VARIANTS, {"skus": ["HAT-1"]})["productVariants"]["items"]
    assert (hat["price"], hat["stockOnHand"], hat["options"], hat["product"]["optionGroups"]) == (
        2500,
        3,
        [],
        [],
    )


def test_500_variants_seed_in_well_under_a_minute(vendure):
    payload = {
        "locations": ["Main Warehouse", "Outlet"],
        "products": [
            {
                "title": f"Bulk Tee {n}",
                "description": "",
                "option_name": "Size",
                "variants": [
                    {
                        "sku": f"BULK-{n}-{size}",
                        "option": size,
                        "price": f"{10 + n}.25",
                        "inventory": {"Main Warehouse": n, "Outlet": 1},
                    }
                    for size in ("XS", "S", "M", "L", "XL")
                ],
            }
            for n in range(100)
        ],
    }
    started = time.monotonic()
    counts = seed_catalog(vendure.admin(), payload)
    seconds = time.monotonic() - started
    assert counts == {"locations": 3, "products": 100, "variants": 500, "skipped_products": 0}
    assert seconds < 30, f"seeding 500 variants took {seconds:.1f} s"
    admin = vendure.admin()
    page = admin.data(
        '{ productVariants(options: {filter: {sku: {contains: "BULK-"}}, take: 1000}) '
        "{ totalItems items { sku price stockOnHand } } }"
    )["productVariants"]
    assert page["totalItems"] == 500
    by_sku = {v["sku"]: (v["price"], v["stockOnHand"]) for v in page["items"]}
    assert by_sku["BULK-0-XS"] == (1025, 1)
    assert by_sku["BULK-99-XL"] == (10925, 100)
