"""Products, variants and media: queries, type fields and the publishing mutations."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from graphql import GraphQLResolveInfo

from sandbox.shopify.errors import UserError, UserErrors
from sandbox.shopify.ids import encode_cursor, gid
from sandbox.shopify.resolvers.base import (
    Searchable,
    count_matching,
    graphql_type,
    paginate_list,
    resolver,
    search_connection,
    store_of,
)
from sandbox.shopify.resolvers.common import count, id_resolver, legacy_id, money, numeric_id
from sandbox.shopify.search import SearchField
from sandbox.shopify.state import catalog
from sandbox.shopify.state.catalog import VariantSpec
from sandbox.shopify.state.inventory import change, total_available
from sandbox.shopify.state.records import Media, Product, Variant
from sandbox.shopify.state.store import Store, epoch

graphql_type(Product, "Product")
graphql_type(Variant, "ProductVariant")
graphql_type(Media, "MediaImage")

MAX_VARIANTS = 2048  # per product and per bulk call (shopify.dev changelog, 2025-10-01)


def _product_inventory(store: Store, product: Product) -> int:
    return sum(
        total_available(store, store.items.get(store.variants.get(v).inventory_item_id))
        for v in product.variant_ids
    )


def _skus_to_products(store: Store, sku: str) -> set[int]:
    return {store.variants.get(v).product_id for v in store.variants.equal["sku"].get(sku)}


PRODUCT_SEARCH = Searchable(
    collection=lambda store: store.products,
    fields={
        "id": SearchField(lambda p: p.id, "id", "Product"),
        "sku": SearchField(
            lambda store, p: [store.variants.get(v).sku for v in p.variant_ids], "any", needs_store=True
        ),
        "status": SearchField(lambda p: p.status, "enum"),
        "title": SearchField(lambda p: p.title, "text"),
        "vendor": SearchField(lambda p: p.vendor, "text"),
        "product_type": SearchField(lambda p: p.product_type, "text"),
        "handle": SearchField(lambda p: p.handle, "exact"),
        "tag": SearchField(lambda p: " ".join(p.tags), "text"),
        "updated_at": SearchField(lambda p: p.updated_at, "datetime"),
        "created_at": SearchField(lambda p: p.created_at, "datetime"),
    },
    default_text=lambda p: f"{p.title} {p.vendor} {p.product_type} {' '.join(p.tags)}",
    sort_keys={
        "ID": ("ID", lambda p: p.id),
        "RELEVANCE": ("ID", lambda p: p.id),
        "UPDATED_AT": ("UPDATED_AT", lambda p: epoch(p.updated_at)),
        "CREATED_AT": ("CREATED_AT", lambda p: epoch(p.created_at)),
        "PUBLISHED_AT": ("CREATED_AT", lambda p: epoch(p.created_at)),
        "TITLE": (None, lambda p: p.title.lower()),
        "VENDOR": (None, lambda p: p.vendor.lower()),
        "PRODUCT_TYPE": (None, lambda p: p.product_type.lower()),
    },
    range_fields={
        "updated_at": ("UPDATED_AT", epoch),
        "created_at": ("CREATED_AT", epoch),
        "id": ("ID", int),
    },
    candidates={
        "sku": _skus_to_products,
        "id": lambda _s, value: {value},
        "handle": lambda store, value: store.products.equal["handle"].get(value),
    },
)

VARIANT_SEARCH = Searchable(
    collection=lambda store: store.variants,
    fields={
        "id": SearchField(lambda v: v.id, "id", "ProductVariant"),
        "sku": SearchField(lambda v: v.sku, "exact"),
        "product_id": SearchField(lambda v: v.product_id, "number", "Product"),
        "barcode": SearchField(lambda v: v.barcode, "exact"),
        "title": SearchField(lambda v: v.title, "text"),
        "updated_at": SearchField(lambda v: v.updated_at, "datetime"),
        "created_at": SearchField(lambda v: v.created_at, "datetime"),
    },
    default_text=lambda v: f"{v.title} {v.sku or ''}",
    sort_keys={
        "ID": ("ID", lambda v: v.id),
        "RELEVANCE": ("ID", lambda v: v.id),
        "SKU": (None, lambda v: (v.sku or "").lower()),
        "TITLE": (None, lambda v: v.title.lower()),
        "NAME": (None, lambda v: v.title.lower()),
        "FULL_TITLE": (None, lambda v: v.title.lower()),
        "POSITION": (None, lambda v: v.position),
    },
    range_fields={"updated_at": ("UPDATED_AT", epoch), "id": ("ID", int)},
    candidates={
        "sku": lambda store, value: store.variants.equal["sku"].get(value),
        "id": lambda _s, value: {value},
        "product_id": lambda store, value: set(getattr(store.products.get(value), "variant_ids", [])),
    },
)


# -- queries -------------------------------------------------------------------------------------------


@resolver("QueryRoot", "product")
def resolve_product(_root: Any, info: GraphQLResolveInfo, id: str) -> Product | None:
    return store_of(info).products.get(numeric_id(id, "Product"))


@resolver("QueryRoot", "productByIdentifier")
def resolve_product_by_identifier(_root: Any, info: GraphQLResolveInfo, identifier: Mapping[str, Any]):
    store = store_of(info)
    if identifier.get("id"):
        return store.products.get(numeric_id(identifier["id"], "Product"))
    ids = store.products.equal["handle"].get(identifier.get("handle"))
    return store.products.get(min(ids)) if ids else None


@resolver("QueryRoot", "productVariant")
def resolve_variant(_root: Any, info: GraphQLResolveInfo, id: str) -> Variant | None:
    return store_of(info).variants.get(numeric_id(id, "ProductVariant"))


@resolver("QueryRoot", "products")
def resolve_products(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    return search_connection(info, args, PRODUCT_SEARCH)


@resolver("QueryRoot", "productVariants")
def resolve_variants(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    return search_connection(info, args, VARIANT_SEARCH)


@resolver("QueryRoot", "productsCount")
def resolve_products_count(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    return count_matching(info, PRODUCT_SEARCH, args)


@resolver("QueryRoot", "productVariantsCount")
def resolve_variants_count(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    return count_matching(info, VARIANT_SEARCH, args)


# -- Product -------------------------------------------------------------------------------------------

resolver("Product", "id")(id_resolver("Product"))
resolver("Product", "legacyResourceId")(legacy_id)


@resolver("Product", "description")
def resolve_description(product: Product, _info: GraphQLResolveInfo, truncateAt: int | None = None) -> str:
    text = html.unescape(re.sub(r"<[^>]+>", " ", product.description_html))
    text = re.sub(r"\s+", " ", text).strip()
    return text[:truncateAt] if truncateAt else text


@resolver("Product", "variants")
def resolve_product_variants(product: Product, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    store = store_of(info)
    variants = [store.variants.get(v) for v in product.variant_ids]
    sort_value = VARIANT_SEARCH.sort_keys.get(args.get("sortKey") or "POSITION")[1]
    return paginate_list(info, args, variants, sort_value)


@resolver("Product", "variantsCount")
def resolve_variants_count_of_product(product: Product, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return count(len(product.variant_ids))


def _media_of(store: Store, ids: list[int]) -> list[Media]:
    return [store.media.get(m) for m in ids]


@resolver("Product", "media")
def resolve_product_media(product: Product, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    media = _media_of(store_of(info), product.media_ids)
    positions = {m: i for i, m in enumerate(product.media_ids)}
    return paginate_list(info, args, media, lambda m: positions[m.id])


@resolver("Product", "mediaCount")
def resolve_media_count(product: Product, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return count(len(product.media_ids))


@resolver("Product", "featuredMedia")
def resolve_featured_media(product: Product, info: GraphQLResolveInfo) -> Media | None:
    return store_of(info).media.get(product.media_ids[0]) if product.media_ids else None


def _option_dicts(store: Store, product: Product) -> list[dict[str, Any]]:
    used = {tuple(store.variants.get(v).option_values) for v in product.variant_ids}
    options = []
    for position, (name, values) in enumerate(product.options, start=1):
        option_values = [
            {
                "id": gid("ProductOptionValue", product.id * 1000 + position * 100 + i),
                "name": value,
                "hasVariants": any(len(u) >= position and u[position - 1] == value for u in used),
                "linkedMetafieldValue": None,
                "swatch": None,
            }
            for i, value in enumerate(values)
        ]
        options.append(
            {
                "id": gid("ProductOption", product.id * 10 + position),
                "name": name,
                "position": position,
                "values": list(values),
                "optionValues": option_values,
                "linkedMetafield": None,
            }
        )
    return options


@resolver("Product", "options")
def resolve_options(
    product: Product, info: GraphQLResolveInfo, first: int | None = None
) -> list[dict[str, Any]]:
    return _option_dicts(store_of(info), product)[:first]


@resolver("Product", "totalInventory")
def resolve_total_inventory(product: Product, info: GraphQLResolveInfo) -> int:
    return _product_inventory(store_of(info), product)


@resolver("Product", "tracksInventory")
def resolve_tracks_inventory(product: Product, info: GraphQLResolveInfo) -> bool:
    store = store_of(info)
    return any(store.items.get(store.variants.get(v).inventory_item_id).tracked for v in product.variant_ids)


@resolver("Product", "hasOnlyDefaultVariant")
def resolve_only_default(product: Product, _info: GraphQLResolveInfo) -> bool:
    return product.options == [list(catalog.DEFAULT_OPTION)]


@resolver("Product", "hasOutOfStockVariants")
def resolve_out_of_stock(product: Product, info: GraphQLResolveInfo) -> bool:
    store = store_of(info)
    return any(
        total_available(store, store.items.get(store.variants.get(v).inventory_item_id)) <= 0
        for v in product.variant_ids
    )


@resolver("Product", "publishedAt")
def resolve_published_at(product: Product, _info: GraphQLResolveInfo):
    return product.created_at if product.status == "ACTIVE" else None


@resolver("Product", "priceRangeV2")
def resolve_price_range(product: Product, info: GraphQLResolveInfo) -> dict[str, Any]:
    store = store_of(info)
    prices = [store.variants.get(v).price for v in product.variant_ids] or [Decimal("0")]
    return {"minVariantPrice": money(min(prices)), "maxVariantPrice": money(max(prices))}


@resolver("Product", "defaultCursor")
def resolve_product_cursor(product: Product, _info: GraphQLResolveInfo) -> str:
    return encode_cursor(product.id, product.id)


CONSTANT_PRODUCT_FIELDS = {
    "isGiftCard": False,
    "requiresSellingPlan": False,
    "templateSuffix": None,
    "giftCardTemplateSuffix": None,
    "onlineStoreUrl": None,
    "onlineStorePreviewUrl": None,
    "seo": {"title": None, "description": None},
    "combinedListingRole": None,
    "category": None,
    "hasVariantsThatRequiresComponents": False,
}
for _name, _value in CONSTANT_PRODUCT_FIELDS.items():
    resolver("Product", _name)(lambda _p, _i, _v=_value, **_a: _v)


# -- ProductVariant ------------------------------------------------------------------------------------

resolver("ProductVariant", "id")(id_resolver("ProductVariant"))
resolver("ProductVariant", "legacyResourceId")(legacy_id)


@resolver("ProductVariant", "product")
def resolve_variant_product(variant: Variant, info: GraphQLResolveInfo) -> Product:
    return store_of(info).products.get(variant.product_id)


@resolver("ProductVariant", "inventoryItem")
def resolve_variant_item(variant: Variant, info: GraphQLResolveInfo):
    return store_of(info).items.get(variant.inventory_item_id)


@resolver("ProductVariant", "displayName")
def resolve_display_name(variant: Variant, info: GraphQLResolveInfo) -> str:
    return f"{store_of(info).products.get(variant.product_id).title} - {variant.title}"


@resolver("ProductVariant", "inventoryQuantity", "sellableOnlineQuantity")
def resolve_inventory_quantity(variant: Variant, info: GraphQLResolveInfo) -> int:
    store = store_of(info)
    return total_available(store, store.items.get(variant.inventory_item_id))


@resolver("ProductVariant", "availableForSale")
def resolve_available_for_sale(variant: Variant, info: GraphQLResolveInfo) -> bool:
    store = store_of(info)
    item = store.items.get(variant.inventory_item_id)
    in_stock = not item.tracked or variant.inventory_policy == "CONTINUE" or total_available(store, item) > 0
    return store.products.get(variant.product_id).status == "ACTIVE" and in_stock


@resolver("ProductVariant", "selectedOptions")
def resolve_selected_options(variant: Variant, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    options = _option_dicts(store_of(info), store_of(info).products.get(variant.product_id))
    selected = []
    for option, value in zip(options, variant.option_values, strict=False):
        option_value = next((v for v in option["optionValues"] if v["name"] == value), None)
        selected.append({"name": option["name"], "value": value, "optionValue": option_value})
    return selected


@resolver("ProductVariant", "media")
def resolve_variant_media(variant: Variant, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    return paginate_list(info, args, _media_of(store_of(info), variant.media_ids))


@resolver("ProductVariant", "defaultCursor")
def resolve_variant_cursor(variant: Variant, _info: GraphQLResolveInfo) -> str:
    return encode_cursor(variant.id, variant.id)


for _name, _value in {
    "requiresComponents": False,
    "showUnitPrice": False,
    "unitPrice": None,
    "unitPriceMeasurement": None,
}.items():
    resolver("ProductVariant", _name)(lambda _v, _i, _value=_value, **_a: _value)


# -- MediaImage ----------------------------------------------------------------------------------------

resolver("MediaImage", "id")(id_resolver("MediaImage"))


def _image(media: Media) -> dict[str, Any]:
    return {
        "id": gid("ImageSource", media.id),
        "url": media.original_source,
        "altText": media.alt,
        "width": None,
        "height": None,
        "thumbhash": None,
    }


@resolver("MediaImage", "image")
def resolve_media_image(media: Media, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return _image(media)


@resolver("MediaImage", "preview")
def resolve_media_preview(media: Media, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return {"image": _image(media), "status": "READY"}


@resolver("MediaImage", "originalSource")
def resolve_original_source(media: Media, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return {"url": media.original_source, "fileSize": None}


# Media processing is instantaneous in the emulator: every media is READY as soon as it exists.
for _name, _value in {
    "status": "READY",
    "fileStatus": "READY",
    "mediaErrors": [],
    "mediaWarnings": [],
    "fileErrors": [],
    "mimeType": "image/jpeg",
}.items():
    resolver("MediaImage", _name)(lambda _m, _i, _value=_value, **_a: _value)


# -- input translation ---------------------------------------------------------------------------------


def _product_values(data: Mapping[str, Any]) -> dict[str, Any]:
    names = {
        "title": "title",
        "descriptionHtml": "description_html",
        "vendor": "vendor",
        "productType": "product_type",
        "status": "status",
        "tags": "tags",
        "handle": "handle",
    }
    return {snake_name: data[name] for name, snake_name in names.items() if name in data}


def _media_sources(
    media: list[Mapping[str, Any]] | None, source_key: str = "originalSource"
) -> list[tuple[str, str | None]]:
    return [(m[source_key], m.get("alt")) for m in media or [] if m.get(source_key)]


def _option_values(
    product_options: list[list[Any]],
    given: list[Mapping[str, Any]] | None,
    path: list[str],
    errors: list[UserError],
    codes: Mapping[str, str],
) -> list[str] | None:
    if given is None:
        return None
    names = [name for name, _values in product_options]
    chosen: dict[str, str] = {}
    for entry in given:
        option = entry.get("optionName")
        if option is None and entry.get("optionId"):
            position = (numeric_id(entry["optionId"], "ProductOption") or 0) % 10
            option = names[position - 1] if 0 < position <= len(names) else None
        if option not in names:
            errors.append(UserError([*path, "optionValues"], "Option does not exist", codes["option"]))
            return None
        chosen[option] = entry.get("name") or ""
    if len(chosen) < len(names):
        errors.append(UserError([*path, "optionValues"], "Variant options are not enough.", codes["missing"]))
        return None
    return [chosen[name] for name in names]


def variant_spec(
    data: Mapping[str, Any],
    path: list[str],
    errors: list[UserError],
    codes: Mapping[str, str],
    product_options: list[list[Any]],
) -> VariantSpec:
    spec = VariantSpec(
        barcode=data.get("barcode"),
        inventory_policy=data.get("inventoryPolicy"),
        taxable=data.get("taxable"),
        sku=data.get("sku"),
    )
    price = data.get("price")
    if price is not None and price < 0:
        errors.append(UserError([*path, "price"], "Price must be greater than or equal to 0", codes["price"]))
    spec.price = price
    if "compareAtPrice" in data:
        spec.compare_at_price = data["compareAtPrice"]
        spec.clear_compare_at_price = data["compareAtPrice"] is None
    item = data.get("inventoryItem") or {}
    spec.sku = item.get("sku", spec.sku)
    spec.tracked, spec.requires_shipping, spec.unit_cost = (
        item.get("tracked"),
        item.get("requiresShipping"),
        item.get("cost"),
    )
    spec.option_values = _option_values(product_options, data.get("optionValues"), path, errors, codes)
    return spec


def _payload(**values: Any) -> dict[str, Any]:
    return {"userErrors": [], **values}


def _failed(errors: list[UserError], **nulls: Any) -> dict[str, Any]:
    return {"userErrors": errors, **nulls}


# -- productCreate / productUpdate ---------------------------------------------------------------------


@resolver("Mutation", "productCreate")
def resolve_product_create(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    data = args.get("product") or args.get("input") or {}
    store = store_of(info)
    if not (data.get("title") or "").strip():
        return _failed([UserError(["title"], "Title can't be blank")], product=None, shop={})
    options = [
        [o.get("name"), [v.get("name") for v in o.get("values") or []]]
        for o in data.get("productOptions") or []
    ] or None
    product = catalog.create_product(store, {"status": "ACTIVE", **_product_values(data)}, options)
    catalog.create_variant(
        store, product, VariantSpec(option_values=[values[0] for _n, values in options] if options else None)
    )
    if args.get("media"):
        catalog.add_media(store, product, _media_sources(args["media"]))
    return _payload(product=product, shop={})


@resolver("Mutation", "productUpdate")
def resolve_product_update(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    data = args.get("product") or args.get("input") or {}
    store = store_of(info)
    product_id = data.get("id") or (args.get("identifier") or {}).get("id")
    product = store.products.get(numeric_id(product_id, "Product"))
    if product is None:
        return _failed([UserError(["id"], "Product does not exist")], product=None)
    if "title" in data and not (data["title"] or "").strip():
        return _failed([UserError(["title"], "Title can't be blank")], product=None)
    catalog.update_product(store, product, _product_values(data))
    if args.get("media"):
        catalog.add_media(store, product, _media_sources(args["media"]))
    return _payload(product=product)


# -- productDelete -------------------------------------------------------------------------------------


@resolver("Mutation", "productDelete")
def resolve_product_delete(_root: Any, info: GraphQLResolveInfo, input: Mapping[str, Any], **_args: Any
                           ) -> dict[str, Any]:
    store = store_of(info)
    product = store.products.get(numeric_id(input.get("id"), "Product"))
    if product is None:
        return _failed([UserError(["id"], "Product does not exist")], deletedProductId=None,
                       productDeleteOperation=None)
    catalog.delete_product(store, product)
    return _payload(deletedProductId=gid("Product", product.id), productDeleteOperation=None)


# -- productSet ----------------------------------------------------------------------------------------

SET_CODES = {"price": "INVALID_VARIANT", "option": "OPTION_DOES_NOT_EXIST", "missing": "INVALID_VARIANT"}


@resolver("Mutation", "productSet")
def resolve_product_set(
    _root: Any,
    info: GraphQLResolveInfo,
    input: Mapping[str, Any],
    identifier: Mapping[str, Any] | None = None,
    **_args: Any,
) -> dict[str, Any]:
    store = store_of(info)
    identifier = identifier or {}
    product = None
    if identifier.get("id") or input.get("id"):
        product = store.products.get(numeric_id(identifier.get("id") or input.get("id"), "Product"))
        if product is None:
            return _failed(
                [UserError(["identifier", "id"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST")],
                product=None,
                productSetOperation=None,
            )
    elif identifier.get("handle"):
        ids = store.products.equal["handle"].get(identifier["handle"])
        product = store.products.get(min(ids)) if ids else None
    variants_input = input.get("variants")
    options_input = input.get("productOptions")
    errors: list[UserError] = []
    if variants_input is not None and options_input is None:
        errors.append(
            UserError(
                ["input", "productOptions"],
                "Must specify product options when updating variants.",
                "PRODUCT_OPTIONS_INPUT_MISSING",
            )
        )
    if options_input is not None and variants_input is None:
        errors.append(
            UserError(
                ["input", "variants"],
                "Must specify variants when updating options.",
                "VARIANTS_INPUT_MISSING",
            )
        )
    if product is None and not (input.get("title") or "").strip():
        errors.append(UserError(["input", "title"], "Title can't be blank", "INVALID_PRODUCT"))
    if variants_input is not None and len(variants_input) > MAX_VARIANTS:
        errors.append(
            UserError(
                ["input", "variants"], "Number of product variants exceeds shop limit.", "VARIANTS_OVER_LIMIT"
            )
        )
    options = [[o.get("name"), [v.get("name") for v in o.get("values") or []]] for o in options_input or []]
    specs: list[tuple[Variant | None, VariantSpec]] = []
    for index, data in enumerate(variants_input or []):
        path = ["input", "variants", str(index)]
        spec = variant_spec(data, path, errors, SET_CODES, options)
        existing = (
            store.variants.get(numeric_id(data.get("id"), "ProductVariant")) if data.get("id") else None
        )
        if data.get("id") and (existing is None or product is None or existing.product_id != product.id):
            errors.append(
                UserError([*path, "id"], "Product variant does not exist", "PRODUCT_VARIANT_DOES_NOT_EXIST")
            )
        for quantity in data.get("inventoryQuantities") or []:
            location_id = numeric_id(quantity["locationId"], "Location")
            if store.locations.get(location_id) is None or quantity["name"] not in ("available", "on_hand"):
                errors.append(
                    UserError(
                        [*path, "inventoryQuantities"], "Invalid inventory quantity input.", "INVALID_INPUT"
                    )
                )
            else:
                spec.quantities.setdefault(location_id, {})["available"] = quantity["quantity"]
        specs.append((existing, spec))
    combos = [tuple(spec.option_values or []) for _e, spec in specs]
    if len(set(combos)) != len(combos):
        errors.append(UserError(["input", "variants"], "Duplicated option value.", "DUPLICATED_OPTION_VALUE"))
    if errors:
        return _failed(errors, product=None, productSetOperation=None)

    values = _product_values(input)
    if product is None:
        product = catalog.create_product(store, {"status": "ACTIVE", **values}, options or None)
    else:
        catalog.update_product(store, product, values)
        if options:
            product.options = options
    if variants_input is not None:
        _replace_variants(store, product, specs)
    elif not product.variant_ids:
        catalog.create_variant(store, product, VariantSpec())
    if input.get("files") is not None:
        catalog.replace_media(store, product, _media_sources(input["files"]))
    return _payload(product=product, productSetOperation=None)


def _replace_variants(
    store: Store, product: Product, specs: list[tuple[Variant | None, VariantSpec]]
) -> None:
    """productSet's list is the whole list: listed variants are updated or created, the others deleted."""
    by_options = {
        tuple(store.variants.get(v).option_values): store.variants.get(v) for v in product.variant_ids
    }
    keep: list[Variant] = []
    for existing, spec in specs:
        variant = existing or by_options.get(tuple(spec.option_values or []))
        if variant is None:
            variant = catalog.create_variant(store, product, spec)
        else:
            catalog.update_variant(store, variant, spec)
            for location_id, quantities in spec.quantities.items():
                level = store.levels.get((variant.inventory_item_id, location_id))
                if level is not None:
                    change(store, level, {"available": quantities["available"] - level.quantity("available")})
        keep.append(variant)
    for variant_id in list(product.variant_ids):
        if variant_id not in {v.id for v in keep}:
            catalog.delete_variant(store, product, store.variants.get(variant_id))
    product.variant_ids = [v.id for v in keep]
    for position, variant in enumerate(keep, start=1):
        variant.position = position
        store.save(variant)
    catalog.touch_product(store, product)


# -- productVariantsBulkCreate / productVariantsBulkUpdate ---------------------------------------------

BULK_UPDATE_CODES = {
    "price": "GREATER_THAN_OR_EQUAL_TO",
    "option": "OPTION_DOES_NOT_EXIST",
    "missing": "NEED_TO_ADD_OPTION_VALUES",
}
BULK_CREATE_CODES = {
    "price": "GREATER_THAN_OR_EQUAL_TO",
    "option": "OPTION_DOES_NOT_EXIST",
    "missing": "NEED_TO_ADD_OPTION_VALUES",
}


def _bulk_product(store: Store, product_id: str) -> Product:
    product = store.products.get(numeric_id(product_id, "Product"))
    if product is None:
        raise UserErrors.one(["productId"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST")
    return product


@resolver("Mutation", "productVariantsBulkUpdate")
def resolve_variants_bulk_update(
    _root: Any,
    info: GraphQLResolveInfo,
    productId: str,
    variants: list[Mapping[str, Any]],
    allowPartialUpdates: bool | None = False,
    media: list[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    store = store_of(info)
    try:
        product = _bulk_product(store, productId)
    except UserErrors as failure:
        return _failed(failure.errors, product=None, productVariants=None)
    if len(variants) > MAX_VARIANTS:
        return _failed(
            [
                UserError(
                    ["variants"], f"Input exceeds the limit of {MAX_VARIANTS} variants.", "INVALID_INPUT"
                )
            ],
            product=None,
            productVariants=None,
        )
    errors: list[UserError] = []
    valid: list[tuple[Variant, VariantSpec]] = []
    seen: set[int] = set()
    for index, data in enumerate(variants):
        path = ["variants", str(index)]
        before = len(errors)
        if not data.get("id"):
            errors.append(
                UserError(
                    [*path, "id"], "Product variant is missing ID attribute.", "PRODUCT_VARIANT_ID_MISSING"
                )
            )
            continue
        variant = store.variants.get(numeric_id(data["id"], "ProductVariant"))
        if variant is None:
            errors.append(
                UserError([*path, "id"], "Product variant does not exist.", "PRODUCT_VARIANT_DOES_NOT_EXIST")
            )
            continue
        if variant.product_id != product.id:
            errors.append(
                UserError([*path, "id"], "Input must be for this product.", "MUST_BE_FOR_THIS_PRODUCT")
            )
            continue
        if data.get("inventoryQuantities") is not None:
            errors.append(
                UserError(
                    [*path, "inventoryQuantities"],
                    "Inventory quantities can only be provided during create. To update inventory "
                    "for existing variants, use inventoryAdjustQuantities.",
                    "NO_INVENTORY_QUANTITIES_ON_VARIANTS_UPDATE",
                )
            )
        spec = variant_spec(data, path, errors, BULK_UPDATE_CODES, product.options)
        if variant.id in seen:
            errors.append(UserError([*path, "id"], "Input is invalid.", "INVALID_INPUT"))
        seen.add(variant.id)
        if len(errors) == before:
            valid.append((variant, spec))
    if errors and not allowPartialUpdates:
        return _failed(errors, product=None, productVariants=None)
    for variant, spec in valid:
        catalog.update_variant(store, variant, spec)
    if media:
        catalog.add_media(store, product, _media_sources(media))
    if valid:
        catalog.touch_product(store, product)
    return {"userErrors": errors, "product": product, "productVariants": [v for v, _s in valid]}


@resolver("Mutation", "productVariantsBulkCreate")
def resolve_variants_bulk_create(
    _root: Any,
    info: GraphQLResolveInfo,
    productId: str,
    variants: list[Mapping[str, Any]],
    media: list[Mapping[str, Any]] | None = None,
    strategy: str | None = "DEFAULT",
) -> dict[str, Any]:
    store = store_of(info)
    try:
        product = _bulk_product(store, productId)
    except UserErrors as failure:
        return _failed(failure.errors, product=None, productVariants=None)
    errors: list[UserError] = []
    if len(product.variant_ids) + len(variants) > MAX_VARIANTS:
        errors.append(
            UserError(
                ["variants"],
                "You reached the limit of available SKUs in your current plan.",
                "SUBSCRIPTION_VIOLATION",
            )
        )
    only_default = [store.variants.get(v).option_values for v in product.variant_ids] == [["Default Title"]]
    # New options may be named when the product still only has Shopify's default Title option.
    options = [[name, list(values)] for name, values in product.options]
    if only_default and variants and variants[0].get("optionValues"):
        options = [[entry.get("optionName"), []] for entry in variants[0]["optionValues"]]
    # The standalone variant goes when it is Shopify's default one (DEFAULT) or whatever it is (REMOVE_...).
    remove_standalone = len(product.variant_ids) == 1 and (
        strategy == "REMOVE_STANDALONE_VARIANT" or (only_default and strategy in (None, "DEFAULT"))
    )
    existing = (
        {tuple(store.variants.get(v).option_values) for v in product.variant_ids}
        if not remove_standalone
        else set()
    )
    specs = []
    for index, data in enumerate(variants):
        path = ["variants", str(index)]
        if data.get("id"):
            errors.append(UserError([*path, "id"], "On create, this key cannot be used.", "NO_KEY_ON_CREATE"))
        spec = variant_spec(data, path, errors, BULK_CREATE_CODES, options)
        combo = tuple(spec.option_values or [])
        if combo in existing:
            errors.append(
                UserError(
                    [*path, "optionValues"],
                    f"The variant '{' / '.join(combo)}' already exists.",
                    "VARIANT_ALREADY_EXISTS",
                )
            )
        existing.add(combo)
        for quantity in data.get("inventoryQuantities") or []:
            location_id = numeric_id(quantity["locationId"], "Location")
            if store.locations.get(location_id) is None:
                errors.append(
                    UserError(
                        [*path, "inventoryQuantities"],
                        "Quantity could not be set. The location was not found.",
                        "TRACKED_VARIANT_LOCATION_NOT_FOUND",
                    )
                )
            else:
                spec.quantities[location_id] = {"available": quantity["availableQuantity"]}
        specs.append(spec)
    if errors:
        return _failed(errors, product=None, productVariants=None)
    for spec in specs:
        for option, value in zip(options, spec.option_values or [], strict=False):
            if value not in option[1]:
                option[1].append(value)
    product.options = options
    if remove_standalone:
        catalog.delete_variant(store, product, store.variants.get(product.variant_ids[0]))
    created = [catalog.create_variant(store, product, spec) for spec in specs]
    if media:
        catalog.add_media(store, product, _media_sources(media))
    catalog.touch_product(store, product)
    return {"userErrors": [], "product": product, "productVariants": created}
