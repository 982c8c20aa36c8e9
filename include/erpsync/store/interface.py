"""The store interface the flows use; each store kind implements it."""

from __future__ import annotations

import datetime as dt

from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

from erpsync.common.window import Window
from erpsync.store.records import (
    CreatedFulfillment,
    CustomerAccount,
    CustomerDraft,
    CustomerOutcome,
    FulfillmentOrder,
    InventoryChange,
    InventoryLevel,
    InventoryOutcome,
    OrderStamp,
    PriceChange,
    PriceOutcome,
    ProductDraft,
    ProductOutcome,
    StoreCapabilities,
    StoreLocation,
    StoreOrder,
    StoreVariant,
    WebhookSubscriptions,
)


class Store(Protocol):
    name: str  # identifies the store in the warehouse (several stores may share one warehouse)

    def capabilities(self) -> StoreCapabilities:
        """Its currency, whether it sets stock with compare-and-swap, its batch sizes and cost model."""

    def locations(self) -> list[StoreLocation]:
        """Every location of the store."""

    def iter_variants(self, *, skus: Sequence[str] | None = None) -> Iterator[list[StoreVariant]]:
        """All variants (or those of ``skus``), a page at a time. Called from several threads at once."""

    def inventory_levels(
        self, inventory_item_ids: Sequence[str], location_ids: Sequence[str]
    ) -> list[InventoryLevel]:
        """Available quantities of the items at the locations."""

    def set_inventory(self, changes: Sequence[InventoryChange], *, idempotency_key: str) -> list[InventoryOutcome]:
        """Apply ``changes`` with compare-and-swap; repeating a call with the same key applies it once."""

    def update_prices(self, product_id: str, changes: Sequence[PriceChange]) -> list[PriceOutcome]:
        """Set price and compare-at price of variants of one product."""

    def set_product(self, draft: ProductDraft) -> ProductOutcome:
        """Create or update one product: content, status, media and (when given) its complete variant list.
        Called from several threads at once (``content_concurrency``): the store object must allow it."""

    def server_clock(self) -> dt.datetime | None:
        """The store's own clock when it answered this thread's last call (None: it does not say)."""

    def usage(self) -> dict[str, float]:
        """What this store object has cost so far (for run stats): at least ``requests``, ``retries`` and
        ``rate_wait_s`` (seconds spent waiting for the store's rate limit or our pacing)."""

    def iter_orders(self, window: Window, *, order_ids: Sequence[str] | None = None
                    ) -> Iterator[list[StoreOrder]]:
        """Orders whose last change falls in ``window``, oldest change first, a page at a time; with
        ``order_ids``, those orders (whenever they changed) instead."""

    def order_stamps(self, window: Window) -> Iterator[list[OrderStamp]]:
        """The stamps of the orders whose last change falls in ``window``: cheap to read."""

    def order_versions(self, order_ids: Sequence[str]) -> list[OrderStamp]:
        """The stamps of these orders with their ``version`` (:attr:`StoreOrder.version`), a few points an
        order where a whole one costs dozens; orders gone are left out. A store without such a read returns
        none: its orders are then read whole."""

    def fulfillment_orders(self, order_ids: Sequence[str]) -> dict[str, list[FulfillmentOrder]]:
        """Each order's fulfillment orders, with the fulfillments already made."""

    def create_fulfillment(self, fulfillment_orders: Sequence[FulfillmentOrder], *, tracking_number: str | None,
                           tracking_company: str | None, units: Mapping[str, int] | None = None
                           ) -> CreatedFulfillment:
        """Fulfil these fulfillment orders (one order, one location), with tracking: ``units`` of their
        line items (fulfillment order line item id -> units), or, without it, all that is still
        fulfillable; returns the fulfillment's id and, where the store says, the order's change it made."""


    def subscribe_webhooks(self, uri: str) -> WebhookSubscriptions:
        """Make sure the store delivers its order events to ``uri`` (each topic once; only when
        ``capabilities().webhooks``)."""

    # -- customer accounts: only when ``capabilities().customers`` (the optional customers flow) --------

    def iter_customers(self, window: Window) -> Iterator[list[CustomerAccount]]:
        """The customer accounts created or changed in ``window`` (by the store's clock), oldest change
        first, a page at a time."""

    def customers_by_contact(self, emails: Sequence[str], phones: Sequence[str]) -> list[CustomerAccount]:
        """The accounts with any of these e-mails (lower-cased) or phones (``+`` and digits), whatever their
        state: how a draft whose creation answer was lost is found again."""

    def create_customer(self, draft: CustomerDraft) -> CustomerOutcome:
        """Create one account. A refusal (e-mail taken, invalid phone, ...) is an outcome, not an
        exception; an unreachable store raises."""


class StoreHook(Protocol):
    """What the flows need from a store's Airflow hook (one hook class per store kind, chosen by the
    Connection's type: :func:`erpsync.store.hook.store_hook`)."""

    @property
    def store(self) -> Store:
        """The store for the flows."""

    @property
    def background_store(self) -> Store:
        """The store for background work (reconciliation): it leaves most of the store's rate limit to the
        flows."""
