"""Inventory quantities with Shopify's semantics.

A level holds the quantities of one item at one location. `on_hand` is not stored: it is `available`
plus the unavailable states (committed, reserved, damaged, quality_control, safety_stock), so setting
`available` moves `on_hand` by the same delta and setting `on_hand` moves `available`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from urllib.parse import urlsplit

from sandbox.shopify.errors import UserError, UserErrors
from sandbox.shopify.state.records import AdjustmentGroup, InventoryChange, InventoryItem, InventoryLevel
from sandbox.shopify.state.store import Store

# The reasons inventorySetQuantities accepts (shopify.dev, "inventory states", set quantities).
SET_REASONS = frozenset(
    {
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_created",
        "movement_updated",
        "movement_received",
        "movement_canceled",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    }
)
SETTABLE_NAMES = ("available", "on_hand")
MAX_QUANTITY = 1_000_000_000


@dataclass(frozen=True, slots=True)
class QuantityRequest:
    """One entry of inventorySetQuantities, ids already resolved (None where the gid did not parse)."""

    item_id: int | None
    location_id: int | None
    quantity: int
    change_from: int | None


def ensure_level(store: Store, item_id: int, location_id: int) -> InventoryLevel:
    level = store.levels.get((item_id, location_id))
    if level is None:
        now = store.now()
        level = InventoryLevel(item_id, location_id, now, now, {"available": 0})
        store.save(level)
    return level


def change(store: Store, level: InventoryLevel, deltas: dict[str, int]) -> None:
    """Apply deltas to stored states (never to on_hand, which follows) and touch the level and item. The
    change goes to the store's inventory history, with what made it (the calling step: a sale, a restock,
    a set)."""
    for name, delta in deltas.items():
        level.quantities[name] = level.quantities.get(name, 0) + delta
    now = store.now()
    store.inventory_history.append((now, level.item_id, level.location_id, tuple(deltas.items()),
                                    level.quantity("available"), sys._getframe(1).f_code.co_name))
    level.updated_at = now
    store.save(level)
    store.emit("inventory_levels/update", (level.item_id, level.location_id))
    item = store.items.get(level.item_id)
    if item is not None:
        item.updated_at = now
        store.save(item)


def _valid_reference(uri: str | None) -> bool:
    if uri is None:
        return True
    parts = urlsplit(uri)
    return bool(parts.scheme and (parts.netloc or parts.path))


def set_quantities(
    store: Store, name: str, reason: str, reference_document_uri: str | None, requests: list[QuantityRequest]
) -> AdjustmentGroup:
    """inventorySetQuantities: validate every entry, then apply all of them or none."""
    errors: list[UserError] = []
    if name not in SETTABLE_NAMES:
        errors.append(
            UserError(
                ["input", "name"],
                "The quantity name must be either 'available' or 'on_hand'.",
                "INVALID_NAME",
            )
        )
    if reason not in SET_REASONS:
        errors.append(UserError(["input", "reason"], "The specified reason is invalid.", "INVALID_REASON"))
    if not _valid_reference(reference_document_uri):
        errors.append(
            UserError(
                ["input", "referenceDocumentUri"],
                "The specified reference document is invalid.",
                "INVALID_REFERENCE_DOCUMENT",
            )
        )
    seen: set[tuple[int, int]] = set()
    levels: list[InventoryLevel | None] = []
    for index, request in enumerate(requests):
        path = ["input", "quantities", str(index)]
        level = None
        item = store.items.get(request.item_id)
        location = store.locations.get(request.location_id)
        if item is None:
            errors.append(
                UserError(
                    [*path, "inventoryItemId"],
                    "The specified inventory item could not be found.",
                    "INVALID_INVENTORY_ITEM",
                )
            )
        if location is None:
            errors.append(
                UserError(
                    [*path, "locationId"], "The specified location could not be found.", "INVALID_LOCATION"
                )
            )
        if request.quantity < 0:
            errors.append(
                UserError([*path, "quantity"], "The quantity can't be negative.", "INVALID_QUANTITY_NEGATIVE")
            )
        elif request.quantity > MAX_QUANTITY:
            errors.append(
                UserError(
                    [*path, "quantity"],
                    "The total quantity can't be higher than 1,000,000,000.",
                    "INVALID_QUANTITY_TOO_HIGH",
                )
            )
        if item is not None and location is not None:
            pair = (item.id, location.id)
            if pair in seen:
                errors.append(
                    UserError(
                        path,
                        "The combination of inventoryItemId and locationId must be unique.",
                        "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                    )
                )
            seen.add(pair)
            level = store.levels.get(pair)
            if level is None:
                # Emulator choice: an item is stocked at a location by seeding or variant creation only.
                errors.append(
                    UserError(
                        [*path, "locationId"],
                        "The specified inventory item is not stocked at the location.",
                        "INVALID_LOCATION",
                    )
                )
            elif request.change_from is not None and level.quantity(name) != request.change_from:
                errors.append(
                    UserError(
                        [*path, "changeFromQuantity"],
                        "The changeFromQuantity value does not match persisted value.",
                        "CHANGE_FROM_QUANTITY_STALE",
                    )
                )
        levels.append(level)
    if errors:
        raise UserErrors(errors)

    changes: list[InventoryChange] = []
    for request, level in zip(requests, levels, strict=True):
        delta = request.quantity - level.quantity(name)
        change(store, level, {"available": delta})
        changes.append(
            InventoryChange("available", delta, level.quantity("available"), level.item_id, level.location_id)
        )
        changes.append(
            InventoryChange("on_hand", delta, level.quantity("on_hand"), level.item_id, level.location_id)
        )
    group = AdjustmentGroup(
        store.next_id("adjustment_group"), reason, store.now(), reference_document_uri, changes
    )
    store.save(group)
    return group


def total_available(store: Store, item: InventoryItem) -> int:
    return sum(
        store.levels[(item.id, loc)].quantity("available") for loc in store.levels_by_item.get(item.id, [])
    )
