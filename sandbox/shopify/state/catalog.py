"""Products, variants, media and their inventory items, with Shopify's defaults."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sandbox.shopify.state.inventory import change, ensure_level
from sandbox.shopify.state.records import InventoryItem, InventoryLevel, Location, Media, Product, Variant
from sandbox.shopify.state.store import Store

DEFAULT_OPTION = ["Title", ["Default Title"]]
PRODUCT_FIELDS = ("title", "description_html", "vendor", "product_type", "status", "tags", "handle")


@dataclass(slots=True)
class VariantSpec:
    """What a variant is created or updated with; None means "leave as is" (or Shopify's default)."""

    sku: str | None = None
    price: Decimal | None = None
    compare_at_price: Decimal | None = None
    clear_compare_at_price: bool = False
    barcode: str | None = None
    inventory_policy: str | None = None
    taxable: bool | None = None
    option_values: list[str] | None = None
    tracked: bool | None = None
    requires_shipping: bool | None = None
    unit_cost: Decimal | None = None
    quantities: dict[int, dict[str, int]] = field(default_factory=dict)  # location id -> {name: quantity}


def slugify(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "product"


def unique_handle(store: Store, wanted: str, product_id: int | None = None) -> str:
    def taken(handle: str) -> bool:
        return bool(store.products.equal["handle"].get(handle) - {product_id})

    handle, suffix = wanted, 1
    while taken(handle):
        handle, suffix = f"{wanted}-{suffix}", suffix + 1
    return handle


def touch_product(store: Store, product: Product) -> None:
    """Every change of a product or of its variants ends here: the products/update event."""
    product.updated_at = store.now()
    store.save(product)
    store.emit("products/update", product.id)


def create_product(store: Store, values: dict[str, Any], options: list[list[Any]] | None = None) -> Product:
    now = store.now()
    title = values.get("title") or ""
    product = Product(
        id=store.next_id("product"),
        title=title,
        handle=unique_handle(store, values.get("handle") or slugify(title)),
        created_at=now,
        updated_at=now,
        options=options or [list(DEFAULT_OPTION)],
    )
    for name in PRODUCT_FIELDS:
        if values.get(name) is not None and name not in ("title", "handle"):
            setattr(product, name, values[name])
    store.save(product)
    store.emit("products/create", product.id)
    return product


def update_product(store: Store, product: Product, values: dict[str, Any]) -> None:
    for name in PRODUCT_FIELDS:
        if name in values and values[name] is not None:
            setattr(
                product,
                name,
                unique_handle(store, values[name], product.id) if name == "handle" else values[name],
            )
    touch_product(store, product)


def add_media(store: Store, product: Product, sources: list[tuple[str, str | None]]) -> list[Media]:
    now = store.now()
    created = []
    for source, alt in sources:
        media = Media(store.next_id("media"), product.id, source, now, now, alt)
        store.save(media)
        product.media_ids.append(media.id)
        created.append(media)
    touch_product(store, product)
    return created


def replace_media(store: Store, product: Product, sources: list[tuple[str, str | None]]) -> None:
    for media_id in product.media_ids:
        store.delete(store.media.get(media_id))
    product.media_ids = []
    add_media(store, product, sources)


def _apply(store: Store, variant: Variant, item: InventoryItem, spec: VariantSpec) -> None:
    for name in (
        "sku",
        "price",
        "compare_at_price",
        "barcode",
        "inventory_policy",
        "taxable",
        "option_values",
    ):
        value = getattr(spec, name)
        if value is not None:
            setattr(variant, name, value)
    if spec.clear_compare_at_price:
        variant.compare_at_price = None
    for name in ("tracked", "requires_shipping", "unit_cost"):
        value = getattr(spec, name)
        if value is not None:
            setattr(item, name, value)


def create_variant(store: Store, product: Product, spec: VariantSpec) -> Variant:
    now = store.now()
    variant_id, item_id = store.next_id("variant"), store.next_id("inventory_item")
    variant = Variant(variant_id, product.id, item_id, now, now, position=len(product.variant_ids) + 1)
    item = InventoryItem(item_id, variant_id, now, now)
    _apply(store, variant, item, spec)
    store.save(variant)
    store.save(item)
    product.variant_ids.append(variant_id)
    # Shopify stocks a new variant at the shop's locations; quantities given on creation are set there.
    for location in store.locations.by_id.values():
        level = ensure_level(store, item_id, location.id)
        wanted = spec.quantities.get(location.id, {})
        if wanted:
            change(store, level, {name: qty - level.quantities.get(name, 0) for name, qty in wanted.items()})
    return variant


def update_variant(store: Store, variant: Variant, spec: VariantSpec) -> None:
    item = store.items.get(variant.inventory_item_id)
    _apply(store, variant, item, spec)
    now = store.now()
    variant.updated_at = item.updated_at = now
    store.save(variant)
    store.save(item)


def delete_variant(store: Store, product: Product, variant: Variant) -> None:
    product.variant_ids.remove(variant.id)
    for location_id in list(store.levels_by_item.get(variant.inventory_item_id, [])):
        store.delete(store.levels[(variant.inventory_item_id, location_id)])
    store.delete(store.items.get(variant.inventory_item_id))
    store.delete(variant)
    for position, variant_id in enumerate(product.variant_ids, start=1):
        sibling = store.variants.get(variant_id)
        if sibling.position != position:
            sibling.position = position
            store.save(sibling)


def delete_product(store: Store, product: Product) -> None:
    """productDelete: the product, its variants with their inventory items and levels, its media."""
    for variant_id in list(product.variant_ids):
        delete_variant(store, product, store.variants.get(variant_id))
    for media_id in product.media_ids:
        store.delete(store.media.get(media_id))
    store.delete(product)
    store.emit("products/delete", product.id, snapshot={"id": product.id})


def location_by_name(store: Store, name: str) -> Location:
    for location in store.locations.by_id.values():
        if location.name == name:
            return location
    now = store.now()
    location = Location(store.next_id("location"), name, now, now)
    store.save(location)
    return location


def seed(store: Store, payload: dict[str, Any]) -> dict[str, int]:
    """Bulk-create locations and products from the admin seed payload (see README, "Seeding").

    Builds records directly and indexes them in batches: 100,000 variants in seconds, where going through
    create_variant one by one would stock and index each variant separately.
    """
    now = store.now()
    locations = [
        location_by_name(store, entry["name"] if isinstance(entry, dict) else entry)
        for entry in payload.get("locations") or []
    ]
    if not locations and not store.locations.by_id:
        locations = [location_by_name(store, "Shop location")]
    by_name = {loc.name: loc for loc in store.locations.by_id.values()}
    handles: set[str] = set()
    products, variants, items, media, levels = [], [], [], [], []
    for entry in payload.get("products") or []:
        title = entry["title"]
        handle, suffix = entry.get("handle") or slugify(title), 1
        base = handle
        while handle in handles or store.products.equal["handle"].get(handle):
            handle, suffix = f"{base}-{suffix}", suffix + 1
        handles.add(handle)
        option_name = entry.get("option_name")
        product = Product(
            store.next_id("product"),
            title,
            handle,
            now,
            now,
            description_html=entry.get("description_html") or entry.get("description") or "",
            vendor=entry.get("vendor") or "",
            product_type=entry.get("product_type") or "",
            status=(entry.get("status") or "ACTIVE").upper(),
            tags=list(entry.get("tags") or []),
        )
        for source in entry.get("images") or []:
            src, alt = (
                (source.get("src") or source.get("url"), source.get("alt"))
                if isinstance(source, dict)
                else (source, None)
            )
            image = Media(store.next_id("media"), product.id, src, now, now, alt)
            media.append(image)
            product.media_ids.append(image.id)
        option_values = []
        for position, spec in enumerate(entry.get("variants") or [{}], start=1):
            value = spec.get("option") or spec.get("title") or "Default Title"
            option_values.append(value)
            variant = Variant(
                store.next_id("variant"),
                product.id,
                0,
                now,
                now,
                sku=spec.get("sku"),
                price=Decimal(str(spec.get("price", "0"))),
                compare_at_price=(
                    Decimal(str(spec["compare_at_price"]))
                    if spec.get("compare_at_price") is not None
                    else None
                ),
                barcode=spec.get("barcode"),
                position=position,
                inventory_policy=(spec.get("inventory_policy") or "DENY").upper(),
                option_values=[value],
            )
            item = InventoryItem(
                store.next_id("inventory_item"), variant.id, now, now, tracked=spec.get("tracked", True)
            )
            variant.inventory_item_id = item.id
            product.variant_ids.append(variant.id)
            stock = spec.get("inventory") or {}
            for location in locations or list(by_name.values()):
                available = int(stock.get(location.name, 0))
                levels.append(InventoryLevel(item.id, location.id, now, now, {"available": available}))
            for name in stock:
                if name not in by_name:
                    raise ValueError(f"variant {spec.get('sku')!r} stocks unknown location {name!r}")
            variants.append(variant)
            items.append(item)
        if option_name or option_values != ["Default Title"]:
            product.options = [[option_name or "Title", list(dict.fromkeys(option_values))]]
        products.append(product)
    for batch in (products, variants, items, media):
        store.save_many(batch)
    for level in levels:
        store.save(level)
    return {
        "locations": len(store.locations),
        "products": len(products),
        "variants": len(variants),
        "inventory_levels": len(levels),
    }
