"""Publish the difference between the desired store state and what the store was last told.

Three steps, each safe to rerun on its own, each touching only the SKUs staging marked due for it
(:mod:`erpsync.sync.state.publish_due`: whatever run staged them, a backfill included), the rows whose
retry is due and reconciliation's drift, or everything on a full refresh:

- content: create new products (with their prices and stock), update changed content and variant lists,
  archive templates the ERP archived (productSet);
- prices: changed prices and compare-at prices, grouped per product (productVariantsBulkUpdate);
- inventory: changed availability, 250 per call (worked out 1,000 SKUs at a time: the first call goes out
  while the rest is still to be worked out), with an idempotency key derived from the levels it sets,
  and compare-and-swap against the quantity last seen. On a stale compare (a sale happened) the store's
  quantity is read again and the sale is taken off what we write: we never overwrite a sale.

The published state (``published_variant``, ``published_inventory``) is written only for what the store
confirmed, so a partial failure never leaves it claiming what the store does not have; failed rows go
to the row error queue and are retried by later runs with backoff. A step settles the marks it read
when it has looked at every one of them (not on a dry run, not when it stopped halfway).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, delete, or_, select

from erpsync.common.progress import Progress
from erpsync.quality.guardrails import Hold, catalog_shrink, price_swings
from erpsync.store.errors import StoreAuthError, StoreError, StoreTransportError
from erpsync.store.interface import Store
from erpsync.store.records import (
    InventoryChange,
    PriceChange,
    PriceOutcome,
    ProductDraft,
    ProductOutcome,
    StoreVariant,
    VariantDraft,
)
from erpsync.sync.catalog import desired as desired_state
from erpsync.sync.catalog import cas, holds
from erpsync.sync.catalog.config import CatalogConfig
from erpsync.sync.orders.restocks import edited_lines, restocked_lines, returned_lines
from erpsync.sync.state import publish_due, reviews
from erpsync.sync.state.row_errors import HELD, RowFailure, due_keys, record_failures, resolve
from erpsync.warehouse import db
from erpsync.warehouse.schema import published_inventory, published_variant, stg_order, stg_order_line

log = logging.getLogger(__name__)

FLOW = "catalog"
PREPARE_SKUS = 1000  # SKUs whose inventory levels are worked out per transaction
CONTENT_BATCH = 50  # productSet answers recorded per transaction
DISCOVER_CHUNK = 500  # SKUs per discovery task (the store searches them 50 at a time)
STEPS = ("publish_content", "publish_prices", "publish_inventory")  # in this order: ids come from content


@dataclass
class PublishRun:
    """What one publish step works with."""

    store: Store
    engine: Engine
    config: CatalogConfig
    run_id: str | None
    now: dt.datetime
    skus: Sequence[str] = ()  # more SKUs to look at (reconciliation's drift)
    # The price guardrail measures a move from what we published; reconciliation, which first records the
    # store's drifted price as published, gives the price we had published here.
    guardrail_base: dict[str, Decimal] = field(default_factory=dict)
    full: bool = False
    dry_run: bool = False
    approve_held: bool = False
    # ERP warehouse code -> name, to map warehouses onto store locations.
    warehouses: dict[str, str] = field(default_factory=dict)
    # The store's place among the stores selling the same stock (its share of the last units).
    channel: desired_state.ChannelShare = field(default_factory=desired_state.ChannelShare)
    # The store's own ERP web shop when it is not erp_default's (its assortment and price list: stg_offer).
    web_shop: str | None = None
    # The part of a window each order extract of this store reads again ([erpsync] order_lag_seconds): a
    # level's hold (erpsync.sync.catalog.holds) is over once the order staging has read that far past it.
    order_lag: dt.timedelta = dt.timedelta(seconds=120)


@dataclass
class PublishResult:
    step: str
    considered: int = 0
    changed: int = 0
    applied: int = 0
    failed: int = 0
    unreachable: int = 0  # of the failed: the store could not be reached for them (after the client's retries)
    discovered: int = 0
    recomputed: int = 0  # inventory: writes recomputed after a concurrent sale
    held: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False
    seconds: float = 0.0
    store_calls: dict[str, Any] = field(default_factory=dict)
    marks: dict[str, str] = field(default_factory=dict, repr=False)  # the due marks read (SKU -> token)

    def as_counts(self) -> dict[str, Any]:
        counts = {k: v for k, v in self.__dict__.items() if k not in ("step", "marks")}
        counts["marked"] = len(self.marks)
        counts["seconds"] = round(self.seconds, 3)
        return counts


# -- shared -----------------------------------------------------------------------------------------

def _skus_to_publish(conn: Connection, run: PublishRun, result: PublishResult) -> set[str] | None:
    """What the step looks at (None: every SKU, a full refresh); the marks it read go in ``result``."""
    result.marks = publish_due.due(conn, store=run.store.name, step=result.step)
    if run.full:
        return None
    skus = set(result.marks) | set(run.skus)
    skus.update(due_keys(conn, store=run.store.name, flow=FLOW, entity="variant", operation=result.step,
                         now=run.now))
    return skus


def _touched_products(conn: Connection, run: PublishRun, result: PublishResult
                      ) -> tuple[set[str] | None, list[desired_state.DesiredProduct]] | None:
    """The SKUs to publish and the desired products (whole templates) they belong to; None: nothing."""
    skus = _skus_to_publish(conn, run, result)
    if skus is not None and not skus:
        return None
    templates = None if skus is None else desired_state.template_ids_of(conn, skus)
    return skus, desired_state.desired_products(conn, templates, web_shop=run.web_shop)


def published_rows(conn: Connection, store: str, skus: Iterable[str] | None) -> dict[str, dict[str, Any]]:
    query = select(published_variant).where(published_variant.c.store == store)
    if skus is None:
        return {row["sku"]: dict(row) for row in conn.execute(query).mappings()}
    found: dict[str, dict[str, Any]] = {}
    for chunk in db.chunks(sorted(set(skus))):
        found.update((row["sku"], dict(row)) for row in conn.execute(
            query.where(published_variant.c.sku.in_(chunk))).mappings())
    return found


def _record_variants(conn: Connection, run: PublishRun, rows: list[dict[str, Any]]) -> None:
    db.upsert(conn, published_variant, [
        {"store": run.store.name, "published_at": run.now, "run_id": run.run_id, **row} for row in rows
    ])


def _record_levels(conn: Connection, run: PublishRun, levels: Iterable[tuple[str, str, int]],
                   at: dt.datetime | None = None,
                   store_times: Mapping[tuple[str, str], dt.datetime | None] | None = None) -> None:
    """``at``: when we learnt the store had these quantities (our clock, for people); ``store_times``:
    per (SKU, location), when the store applied our write, or answered the read we take as the baseline,
    by the store's clock. Store orders created after that are sales the store made since (see
    ``_known_sales``); a level without it (set by a call that does not say) knows of no sale, which
    undersells and never oversells."""
    db.upsert(conn, published_inventory, [
        {"store": run.store.name, "sku": sku, "location_key": location, "quantity": quantity,
         "published_at": at or run.now, "store_confirmed_at": (store_times or {}).get((sku, location)),
         "run_id": run.run_id}
        for sku, location, quantity in levels
    ])


def _finish(result: PublishResult, run: PublishRun, started: float) -> PublishResult:
    """The step looked at everything it read as due: settle those marks (what failed is in the row error
    queue, which retries it), log its figures, and fail it when the store could not be reached at all."""
    if result.marks and not run.dry_run:
        with run.engine.begin() as conn:
            publish_due.settle(conn, store=run.store.name, step=result.step, marks=result.marks)
    result.seconds = time.monotonic() - started
    result.store_calls = run.store.usage()
    for hold in result.held:
        log.warning("held %s: %s", result.step, hold["reason"])
    log.info("%s: %s", result.step, result.as_counts())
    if result.unreachable and not result.applied:
        # Nothing went through and the store could not be reached: it is likely down. The rows are in the
        # error queue (later runs retry them); failing the task makes Airflow retry it now and alert if
        # it keeps failing. Rows the store refused (a product it rejects) never fail the task.
        raise StoreTransportError(f"{result.step}: the store could not be reached for {result.unreachable} "
                                  "change(s) and none went through; they are queued in row_error and retried "
                                  "by later runs (see the task log for the errors)")
    if result.failed:
        log.warning("%s: %d change(s) failed and are queued for retry in row_error", result.step, result.failed)
    return result


def _count_failures(result: PublishResult, failures: Sequence[RowFailure]) -> None:
    result.failed += len(failures)
    result.unreachable += sum(1 for f in failures if _unreachable(f.kind))


def _unreachable(kind: str) -> bool:
    """A failure of this kind means the store could not be reached (after the client's retries)."""
    return kind == StoreTransportError.__name__


def _waits(run: PublishRun) -> str:
    usage = run.store.usage()
    return f"{usage['requests']} store calls, {usage['rate_wait_s']}s waiting for the rate limit"


def _hold(conn: Connection, run: PublishRun, operation: str, held: dict[str, dict[str, str]], reason: str) -> None:
    """Queue what a guardrail held, with what each SKU holds back (its payload: from what to what): every
    later run looks at it again until it is approved (DAG review_held) or fixed in the ERP."""
    record_failures(conn, store=run.store.name, flow=FLOW, entity="variant", operation=operation,
                    run_id=run.run_id, now=run.now,
                    failures=[RowFailure(sku, HELD, reason, payload) for sku, payload in sorted(held.items())])


def _approved(run: PublishRun, operation: str, subjects: dict[str, str]) -> set[str]:
    """Of these held SKUs (-> the value each would publish), those a person approved for that very value."""
    with run.engine.connect() as conn:
        decisions = reviews.decisions_for(conn, store=run.store.name, flow=FLOW, entity="variant",
                                          operation=operation, keys=subjects)
    return reviews.approved_keys(subjects, decisions)


def _price_hold(run: PublishRun, changes: dict[str, tuple[dict[str, Any], Any]]) -> Hold | None:
    """The price guardrail over these changes, less the moves a person approved (to that very price)."""
    def swings(approved: set[str]) -> Hold | None:
        return price_swings(((sku, run.guardrail_base.get(sku, row.get("price")), v.price)
                             for sku, (row, v) in changes.items() if sku not in approved),
                            run.config.max_price_change_share)

    hold = swings(set())
    if hold is None:
        return None
    approved = _approved(run, "publish_prices", {sku: hold.details[sku]["to"] for sku in hold.keys})
    return swings(approved) if approved else hold


def _shrink_hold(run: PublishRun, drafts: list, unpublishing: list[str]) -> Hold | None:
    """The catalog-shrink guardrail, less the products whose every variant a person approved unpublishing."""
    active = _active_product_count(run)

    def shrink(approved: set[str]) -> Hold | None:
        return catalog_shrink(active, [key for key in unpublishing if key not in approved],
                              run.config.max_catalog_shrink_share)

    hold = shrink(set())
    if hold is None:
        return None
    skus_of = {p.key: [v.sku for v in p.variants] for p, _ in drafts if p.key in set(hold.keys)}
    approved_skus = _approved(run, "publish_content", {sku: "unpublish" for skus in skus_of.values() for sku in skus})
    approved = {key for key, skus in skus_of.items() if skus and set(skus) <= approved_skus}
    return shrink(approved) if approved else hold


def _resolve_settled(conn: Connection, run: PublishRun, operation: str, skus: Iterable[str]) -> None:
    """Rows the store no longer needs a change for (published by another step, fixed in the ERP, a hold
    the ERP took back) leave the error queue."""
    if not run.dry_run:
        resolve(conn, store=run.store.name, flow=FLOW, entity="variant", operation=operation, keys=skus,
                now=run.now)


def discover(conn: Connection, run: PublishRun, skus: Iterable[str], locations: dict[str, str]) -> int:
    """Adopt what the store already has for SKUs we never published (a store set up before the
    integration, or a publish whose answer was lost): its ids, prices and stock become the published
    state, so that the diff against it is what the store really needs."""
    missing = sorted(set(skus) - set(published_rows(conn, run.store.name, skus)))
    if not missing:
        return 0
    found = _variants_in_store(run, missing)
    if not found:
        return 0
    levels = run.store.inventory_levels([v.inventory_item_id for v in found], list(locations.values()))
    read_at = dt.datetime.now(dt.UTC)
    stamp = run.store.server_clock()  # the store's time of its answer: no earlier than what it read
    by_item = {v.inventory_item_id: v.sku for v in found}
    if not run.dry_run:
        _record_variants(conn, run, [
            {"sku": v.sku, "store_product_id": v.product_id, "store_variant_id": v.variant_id,
             "store_inventory_item_id": v.inventory_item_id, "price": v.price, "compare_at_price": v.compare_at_price,
             "status": v.product_status, "content_hash": None}
            for v in found
        ])
        read = {(by_item[lvl.inventory_item_id], lvl.location_id): lvl.available for lvl in levels}
        _record_levels(conn, run, [(sku, loc, qty) for (sku, loc), qty in read.items()], at=read_at,
                       store_times=dict.fromkeys(read, stamp))
    log.info("discovered %d variant(s) already in the store", len(found))
    return len(found)


def _variants_in_store(run: PublishRun, skus: list[str]) -> list[StoreVariant]:
    """The store's variants with these SKUs, searched ``content_concurrency`` chunks at a time (a first
    publish of 100,000 SKUs asks ~2,000 searches before it creates anything)."""
    chunks = [skus[start:start + DISCOVER_CHUNK] for start in range(0, len(skus), DISCOVER_CHUNK)]

    def search(chunk: list[str]) -> list[StoreVariant]:
        return [v for page in run.store.iter_variants(skus=chunk) for v in page]

    workers = min(run.config.content_concurrency, len(chunks))
    progress = Progress(log, "discover SKUs in the store", total=len(skus))
    variants: list[StoreVariant] = []
    with ThreadPoolExecutor(workers, thread_name_prefix="discover") as pool:
        for chunk, found in zip(chunks, pool.map(search, chunks), strict=True):
            variants.extend(found)
            progress.add(len(chunk))
    progress.finish()
    return variants


def store_locations(run: PublishRun) -> dict[str, str]:
    """Store location name -> id, for the locations the configuration maps ERP warehouses to."""
    mapping = run.config.mapping(run.warehouses)
    by_name = {loc.name: loc.id for loc in run.store.locations() if loc.active}
    unknown = sorted(set(mapping) - set(by_name))
    if unknown:
        raise ValueError(f"store location(s) {unknown} (from the catalog mapping) do not exist in the store "
                         f"{run.store.name}; it has {sorted(by_name)}: fix the Variable erpsync_catalog")
    return {name: by_name[name] for name in mapping}


# -- content ----------------------------------------------------------------------------------------

def publish_content(run: PublishRun) -> PublishResult:
    started = time.monotonic()
    result = PublishResult("publish_content", dry_run=run.dry_run)
    with run.engine.begin() as conn:
        touched = _touched_products(conn, run, result)
        if touched is None:
            return _finish(result, run, started)
        _, products = touched
        all_skus = [v.sku for p in products for v in p.variants]
        locations = store_locations(run)
        result.discovered = discover(conn, run, [v.sku for p in products for v in p.active_variants], locations)
        published = published_rows(conn, run.store.name, all_skus)
        availability = desired_levels(conn, run, [v.sku for p in products for v in p.active_variants])
    result.considered = len(products)

    drafts = [d for d in (_draft(p, published, run.config, locations, availability) for p in products) if d]
    unpublishing = [p.key for p, draft in drafts if draft.status == "ARCHIVED" or _removes_variants(p, published)]
    hold = None if run.approve_held else _shrink_hold(run, drafts, unpublishing)
    held: dict[str, dict[str, str]] = {}  # SKU -> what is held back
    if hold:
        result.held.append(hold.as_dict())
        held = {v.sku: {**hold.details[p.key], "product": p.key}
                for p, _ in drafts if p.key in set(hold.keys) for v in p.variants}
        drafts = [(p, d) for p, d in drafts if p.key not in set(hold.keys)]
    result.changed = len(drafts)
    with run.engine.begin() as conn:
        if held and not run.dry_run:
            _hold(conn, run, "publish_content", held, hold.reason)
        drafted = {v.sku for p, _ in drafts for v in p.variants}
        _resolve_settled(conn, run, "publish_content", set(all_skus) - drafted - set(held))
    if run.dry_run:
        return _finish(result, run, started)

    progress = Progress(log, "publish content", detail=lambda: _waits(run), total=len(drafts))
    # Several productSet calls in flight (the store answers each in 0.1-1 s; the cost bucket still paces
    # them), the answers recorded a batch per transaction while the store works on the next batch.
    with ThreadPoolExecutor(run.config.content_concurrency, thread_name_prefix="publish-content") as pool:
        answered: Answered = []
        for start in range(0, len(drafts), CONTENT_BATCH):
            calls = [(product, draft, pool.submit(_set_product, run.store, draft))
                     for product, draft in drafts[start:start + CONTENT_BATCH]]
            _record_content(run, result, answered, published)
            progress.add(len(answered))
            answered, error = _answers(calls)
            if error is not None:
                _record_content(run, result, answered, published)  # what the store did is never lost
                raise error
        _record_content(run, result, answered, published)
        progress.add(len(answered))
    progress.finish()
    return _finish(result, run, started)


REFUSED = "ProductSetRefused"  # the kind of a product the store answered with userErrors


def _set_product(store: Store, draft: ProductDraft) -> tuple[ProductOutcome, str]:
    """The store's answer and, when it failed, the failure's kind. Refused credentials stop the step."""
    try:
        return store.set_product(draft), REFUSED
    except StoreAuthError:
        raise
    except StoreError as error:
        return ProductOutcome(draft, None, error=f"{type(error).__name__}: {error}"), type(error).__name__


# (desired product, its draft, the store's answer, the failure's kind when it failed)
Answered = list[tuple[Any, ProductDraft, ProductOutcome, str]]


def _answers(calls: list[tuple[Any, ProductDraft, Future]]) -> tuple[Answered, BaseException | None]:
    """The outcomes of a batch's calls, in order, and the first unexpected error (after every call ended)."""
    answered, first_error = [], None
    for product, draft, call in calls:
        try:
            answered.append((product, draft, *call.result()))
        except BaseException as error:  # noqa: BLE001 - re-raised by the caller once the rest is recorded
            first_error = first_error or error
    return answered, first_error


def _record_content(run: PublishRun, result: PublishResult, answered: Answered,
                    published: dict[str, dict[str, Any]]) -> None:
    """Record a batch of productSet outcomes in one transaction: what the store confirmed as published,
    the rest as row errors."""
    if not answered:
        return
    with run.engine.begin() as conn:
        rows: list[dict[str, Any]] = []
        levels: list[tuple[str, str, int]] = []
        store_times: dict[tuple[str, str], dt.datetime | None] = {}
        settled: list[str] = []
        failures: list[RowFailure] = []
        for product, draft, outcome, kind in answered:
            if outcome.applied:
                first_level = len(levels)
                _product_rows(conn, run, product, draft, outcome, published, rows, levels)
                store_times.update(((sku, loc), outcome.confirmed_at) for sku, loc, _ in levels[first_level:])
                settled.extend(v.sku for v in product.variants)
                result.applied += 1
            else:
                failures.extend(RowFailure(v.sku, kind, outcome.error or "refused", {"product": product.key})
                                for v in product.variants)
                result.failed += 1
                result.unreachable += _unreachable(kind)
        _record_variants(conn, run, rows)
        _record_levels(conn, run, levels, store_times=store_times)
        if settled:
            resolve(conn, store=run.store.name, flow=FLOW, entity="variant", operation="publish_content",
                    keys=settled, now=run.now)
        if failures:
            record_failures(conn, store=run.store.name, flow=FLOW, entity="variant", operation="publish_content",
                            failures=failures, run_id=run.run_id, now=run.now)


def _active_product_count(run: PublishRun) -> int:
    with run.engine.connect() as conn:
        return len(set(conn.execute(
            select(published_variant.c.store_product_id).where(
                published_variant.c.store == run.store.name, published_variant.c.status == "ACTIVE")
        ).scalars()))


def _removes_variants(product: desired_state.DesiredProduct, published: dict[str, dict[str, Any]]) -> bool:
    return any(not v.active and published.get(v.sku, {}).get("status") == "ACTIVE" for v in product.variants)


def _draft(product, published, config: CatalogConfig, locations: dict[str, str],
           availability: dict[tuple[str, str], int]) -> tuple[Any, ProductDraft] | None:
    """The productSet the store needs for ``product``, or None when the store already has it."""
    rows = {v.sku: published[v.sku] for v in product.variants if v.sku in published}
    product_id = next((r["store_product_id"] for r in rows.values() if r.get("store_product_id")), None)
    if product_id is None and not product.active_variants:
        return None  # never published and nothing to sell
    # Variants the store has (selling or archived with their product), and those it sells.
    known = {sku for sku, r in rows.items() if r.get("store_variant_id") and r.get("status") != "REMOVED"}
    selling = {sku for sku in known if rows[sku].get("status") == "ACTIVE"}
    wanted = {v.sku for v in product.active_variants}
    if product_id is not None and all(rows[sku].get("content_hash") == product.content_hash for sku in known) and (
        (product.status == "ARCHIVED" and not selling) or (product.status == "ACTIVE" and selling == wanted == known)
    ):
        return None
    variants = None  # archiving keeps the variants: the product may come back
    if product.status == "ACTIVE":
        variants = tuple(_variant_draft(v, rows.get(v.sku) if v.sku in known else None, locations, availability)
                         for v in product.active_variants)
    return product, ProductDraft(
        product_id=product_id, title=product.title, description_html=product.description_html,
        status=product.status, image_urls=product.image_urls, option_name=config.option_name, variants=variants,
    )


def _variant_draft(variant, row: dict[str, Any] | None, locations: dict[str, str],
                   availability: dict[tuple[str, str], int]) -> VariantDraft:
    if row is None:  # a new variant: created with its prices and its stock
        return VariantDraft(variant.sku, variant.option, variant.price, variant.compare_at_price, None, tuple(
            (location_id, availability.get((variant.sku, name), 0)) for name, location_id in locations.items()))
    # Prices and stock of a variant the store has are the price and inventory steps' business (with their
    # guardrail and compare-and-swap): productSet repeats what was published.
    price = row["price"] if row.get("price") is not None else variant.price
    compare_at = row["compare_at_price"] if row.get("price") is not None else variant.compare_at_price
    return VariantDraft(variant.sku, variant.option, price, compare_at, row["store_variant_id"])


def _product_rows(conn: Connection, run: PublishRun, product, draft: ProductDraft, outcome, published,
                  rows: list[dict[str, Any]], new_levels: list[tuple[str, str, int]]) -> None:
    """Add what the store confirmed for ``product`` to ``rows`` (published_variant) and ``new_levels``
    (published_inventory); forget the inventory of variants productSet removed."""
    stored = {v.sku: v for v in outcome.variants}
    for variant in product.variants:
        previous = published.get(variant.sku, {})
        if draft.variants is None:  # archived: the variants stay in the store, the product is not for sale
            if previous.get("store_variant_id"):
                rows.append({**_ids(previous), "sku": variant.sku, "price": previous.get("price"),
                             "compare_at_price": previous.get("compare_at_price"), "status": draft.status,
                             "content_hash": product.content_hash})
            continue
        sent = next((v for v in draft.variants if v.sku == variant.sku), None)
        if sent is None:  # removed from the product by productSet
            if previous:
                rows.append({"sku": variant.sku, "store_product_id": None, "store_variant_id": None,
                             "store_inventory_item_id": None, "price": None, "compare_at_price": None,
                             "status": "REMOVED", "content_hash": product.content_hash})
                conn.execute(delete(published_inventory).where(
                    published_inventory.c.store == run.store.name, published_inventory.c.sku == variant.sku))
            continue
        ids = stored.get(variant.sku)
        if ids is None:
            continue  # the store did not return it: leave it unpublished, the next run retries
        rows.append({"sku": variant.sku, "store_product_id": outcome.product_id, "store_variant_id": ids.variant_id,
                     "store_inventory_item_id": ids.inventory_item_id, "price": sent.price,
                     "compare_at_price": sent.compare_at_price, "status": draft.status,
                     "content_hash": product.content_hash})
        new_levels.extend((variant.sku, location, quantity) for location, quantity in sent.inventory)


def _ids(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in ("store_product_id", "store_variant_id", "store_inventory_item_id")}


# -- prices -----------------------------------------------------------------------------------------

def publish_prices(run: PublishRun) -> PublishResult:
    started = time.monotonic()
    result = PublishResult("publish_prices", dry_run=run.dry_run)
    with run.engine.connect() as conn:
        touched = _touched_products(conn, run, result)
        if touched is None:
            return _finish(result, run, started)
        skus, products = touched
        variants = {v.sku: v for p in products for v in p.active_variants if skus is None or v.sku in skus}
        published = published_rows(conn, run.store.name, variants)
    result.considered = len(variants)
    changes = {
        sku: (published[sku], v) for sku, v in variants.items()
        if sku in published and published[sku].get("status") == "ACTIVE" and published[sku].get("store_variant_id")
        and (published[sku].get("price") != v.price or published[sku].get("compare_at_price") != v.compare_at_price)
    }
    hold = None if run.approve_held else _price_hold(run, changes)
    if hold:
        result.held.append(hold.as_dict())
        changes = {sku: change for sku, change in changes.items() if sku not in set(hold.keys)}
    result.changed = len(changes)
    with run.engine.begin() as conn:
        if hold and not run.dry_run:
            _hold(conn, run, "publish_prices", hold.details, hold.reason)
        _resolve_settled(conn, run, "publish_prices", set(variants) - set(changes) - set(hold.keys if hold else ()))
    if run.dry_run or not changes:
        return _finish(result, run, started)

    by_product: dict[str, list[tuple[str, PriceChange]]] = defaultdict(list)
    for sku, (row, v) in sorted(changes.items()):
        by_product[row["store_product_id"]].append((sku, PriceChange(row["store_variant_id"], v.price, v.compare_at_price)))
    progress = Progress(log, "publish prices", detail=lambda: _waits(run), total=len(changes))
    for product_id, items in by_product.items():
        kind = "PriceRefused"
        try:
            outcomes = run.store.update_prices(product_id, [change for _, change in items])
        except StoreAuthError:
            raise
        except StoreError as error:
            kind = type(error).__name__
            outcomes = [PriceOutcome(change, applied=False, error=f"{kind}: {error}") for _, change in items]
        applied = [(sku, o.change) for (sku, _), o in zip(items, outcomes, strict=True) if o.applied]
        failed = [RowFailure(sku, kind, o.error or "refused") for (sku, _), o in zip(items, outcomes, strict=True)
                  if not o.applied]
        with run.engine.begin() as conn:
            for sku, change in applied:
                conn.execute(published_variant.update().where(
                    published_variant.c.store == run.store.name, published_variant.c.sku == sku
                ).values(price=change.price, compare_at_price=change.compare_at_price, published_at=run.now,
                         run_id=run.run_id))
            resolve(conn, store=run.store.name, flow=FLOW, entity="variant", operation="publish_prices",
                    keys=[s for s, _ in applied], now=run.now)
            record_failures(conn, store=run.store.name, flow=FLOW, entity="variant", operation="publish_prices",
                            failures=failed, run_id=run.run_id, now=run.now)
        result.applied += len(applied)
        _count_failures(result, failed)
        progress.add(len(items))
    progress.finish()
    return _finish(result, run, started)


# -- inventory --------------------------------------------------------------------------------------

@dataclass
class _Level:
    sku: str
    location_id: str
    item_id: str
    desired: int  # from the ERP
    expected: int  # what the store had when we last looked
    location: str = ""  # the store location's name (what orders and the catalog mapping name)
    confirmed_at: dt.datetime | None = None  # when the store applied our write of it (the store's clock)
    hold: cas.Hold | None = None  # units stale compares took off that no staged order accounted for
    held: int = 0  # of them, what ``desired`` keeps off now
    rehold: bool = False  # a stale compare changed ``hold``: recorded with the write


def desired_levels(conn: Connection, run: PublishRun, skus: Iterable[str]) -> dict[tuple[str, str], int]:
    skus = list(skus)
    pending = desired_state.pending_quantities(conn, run.store.name, skus)
    levels = desired_state.desired_availability(
        conn, skus, mapping=run.config.mapping(run.warehouses), config=run.config, pending=pending)
    return {(sku, location): desired_state.channel_share(units, sku, run.channel, run.config.split_stock_at)
            for (sku, location), units in levels.items()}


def publish_inventory(run: PublishRun) -> PublishResult:
    started = time.monotonic()
    result = PublishResult("publish_inventory", dry_run=run.dry_run)
    with run.engine.begin() as conn:
        skus = _skus_to_publish(conn, run, result)
        if skus is not None and not skus:
            return _finish(result, run, started)  # nothing to do: not even a store read
        if skus is None:
            skus = desired_state.all_skus(conn)
    locations = store_locations(run)
    progress = Progress(log, "publish inventory (SKUs looked at)", detail=lambda: _waits(run),
                        total=len(skus))
    for number, batch in enumerate(_changed_levels(run, sorted(skus), locations, result, progress)):
        if not run.dry_run:
            _write_levels(run, result, batch, number)
    progress.finish()
    return _finish(result, run, started)


def _changed_levels(run: PublishRun, skus: Sequence[str], locations: dict[str, str], result: PublishResult,
                    progress: Progress) -> Iterator[list[_Level]]:
    """The changed levels, a call's worth (the store's ``inventory_batch``) at a time, worked out a chunk of SKUs at a time: the
    first write goes out after one chunk, not after the whole catalog, and the next chunks are worked
    out while the cost bucket refills."""
    ready: list[_Level] = []
    batch = run.store.capabilities().inventory_batch
    for chunk in db.chunks(skus, PREPARE_SKUS):
        ready.extend(_inventory_changes(run, chunk, locations, result))
        progress.add(len(chunk))
        while len(ready) >= batch:
            yield ready[:batch]
            ready = ready[batch:]
    if ready:
        yield ready


def _inventory_changes(run: PublishRun, skus: Sequence[str], locations: dict[str, str],
                       result: PublishResult) -> list[_Level]:
    """The levels of ``skus`` that differ from what the store was last told (counted in ``result``); the
    others leave the error queue."""
    with run.engine.begin() as conn:
        published = {sku: row for sku, row in published_rows(conn, run.store.name, skus).items()
                     if row.get("status") == "ACTIVE" and row.get("store_inventory_item_id")}
        availability = desired_levels(conn, run, published)
        seen = published_levels(conn, run.store.name, published)
        unseen = [(sku, loc_id) for sku in published for loc_id in locations.values() if (sku, loc_id) not in seen]
        if unseen:  # never published (e.g. adopted from the store): what the store has is the baseline
            read = _read_levels(run, published, unseen)
            read_at = dt.datetime.now(dt.UTC)
            stamp = run.store.server_clock()  # the store's time of its answer: no earlier than what it read
            seen.update(read)
            if not run.dry_run:
                _record_levels(conn, run, [(sku, loc, qty) for (sku, loc), qty in read.items()], at=read_at,
                               store_times=dict.fromkeys(read, stamp))
        holding, over = holds.in_force(conn, run.store.name, [
            (sku, loc_id, name) for sku in published for name, loc_id in locations.items()], run.order_lag)
        if not run.dry_run:
            holds.clear(conn, run.store.name, over)
            # Looked at again by each run while a hold is in force: once it is over, the level may rise.
            publish_due.mark(conn, stores=[run.store.name], steps=[publish_due.INVENTORY],
                             skus={sku for sku, _ in holding}, now=run.now)
        levels = []
        for sku in sorted(published):
            for name, loc_id in locations.items():
                if (sku, loc_id) in seen and availability.get((sku, name)) is not None:
                    hold, held = holding.get((sku, loc_id), (None, 0))
                    levels.append(_Level(sku, loc_id, published[sku]["store_inventory_item_id"],
                                         max(0, availability[(sku, name)] - held), seen[(sku, loc_id)],
                                         location=name, hold=hold, held=held))
        moved = _sold_since_write(conn, run.store.name, published, locations)
        changes = [level for level in levels
                   if level.desired != level.expected or (level.sku, level.location_id) in moved]
        _resolve_settled(conn, run, "publish_inventory", {lvl.sku for lvl in levels} - {lvl.sku for lvl in changes})
    result.considered += len(levels)
    result.changed += len(changes)
    return changes


def _sold_since_write(conn: Connection, store: str, skus: Iterable[str],
                      locations: dict[str, str]) -> set[tuple[str, str]]:
    """The levels (SKU, location id) the store may have moved since it applied our last write:
    - a staged order (not cancelled) created after that write, by the store's clock (the same whole second
      is in doubt, so counted), took the SKU from that location or from one the store did not say (an
      order split over several locations);
    - a refund made after that write restocked a line of the SKU of such an order (whenever the order was
      placed): the store put the units back on its shelf, and the ERP counts a shipped unit only when it
      receives the return, so its figure, and the desired level, may not move at all;
    - an order edit made after that write added units of the SKU to such an order (committed at once in
      the store, not held back by the desired level of an order the ERP counts) or removed some (put back
      in the store at once; never in the ERP when it had shipped them);
    - a return processed after that write restocked units of such an order's line (at whichever location
      the store took them back) or gave the SKU in exchange.

    They are written even where the desired level equals the one last written, as a compare-and-swap on
    it: the store's sale lowered the level, and when the ERP books the sale in the warehouse of another
    location (one ERP sale has one warehouse, a split order two locations), nothing else would ever
    bring it back to what its own warehouses allow. The stale compare reads the store's figure and
    :func:`cas.recompute` keeps the sales the desired level already holds back, and writes a restocked
    level back down to what the ERP allows; a level the sale did not touch is written as it is, which
    stamps it, so it is looked at once per sale. A level the store never stamped (recorded by a call
    that did not say when) may have moved with any sale: it is written once, and stamped by that write."""
    names = {location_id: name for name, location_id in locations.items()}
    moved: set[tuple[str, str]] = set()
    for chunk in db.chunks(sorted(set(skus))):
        for sku, location_id, confirmed, line_id, location, created, refunds, edits, returns in conn.execute(
            select(published_inventory.c.sku, published_inventory.c.location_key,
                   published_inventory.c.store_confirmed_at, stg_order_line.c.store_line_id,
                   stg_order.c.store_location, stg_order.c.store_created_at, stg_order.c.refunds,
                   stg_order.c.edits, stg_order.c.returns)
            .join(stg_order_line, (stg_order_line.c.store == published_inventory.c.store)
                  & (stg_order_line.c.sku == published_inventory.c.sku))
            .join(stg_order, (stg_order.c.store == stg_order_line.c.store)
                  & (stg_order.c.store_order_id == stg_order_line.c.store_order_id))
            .where(published_inventory.c.store == store, published_inventory.c.sku.in_(chunk),
                   stg_order.c.cancelled_at.is_(None),
                   # an order changed (a refund changes it) no earlier than the write; created is never later
                   or_(published_inventory.c.store_confirmed_at.is_(None),
                       stg_order.c.store_updated_at >= published_inventory.c.store_confirmed_at))
        ):
            if confirmed is not None and line_id in returned_lines(returns, since=confirmed):
                moved.add((sku, location_id))  # restocked where the store took it back, not where it sold
                continue
            if location is not None and location != names.get(location_id):
                continue
            if confirmed is None or created >= confirmed \
                    or line_id in restocked_lines(refunds, since=confirmed) \
                    or line_id in edited_lines(edits, since=confirmed):
                moved.add((sku, location_id))
    return moved


def _write_levels(run: PublishRun, result: PublishResult, batch: list[_Level], number: int) -> None:
    """One call's worth of levels: write them, record what the store confirmed, queue what it refused."""
    try:
        applied, recomputed, failures, doubtful = _set_with_retries(run, batch, number)
    except StoreAuthError:
        raise
    except StoreError as error:
        applied, recomputed, doubtful = [], 0, set()
        failures = [RowFailure(lvl.sku, type(error).__name__, str(error), {"location": lvl.location_id})
                    for lvl in batch]
    answered_at = dt.datetime.now(dt.UTC)  # the store has applied the writes by now
    with run.engine.begin() as conn:
        _record_levels(conn, run, [(lvl.sku, lvl.location_id, lvl.desired) for lvl in applied], at=answered_at,
                       store_times={(lvl.sku, lvl.location_id): lvl.confirmed_at for lvl in applied})
        holds.record(conn, run.store.name,
                     {(lvl.sku, lvl.location_id): lvl.hold for lvl in applied if lvl.rehold})
        if doubtful:  # written low on a doubt: looked at again by the next run, which knows the orders by then
            publish_due.mark(conn, stores=[run.store.name], steps=[publish_due.INVENTORY], skus=doubtful, now=run.now)
        resolve(conn, store=run.store.name, flow=FLOW, entity="variant", operation="publish_inventory",
                keys={lvl.sku for lvl in applied} - {f.key for f in failures}, now=run.now)
        record_failures(conn, store=run.store.name, flow=FLOW, entity="variant", operation="publish_inventory",
                        failures=failures, run_id=run.run_id, now=run.now)
    result.applied += len(applied)
    result.recomputed += recomputed
    _count_failures(result, failures)


def _set_with_retries(run: PublishRun, batch: list[_Level],
                      number: int) -> tuple[list[_Level], int, list[RowFailure], set[str]]:
    """Write a batch; after a stale compare, recompute the stale levels (:func:`cas.recompute`) and write
    again: a sale the store made since our last write is taken off unless the desired level already holds
    it back, and stock the store gained is never added. Known sales are the staged orders the store
    created after it applied our last write (both by the store's clock, :func:`_known_sales`). What is
    taken off for unknown ones stays held on the level (:func:`_hold_unknown`) until orders staged since
    account for it or the order staging has read past that read of the store. An order in doubt (of the
    second of our last write) counts as unknown, which undersells for a while and never oversells; so
    does every sale of a level the store never stamped. Their SKUs come back (the fourth value) to be
    marked due, so that a later run writes the level up to what the ERP allows once it knows, instead
    of leaving it low until a reconciliation."""
    applied: list[_Level] = []
    recomputed = 0
    known: dict[tuple[str, str], _Sales] | None = None
    doubtful: set[str] = set()
    lost: list[RowFailure] = []
    pending = list(batch)
    for attempt in range(1, run.config.stale_inventory_attempts + 1):
        key = _idempotency_key(run.run_id, attempt, pending)
        outcomes = run.store.set_inventory(
            [InventoryChange(lvl.item_id, lvl.location_id, lvl.desired, lvl.expected) for lvl in pending],
            idempotency_key=key,
        )
        stale = [lvl for lvl, o in zip(pending, outcomes, strict=True) if o.stale]
        if all(o.applied for o in outcomes):
            for lvl, outcome in zip(pending, outcomes, strict=True):
                lvl.confirmed_at = outcome.confirmed_at
            applied.extend(pending)
            return applied, recomputed, lost, doubtful
        if not stale:  # refused for another reason: no point in repeating it now
            return applied, recomputed, lost + [
                RowFailure(lvl.sku, "InventoryRefused", o.error or "refused", {"location": lvl.location_id})
                for lvl, o in zip(pending, outcomes, strict=True)
            ], doubtful
        now = {(lvl.inventory_item_id, lvl.location_id): lvl.available for lvl in run.store.inventory_levels(
            [lvl.item_id for lvl in stale], sorted({lvl.location_id for lvl in stale}))}
        read_at = run.store.server_clock()  # the store's time of that read: no earlier than what it read
        # (A store that does not say: ours. The hold it bounds lasts until the order staging, whose window
        # ends compare with the store's stamps, is the order lag past it: skew within that is harmless.)
        held_until = read_at or dt.datetime.now(dt.UTC)
        if known is None:  # once: what a later attempt finds sold happened after our own read
            known = _known_sales(run, stale)
        for lvl in [lvl for lvl in stale if (lvl.item_id, lvl.location_id) not in now]:
            # No longer stocked there (changed in the store's admin): nothing to compare with.
            lost.append(RowFailure(lvl.sku, "InventoryLevelNotFound", "the store no longer stocks it at this location",
                                   {"location": lvl.location_id}))
            stale.remove(lvl)
            pending.remove(lvl)
        unknown: dict[tuple[str, str], tuple[int, dt.datetime | None]] = {}
        for lvl in stale:
            sales = known.get((lvl.sku, lvl.location_id))  # None: the store never stamped it
            # For a later attempt: sold after this read.
            known[(lvl.sku, lvl.location_id)] = _Sales(since=read_at)
            current = now[(lvl.item_id, lvl.location_id)]
            again = cas.recompute(lvl.desired, lvl.expected, current, sales.known if sales else 0)
            if (sales is None or sales.in_doubt) and again.desired < lvl.desired:
                doubtful.add(lvl.sku)
            unknown[(lvl.sku, lvl.location_id)] = (
                cas.unknown_sales(lvl.expected, current, sales.known if sales else 0), sales and sales.since)
            lvl.desired, lvl.expected = again.desired, again.expected
        _hold_unknown(run, stale, unknown, held_until, doubtful)
        recomputed += len(stale)
        # A level the store already holds as wanted (e.g. our own write, applied though its answer was
        # lost) needs no write: it is settled, and recorded as published at the store's figure, as of
        # that read (the store's time), so that the next stale compare knows which sales came after it.
        for lvl in pending:
            if lvl.desired == lvl.expected:
                lvl.confirmed_at = lvl.confirmed_at or read_at
                applied.append(lvl)
        pending = [lvl for lvl in pending if lvl.desired != lvl.expected]
        if not pending:
            return applied, recomputed, lost, doubtful
        log.info("inventory batch %d: %d stale level(s) recomputed after concurrent sales", number, len(stale))
    return applied, recomputed, lost + [
        RowFailure(lvl.sku, "CHANGE_FROM_QUANTITY_STALE", "the store kept changing during the publish",
                   {"location": lvl.location_id}) for lvl in pending
    ], doubtful


def _hold_unknown(run: PublishRun, stale: Sequence[_Level],
                  unknown: Mapping[tuple[str, str], tuple[int, dt.datetime | None]],
                  until: dt.datetime, doubtful: set[str]) -> None:
    """What the stale levels' recompute took off for sales no staged order accounts for stays off until the
    order staging knows them (:class:`cas.Hold`): the next write compares with the store's figure, which
    lacks them, and must not give them back. A held SKU is looked at again by the next runs (``doubtful``:
    marked due) until its hold is over."""
    windows = {}
    for lvl in stale:
        units, since = unknown[(lvl.sku, lvl.location_id)]
        if units or lvl.hold:
            windows[(lvl.sku, lvl.location_id)] = (lvl.sku, lvl.location, lvl.hold.since if lvl.hold else since,
                                                   until)
    if not windows:
        return
    with run.engine.connect() as conn:
        staged = holds.explained(conn, run.store.name, windows)
    for lvl in stale:
        key = (lvl.sku, lvl.location_id)
        if key not in windows:
            continue
        units, since = unknown[key]
        hold = cas.widen(lvl.hold, lvl.held, units, since, until, staged[key])
        if hold != lvl.hold:
            lvl.hold, lvl.held, lvl.rehold = hold, hold.units if hold else 0, True
            if hold is not None:
                doubtful.add(lvl.sku)


@dataclass(frozen=True, slots=True)
class _Sales:
    known: int = 0  # units of staged orders the store created after our last write
    in_doubt: int = 0  # units of staged orders of the same (whole) second as our last write
    since: dt.datetime | None = None  # the store's time of our last write (or of the read taken instead)


def _known_sales(run: PublishRun, levels: Sequence[_Level]) -> dict[tuple[str, str], _Sales]:
    """Per stale level: units on staged store orders (not cancelled) that the store created after it
    applied our last write of the level, and units an edit or an exchange committed after it to an older
    order, i.e. sales the desired level already holds back (or the ERP's figure counts); and those in
    doubt.

    Both times are the store's own (its stamp of our write, its orders' ``createdAt``, its edits' and
    returns' ``happenedAt``), so no clock of ours takes part. The store stamps whole seconds: a change of
    the same second as our write is in doubt and counts as unknown (taken off: undersells for a moment,
    never oversells); so does every sale of a level whose last write the store did not stamp. An order
    created after the write counts whole (its current quantities hold its edits' units): its edits are
    not counted again. An order holds back its units at the location it takes its goods from, or at every
    location when that is unknown (``desired_availability``): its sales count as known there."""
    with run.engine.connect() as conn:
        since = {(sku, loc): db.as_utc(at) for sku, loc, at in conn.execute(
            select(published_inventory.c.sku, published_inventory.c.location_key,
                   published_inventory.c.store_confirmed_at)
            .where(published_inventory.c.store == run.store.name,
                   published_inventory.c.store_confirmed_at.is_not(None),
                   published_inventory.c.sku.in_(sorted({lvl.sku for lvl in levels}))))}
        windows = {(lvl.sku, lvl.location_id): (lvl.sku, lvl.location, since[(lvl.sku, lvl.location_id)])
                   for lvl in levels if (lvl.sku, lvl.location_id) in since}
        sold = holds.sales_since(conn, run.store.name, windows)
    return {key: _Sales(known=sum(units for when, units in sold[key] if when > after),
                        in_doubt=sum(units for when, units in sold[key] if when == after), since=after)
            for key, (_, _, after) in windows.items()}


def _idempotency_key(run_id: str | None, attempt: int, levels: Sequence[_Level]) -> str:
    """Derived from the run and what the call writes: a retried task sends the same key for the same write,
    so a write the store applied but whose answer was lost (a crash, a dropped connection) is answered
    again, not applied again; a different write can never reuse a key. Not from the batch's position: a
    rerun after a crash mid-publish leaves out the batches already recorded, which renumbers the rest."""
    digest = hashlib.sha256(
        "|".join(f"{lvl.item_id}@{lvl.location_id}:{lvl.expected}>{lvl.desired}" for lvl in levels).encode()
    ).hexdigest()[:24]
    return f"erpsync:{run_id or 'manual'}:inventory:{attempt}:{digest}"


def published_levels(conn: Connection, store: str, skus: Iterable[str]) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for chunk in db.chunks(sorted(set(skus))):
        found.update(((sku, loc), qty) for sku, loc, qty in conn.execute(
            select(published_inventory.c.sku, published_inventory.c.location_key, published_inventory.c.quantity)
            .where(published_inventory.c.store == store, published_inventory.c.sku.in_(chunk))))
    return found


def _read_levels(run: PublishRun, published: dict[str, dict[str, Any]],
                 wanted: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    items = {published[sku]["store_inventory_item_id"]: sku for sku, _ in wanted}
    levels = run.store.inventory_levels(sorted(items), sorted({loc for _, loc in wanted}))
    return {(items[lvl.inventory_item_id], lvl.location_id): lvl.available for lvl in levels}

