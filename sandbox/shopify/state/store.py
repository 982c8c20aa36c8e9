"""The emulator's state: records in memory with their indexes, written through to SQLite.

Every read and write happens under `store.lock` (one lock for the whole store keeps mutations atomic and
is cheap next to GraphQL execution); `commit()` flushes what changed since the last commit in one SQLite
transaction before the lock is released.

Domain operations also `emit` the events Shopify announces by webhook (orders/create, refunds/create, ...);
every saved order is an orders/updated. `commit()` hands them to the `on_events` listener (the webhook
dispatcher), still under the lock, so the bodies it builds describe the state as committed.
"""

from __future__ import annotations

import gc
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sandbox.shopify.state.indexes import Collection, SortedIndex
from sandbox.shopify.state.persistence import Database
from sandbox.shopify.state.records import (
    AdjustmentGroup,
    Customer,
    IdempotencyRecord,
    InventoryItem,
    InventoryLevel,
    Location,
    Media,
    Order,
    OrderEditSession,
    Product,
    Variant,
    WebhookSubscription,
)

FIRST_ORDER_NUMBER = 1001  # Shopify numbers a shop's first order #1001


class WallClock(Protocol):
    def now(self) -> datetime: ...


INVENTORY_HISTORY = 200_000  # level changes kept: (when, item id, location id, deltas, available, by)


@dataclass(frozen=True, slots=True)
class Event:
    """Something Shopify announces by webhook: a topic ("orders/create") about one record."""

    topic: str
    subject: Any  # the record's id; (item id, location id) for an inventory level
    triggered_at: datetime
    snapshot: dict[str, Any] | None = None  # the body, for records gone before the commit (deletions)


def epoch(value: datetime) -> int:
    return int(value.timestamp())


def _by_id(record: Any) -> tuple[int, int]:
    return (record.id, record.id)


def _by_updated(record: Any) -> tuple[int, int]:
    return (epoch(record.updated_at), record.id)


def _by_created(record: Any) -> tuple[int, int]:
    return (epoch(record.created_at), record.id)


def _sku_key(sku: str | None) -> str | None:
    return sku.lower() if sku else None


class Store:
    def __init__(self, clock: WallClock, path: Path | None = None) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._db = Database(path) if path is not None else None
        self.locations: Collection[Location] = Collection({"ID": _by_id})
        self.products: Collection[Product] = Collection(
            {"ID": _by_id, "UPDATED_AT": _by_updated, "CREATED_AT": _by_created},
            {"handle": lambda p: p.handle},
        )
        self.variants: Collection[Variant] = Collection(
            {"ID": _by_id, "UPDATED_AT": _by_updated}, {"sku": lambda v: _sku_key(v.sku)}
        )
        self.items: Collection[InventoryItem] = Collection({"ID": _by_id})
        self.media: Collection[Media] = Collection({"ID": _by_id})
        self.customers: Collection[Customer] = Collection(
            {"ID": _by_id, "UPDATED_AT": _by_updated, "CREATED_AT": _by_created},
            {"email": lambda c: (c.email or "").lower(), "phone": lambda c: c.phone or ""},
        )
        self.orders: Collection[Order] = Collection(
            {"ID": _by_id, "UPDATED_AT": _by_updated, "CREATED_AT": _by_created}
        )
        self.adjustment_groups: Collection[AdjustmentGroup] = Collection()
        # Order edit sessions (CalculatedOrder), open or committed.
        self.order_edits: Collection[OrderEditSession] = Collection({"ID": _by_id})
        self.webhook_subscriptions: Collection[WebhookSubscription] = Collection(
            {"ID": _by_id, "CREATED_AT": _by_created}
        )
        self.idempotency: dict[str, IdempotencyRecord] = {}
        # Every change of an inventory level, newest last, in memory only (not kept across a restart): what
        # the admin's inventory history shows a merchant, for looking into a level after the fact.
        self.inventory_history: deque[tuple[Any, ...]] = deque(maxlen=INVENTORY_HISTORY)
        # (item id, location id) -> level; per location, item ids in order for location.inventoryLevels.
        self.levels: dict[tuple[int, int], InventoryLevel] = {}
        self.levels_by_item: dict[int, list[int]] = {}
        self.levels_by_location: dict[int, SortedIndex] = {}
        # Lookups from nested order parts to their order, so that node(id:) and fulfillmentCreate find them.
        self.order_of_fulfillment_order: dict[int, int] = {}
        self.order_of_fulfillment: dict[int, int] = {}
        self.order_of_line_item: dict[int, int] = {}
        self.order_of_refund: dict[int, int] = {}
        self.order_of_shipping_line: dict[int, int] = {}
        self.order_of_fulfillment_line_item: dict[int, int] = {}
        # Returns and their parts (returnProcess, reverseFulfillmentOrderDispose, node(id:)).
        self.order_of_return: dict[int, int] = {}
        self.order_of_return_line_item: dict[int, int] = {}
        self.order_of_exchange_line_item: dict[int, int] = {}
        self.order_of_reverse_fulfillment_order: dict[int, int] = {}
        self.order_of_reverse_fulfillment_order_line: dict[int, int] = {}
        self.counters: dict[str, int] = {}
        self.meta: dict[str, Any] = {}
        self._dirty: dict[tuple[str, str], Any] = {}
        self._deleted: set[tuple[str, str]] = set()
        self._dirty_meta: set[str] = set()
        # Events of the current transaction, one per topic and subject, in the order they happened.
        self._events: dict[tuple[str, Any], Event] = {}
        self._updated_orders: dict[int, datetime] = {}
        self.on_events: Callable[[Store, list[Event]], None] | None = None
        if self._db is not None:
            self._load()

    # -- time and ids ---------------------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def next_id(self, kind: str) -> int:
        start = FIRST_ORDER_NUMBER - 1 if kind == "order_number" else 0
        value = self.counters.get(kind, start) + 1
        self.counters[kind] = value
        self._dirty_meta.add("counters")
        return value

    def set_meta(self, name: str, value: Any) -> None:
        self.meta[name] = value
        self._dirty_meta.add(name)

    def emit(self, topic: str, subject: Any, snapshot: dict[str, Any] | None = None) -> None:
        """Announce a change (see the module docstring); repeated in one transaction, it is one event."""
        self._events.setdefault((topic, subject), Event(topic, subject, self.now(), snapshot))

    # -- writes ---------------------------------------------------------------------------------------

    def _collection(self, record: Any) -> Collection | None:
        return {
            Location: self.locations,
            Product: self.products,
            Variant: self.variants,
            InventoryItem: self.items,
            Media: self.media,
            Customer: self.customers,
            Order: self.orders,
            AdjustmentGroup: self.adjustment_groups,
            OrderEditSession: self.order_edits,
            WebhookSubscription: self.webhook_subscriptions,
        }.get(type(record))

    def save(self, record: Any) -> None:
        """Index a new or changed record and queue it for the next commit."""
        collection = self._collection(record)
        if collection is not None:
            collection.put(record)
        elif isinstance(record, InventoryLevel):
            self._index_level(record)
        elif isinstance(record, IdempotencyRecord):
            self.idempotency[record.idem_key] = record
        if isinstance(record, Order):
            self._index_order_parts(record)
            # Every order change is an orders/updated, as in Shopify; it follows the change's own topic.
            self._updated_orders[record.id] = self.now()
        self._mark(record)

    def save_many(self, records: list[Any]) -> None:
        """Like save, for a batch of records of one kind (bulk index build: seconds for 100k variants)."""
        if not records:
            return
        collection = self._collection(records[0])
        if collection is not None:
            collection.put_many(records)
        else:
            for record in records:
                self.save(record)
            return
        for record in records:
            self._mark(record)

    def _mark(self, record: Any) -> None:
        ref = (record.KIND, record.key)
        self._dirty[ref] = record
        self._deleted.discard(ref)

    def delete(self, record: Any) -> None:
        collection = self._collection(record)
        if collection is not None:
            collection.delete(record.id)
        elif isinstance(record, InventoryLevel):
            self.levels.pop((record.item_id, record.location_id), None)
            self.levels_by_item.get(record.item_id, []).remove(record.location_id)
            self.levels_by_location[record.location_id].discard(record.item_id)
        ref = (record.KIND, record.key)
        self._dirty.pop(ref, None)
        self._deleted.add(ref)

    def _index_level(self, level: InventoryLevel) -> None:
        pair = (level.item_id, level.location_id)
        if pair not in self.levels:
            self.levels_by_item.setdefault(level.item_id, []).append(level.location_id)
            index = self.levels_by_location.setdefault(
                level.location_id, SortedIndex(lambda lv: (lv.item_id, lv.item_id))
            )
            index.add(level)
        self.levels[pair] = level

    def _index_order_parts(self, order: Order) -> None:
        for line in order.line_items:
            self.order_of_line_item[line.id] = order.id
        for fulfillment_order in order.fulfillment_orders:
            self.order_of_fulfillment_order[fulfillment_order.id] = order.id
        for fulfillment in order.fulfillments:
            self.order_of_fulfillment[fulfillment.id] = order.id
        for refund in order.refunds:
            self.order_of_refund[refund.id] = order.id
        for shipping_line in order.shipping_lines:
            self.order_of_shipping_line[shipping_line.id] = order.id
        for fulfillment in order.fulfillments:
            for line_id in fulfillment.fulfillment_line_item_ids():
                self.order_of_fulfillment_line_item[line_id] = order.id
        for return_ in order.returns:
            self.order_of_return[return_.id] = order.id
            for return_line in return_.return_line_items:
                self.order_of_return_line_item[return_line.id] = order.id
            for exchange_line in return_.exchange_line_items:
                self.order_of_exchange_line_item[exchange_line.id] = order.id
            for reverse in return_.reverse_fulfillment_orders:
                self.order_of_reverse_fulfillment_order[reverse.id] = order.id
                for reverse_line in reverse.line_items:
                    self.order_of_reverse_fulfillment_order_line[reverse_line.id] = order.id

    def commit(self) -> None:
        if self._db is not None and (self._dirty or self._deleted or self._dirty_meta):
            meta = {
                name: (self.counters if name == "counters" else self.meta[name]) for name in self._dirty_meta
            }
            upserts = ((kind, key, record) for (kind, key), record in self._dirty.items())
            self._db.write(upserts, list(self._deleted), meta)
        self._dirty.clear()
        self._deleted.clear()
        self._dirty_meta.clear()
        events = [
            *self._events.values(),
            *(Event("orders/updated", order_id, at) for order_id, at in self._updated_orders.items()),
        ]
        self._events.clear()
        self._updated_orders.clear()
        if events and self.on_events is not None:
            self.on_events(self, events)

    @staticmethod
    @contextmanager
    def bulk() -> Iterator[None]:
        """Pause the cyclic garbage collector while hundreds of thousands of records are created: its
        passes over the growing heap would otherwise cost more than building the records, then freeze
        them out of later collections (they live as long as the store)."""
        gc.disable()
        try:
            yield
        finally:
            gc.freeze()
            gc.enable()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Hold the lock for a read-modify-write and commit what it changed."""
        with self.lock:
            try:
                yield self
            finally:
                self.commit()

    # -- whole-store operations -----------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            plan = self.meta.get("plan")
            for collection in (
                self.locations,
                self.products,
                self.variants,
                self.items,
                self.media,
                self.customers,
                self.orders,
                self.adjustment_groups,
                self.order_edits,
            ):
                collection.clear()
            self.inventory_history.clear()
            # Webhook subscriptions are the app's configuration, not store content: kept, like the plan.
            for mapping in (
                self.idempotency,
                self.levels,
                self.levels_by_item,
                self.levels_by_location,
                self.order_of_fulfillment_order,
                self.order_of_fulfillment,
                self.order_of_line_item,
                self.order_of_refund,
                self.order_of_shipping_line,
                self.order_of_fulfillment_line_item,
                self.order_of_return,
                self.order_of_return_line_item,
                self.order_of_exchange_line_item,
                self.order_of_reverse_fulfillment_order,
                self.order_of_reverse_fulfillment_order_line,
                self.meta,
            ):
                mapping.clear()
            # The id counters survive: Shopify never gives an id twice, and an ERP that booked order
            # gid://shopify/Order/1 before the reset must not see a different order under that id after it.
            self._dirty.clear()
            self._deleted.clear()
            self._dirty_meta.clear()
            self._events.clear()
            self._updated_orders.clear()
            if self._db is not None:
                self._db.clear()
            for subscription in self.webhook_subscriptions.by_id.values():
                self._mark(subscription)
            self._dirty_meta.add("counters")
            if plan is not None:  # the plan is configuration, not store content
                self.set_meta("plan", plan)
            self.commit()

    def _load(self) -> None:
        with self.bulk():
            self._load_records()

    def _load_records(self) -> None:
        batches: dict[str, list[Any]] = {}
        for kind, record in self._db.load():
            batches.setdefault(kind, []).append(record)
        loaded_meta = self._db.load_meta()
        self.counters.update(loaded_meta.pop("counters", {}))
        self.meta.update(loaded_meta)
        for kind, records in batches.items():
            if kind == InventoryLevel.KIND:
                # In item order, so that every per-location index is built by appends.
                for level in sorted(records, key=lambda lv: lv.item_id):
                    self._index_level(level)
            elif kind == IdempotencyRecord.KIND:
                self.idempotency.update((r.idem_key, r) for r in records)
            else:
                self._collection(records[0]).put_many(records)
                if kind == Order.KIND:
                    for order in records:
                        self._index_order_parts(order)

    def close(self) -> None:
        if self._db is not None:
            with self.lock:
                self.commit()
                self._db.close()

    def counts(self) -> dict[str, int]:
        return {
            "locations": len(self.locations),
            "products": len(self.products),
            "variants": len(self.variants),
            "inventory_items": len(self.items),
            "inventory_levels": len(self.levels),
            "customers": len(self.customers),
            "orders": len(self.orders),
            "webhook_subscriptions": len(self.webhook_subscriptions),
        }
