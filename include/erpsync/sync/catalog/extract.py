"""Catalog extraction from the ERP: products and stock levels changed since the cursor, landed raw
(see :mod:`erpsync.sync.landing` for the window and cursor rules)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence

from sqlalchemy import Engine, func, select, true

from erpsync.common.jsonable import jsonable
from erpsync.common.window import Window
from erpsync.sync.landing import ExtractResult, land, window_for
from erpsync.tryton.client import TrytonClient
from erpsync.tryton.errors import ErpWebShopNotFound
from erpsync.tryton.records import ErpProduct, ErpWebShop
from erpsync.warehouse import db
from erpsync.warehouse.schema import quarantine, stg_offer, stg_product

log = logging.getLogger(__name__)

SOURCE = "erp"
DEFAULT_LAG = dt.timedelta(minutes=5)


def extract_products(
    erp: TrytonClient,
    engine: Engine,
    *,
    window_end: dt.datetime,
    run_id: str | None,
    now: dt.datetime,
    lag: dt.timedelta = DEFAULT_LAG,
    full_refresh: bool = False,
    skus: Sequence[str] | None = None,
    window_start: dt.datetime | None = None,
    other_web_shops: Sequence[str] = (),
) -> ExtractResult:
    """Land the variants (and their template data and prices) changed since the product cursor.

    ``skus`` re-reads just those products and leaves the cursor alone (a targeted manual rerun must not
    make the next incremental run skip other changes); so does ``window_start`` (a backfill re-reads
    its own interval). ``other_web_shops``: the other stores' own ERP web shops; each variant carries
    how each of them offers it (listed, price), staged in ``stg_offer``.
    """
    window = _window(engine, "product", window_start, window_end, lag, full_refresh)
    shops = [erp.web_shop, *_known_web_shops(erp, other_web_shops)]
    other_web_shops = [shop.name for shop in shops[1:]]
    # A price list edit reprices products without touching them: then every product is read again.
    read_all = full_refresh or (skus is None and window.start is not None
                                and any(erp.price_list_changed(window, shop) for shop in shops))
    move_cursor = skus is None and window_start is None
    if read_all and not full_refresh:
        log.info("a web shop's price list changed in %s: reading every product", window)
    changed = erp.iter_changed_products(None if read_all else window, skus=skus, offers_for=other_web_shops)
    if skus is None and not read_all:
        changed = _with_assortment_changes(erp, engine, changed, shops)
    pages = ([db.RawRow(p.sku, jsonable(p), p.updated_at) for p in products] for products in changed)
    return land(engine, SOURCE, "product", pages, window=window, run_id=run_id, now=now, move_cursor=move_cursor,
                scope=f"{len(skus)} SKU(s) given" if skus is not None else None,
                facts={"currency": erp.web_shop.currency_code})


def _with_assortment_changes(erp: TrytonClient, engine: Engine, changed: Iterator[list[ErpProduct]],
                             shops: Sequence[ErpWebShop]) -> Iterator[list[ErpProduct]]:
    """The changed variants, then those that joined or left one of the web shops since they were staged:
    listing a variant in a web shop (or taking it off) changes neither the variant nor its template, so the
    window does not see it.

    Cheap when nothing moved: each web shop's count of listed variants against staging's (plus the
    products held in quarantine, which are not staged); only for a web shop whose counts differ are the
    two sets read and compared. (A variant taken off and another listed within one run keep the counts
    equal: they are found by the next run whose counts differ, or a full refresh.)"""
    with engine.connect() as conn:
        held = conn.execute(select(func.count()).select_from(quarantine).where(
            quarantine.c.source == SOURCE, quarantine.c.entity == "product", quarantine.c.status == "open")
        ).scalar_one()
        moved: set[int] = set()
        for shop in shops:
            staged = _staged_listed(shop, primary=shop is shops[0])
            staged_count = conn.execute(select(func.count()).select_from(staged.subquery())).scalar_one()
            if erp.web_shop_product_count(shop) == staged_count + held:
                continue
            listed = erp.web_shop_product_ids(shop)
            staged_listed = set(conn.execute(staged).scalars())
            moved |= (listed - staged_listed) | (staged_listed - listed)
    seen: set[int] = set()
    for products in changed:
        seen.update(p.erp_product_id for p in products)
        yield products
    rest = sorted(moved - seen)
    if rest:
        log.info("%d variant(s) joined or left a web shop: reading them", len(rest))
        yield from erp.iter_changed_products(None, ids=rest, offers_for=[shop.name for shop in shops[1:]])


def _known_web_shops(erp: TrytonClient, names: Sequence[str]) -> list[ErpWebShop]:
    """The other stores' web shops the ERP has. One a store's Connection misnames is left out with a
    warning: that store's own publishing fails on it and says why, the other stores go on."""
    found = []
    for name in names:
        try:
            found.append(erp.other_web_shop(name))
        except ErpWebShopNotFound as error:
            log.warning("left out of this read: %s", error)
    return found


def _staged_listed(shop: ErpWebShop, *, primary: bool):
    """The query of the staged variants ``shop`` lists (erp_default's in stg_product, others' in stg_offer)."""
    if primary:
        return select(stg_product.c.erp_product_id).where(stg_product.c.in_web_shop.is_(true()))
    return select(stg_offer.c.erp_product_id).where(stg_offer.c.web_shop == shop.name, stg_offer.c.listed.is_(true()))


def extract_stock(
    erp: TrytonClient,
    engine: Engine,
    *,
    window_end: dt.datetime,
    run_id: str | None,
    now: dt.datetime,
    lag: dt.timedelta = DEFAULT_LAG,
    full_refresh: bool = False,
    window_start: dt.datetime | None = None,
    other_web_shops: Sequence[str] = (),
) -> ExtractResult:
    """Land the stock levels, per warehouse of the web shop and of ``other_web_shops`` (the other stores'),
    of the products whose stock moved since the stock cursor (all goods on a full refresh; in
    ``[window_start, window_end)`` for a backfill, which leaves the cursor alone). Quantities are re-read
    whole, never summed from moves."""
    window = _window(engine, "stock_level", window_start, window_end, lag, full_refresh)
    product_pages = erp.iter_goods_ids() if full_refresh else erp.iter_stock_moved_product_ids(window)
    # Every store's web shop's warehouses (each store maps its own onto its locations).
    warehouses = list({w.id: w for shop in (erp.web_shop, *_known_web_shops(erp, other_web_shops))
                       for w in shop.warehouses}.values())
    pages = (
        [db.RawRow(f"{level.sku}@{level.warehouse_code}", jsonable(level))
         for level in erp.stock_levels(ids, warehouses)]
        for ids in product_pages
    )
    return land(engine, SOURCE, "stock_level", pages, window=window, run_id=run_id, now=now,
                move_cursor=window_start is None, facts={"warehouses": {w.code: w.name for w in erp.web_shop.warehouses}})


def _window(engine: Engine, entity: str, window_start: dt.datetime | None, window_end: dt.datetime,
            lag: dt.timedelta, full_refresh: bool) -> Window:
    if window_start is not None:
        return Window(window_start, window_end)
    return window_for(engine, SOURCE, entity, window_end, lag, full_refresh)
