"""A product's content and variant list in Vendure: the store interface's ``set_product``.

The same contract as Shopify's ``productSet`` as :mod:`erpsync.sync.catalog.publish` relies on it, in
Vendure's terms:

- a product has one option group (the draft's ``option_name``) and one option per variant; a variant
  carries its SKU, its price in minor units and, when created, its stock per stock location;
- ``status``: Vendure has no archive and no draft state. ARCHIVED and DRAFT both disable the product
  (``enabled`` false: shoppers no longer see it; its variants, stock and orders stay);
- images are not published: Vendure takes images only as uploaded files (``createAssets``, a multipart
  request), never as URLs, and the client speaks JSON only. ``image_urls`` is ignored;
- the slug is made from the title when the product is created and kept afterwards (links stay valid);
  Vendure itself makes it unique by appending ``-2``, ``-3``, ... when another product holds it;
- Vendure accepts a SKU that another product already uses: the check is ours. A draft naming a SKU of
  another product is refused as a whole (its outcome's error names the SKU), nothing is written;
- the option group's name is set when the group is made; a later ``option_name`` is not applied.

Idempotence: a product is found by its SKUs before anything is written, so a draft sent again without
its product id (the first answer was lost) adopts the product the first call made instead of making a
second one. Variants are matched by SKU, so a variant made by a call whose answer was lost is updated,
not made twice. A product this call created and then could not complete is deleted again. One gap: when
the answer to the product's creation itself is lost, the product has no variant yet, nothing finds it,
and the retry makes another; the first stays behind, empty (no variant, so nothing to sell).

Every refusal of the server (a GraphQL error, an ``ErrorResult``) comes back as this product's outcome;
transport and authentication failures propagate (the caller turns them into outcomes or stops). Nothing
is shared between calls: one client may serve many threads at once.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from erpsync.store.errors import StoreRequestError
from erpsync.store.records import ProductDraft, ProductOutcome, StoredVariant, VariantDraft
from erpsync.vendure.client import VendureClient
from erpsync.vendure.operations import load
from erpsync.vendure.store import to_minor

LOOKUP_LIMIT = 1000  # Vendure's default adminListQueryLimit: the most variants one list query returns


class _Refused(Exception):
    """The draft cannot be applied as it is (our own check, before anything is written)."""


def set_product(client: VendureClient, draft: ProductDraft) -> ProductOutcome:
    """Create or update one product as ``draft`` says; its variants' store ids come back (a variant's
    id is also its inventory item's id)."""
    created: str | None = None
    try:
        prices = _prices(draft.variants or ())
        language, owners = _lookup(client, draft)
        product_id = _product_for(client, draft, owners)
        if product_id is None:
            product_id = created = _create_product(client, draft, language)
        else:
            client.mutate(load("ContentUpdateProduct"), {"input": {
                "id": product_id, "enabled": draft.status == "ACTIVE",
                "translations": [{"languageCode": language, "name": draft.title,
                                  "description": draft.description_html}]}}, idempotent=True)
        product = _read_product(client, product_id)
        if draft.variants is not None:
            _set_variants(client, draft, product, prices, language)
            product = _read_product(client, product_id)
    except (_Refused, StoreRequestError) as refused:
        if created is not None:
            _delete_quietly(client, created)
        return ProductOutcome(draft, None, error=str(refused))
    return ProductOutcome(draft, product["id"], tuple(
        StoredVariant(v["sku"], v["id"], v["id"]) for v in product["variants"] if v["sku"]
    ), confirmed_at=client.server_time)


def _prices(variants: Iterable[VariantDraft]) -> dict[str, int]:
    """SKU -> price in minor units; refuses a draft naming a SKU or an option twice, or a sub-cent price."""
    variants = list(variants)
    for field, values in (("SKU", [v.sku for v in variants]), ("option", [v.option for v in variants])):
        twice = sorted(value for value, count in Counter(values).items() if count > 1)
        if twice:
            raise _Refused(f"the draft names the {field} {', '.join(twice)} more than once")
    try:
        return {v.sku: to_minor(v.price) for v in variants}
    except ValueError as finer:
        raise _Refused(str(finer)) from finer


def _lookup(client: VendureClient, draft: ProductDraft) -> tuple[str, dict[str, set[str]]]:
    """The channel's language, and SKU -> ids of the products that have a variant with that SKU."""
    skus = [v.sku for v in draft.variants or ()]
    data = client.execute(load("ContentLookup"), {"skus": skus, "take": LOOKUP_LIMIT})
    found = data["productVariants"]
    if found["totalItems"] > LOOKUP_LIMIT:
        raise _Refused(f"{found['totalItems']} variants carry the draft's SKUs: more than one query reads")
    owners: dict[str, set[str]] = {}
    for variant in found["items"]:
        owners.setdefault(variant["sku"], set()).add(variant["productId"])
    return data["activeChannel"]["defaultLanguageCode"], owners


def _product_for(client: VendureClient, draft: ProductDraft, owners: dict[str, set[str]]) -> str | None:
    """The product the draft is about: its own id, or for a new one the product an earlier call made
    with these SKUs (None: make it). A SKU held by any other product refuses the draft; so does a
    product all of whose SKUs are not the draft's (then it is another product, not an earlier call's)."""
    if draft.product_id is not None:
        _refuse_foreign(owners, {draft.product_id})
        return draft.product_id
    products = {product for ids in owners.values() for product in ids}
    if not products:
        return None
    if len(products) > 1:
        _refuse_foreign(owners, set())
    (candidate,) = products
    if not {v["sku"] for v in _read_product(client, candidate)["variants"]} <= set(owners):
        _refuse_foreign(owners, set())
    return candidate


def _refuse_foreign(owners: dict[str, set[str]], ours: set[str]) -> None:
    foreign = {sku: sorted(ids - ours) for sku, ids in sorted(owners.items()) if ids - ours}
    if foreign:
        raise _Refused("SKU already used by another product: " + ", ".join(
            f"{sku} (product {', '.join(ids)})" for sku, ids in foreign.items()))


def _create_product(client: VendureClient, draft: ProductDraft, language: str) -> str:
    product = client.mutate(load("ContentCreateProduct"), {"input": {
        "enabled": draft.status == "ACTIVE",
        "translations": [{"languageCode": language, "name": draft.title, "slug": _slug(draft.title),
                          "description": draft.description_html}]}})
    return product["id"]


def _read_product(client: VendureClient, product_id: str) -> dict[str, Any]:
    product = client.execute(load("ContentProduct"), {"id": product_id})["product"]
    if product is None:
        raise _Refused(f"product {product_id} is not in the store (deleted there?)")
    return product


def _set_variants(client: VendureClient, draft: ProductDraft, product: dict[str, Any], prices: dict[str, int],
                  language: str) -> None:
    """Make the product's variants exactly the draft's: delete the others first (their options become
    free), then update the known ones and create the missing ones."""
    existing = {v["sku"]: v["id"] for v in product["variants"]}
    gone = [variant_id for sku, variant_id in existing.items() if sku not in prices]
    if gone:
        answers = client.execute(load("ContentDeleteVariants"), {"ids": gone}, idempotent=True)
        refused = [answer["message"] or answer["result"] for answer in answers["deleteProductVariants"]
                   if answer["result"] != "DELETED"]
        if refused:
            raise _Refused("variants not deleted: " + "; ".join(refused))
    options = _options(client, draft, product, language)
    known = [v for v in draft.variants or () if v.sku in existing]
    if known:
        client.mutate(load("UpdateVariants"), {"input": [
            {"id": existing[v.sku], "price": prices[v.sku], "optionIds": [options[v.option]],
             "translations": [{"languageCode": language, "name": f"{draft.title} {v.option}"}]}
            for v in known]}, idempotent=True)
    missing = [v for v in draft.variants or () if v.sku not in existing]
    if missing:
        client.mutate(load("ContentCreateVariants"), {"input": [
            {"productId": product["id"], "enabled": True, "sku": v.sku, "price": prices[v.sku],
             "optionIds": [options[v.option]],
             "translations": [{"languageCode": language, "name": f"{draft.title} {v.option}"}],
             "stockLevels": [{"stockLocationId": location, "stockOnHand": available}
                             for location, available in v.inventory]}
            for v in missing]})


def _options(client: VendureClient, draft: ProductDraft, product: dict[str, Any], language: str
             ) -> dict[str, str]:
    """Option name -> option id in the product's option group, the group and missing options made."""
    if product["optionGroups"]:
        group = product["optionGroups"][0]
        options = {option["name"]: option["id"] for option in group["options"]}
    else:
        group = client.mutate(load("ContentCreateOptionGroup"), {"input": {
            "code": _slug(f"{product['id']} {draft.option_name}"),
            "translations": [{"languageCode": language, "name": draft.option_name}], "options": []}})
        client.mutate(load("ContentAddOptionGroup"),
                      {"productId": product["id"], "optionGroupId": group["id"]}, idempotent=True)
        options = {}
    for variant in draft.variants or ():
        if variant.option not in options:
            options[variant.option] = client.mutate(load("ContentCreateOption"), {"input": {
                "productOptionGroupId": group["id"], "code": _slug(variant.option),
                "translations": [{"languageCode": language, "name": variant.option}]}})["id"]
    return options


def _delete_quietly(client: VendureClient, product_id: str) -> None:
    """Undo a product this call made and could not complete, so that a retry starts afresh; when the
    server refuses that too, the retry adopts the product by its SKUs (or makes a second, empty one)."""
    try:
        client.mutate(load("ContentDeleteProduct"), {"id": product_id}, idempotent=True)
    except StoreRequestError:
        pass


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "product"
