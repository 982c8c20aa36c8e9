"""The store state the ERP asks for, computed from staging.

- Each store is its own ERP web shop: only what that web shop lists (its assortment), active and salable,
  is sold there, at its own price list's price (``stg_offer`` for the web shops other than
  ``erp_default``'s); a variant taken off the web shop is removed from that store's product alone, a
  template with none left becomes an ARCHIVED product there.
- One store product per ERP template; its variants are the template's variants, told apart by one
  option whose value is the SKU's suffix (``TEE-0001-M`` -> ``M``). A template whose variants are all
  archived becomes an ARCHIVED product; a single archived variant is removed from its product.
- Price: the store's web shop's price list price; compare-at: the list price when it is higher.
- Availability per store location: what the mapped ERP warehouses have on hand and not promised
  (``min(quantity, forecast)``: stock still to come never counts), minus units on store orders the ERP
  does not count yet taken from that location (or from an unknown one), an order's own or those an edit
  or an exchange added to it, minus the safety stock, floored at 0.
"""

from __future__ import annotations

import datetime as dt
import html
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, and_, false, func, or_, select

from erpsync.sync.catalog.config import CatalogConfig
from erpsync.sync.catalog.stage import content_hash
from erpsync.sync.orders.restocks import later_commitments
from erpsync.warehouse import db
from erpsync.warehouse.schema import (
    order_adjustment,
    order_ledger,
    stg_order,
    stg_order_line,
    stg_offer,
    stg_product,
    stg_stock_level,
)

@dataclass(frozen=True)
class DesiredVariant:
    sku: str
    option: str
    price: Decimal
    compare_at_price: Decimal | None
    active: bool


@dataclass(frozen=True)
class DesiredProduct:
    key: str  # the ERP template id: the store product's identity on our side
    title: str
    description_html: str
    image_urls: tuple[str, ...]
    image_version: str
    variants: tuple[DesiredVariant, ...]  # all of the template's staged variants, archived ones included

    @property
    def active_variants(self) -> tuple[DesiredVariant, ...]:
        return tuple(v for v in self.variants if v.active)

    @property
    def status(self) -> str:
        return "ACTIVE" if self.active_variants else "ARCHIVED"

    @property
    def content_hash(self) -> str:
        return content_hash(self.title, self.description_html, self.image_urls and self.image_version,
                            self.status, [(v.sku, v.option) for v in self.active_variants])


def template_ids_of(conn: Connection, skus: Iterable[str]) -> set[int]:
    found: set[int] = set()
    for chunk in db.chunks(sorted(set(skus))):
        found.update(conn.execute(
            select(stg_product.c.erp_template_id).where(stg_product.c.sku.in_(chunk))
        ).scalars())
    return found


def desired_products(conn: Connection, template_ids: Iterable[int] | None, *, web_shop: str | None = None
                     ) -> list[DesiredProduct]:
    """The store products of these templates (all templates when None), as ``erp_default``'s web shop
    offers them or, for a store of another web shop, as ``web_shop`` does (its own assortment and price
    list, ``stg_offer``; a variant it has no offer for yet is not sold there)."""
    columns = [stg_product.c[name] for name in (
        "sku", "erp_product_id", "erp_template_id", "template_code", "title", "description", "image_urls",
        "image_version", "list_price", "sale_price", "active", "salable", "in_web_shop")]
    query = select(*columns)
    if web_shop is not None:
        offer = stg_offer.alias("offer")
        query = select(*(c for c in columns if c.name not in ("sale_price", "in_web_shop")),
                       offer.c.sale_price.label("sale_price"),
                       func.coalesce(offer.c.listed, false()).label("in_web_shop")).outerjoin(
            offer, and_(offer.c.web_shop == web_shop, offer.c.erp_product_id == stg_product.c.erp_product_id))
    if template_ids is None:
        rows = list(conn.execute(query).mappings())
    else:
        rows = []
        for chunk in db.chunks(sorted(set(template_ids))):
            rows.extend(conn.execute(query.where(stg_product.c.erp_template_id.in_(chunk))).mappings())
    by_template: dict[int, list] = defaultdict(list)
    for row in rows:
        by_template[row["erp_template_id"]].append(row)
    return [_product(template_id, sorted(variants, key=lambda r: r["erp_product_id"]))
            for template_id, variants in sorted(by_template.items())]


def _product(template_id: int, rows: list) -> DesiredProduct:
    active = [r for r in rows if _sold(r)]
    lead = (active or rows)[0]
    return DesiredProduct(
        key=str(template_id),
        title=lead["title"],
        description_html=_html(lead["description"]),
        image_urls=tuple(lead["image_urls"] or ()),
        image_version=lead["image_version"] or "",
        variants=tuple(
            DesiredVariant(
                sku=r["sku"], option=_option(r["sku"], r["template_code"]), price=_price(r),
                compare_at_price=r["list_price"] if r["list_price"] > _price(r) else None,
                active=_sold(r),
            )
            for r in rows
        ),
    )


def _price(row) -> Decimal:
    """The web shop's price (an unlisted variant another web shop has no price for: its list price)."""
    return row["sale_price"] if row["sale_price"] is not None else row["list_price"]


def _sold(row) -> bool:
    """The store sells a variant the ERP has active, salable and listed in its web shop."""
    return bool(row["active"] and row["salable"] and row["in_web_shop"])


def _option(sku: str, template_code: str | None) -> str:
    if template_code and sku.startswith(f"{template_code}-") and len(sku) > len(template_code) + 1:
        return sku[len(template_code) + 1:]
    return sku


def _html(text: str | None) -> str:
    if not text:
        return ""
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


Pending = dict[tuple[str, str | None], Decimal]  # (SKU, store location name or None: unknown) -> units


def pending_quantities(conn: Connection, store: str, skus: Iterable[str]) -> Pending:
    """Units of each SKU on store orders the ERP's stock figures do not count yet (not cancelled), from
    every store selling the ERP's stock (availability is shared: no store sells what another has sold),
    per store location the order takes its goods from (None: several, or the store did not say). Every
    store names its locations as the catalog mapping does (one mapping for all stores), so an order of
    another store is held back at the location of the same name; a name the mapping does not know is
    held back everywhere (:func:`desired_availability`). ``store`` is the store asking (kept for the
    callers' symmetry: its own orders count as every other's).

    The hand-over never oversells: an order stops counting here when its ERP sale was confirmed before
    the stock levels were read (``erp_confirmed_at <= as_of``), i.e. once the ERP's forecast counts it.
    Both times are the ERP's own (never a worker's clock, which may be off): ``erp_confirmed_at`` rounded
    up past the sale's commit, ``as_of`` no later than the read. In doubt (the same second) the order
    still counts here, which undersells for a moment, until the next read.
    The store commits an order's stock at the location it assigns, and the ERP books the sale in that
    location's warehouse: the units are held back there only. An order whose location is unknown is held
    back at every location, which may undersell for a moment but never oversells.

    What the store commits to an order after it was placed (an edit's added units, a return's exchange
    items) the ERP counts only once it books that change, in a sale or amendment of its own: those units
    are held back until a read after that (:func:`later_units`), though the order's own sale is counted.
    """
    pending: Pending = {}
    # When the ERP's figures of the order line's SKU were read: correlated with the outer query's line (left
    # to itself, SQL would join every order line here and take the oldest read of any SKU ever sold).
    read_at = (select(func.min(stg_stock_level.c.as_of)).where(stg_stock_level.c.sku == stg_order_line.c.sku)
               .correlate_except(stg_stock_level).scalar_subquery())
    counted = and_(order_ledger.c.store == stg_order.c.store, order_ledger.c.store_order_id == stg_order.c.store_order_id,
                   order_ledger.c.erp_confirmed_at.is_not(None), order_ledger.c.erp_confirmed_at <= read_at)
    for chunk in db.chunks(sorted(set(skus))):
        query = (
            select(stg_order_line.c.sku, stg_order.c.store_location, func.sum(stg_order_line.c.current_quantity))
            .join(stg_order, and_(stg_order.c.store == stg_order_line.c.store,
                                  stg_order.c.store_order_id == stg_order_line.c.store_order_id))
            .where(stg_order.c.cancelled_at.is_(None), stg_order_line.c.sku.in_(chunk),
                   ~select(order_ledger.c.id).where(counted).exists())
            .group_by(stg_order_line.c.sku, stg_order.c.store_location)
        )
        pending.update(((sku, location), Decimal(quantity or 0)) for sku, location, quantity in conn.execute(query))
    for key, units in later_units(conn, skus).items():
        pending[key] = pending.get(key, Decimal(0)) + units
    return pending


# A store order of this fulfillment status holds no units any more: all shipped, or all put back.
CLOSED = ("FULFILLED", "RESTOCKED")


def later_units(conn: Connection, skus: Iterable[str]) -> Pending:
    """Units of each SKU that store orders the ERP counts committed after they were placed (an edit's
    added units, an exchange's items: :func:`restocks.later_commitments`) and that the ERP's stock figures
    do not count yet (:func:`uncounted_units`), per store location the order takes its goods from. An
    order the ERP does not count at all is held back whole by :func:`pending_quantities` (its current
    quantities hold these units), so only those whose sale the ERP counts are looked at here; and only
    while the store still holds units of them (not cancelled, not all fulfilled or restocked)."""
    wanted = sorted(set(skus))
    read_at: dict[str, dt.datetime | None] = {}
    orders: list = []
    for chunk in db.chunks(wanted):
        read_at.update(conn.execute(
            select(stg_stock_level.c.sku, func.min(stg_stock_level.c.as_of))
            .where(stg_stock_level.c.sku.in_(chunk)).group_by(stg_stock_level.c.sku)).all())
        has_line = select(stg_order_line.c.store_line_id).where(
            stg_order_line.c.store == stg_order.c.store, stg_order_line.c.store_order_id == stg_order.c.store_order_id,
            stg_order_line.c.sku.in_(chunk)).exists()
        held = or_(stg_order.c.fulfillment_status.is_(None), stg_order.c.fulfillment_status.not_in(CLOSED))
        orders.extend(conn.execute(
            select(stg_order.c.store, stg_order.c.store_order_id, stg_order.c.store_location,
                   stg_order.c.edits, stg_order.c.returns, order_ledger.c.erp_confirmed_at)
            .join(order_ledger, and_(order_ledger.c.store == stg_order.c.store,
                                     order_ledger.c.store_order_id == stg_order.c.store_order_id))
            .where(stg_order.c.cancelled_at.is_(None), order_ledger.c.erp_confirmed_at.is_not(None), held,
                   has_line)).all())
    changed = {(store, order_id): (location, commitments, confirmed_at)
               for store, order_id, location, edits, returns, confirmed_at in orders
               if (commitments := later_commitments(edits, returns))}
    lines: dict[tuple[str, str], dict[str, tuple[str | None, Decimal]]] = defaultdict(dict)
    counted: dict[tuple[str, str], dict[tuple[str, str], dt.datetime | None]] = defaultdict(dict)
    for store in sorted({store for store, _ in changed}):
        for chunk in db.chunks(sorted(order_id for s, order_id in changed if s == store)):
            for order_id, line_id, sku, current in conn.execute(
                select(stg_order_line.c.store_order_id, stg_order_line.c.store_line_id, stg_order_line.c.sku,
                       stg_order_line.c.current_quantity)
                .where(stg_order_line.c.store == store, stg_order_line.c.store_order_id.in_(chunk))):
                lines[(store, order_id)][line_id] = (sku, current)
            for order_id, kind, ref, at in conn.execute(
                select(order_adjustment.c.store_order_id, order_adjustment.c.kind,
                       order_adjustment.c.store_ref, order_adjustment.c.erp_counted_at)
                .where(order_adjustment.c.store == store, order_adjustment.c.store_order_id.in_(chunk),
                       order_adjustment.c.kind.in_(("edit", "exchange")))):
                counted[(store, order_id)][(kind, ref)] = at
    pending: Pending = {}
    for key, (location, commitments, confirmed_at) in changed.items():
        held = uncounted_units(commitments, lines[key], counted[key], read_at, confirmed_at)
        for sku, units in held.items():
            if sku in read_at:  # one of ``skus`` (the order's other SKUs have no read here)
                pending[(sku, location)] = pending.get((sku, location), Decimal(0)) + units
    return pending


def uncounted_units(commitments: Iterable[tuple[tuple[str, str], str, int]],
                    lines: Mapping[str, tuple[str | None, Decimal]],
                    counted: Mapping[tuple[str, str], dt.datetime | None],
                    read_at: Mapping[str, dt.datetime | None],
                    confirmed_at: dt.datetime) -> dict[str, Decimal]:
    """Per SKU, the units an order's later commitments (``commitments``: (change key, line id, units)) hold
    in the store that the ERP's stock figures do not count (pure).

    ``lines``: line id -> (SKU, current quantity); ``counted``: change key -> from when the ERP counts it
    (``order_adjustment.erp_counted_at``; None or missing: not yet, or never: an edit the ERP cannot
    follow); ``read_at``: SKU -> when its stock figures were read (missing: never); ``confirmed_at``: from
    when the ERP counts the order's own sale.

    A change counts once its time is no later than the read of the line's SKU (the same rule as an
    order's own sale). A line whose SKU was read before the order's own sale counted is left out: the
    order is held back whole there. Per line, the units of the changes not counted are netted (units an
    edit removed the store put back, and the ERP still counts them until it follows), never below 0, and
    never more than the line holds now (a later refund or removal took the rest off)."""
    net: dict[str, int] = {}
    for key, line_id, units in commitments:
        sku = lines.get(line_id, (None, Decimal(0)))[0]
        read = read_at.get(sku) if sku else None
        if read is None or db.as_utc(confirmed_at) > db.as_utc(read):
            continue  # no figures of the SKU, or the order is held back whole (pending_quantities)
        at = counted.get(key)
        if at is None or db.as_utc(at) > db.as_utc(read):
            net[line_id] = net.get(line_id, 0) + units
    found: dict[str, Decimal] = {}
    for line_id, units in net.items():
        sku, current = lines[line_id]
        if (held := min(Decimal(max(units, 0)), Decimal(current or 0))) > 0:
            found[sku] = found.get(sku, Decimal(0)) + held
    return found


def with_unknown_locations(pending: Pending, locations: Iterable[str]) -> Pending:
    """``pending`` with the units at a location name the mapping does not know (another store's own
    location) counted as at an unknown location: held back everywhere."""
    known = set(locations)
    folded: Pending = {}
    for (sku, location), units in pending.items():
        key = (sku, location if location in known else None)
        folded[key] = folded.get(key, Decimal(0)) + units
    return folded


def held_back(pending: Pending, sku: str, location: str) -> Decimal:
    """Units of ``sku`` pending at ``location``: its own orders and those whose location is unknown."""
    return pending.get((sku, location), Decimal(0)) + pending.get((sku, None), Decimal(0))


def desired_availability(
    conn: Connection, skus: Iterable[str], *, mapping: dict[str, list[str]], config: CatalogConfig,
    pending: Pending,
) -> dict[tuple[str, str], int]:
    """(SKU, store location name) -> units to offer; ``mapping`` is location name -> ERP warehouse codes."""
    on_hand: dict[tuple[str, str], Decimal] = {}
    wanted = sorted(set(skus))
    for chunk in db.chunks(wanted):
        for sku, warehouse, quantity, forecast in conn.execute(
            select(stg_stock_level.c.sku, stg_stock_level.c.warehouse_code, stg_stock_level.c.quantity,
                   stg_stock_level.c.forecast_quantity).where(stg_stock_level.c.sku.in_(chunk))
        ):
            on_hand[(sku, warehouse)] = max(Decimal(0), min(quantity, forecast))
    desired: dict[tuple[str, str], int] = {}
    pending = with_unknown_locations(pending, mapping)
    for sku in wanted:
        for location, warehouses in mapping.items():
            total = sum((on_hand.get((sku, code), Decimal(0)) for code in warehouses), Decimal(0))
            desired[(sku, location)] = max(0, int(total - held_back(pending, sku, location) - config.safety(sku)))
    return desired


@dataclass(frozen=True)
class ChannelShare:
    """A store's place among the stores that sell the same ERP stock: number ``position`` of ``stores``."""

    position: int = 0
    stores: int = 1


def last_units_owner(sku: str, stores: int) -> int:
    """The position of the store that sells the last units of ``sku``: spread evenly over the stores by
    a hash of the SKU that is the same in every process and run (never Python's salted ``hash``)."""
    return zlib.crc32(sku.encode()) % max(1, stores)


def channel_share(available: int, sku: str, share: ChannelShare, split_at: int) -> int:
    """What one store offers of the ``available`` units of ``sku`` (after pending orders and safety stock).

    Each store's figure is seconds to a minute old when another store sells (the cross-channel
    freshness), so two stores offering the same last units could both sell them. At ``split_at`` units or
    fewer, one store alone offers them (its owner, :func:`last_units_owner`) and the others offer none:
    however the stores sell at once, none sells what another has sold. The owner depends on the SKU only,
    never on the quantity, so the units never move from one store to another while they run out (a move
    would leave them on offer in both until the other store's next publish). Above ``split_at`` every store
    offers all of them: ``split_at`` should exceed what a SKU sells across all stores within the
    cross-channel freshness window.
    """
    if share.stores <= 1 or available > split_at:
        return available
    return available if share.position == last_units_owner(sku, share.stores) else 0


def all_skus(conn: Connection) -> set[str]:
    return set(conn.execute(select(stg_product.c.sku)).scalars())
