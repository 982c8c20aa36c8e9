"""The store's settings and its catalog, made through the Admin API as a merchant would make them.

`configure_store` gives a new Vendure what a shop needs before it can sell (a zone, a tax rate, a shipping
method, the dummy payment method, stock tracking); `seed_catalog` creates the ERP's catalog, in the
payload `sandbox.demo.store_seed` makes for the Shopify emulator:
    {"locations": [name, ...],
     "products": [{title, description, option_name, variants: [{sku, option, price, compare_at_price,
                                                                inventory: {location: qty}}]}]}

Vendure has no bulk `createProducts` (3.7): products and option groups are made by many aliased
mutations in one request, variants by `createProductVariants` with a list. 100 products of 5 variants
(500 variants, 2 stock locations) seed in 6-7 s here (see README.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from sandbox.vendure.client import VendureApi

LANGUAGE = "en"
COUNTRIES = {"US": "United States", "CA": "Canada", "GB": "United Kingdom", "DE": "Germany"}
ZONE = "Sandbox customers"
TAX_CATEGORY = "Standard"
# A 0% rate: totals are prices times quantities plus shipping, which tests can work out by hand.
TAX_RATE_PERCENT = 0.0
SHIPPING_METHOD = "standard-shipping"
SHIPPING_PRICE = 599  # minor units, flat per order
PAYMENT_METHOD = "dummy-payment"
BATCH = 50  # aliased mutations per request: one request's work stays short, its body small

SETTINGS = """
query {
  activeChannel { id trackInventory defaultTaxZone { id } }
  countries(options: {take: 100}) { items { id code } }
  zones(options: {take: 100}) { items { id name } }
  taxCategories(options: {take: 100}) { items { id name } }
  taxRates(options: {take: 100}) { items { id name } }
  shippingMethods(options: {take: 100}) { items { id code } }
  paymentMethods(options: {take: 100}) { items { id code } }
  stockLocations(options: {take: 100}) { items { id name } }
}"""


def configure_store(admin: VendureApi) -> dict[str, Any]:
    """Make what a new Vendure lacks to sell; what exists (by code or name) is kept. Returns its ids."""
    have = admin.data(SETTINGS)

    def ensure(page: str, key: str, value: str, create: str, fields: dict[str, Any]) -> str:
        """The id of the item of `page` whose `key` is `value`, made with mutation `create` if missing."""
        found = next((item["id"] for item in have[page]["items"] if item[key] == value), None)
        if found is not None:
            return found
        document = (
            f"mutation($input: {create[0].upper()}{create[1:]}Input!) {{ {create}(input: $input) {{ id }} }}"
        )
        return admin.data(document, {"input": {key: value, **fields}})[create]["id"]

    countries = [
        ensure("countries", "code", code, "createCountry", {"enabled": True, "translations": _named(name)})
        for code, name in COUNTRIES.items()
    ]
    zone = ensure("zones", "name", ZONE, "createZone", {"memberIds": countries})
    category = ensure("taxCategories", "name", TAX_CATEGORY, "createTaxCategory", {"isDefault": True})
    ensure(
        "taxRates",
        "name",
        f"{TAX_CATEGORY} {ZONE}",
        "createTaxRate",
        {"enabled": True, "value": TAX_RATE_PERCENT, "categoryId": category, "zoneId": zone},
    )
    channel = have["activeChannel"]
    if not channel["trackInventory"] or not channel["defaultTaxZone"]:
        # trackInventory: without it Vendure sells whatever the stock; the default zones price an order
        # before it has an address.
        admin.mutate(
            "mutation($input: UpdateChannelInput!) { updateChannel(input: $input) {"
            " ... on Channel { id } ... on ErrorResult { errorCode message } } }",
            {
                "input": {
                    "id": channel["id"],
                    "trackInventory": True,
                    "defaultTaxZoneId": zone,
                    "defaultShippingZoneId": zone,
                }
            },
        )
    shipping = ensure(
        "shippingMethods",
        "code",
        SHIPPING_METHOD,
        "createShippingMethod",
        {
            "fulfillmentHandler": "manual-fulfillment",
            "checker": _operation("default-shipping-eligibility-checker", orderMinimum=0),
            "calculator": _operation(
                "default-shipping-calculator", rate=SHIPPING_PRICE, includesTax="exclude", taxRate=0
            ),
            "translations": _named("Standard shipping"),
        },
    )
    payment = ensure(
        "paymentMethods",
        "code",
        PAYMENT_METHOD,
        "createPaymentMethod",
        {
            "enabled": True,
            "handler": _operation("dummy-payment-handler", automaticSettle=True),
            "translations": _named("Dummy payment"),
        },
    )
    return {"zone": zone, "tax_category": category, "shipping_method": shipping, "payment_method": payment}


def ensure_stock_locations(admin: VendureApi, names: Iterable[str]) -> dict[str, str]:
    """Stock location id by name, one per ERP warehouse; created when missing."""
    existing = {loc["name"]: loc["id"] for loc in admin.data(SETTINGS)["stockLocations"]["items"]}
    missing = [name for name in names if name not in existing]
    created = _batched(
        admin,
        "createStockLocation",
        "CreateStockLocationInput!",
        "id name",
        [{"name": name} for name in missing],
    )
    return existing | {loc["name"]: loc["id"] for loc in created}


def seed_catalog(admin: VendureApi, payload: dict[str, Any]) -> dict[str, int]:
    """Create the payload's stock locations and products (enabled unless their status is not ACTIVE, in
    the default channel, stocked per location). A product any of whose SKUs exists already is skipped,
    so seeding twice adds nothing."""
    settings = configure_store(admin)
    locations = ensure_stock_locations(admin, payload["locations"])
    known = existing_skus(admin, [v["sku"] for p in payload["products"] for v in p["variants"]])
    products = [p for p in payload["products"] if not any(v["sku"] in known for v in p["variants"])]

    made = _batched(
        admin,
        "createProduct",
        "CreateProductInput!",
        "id",
        [
            {
                "enabled": p.get("status", "ACTIVE") == "ACTIVE",
                "translations": [
                    {
                        "languageCode": LANGUAGE,
                        "name": p["title"],
                        "slug": _slug(p["title"]),
                        "description": p.get("description") or "",
                    }
                ],
            }
            for p in products
        ],
    )
    product_ids = [m["id"] for m in made]
    optioned = [(pid, p) for pid, p in zip(product_ids, products, strict=True) if _has_options(p)]
    groups = _batched(
        admin,
        "createProductOptionGroup",
        "CreateProductOptionGroupInput!",
        "id options { id code }",
        [
            {
                "code": f"{_slug(p['title'])}-{_slug(p.get('option_name') or 'variant')}",
                "translations": _named(p.get("option_name") or "Variant"),
                "options": [
                    {"code": _slug(v["option"]), "translations": _named(v["option"])} for v in p["variants"]
                ],
            }
            for _pid, p in optioned
        ],
    )
    _aliased(
        admin,
        "addOptionGroupToProduct",
        {"productId": "ID!", "optionGroupId": "ID!"},
        "id",
        [
            {"productId": pid, "optionGroupId": group["id"]}
            for (pid, _p), group in zip(optioned, groups, strict=True)
        ],
    )
    option_ids = {
        (pid, option["code"]): option["id"]
        for (pid, _p), group in zip(optioned, groups, strict=True)
        for option in group["options"]
    }
    variants = [
        {
            "productId": pid,
            "enabled": True,
            "sku": v["sku"],
            "price": minor_units(v["price"]),
            "taxCategoryId": settings["tax_category"],
            "optionIds": [option_ids[(pid, _slug(v["option"]))]] if _has_options(p) else [],
            "translations": _named(f"{p['title']} {v['option']}" if _has_options(p) else p["title"]),
            "stockLevels": [
                {"stockLocationId": locations[name], "stockOnHand": int(qty)}
                for name, qty in (v.get("inventory") or {}).items()
            ],
        }
        for pid, p in zip(product_ids, products, strict=True)
        for v in p["variants"]
    ]
    for chunk in _chunks(variants, BATCH * 4):
        admin.data(
            "mutation($input: [CreateProductVariantInput!]!) { createProductVariants(input: $input) { id } }",
            {"input": chunk},
        )
    return {
        "locations": len(locations),
        "products": len(products),
        "variants": len(variants),
        "skipped_products": len(payload["products"]) - len(products),
    }


def existing_skus(admin: VendureApi, skus: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(skus, 500):
        page = admin.data(
            "query($skus: [String!]!, $take: Int!) { productVariants(options: {take: $take,"
            " filter: {sku: {in: $skus}}}) { items { sku } } }",
            {"skus": chunk, "take": len(chunk)},
        )
        found.update(item["sku"] for item in page["productVariants"]["items"])
    return found


def minor_units(price: str | Decimal | float) -> int:
    """'89.90' -> 8990 (USD has two decimals)."""
    return int((Decimal(str(price)) * 100).to_integral_value())


def _has_options(product: dict[str, Any]) -> bool:
    return all(v.get("option") for v in product["variants"])


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _named(name: str) -> list[dict[str, str]]:
    """The `translations` of a named thing, in the one language of the sandbox."""
    return [{"languageCode": LANGUAGE, "name": name}]


def _operation(code: str, **arguments: Any) -> dict[str, Any]:
    """A ConfigurableOperationInput: Vendure takes every argument's value as a string."""
    return {
        "code": code,
        "arguments": [
            {"name": name, "value": str(value).lower() if isinstance(value, bool) else str(value)}
            for name, value in arguments.items()
        ],
    }


def _batched(
    admin: VendureApi, field: str, input_type: str, selection: str, inputs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """`field(input: ...)` once per input, BATCH aliased mutations per request, results in order."""
    return _aliased(admin, field, {"input": input_type}, selection, [{"input": i} for i in inputs])


def _aliased(
    admin: VendureApi, field: str, arg_types: dict[str, str], selection: str, calls: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    for chunk in _chunks(calls, BATCH):
        declared = ", ".join(
            f"${name}{n}: {kind}" for n in range(len(chunk)) for name, kind in arg_types.items()
        )
        fields = " ".join(
            f"m{n}: {field}({', '.join(f'{name}: ${name}{n}' for name in arg_types)}) {{ {selection} }}"
            for n in range(len(chunk))
        )
        variables = {f"{name}{n}": value for n, call in enumerate(chunk) for name, value in call.items()}
        data = admin.data(f"mutation({declared}) {{ {fields} }}", variables)
        results.extend(data[f"m{n}"] for n in range(len(chunk)))
    return results


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
