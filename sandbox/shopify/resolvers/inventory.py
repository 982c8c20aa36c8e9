"""Locations, inventory items and levels, and inventorySetQuantities with its idempotency key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo
from graphql.execution.values import get_directive_values

from sandbox.shopify.errors import UserError, UserErrors
from sandbox.shopify.ids import gid, inventory_level_gid, parse_inventory_level_gid
from sandbox.shopify.resolvers.base import (
    PageArgs,
    Searchable,
    graphql_type,
    paginate,
    resolver,
    search_connection,
    store_of,
)
from sandbox.shopify.resolvers.common import count, id_resolver, legacy_id, money, numeric_id
from sandbox.shopify.search import SearchField
from sandbox.shopify.state.inventory import QuantityRequest, set_quantities
from sandbox.shopify.state.records import (
    AdjustmentGroup,
    IdempotencyRecord,
    InventoryChange,
    InventoryItem,
    InventoryLevel,
    Location,
)

graphql_type(Location, "Location")
graphql_type(InventoryItem, "InventoryItem")
graphql_type(InventoryLevel, "InventoryLevel")

LOCATION_SEARCH = Searchable(
    collection=lambda store: store.locations,
    fields={
        "name": SearchField(lambda loc: loc.name, "text"),
        "id": SearchField(lambda loc: loc.id, "id", "Location"),
        "active": SearchField(lambda loc: str(loc.is_active).lower(), "exact"),
    },
    default_text=lambda loc: loc.name,
    sort_keys={
        "ID": ("ID", lambda loc: loc.id),
        "NAME": (None, lambda loc: loc.name.lower()),
        "RELEVANCE": ("ID", lambda loc: loc.id),
    },
)


def _item_sku(store: Any, item: InventoryItem) -> str | None:
    variant = store.variants.get(item.variant_id)
    return variant.sku if variant else None


ITEM_SEARCH = Searchable(
    collection=lambda store: store.items,
    fields={
        "id": SearchField(lambda i: i.id, "id", "InventoryItem"),
        "sku": SearchField(_item_sku, "exact", needs_store=True),
        "updated_at": SearchField(lambda i: i.updated_at, "datetime"),
        "created_at": SearchField(lambda i: i.created_at, "datetime"),
    },
    default_text=lambda i: "",
    sort_keys={"ID": ("ID", lambda i: i.id)},
    range_fields={"id": ("ID", int)},
    candidates={
        "sku": lambda store, sku: {
            store.variants.get(v).inventory_item_id for v in store.variants.equal["sku"].get(sku)
        },
        "id": lambda _s, value: {value},
    },
)


# -- queries -------------------------------------------------------------------------------------------


@resolver("QueryRoot", "location")
def resolve_location(_root: Any, info: GraphQLResolveInfo, id: str | None = None) -> Location | None:
    store = store_of(info)
    if id is None:  # Shopify answers the shop's primary location
        return next(iter(store.locations.by_id.values()), None)
    return store.locations.get(numeric_id(id, "Location"))


@resolver("QueryRoot", "locations")
def resolve_locations(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    include_inactive = bool(args.get("includeInactive"))
    return search_connection(
        info, args, LOCATION_SEARCH, "NAME", base=lambda loc: include_inactive or loc.is_active
    )


@resolver("QueryRoot", "inventoryItem")
def resolve_item(_root: Any, info: GraphQLResolveInfo, id: str) -> InventoryItem | None:
    return store_of(info).items.get(numeric_id(id, "InventoryItem"))


@resolver("QueryRoot", "inventoryItems")
def resolve_items(_root: Any, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    return search_connection(info, args, ITEM_SEARCH)


@resolver("QueryRoot", "inventoryLevel")
def resolve_level(_root: Any, info: GraphQLResolveInfo, id: str) -> InventoryLevel | None:
    pair = parse_inventory_level_gid(id)
    return store_of(info).levels.get((pair[1], pair[0])) if pair else None


# -- Location ------------------------------------------------------------------------------------------

resolver("Location", "id")(id_resolver("Location"))
resolver("Location", "legacyResourceId")(legacy_id)


@resolver("Location", "address")
def resolve_location_address(location: Location, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return {
        "address1": location.address1,
        "address2": None,
        "city": location.city,
        "zip": location.zip,
        "countryCode": location.country_code,
        "country": None,
        "province": None,
        "provinceCode": location.province_code,
        "phone": None,
        "latitude": None,
        "longitude": None,
        "formatted": [part for part in (location.address1, location.city, location.zip) if part],
    }


@resolver("Location", "inventoryLevels")
def resolve_location_levels(location: Location, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    store = store_of(info)
    index = store.levels_by_location.get(location.id)
    keys = index.keys if index is not None else []
    return paginate(
        info, PageArgs.of(info, args), keys, lambda item_id: store.levels.get((item_id, location.id))
    )


@resolver("Location", "inventoryLevel")
def resolve_location_level(location: Location, info: GraphQLResolveInfo, inventoryItemId: str, **_a: Any):
    return store_of(info).levels.get((numeric_id(inventoryItemId, "InventoryItem"), location.id))


for _name, _value in {
    "fulfillsOnlineOrders": True,
    "shipsInventory": True,
    "hasActiveInventory": True,
    "isFulfillmentService": False,
    "fulfillmentService": None,
    "deactivatedAt": None,
    "addressVerified": True,
    "activatable": False,
    "deactivatable": False,
    "deletable": False,
    "hasUnfulfilledOrders": False,
    "localPickupSettingsV2": None,
}.items():
    resolver("Location", _name)(lambda _l, _i, _value=_value, **_a: _value)


# -- InventoryItem and InventoryLevel ------------------------------------------------------------------

resolver("InventoryItem", "id")(id_resolver("InventoryItem"))
resolver("InventoryItem", "legacyResourceId")(legacy_id)


@resolver("InventoryItem", "sku")
def resolve_item_sku(item: InventoryItem, info: GraphQLResolveInfo) -> str | None:
    return _item_sku(store_of(info), item)


@resolver("InventoryItem", "unitCost")
def resolve_unit_cost(item: InventoryItem, _info: GraphQLResolveInfo):
    return money(item.unit_cost)


@resolver("InventoryItem", "variant")
def resolve_item_variant(item: InventoryItem, info: GraphQLResolveInfo):
    return store_of(info).variants.get(item.variant_id)


@resolver("InventoryItem", "inventoryLevels")
def resolve_item_levels(item: InventoryItem, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    store = store_of(info)
    keys = sorted((loc, loc) for loc in store.levels_by_item.get(item.id, []))
    return paginate(info, PageArgs.of(info, args), keys, lambda loc: store.levels.get((item.id, loc)))


@resolver("InventoryItem", "inventoryLevel")
def resolve_item_level(item: InventoryItem, info: GraphQLResolveInfo, locationId: str, **_a: Any):
    return store_of(info).levels.get((item.id, numeric_id(locationId, "Location")))


@resolver("InventoryItem", "locationsCount")
def resolve_locations_count(item: InventoryItem, info: GraphQLResolveInfo) -> dict[str, Any]:
    return count(len(store_of(info).levels_by_item.get(item.id, [])))


@resolver("InventoryItem", "measurement")
def resolve_measurement(item: InventoryItem, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return {"id": gid("InventoryItemMeasurement", item.id), "weight": {"unit": "KILOGRAMS", "value": 0.0}}


@resolver("InventoryItem", "duplicateSkuCount")
def resolve_duplicate_skus(item: InventoryItem, info: GraphQLResolveInfo) -> int:
    store = store_of(info)
    sku = _item_sku(store, item)
    return max(0, len(store.variants.equal["sku"].get(sku.lower())) - 1) if sku else 0


for _name, _value in {
    "countryCodeOfOrigin": None,
    "provinceCodeOfOrigin": None,
    "harmonizedSystemCode": None,
    "inventoryHistoryUrl": None,
}.items():
    resolver("InventoryItem", _name)(lambda _l, _i, _value=_value, **_a: _value)


@resolver("InventoryLevel", "id")
def resolve_level_id(level: InventoryLevel, _info: GraphQLResolveInfo) -> str:
    return inventory_level_gid(level.location_id, level.item_id)


@resolver("InventoryLevel", "item")
def resolve_level_item(level: InventoryLevel, info: GraphQLResolveInfo) -> InventoryItem:
    return store_of(info).items.get(level.item_id)


@resolver("InventoryLevel", "location")
def resolve_level_location(level: InventoryLevel, info: GraphQLResolveInfo) -> Location:
    return store_of(info).locations.get(level.location_id)


@resolver("InventoryLevel", "quantities")
def resolve_quantities(
    level: InventoryLevel, _info: GraphQLResolveInfo, names: list[str]
) -> list[dict[str, Any]]:
    level_id = inventory_level_gid(level.location_id, level.item_id)
    return [
        {
            "id": f"{level_id}&name={name}",
            "name": name,
            "quantity": level.quantity(name),
            "updatedAt": level.updated_at,
        }
        for name in names
    ]


for _name, _value in {"isActive": True, "canDeactivate": True, "deactivationAlert": None}.items():
    resolver("InventoryLevel", _name)(lambda _l, _i, _value=_value, **_a: _value)


# -- InventoryAdjustmentGroup --------------------------------------------------------------------------

resolver("InventoryAdjustmentGroup", "id")(id_resolver("InventoryAdjustmentGroup"))


@resolver("InventoryAdjustmentGroup", "changes")
def resolve_changes(
    group: AdjustmentGroup,
    _info: GraphQLResolveInfo,
    inventoryItemIds: list[str] | None = None,
    locationIds: list[str] | None = None,
    quantityNames: list[str] | None = None,
):
    items = {numeric_id(i, "InventoryItem") for i in inventoryItemIds} if inventoryItemIds else None
    locations = {numeric_id(i, "Location") for i in locationIds} if locationIds else None
    return [
        c
        for c in group.changes
        if (items is None or c.item_id in items)
        and (locations is None or c.location_id in locations)
        and (quantityNames is None or c.name in quantityNames)
    ]


for _name in ("app", "staffMember"):
    resolver("InventoryAdjustmentGroup", _name)(lambda _g, _i, **_a: None)


@resolver("InventoryChange", "item")
def resolve_change_item(change_: InventoryChange, info: GraphQLResolveInfo):
    return store_of(info).items.get(change_.item_id)


@resolver("InventoryChange", "location")
def resolve_change_location(change_: InventoryChange, info: GraphQLResolveInfo):
    return store_of(info).locations.get(change_.location_id)


@resolver("InventoryChange", "ledgerDocumentUri")
def resolve_ledger_uri(_change: InventoryChange, _info: GraphQLResolveInfo) -> None:
    return None


# -- inventorySetQuantities ----------------------------------------------------------------------------


def idempotency_key(info: GraphQLResolveInfo) -> str | None:
    """The key of the @idempotent directive on this field, if the request has one."""
    for directive in info.field_nodes[0].directives or ():
        if directive.name.value == "idempotent":
            values = get_directive_values(
                info.schema.get_directive("idempotent"), info.field_nodes[0], info.variable_values
            )
            return values["key"] if values else None
    return None


def require_idempotency_key(info: GraphQLResolveInfo) -> str:
    key = idempotency_key(info)
    if key is None:
        # Enforced at execution by Shopify from 2026-04 (the schema cannot express it).
        raise GraphQLError(
            "The @idempotent directive is required for this mutation but was not provided.",
            nodes=info.field_nodes,
            path=info.path.as_list(),
            extensions={"code": "BAD_REQUEST"},
        )
    return key


def _fingerprint(args: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(args, sort_keys=True, default=str).encode()).hexdigest()


@resolver("Mutation", "inventorySetQuantities")
def resolve_set_quantities(_root: Any, info: GraphQLResolveInfo, input: Mapping[str, Any]) -> dict[str, Any]:
    store = store_of(info)
    for quantity in input["quantities"]:
        if "changeFromQuantity" not in quantity:
            raise GraphQLError(
                "InventoryQuantityInput must include the following argument: changeFromQuantity.",
                nodes=info.field_nodes,
                path=info.path.as_list(),
                extensions={"code": "INVALID_FIELD_ARGUMENTS"},
            )
    key = require_idempotency_key(info)
    fingerprint = _fingerprint({"field": "inventorySetQuantities", "input": input})
    previous = store.idempotency.get(key)
    if previous is not None:
        if previous.fingerprint != fingerprint:
            return _errors(
                "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                "The same idempotency key cannot be used with different operation parameters.",
            )
        if not previous.succeeded:
            return _errors(
                "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED",
                "A previous request with this idempotency key failed. Retry with a new idempotency key.",
            )
        # A retry: the first result, without applying anything again.
        return {"inventoryAdjustmentGroup": store.adjustment_groups.get(previous.result_id), "userErrors": []}
    requests = [
        QuantityRequest(
            numeric_id(q["inventoryItemId"], "InventoryItem"),
            numeric_id(q["locationId"], "Location"),
            q["quantity"],
            q["changeFromQuantity"],
        )
        for q in input["quantities"]
    ]
    try:
        group = set_quantities(
            store, input["name"], input["reason"], input.get("referenceDocumentUri"), requests
        )
    except UserErrors as failure:
        store.save(IdempotencyRecord(key, fingerprint, store.now(), succeeded=False))
        return {"inventoryAdjustmentGroup": None, "userErrors": failure.errors}
    store.save(IdempotencyRecord(key, fingerprint, store.now(), succeeded=True, result_id=group.id))
    return {"inventoryAdjustmentGroup": group, "userErrors": []}


def _errors(code: str, message: str) -> dict[str, Any]:
    return {"inventoryAdjustmentGroup": None, "userErrors": [UserError(None, message, code)]}
