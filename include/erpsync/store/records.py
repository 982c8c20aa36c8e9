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


@dataclass(frozen=True, slots=True)
class VariantDraft:
    sku: str
    option: str
    price: Decimal
    compare_at_price: Decimal | None
    variant_id: str | None = None  # known to the store: update it; None: create it
    inventory: tuple[tuple[str, int], ...] = ()  # (location id, available) for a variant being created


@dataclass(frozen=True, slots=True)
class ProductDraft:
    """A product as it must be in the store. ``variants`` is the complete list (variants the store has
    and the list does not name are removed); None leaves the variants alone (e.g. archiving)."""

    product_id: str | None  # None: create the product
    title: str
    description_html: str
    status: str  # ACTIVE | ARCHIVED | DRAFT
    image_urls: tuple[str, ...]
    option_name: str
    variants: tuple[VariantDraft, ...] | None


@dataclass(frozen=True, slots=True)
class StoredVariant:
    sku: str
    variant_id: str
    inventory_item_id: str


@dataclass(frozen=True, slots=True)
class ProductOutcome:
    draft: ProductDraft
    product_id: str | None
    variants: tuple[StoredVariant, ...] = ()
    error: str | None = None

    @property
    def applied(self) -> bool:
        return self.error is None and self.product_id is not None
