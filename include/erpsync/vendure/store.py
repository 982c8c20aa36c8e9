"""Vendure behind the store interface (:class:`erpsync.store.interface.Store`): stock and prices here,
products in :mod:`erpsync.vendure.content`, orders and fulfillment in :mod:`erpsync.vendure.orders`,
customer accounts in :mod:`erpsync.vendure.customers`.

Vendure's terms, in ours: a variant carries its own stock, so a variant's id is also its inventory
item's id; stock is kept per stock location as ``stockOnHand`` and ``stockAllocated`` (units of orders
placed and not yet fulfilled), and what a shopper can still buy is their difference. Prices are integers
in the currency's minor units.

**Stock without compare-and-swap.** Vendure sets ``stockOnHand`` absolutely and has no conditional
write. Two things keep invariant 3 (never sell what the ERP does not allow) anyway:

- a sale in Vendure raises ``stockAllocated``; it does not lower ``stockOnHand``. We write
  ``stockOnHand = wanted available + stockAllocated as read just before``, so a sale that lands between
  our read and our write stays subtracted: the level comes out lower than wanted (never higher) until
  the next publish, which knows the order by then;
- the ``expected`` guard of each change is checked against that same read, all or nothing like
  Shopify's ``changeFromQuantity``: when the store no longer holds what we last saw (a sale, a manual
  edit), nothing is written and the stale changes go back to the caller to recompute.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from erpsync.common.window import Window
from erpsync.store.errors import StoreRequestError
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
from erpsync.vendure.client import VendureClient
from erpsync.vendure.customers import VendureCustomers
from erpsync.vendure.errors import VendureGraphQLError
from erpsync.vendure.operations import load
from erpsync.vendure.orders import VendureOrders, vendure_time

MINOR_UNITS = Decimal(100)  # Vendure's default money strategy: two decimal places in every currency
INVENTORY_BATCH = 100  # stock changes per updateProductVariants call (one transaction in Vendure)
IDS_PER_QUERY = 100


class VendureStore:
    def __init__(self, client: VendureClient, *, name: str, follow_orders_days: float = 7.0):
        self.client = client
        self.name = name
        self._orders = VendureOrders(client, follow_days=follow_orders_days, money=from_minor,
                                     prices_include_tax=lambda: self._channel["pricesIncludeTax"])
        self._customers = VendureCustomers(client)

    def usage(self) -> dict[str, float]:
        return self.client.stats.as_dict(self.client.pacer)

    @functools.cached_property
    def _channel(self) -> dict[str, Any]:
        return self.client.execute(load("ActiveChannel"))["activeChannel"]

    def capabilities(self) -> StoreCapabilities:
        """No compare-and-swap (see the module), our own pacing in requests per second, the channel's
        default currency; customer accounts."""
        return StoreCapabilities(kind="vendure", currency=self._channel["defaultCurrencyCode"],
                                 compare_and_swap=False, inventory_batch=INVENTORY_BATCH,
                                 cost_model="requests", customers=True,
                                 customer_needs_email=True)

    def server_clock(self) -> dt.datetime | None:
        """Vendure's clock when it answered this thread's last call; one cheap call first when this
        thread made none."""
        if self.client.server_time is None:
            self.client.execute(load("ActiveChannel"))
        return self.client.server_time

    def locations(self) -> list[StoreLocation]:
        return [StoreLocation(id=node["id"], name=node["name"], active=True)
                for page in self.client.paginate(load("StockLocations"), {"options": {"sort": {"id": "ASC"}}},
                                                 "stockLocations")
                for node in page]

    def iter_variants(self, *, skus: Sequence[str] | None = None) -> Iterator[list[StoreVariant]]:
        """Every variant (enabled or not) or those of ``skus``, a page at a time, in id order."""
        if skus is None:
            yield from self._variants({"sort": {"id": "ASC"}})
            return
        for start in range(0, len(skus), IDS_PER_QUERY):
            chunk = list(skus[start:start + IDS_PER_QUERY])
            yield from self._variants({"sort": {"id": "ASC"}, "filter": {"sku": {"in": chunk}}})

    def _variants(self, options: dict[str, Any]) -> Iterator[list[StoreVariant]]:
        for page in self.client.paginate(load("ProductVariants"), {"options": options}, "productVariants"):
            yield [_variant(node) for node in page]

    def inventory_levels(self, inventory_item_ids: Sequence[str], location_ids: Sequence[str]
                         ) -> list[InventoryLevel]:
        """What shoppers can still buy (on hand minus allocated) of each variant at each location it is
        stocked at."""
        wanted = set(location_ids)
        return [InventoryLevel(variant_id, location, on_hand - allocated)
                for (variant_id, location), (on_hand, allocated) in self._stock(inventory_item_ids).items()
                if location in wanted]

    def _stock(self, variant_ids: Sequence[str]) -> dict[tuple[str, str], tuple[int, int]]:
        """(variant, location) -> (on hand, allocated), as the server has them now."""
        stock: dict[tuple[str, str], tuple[int, int]] = {}
        ids = sorted(set(variant_ids))
        for start in range(0, len(ids), IDS_PER_QUERY):
            options = {"sort": {"id": "ASC"}, "filter": {"id": {"in": ids[start:start + IDS_PER_QUERY]}}}
            for page in self.client.paginate(load("StockLevels"), {"options": options}, "productVariants"):
                for node in page:
                    for level in node["stockLevels"]:
                        stock[(node["id"], level["stockLocationId"])] = (level["stockOnHand"], level["stockAllocated"])
        return stock

    def set_inventory(self, changes: Sequence[InventoryChange], *, idempotency_key: str) -> list[InventoryOutcome]:
        """Set what shoppers can buy, all or nothing: refused as stale (nothing written) when any level is
        no longer ``expected``. The write is absolute, so repeating it is harmless (``idempotency_key`` is
        not needed by Vendure)."""
        if not changes:
            return []
        if len(changes) > INVENTORY_BATCH:
            raise ValueError(f"at most {INVENTORY_BATCH} inventory changes per call, got {len(changes)}")
        stock = self._stock([c.inventory_item_id for c in changes])
        available = {key: on_hand - allocated for key, (on_hand, allocated) in stock.items()}
        stale = [c.expected is not None and available.get((c.inventory_item_id, c.location_id)) != c.expected
                 for c in changes]
        if any(stale):
            return [InventoryOutcome(c, applied=False, stale=s,
                                     error=None if s else "not applied: another change of the call was stale")
                    for c, s in zip(changes, stale, strict=True)]
        levels: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for change in changes:
            allocated = stock.get((change.inventory_item_id, change.location_id), (0, 0))[1]
            levels[change.inventory_item_id].append(
                {"stockLocationId": change.location_id, "stockOnHand": change.quantity + allocated})
        try:
            self.client.execute(load("UpdateVariants"), {"input": [
                {"id": variant_id, "stockLevels": stock_levels} for variant_id, stock_levels in levels.items()
            ]}, idempotent=True)
        except VendureGraphQLError as refused:
            return [InventoryOutcome(c, applied=False, error=f"not applied: the call was refused ({refused})")
                    for c in changes]
        confirmed_at = self.client.server_time
        return [InventoryOutcome(c, applied=True, confirmed_at=confirmed_at) for c in changes]

    def update_prices(self, product_id: str, changes: Sequence[PriceChange]) -> list[PriceOutcome]:
        """Set the variants' prices. Vendure has no compare-at price: a change's ``compare_at_price`` is
        not shown in the store (capabilities say so)."""
        outcomes: dict[int, PriceOutcome] = {}
        sent: list[tuple[int, PriceChange, int]] = []
        for index, change in enumerate(changes):
            try:
                sent.append((index, change, to_minor(change.price)))
            except ValueError as finer:  # this variant only: the others go on
                outcomes[index] = PriceOutcome(change, applied=False, error=str(finer))
        if sent:
            try:
                self.client.execute(load("UpdateVariants"), {"input": [
                    {"id": change.variant_id, "price": minor} for _, change, minor in sent]}, idempotent=True)
                outcomes.update((index, PriceOutcome(change, applied=True)) for index, change, _ in sent)
            except VendureGraphQLError as refused:
                outcomes.update((index, PriceOutcome(change, applied=False, error=str(refused)))
                                for index, change, _ in sent)
        return [outcomes[index] for index in range(len(changes))]


    def set_product(self, draft: ProductDraft) -> ProductOutcome:
        """Create or update one product with its complete variant list (erpsync.vendure.content)."""
        from erpsync.vendure.content import set_product  # it uses this module's to_minor

        return set_product(self.client, draft)

    # -- orders (erpsync.vendure.orders) -----------------------------------------------------------------

    def iter_orders(self, window: Window, *, order_ids: Sequence[str] | None = None
                    ) -> Iterator[list[StoreOrder]]:
        """The placed orders whose last change (not only ``updatedAt``: see erpsync.vendure.orders) falls
        in ``window``, oldest change first; with ``order_ids``, those orders."""
        return self._orders.orders(window, order_ids)

    def order_stamps(self, window: Window) -> Iterator[list[OrderStamp]]:
        return self._orders.stamps(window)

    def order_versions(self, order_ids: Sequence[str]) -> list[OrderStamp]:
        """Always empty: an order's last change here is worked out from its history and payments (see
        erpsync.vendure.orders), which only a whole read has, so its orders are always read whole."""
        return []

    def fulfillment_orders(self, order_ids: Sequence[str]) -> dict[str, list[FulfillmentOrder]]:
        return self._orders.fulfillment_orders(order_ids)

    def subscribe_webhooks(self, uri: str) -> WebhookSubscriptions:
        """Vendure sends no webhooks (its events stay in its own process unless a plugin is installed, and
        we run it unmodified): its orders are polled. ``capabilities().webhooks`` is False."""
        raise StoreRequestError(f"store {self.name}: Vendure sends no webhooks; its orders are polled")

    def create_fulfillment(self, fulfillment_orders: Sequence[FulfillmentOrder], *, tracking_number: str | None,
                           tracking_company: str | None, units: Mapping[str, int] | None = None
                           ) -> CreatedFulfillment:
        """The fulfillment's id only: Vendure's answer has no order version (see :meth:`order_versions`)."""
        return CreatedFulfillment(self._orders.create_fulfillment(
            fulfillment_orders, tracking_number=tracking_number, tracking_company=tracking_company, units=units))

    # -- customer accounts (erpsync.vendure.customers) ----------------------------------------------------

    def iter_customers(self, window: Window) -> Iterator[list[CustomerAccount]]:
        return self._customers.changed(window)

    def customers_by_contact(self, emails: Sequence[str], phones: Sequence[str]) -> list[CustomerAccount]:
        return self._customers.by_contact(emails, phones)

    def create_customer(self, draft: CustomerDraft) -> CustomerOutcome:
        """Vendure needs an e-mail address; see erpsync.vendure.customers for a lost address answer."""
        return self._customers.create(draft)


def to_minor(amount: Decimal) -> int:
    """A price in Vendure's minor units; refuses an amount finer than a cent instead of rounding it."""
    minor = amount * MINOR_UNITS
    if minor != minor.to_integral_value():
        raise ValueError(f"{amount} has more than two decimal places: Vendure keeps prices in cents")
    return int(minor)


def from_minor(minor: int) -> Decimal:
    return (Decimal(minor) / MINOR_UNITS).quantize(Decimal("0.01"))


def _variant(node: dict[str, Any]) -> StoreVariant:
    enabled = node["enabled"] and node["product"]["enabled"]
    return StoreVariant(sku=node["sku"], variant_id=node["id"], product_id=node["productId"],
                        inventory_item_id=node["id"], price=from_minor(node["price"]), compare_at_price=None,
                        product_status="ACTIVE" if enabled else "DRAFT", updated_at=vendure_time(node["updatedAt"]))
