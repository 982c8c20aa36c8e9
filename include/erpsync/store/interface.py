"""The store interface the flows use; each store kind implements it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from erpsync.store.records import (
    InventoryChange,
    InventoryLevel,
    InventoryOutcome,
    PriceChange,
    PriceOutcome,
    ProductDraft,
    ProductOutcome,
    StoreLocation,
    StoreVariant,
)


class Store(Protocol):
    name: str  # identifies the store in the warehouse (several stores may share one warehouse)

    def locations(self) -> list[StoreLocation]:
        """Every location of the store."""

    def iter_variants(self, *, skus: Sequence[str] | None = None) -> Iterator[list[StoreVariant]]:
        """All variants (or those of ``skus``), a page at a time."""

    def inventory_levels(
        self, inventory_item_ids: Sequence[str], location_ids: Sequence[str]
    ) -> list[InventoryLevel]:
        """Available quantities of the items at the locations."""

    def set_inventory(self, changes: Sequence[InventoryChange], *, idempotency_key: str) -> list[InventoryOutcome]:
        """Apply ``changes`` with compare-and-swap; repeating a call with the same key applies it once."""

    def update_prices(self, product_id: str, changes: Sequence[PriceChange]) -> list[PriceOutcome]:
        """Set price and compare-at price of variants of one product."""

    def set_product(self, draft: ProductDraft) -> ProductOutcome:
        """Create or update one product: content, status, media and (when given) its complete variant list."""

    def usage(self) -> dict[str, float]:
        """What this store object has cost so far: calls, retries, throttling, waits (for run stats)."""
