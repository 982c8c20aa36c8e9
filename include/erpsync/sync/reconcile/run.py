"""Reconciliation: read the whole store, compare it with what it should have, repair, report.

Catalog. Every variant, price, status and inventory level the store has is compared with the desired
state (staging) and with the published state (what we last told the store). A difference from the desired
state that no publish is on its way to fix (not marked due, not in the row error queue) is either *drift*
(the store differs from what we told it: an edit made in the store's admin, a product deleted there, a
write whose answer was lost) or *behind* (the store has what we told it, and that is no longer what the
ERP asks for: a change that never reached a publish step), including products the store sells that the
web shop does not list. Both are repaired through the normal publish path: the published state is set to
what the store really has, then the usual diff publishes what the desired state asks for (new product
for a deleted one, prices with their guardrail, inventory with compare-and-swap). The store's quantities
are read *before* the recent orders are staged, so a sale the store already counted is always in the
pending quantities we subtract: the repair never gives back stock the store has sold.

Orders. The store's orders over a recent window (read as stamps: cheap) are compared with the ERP's sales
(by the external key) and with the ledger: orders missing in the ERP are read whole, staged and booked
through the normal, exactly-once ingest; a ledger row that claims a sale the ERP does not have is
reopened; ERP sales that carry a store order's number without its external key (booked by hand as well)
are reported as duplicates.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, delete, select

from erpsync.common.window import Window
from erpsync.store.interface import Store
from erpsync.store.records import StoreVariant
from erpsync.sync.catalog import publish as catalog_publish
from erpsync.sync.catalog.config import CatalogConfig
from erpsync.sync.catalog.publish import PublishRun
from erpsync.sync.orders import extract as orders_extract
from erpsync.sync.orders import ledger
from erpsync.sync.orders import stage as orders_stage
from erpsync.sync.orders.config import OrdersConfig
from erpsync.sync.orders.ingest import ingest_orders
from erpsync.sync.reconcile import in_flight
from erpsync.sync.state import publish_due
from erpsync.sync.state.row_errors import unresolved_keys
from erpsync.tryton.client import TrytonClient
from erpsync.warehouse import db
from erpsync.warehouse.schema import order_ledger, published_inventory, published_variant, stg_order, stg_product

log = logging.getLogger(__name__)

RECENT_ORDERS = dt.timedelta(minutes=10)  # how far back the catalog repair re-reads orders (pending stock)


@dataclass
class CatalogDrift:
    variants_in_store: int = 0
    levels_in_store: int = 0
    missing_in_store: int = 0  # published by us, gone from the store (deleted there)
    status_drift: int = 0
    price_drift: int = 0
    inventory_drift: int = 0  # store quantity the live flows cannot explain (see reconcile_catalog)
    outside_assortment: int = 0  # SKUs the store sells that the web shop does not (or no longer) list
    status_behind: int = 0  # a product the web shop lists that the store does not sell
    price_behind: int = 0  # the price we published, no longer the ERP's
    inventory_behind: int = 0  # the level we published, no longer what the ERP allows
    in_flight: int = 0  # levels off the desired state that a publish is on its way to fix (due, or queued)
    unmanaged_in_store: int = 0  # SKUs the store sells that the ERP does not know (reported only)
    repaired: dict[str, int] = field(default_factory=dict)  # publish step -> changes applied
    sample: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def drift(self) -> dict[str, int]:
        return {"missing_in_store": self.missing_in_store, "status": self.status_drift, "price": self.price_drift,
                "inventory": self.inventory_drift, "outside_assortment": self.outside_assortment,
                "status_behind": self.status_behind, "price_behind": self.price_behind,
                "inventory_behind": self.inventory_behind}

    def as_counts(self) -> dict[str, Any]:
        counts = dict(self.__dict__)
        counts["drift_total"] = sum(self.drift.values())
        counts["seconds"] = round(self.seconds, 3)
        return counts


def reconcile_catalog(run: PublishRun) -> CatalogDrift:
    started = time.monotonic()
    result = CatalogDrift()
    store = run.store
    locations = catalog_publish.store_locations(run)
    in_store: dict[str, StoreVariant] = {v.sku: v for page in store.iter_variants() for v in page}
    result.variants_in_store = len(in_store)
    levels = store.inventory_levels(sorted({v.inventory_item_id for v in in_store.values()}), list(locations.values()))
    # Every order the store had when it answered counts as pending: the window ends past the store's own
    # time of that answer (its clock, whole seconds), never at a worker's now, which may be behind it.
    store_read_at = store.server_clock()
    read_at = store_read_at or dt.datetime.now(dt.UTC)
    result.levels_in_store = len(levels)
    by_item = {v.inventory_item_id: sku for sku, v in in_store.items()}
    actual = {(by_item[lvl.inventory_item_id], lvl.location_id): lvl.available for lvl in levels}
    _stage_recent_orders(store, run.engine, since=read_at - RECENT_ORDERS, until=read_at + dt.timedelta(seconds=1),
                         run_id=run.run_id, now=run.now)

    with run.engine.connect() as conn:
        published = catalog_publish.published_rows(conn, store.name, None)
        known = set(conn.execute(select(stg_product.c.sku)).scalars())
        products = {v.sku: v for p in catalog_publish.desired_state.desired_products(conn, None, web_shop=run.web_shop) for v in p.variants}
        selling = [sku for sku, row in published.items() if row.get("status") == "ACTIVE" and sku in in_store]
        desired = catalog_publish.desired_levels(conn, run, selling)
        pending = catalog_publish.desired_state.with_unknown_locations(
            catalog_publish.desired_state.pending_quantities(conn, store.name, selling), locations)
        seen = catalog_publish.published_levels(conn, store.name, selling)
        # What a publish is already on its way to fix: marked due, or in the error queue (retried, held).
        in_flight = {step: set(publish_due.due(conn, store=store.name, step=step))
                     | unresolved_keys(conn, store=store.name, flow=catalog_publish.FLOW, entity="variant",
                                       operation=step)
                     for step in catalog_publish.STEPS}
    result.unmanaged_in_store = len(set(in_store) - known)

    gone: list[str] = []
    variant_fixes: list[dict[str, Any]] = []
    level_fixes: list[tuple[str, str, int]] = []
    behind: set[str] = set()
    for sku, row in published.items():
        if not row.get("store_variant_id") or row.get("status") == "REMOVED":
            continue
        have = in_store.get(sku)
        if have is None or have.variant_id != row["store_variant_id"]:
            gone.append(sku)
            continue
        fix = {}
        want = products.get(sku)
        sold = bool(want and want.active)
        if have.product_status != row.get("status"):
            result.status_drift += 1
            fix["status"] = have.product_status
        elif sku not in in_flight["publish_content"] and sold != (have.product_status == "ACTIVE"):
            if sold:
                result.status_behind += 1
            else:
                result.outside_assortment += 1
            behind.add(sku)
        prices = (have.price, have.compare_at_price)
        if prices != (row.get("price"), row.get("compare_at_price")):
            # Neither what we published nor what is about to be published (staged, not written yet).
            if want is None or prices != (want.price, want.compare_at_price):
                result.price_drift += 1
            fix.update(price=have.price, compare_at_price=have.compare_at_price)
            if row.get("price") is not None:
                run.guardrail_base[sku] = row["price"]
        elif sold and prices != (want.price, want.compare_at_price) and sku not in in_flight["publish_prices"]:
            result.price_behind += 1
            behind.add(sku)
        if fix:
            variant_fixes.append({"sku": sku, **fix})
    for sku in selling:
        # The store should have the desired level, give or take the units on store orders the ERP does
        # not count yet at that location (or at an unknown one: held back everywhere). Off that, and not on its
        # way (due, queued): the level we published (give or take the same) means we are behind; any
        # other, that someone else wrote.
        for name, location_id in locations.items():
            slack = int(catalog_publish.desired_state.held_back(pending, sku, name))
            quantity, want = actual.get((sku, location_id)), desired.get((sku, name))
            if quantity is None or want is None or want - slack <= quantity <= want + slack:
                continue
            if sku in in_flight["publish_inventory"]:
                result.in_flight += 1
            elif (sku, location_id) in seen and abs(quantity - seen[(sku, location_id)]) <= slack:
                result.inventory_behind += 1
                behind.add(sku)
            else:
                result.inventory_drift += 1
                level_fixes.append((sku, location_id, quantity))
    result.missing_in_store = len(gone)
    drifted = sorted(set(gone) | behind | {f["sku"] for f in variant_fixes} | {sku for sku, _, _ in level_fixes})
    result.sample = drifted[:10]
    log.info("catalog drift: %s (%d SKU(s) to look at)", result.drift, len(drifted))

    if not run.dry_run:
        with run.engine.begin() as conn:  # the published state says what the store really has
            for chunk in db.chunks(gone):
                conn.execute(delete(published_inventory).where(published_inventory.c.store == store.name,
                                                               published_inventory.c.sku.in_(chunk)))
                conn.execute(delete(published_variant).where(published_variant.c.store == store.name,
                                                             published_variant.c.sku.in_(chunk)))
            for fix in variant_fixes:
                conn.execute(published_variant.update().where(
                    published_variant.c.store == store.name, published_variant.c.sku == fix["sku"],
                ).values(**{k: v for k, v in fix.items() if k != "sku"}, published_at=run.now, run_id=run.run_id))
            db.upsert(conn, published_inventory, [
                {"store": store.name, "sku": sku, "location_key": location, "quantity": quantity,
                 "published_at": read_at, "store_confirmed_at": store_read_at, "run_id": run.run_id}
                for sku, location, quantity in level_fixes])
    if drifted:
        run.skus = drifted
        for step in catalog_publish.STEPS:
            result.repaired[step] = getattr(catalog_publish, step)(run).applied
    result.seconds = time.monotonic() - started
    return result


def _stage_recent_orders(store: Store, engine: Engine, *, since: dt.datetime, until: dt.datetime,
                         run_id: str | None, now: dt.datetime) -> None:
    """Stage the orders of ``[since, until)``, so that every sale the store has counted is pending."""
    extracted = orders_extract.extract_recent_orders(store, engine, window=Window(since, until), run_id=run_id,
                                                     now=now)
    orders_stage.stage_orders(engine, store=store.name, batch_id=extracted.batch_id, currency=_currency(store),
                              run_id=run_id, now=now, cursor_at=None)


def _currency(store: Store) -> str:
    return store.capabilities().currency


@dataclass
class OrderGaps:
    orders_in_store: int = 0
    live_orders: int = 0
    in_erp: int = 0
    missing_in_erp: int = 0  # found missing before the repair
    in_flight: int = 0  # the ERP lacks them, but the order flow is on its way (:mod:`.in_flight`): left to it
    ledger_without_sale: int = 0  # the ledger said booked, the ERP had no sale: reopened
    duplicates: int = 0  # ERP sales with a store order's number but not its external key
    booked: int = 0  # created by this reconciliation
    still_missing: int = 0
    missing_sample: list[str] = field(default_factory=list)  # order names, never customer data
    duplicate_sample: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def gaps(self) -> dict[str, int]:
        return {"missing_in_erp": self.still_missing, "duplicates": self.duplicates}

    def as_counts(self) -> dict[str, Any]:
        counts = dict(self.__dict__)
        counts["seconds"] = round(self.seconds, 3)
        return counts


def reconcile_orders(store: Store, erp: TrytonClient, engine: Engine, *, config: OrdersConfig, since: dt.datetime,
                     until: dt.datetime, run_id: str | None, now: dt.datetime,
                     catalog: CatalogConfig | None = None, share_with: Sequence[str] = (),
                     patience: dt.timedelta = in_flight.DEFAULT_PATIENCE,
                     flow_lag: dt.timedelta = orders_extract.DEFAULT_LAG) -> OrderGaps:
    """Compare the store's orders changed in ``[since, until)`` with the ERP, book the missing ones
    (``share_with``: the other stores, told which SKUs the orders staged here hold back). Orders the order
    flow is on its way to book, for up to ``patience`` after their last change, are left to it
    (:mod:`.in_flight`; ``flow_lag``: how far before its cursor each of its reads starts).

    The store is read as stamps (id, number, cancelled: ~1 point of its rate limit per order, where a
    whole order costs ~250), and only the orders the ERP lacks are read whole, staged and booked: days of
    orders are compared in minutes, not hours."""
    started = time.monotonic()
    result = OrderGaps()
    window = Window(since, until)
    stamps = [stamp for page in store.order_stamps(window) for stamp in page]
    result.orders_in_store = len(stamps)
    live = {stamp.order_id: stamp for stamp in stamps if not stamp.cancelled}
    result.live_orders = len(live)
    sales = erp.sales_by_web_id(live)
    lacking = sorted(set(live) - set(sales))
    with engine.connect() as conn:
        states = _ledger_states(conn, store.name, lacking)
        flow = in_flight.FlowPosition(
            cursor=db.get_cursor(conn, orders_extract.SOURCE, orders_extract.ENTITY, store=store.name),
            staged=_staged(conn, store.name, lacking),
            settled={order_id for order_id, (state, _) in states.items() if state != "pending"},
            overlap=flow_lag)
    missing, flying = in_flight.split_in_flight([live[o] for o in lacking], flow, until=until, patience=patience)
    recorded = [(order_id, *states[order_id]) for order_id in missing
                if order_id in states and states[order_id][0] in ledger.DONE]
    result.in_erp, result.missing_in_erp, result.in_flight = len(sales), len(missing), len(flying)
    result.missing_sample = [live[m].name for m in missing[:10]]
    if flying:
        log.info("%d order(s) the ERP lacks are the order flow's to book (changed within %s, not yet booked "
                 "by it): left to it", len(flying), patience)
    # Booked once, gone from the ERP since (a draft deleted there): book it again. The ERP is asked again
    # first, and a row is reopened only if it is still as read: the order flow, running beside this, may
    # have booked it since our first read (its sale then exists, or its row moved on).
    still_gone = set(missing) - set(erp.sales_by_web_id(o for o, _, _ in recorded)) if recorded else set()
    reopened = 0
    with engine.begin() as conn:
        for order_id, state, sale_id in recorded:
            if order_id in still_gone:
                reopened += ledger.reopen(conn, store=store.name, order_id=order_id, state=state, erp_sale_id=sale_id)
    if reopened:
        log.warning("%d order(s) recorded as booked have no sale in the ERP: reopened", reopened)
    result.ledger_without_sale = reopened
    result.duplicates, result.duplicate_sample = _duplicates(erp, {s.name: order_id for order_id, s in live.items()})
    if missing:
        extracted = orders_extract.extract_order_ids(store, engine, missing, window=window, run_id=run_id, now=now)
        orders_stage.stage_orders(engine, store=store.name, batch_id=extracted.batch_id, currency=_currency(store),
                                  run_id=run_id, now=now, cursor_at=None, share_with=share_with)
        result.booked = ingest_orders(erp, engine, store=store.name, config=config, run_id=run_id, now=now,
                                      catalog=catalog, only=missing).created
    result.still_missing = len(set(missing) - set(erp.sales_by_web_id(missing))) if missing else 0
    result.seconds = time.monotonic() - started
    log.info("order gaps: %s", result.as_counts())
    return result


def _ledger_states(conn: Connection, store: str, order_ids: Sequence[str]) -> dict[str, tuple[str, int | None]]:
    """Store order id -> (ledger state, ERP sale id) of those of ``order_ids`` with a ledger row."""
    found: dict[str, tuple[str, int | None]] = {}
    for chunk in db.chunks(order_ids):
        found.update((order_id, (state, sale_id)) for order_id, state, sale_id in conn.execute(
            select(order_ledger.c.store_order_id, order_ledger.c.state, order_ledger.c.erp_sale_id).where(
                order_ledger.c.store == store, order_ledger.c.store_order_id.in_(chunk))))
    return found


def _staged(conn: Connection, store: str, order_ids: Sequence[str]) -> set[str]:
    """Those of ``order_ids`` staged (read by the order flow or an event)."""
    found: set[str] = set()
    for chunk in db.chunks(order_ids):
        found.update(conn.execute(select(stg_order.c.store_order_id).where(
            stg_order.c.store == store, stg_order.c.store_order_id.in_(chunk))).scalars())
    return found


def _duplicates(erp: TrytonClient, names: dict[str, str]) -> tuple[int, list[str]]:
    """ERP sales whose reference is a store order's number but whose external key is not that order."""
    found: list[str] = []
    wanted = sorted(names)
    for start in range(0, len(wanted), erp.page_size):
        rows = erp.model("sale.sale", "search_read", [("reference", "in", wanted[start:start + erp.page_size])],
                         0, None, None, ["reference", "web_id", "web_shop", "state"])
        found.extend(row["reference"] for row in rows
                     if row["state"] != "cancelled" and row.get("web_id") != names[row["reference"]])
    return len(found), found[:10]
