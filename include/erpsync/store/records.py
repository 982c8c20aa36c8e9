"""Store-agnostic records that cross the store boundary (ids are the store's own, opaque strings)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class StoreLocation:
    id: str
    name: str
    active: bool


@dataclass(frozen=True, slots=True)
class StoreVariant:
    """A sellable variant as the store has it."""

    sku: str
    variant_id: str
    product_id: str
    inventory_item_id: str
    price: Decimal
    compare_at_price: Decimal | None
    product_status: str  # ACTIVE | ARCHIVED | DRAFT
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class InventoryLevel:
    inventory_item_id: str
    location_id: str
    available: int


@dataclass(frozen=True, slots=True)
class InventoryChange:
    """Set ``available`` of an item at a location to ``quantity``, if it still is ``expected``.

    ``expected`` is the compare-and-swap guard: the quantity we last saw. When the store holds another
    value (a sale happened since), the change is refused as stale and nothing is overwritten.
    """

    inventory_item_id: str
    location_id: str
    quantity: int
    expected: int | None


@dataclass(frozen=True, slots=True)
class InventoryOutcome:
    change: InventoryChange
    applied: bool
    stale: bool = False  # refused by the compare-and-swap: re-read and recompute
    error: str | None = None


@dataclass(frozen=True, slots=True)
class PriceChange:
    variant_id: str
    price: Decimal
    compare_at_price: Decimal | None  # None clears it


@dataclass(frozen=True, slots=True)
class PriceOutcome:
    change: PriceChange
    applied: bool
    error: str | None = None
