"""Stage the store's order batch (validation, quarantine and cursor rules in :mod:`erpsync.sync.staging`).

The batch is deduplicated by order id, keeping each order's latest version (an order changed while the
extract paged comes twice). Orders held in quarantine are validated again with every batch: when the
cause is fixed elsewhere (the SKU now exists in the ERP) they are staged and booked without waiting for
the order itself to change.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, select

from erpsync.quality.suites import order_checks
from erpsync.sync.orders.restocks import edited_lines, restocked_lines, returned_lines
from erpsync.sync.state import publish_due
from erpsync.sync.staging import Dataset, StageResult, frame_of, held_back, raw_batch, stage
from erpsync.warehouse import db
from erpsync.warehouse.schema import stg_order, stg_order_line, stg_product

SOURCE = "store"
ENTITY = "order"


def stage_orders(engine: Engine, *, store: str, batch_id: str, currency: str, run_id: str | None,
                 now: dt.datetime, cursor_at: dt.datetime | None,
                 share_with: Sequence[str] = ()) -> StageResult:
    """``share_with``: the other stores selling from the same ERP stock. The SKUs of every order staged
    here in a new version (new, changed, released from quarantine) are marked due for their inventory
    publish (in the staging transaction), as these units are held back from their availability until the
    ERP counts the sale (availability is shared); how many is ``figures["shared_skus"]``. So are, for this
    store itself, the SKUs of such an order taken from several locations (or from none it said): they are
    held back at every location, including those the store did not lower, and the SKUs of lines a refund
    restocked (the store offers them again at once, the ERP when the return comes in)."""
    with engine.connect() as conn:
        payloads = list(latest_versions(held_back(conn, SOURCE, ENTITY, store=store)
                                        + raw_batch(conn, SOURCE, ENTITY, batch_id, store=store)).values())
        known = _known_skus(conn, {line.get("sku") for p in payloads for line in p["lines"]})
    shared: list[str] = []  # the SKUs marked for the other stores, by the write below
    dataset = Dataset(
        SOURCE, ENTITY, checks=lambda: order_checks(currency), key=lambda p: p["order_id"],
        frame=lambda rows: _order_frame(rows, known),
        write=lambda conn, good: _write(conn, store, good, batch_id, now, share_with, shared), store=store,
    )
    result = stage(engine, dataset, payloads, batch_id=batch_id, run_id=run_id, now=now, cursor_at=cursor_at)
    result.figures["shared_skus"] = len(set(shared))
    return result


def latest_versions(payloads: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Order id -> its latest version among ``payloads`` (an order changed while the extract paged
    comes twice)."""
    latest: dict[str, dict[str, Any]] = {}
    for payload in payloads:
        previous = latest.get(payload["order_id"])
        if previous is None or payload["updated_at"] >= previous["updated_at"]:
            latest[payload["order_id"]] = payload
    return latest


def _known_skus(conn: Connection, skus: set[str | None]) -> set[str]:
    wanted = sorted(s for s in skus if s)
    known: set[str] = set()
    for chunk in db.chunks(wanted):
        known.update(conn.execute(select(stg_product.c.sku).where(stg_product.c.sku.in_(chunk))).scalars())
    return known


def _order_frame(payloads: list[dict[str, Any]], known: set[str]):
    rows = []
    for p in payloads:
        lines = p["lines"]
        # A line's quantity counts the units edits removed; the order's totals do not.
        removed = Counter()
        for edit in p.get("edits") or ():
            removed.update({line["line_id"]: -line["quantity"] for line in edit["lines"] if line["quantity"] < 0})
        goods = sum(Decimal(line["unit_price"]) * (line["quantity"] - removed[line["line_id"]]) for line in lines)
        # Tax-inclusive prices hold the tax already; otherwise it comes on top.
        tax = Decimal(0) if p.get("taxes_included") else Decimal(p["tax_total"])
        expected = goods - Decimal(p["discount_total"]) + Decimal(p["shipping_total"]) + tax
        address = p.get("shipping_address") or {}
        ships = any(line["requires_shipping"] for line in lines)
        rows.append({
            "order_id": p["order_id"], "currency": p["currency"], "line_count": len(lines),
            "unknown_skus": sum(1 for line in lines if line.get("sku") not in known),
            "bad_quantities": sum(1 for line in lines if line["quantity"] <= 0),
            "total_gap": float(Decimal(p["total"]) - expected),
            "missing_address": int(ships and not (address.get("address1") and address.get("city")
                                                  and address.get("country_code"))),
        })
    return frame_of(rows)


def _write(conn: Connection, store: str, good: list[dict[str, Any]], batch_id: str, now: dt.datetime,
           share_with: Sequence[str], shared: list[str]) -> int:
    orders = [_order_row(store, p, batch_id, now) for p in good]
    others = [name for name in share_with if name != store]
    newer = _newer_versions(conn, store, orders)
    db.upsert(conn, stg_order, orders, unless_older="store_updated_at")
    lines = [_line_row(store, p, line, batch_id, now) for p in good for line in p["lines"]]
    db.upsert(conn, stg_order_line, lines)
    fresh = [line for line in lines if line["sku"] and line["store_order_id"] in newer]
    skus = {line["sku"] for line in fresh}
    if skus and others:
        publish_due.mark(conn, stores=others, steps=publish_due.STOCK_STEPS, skus=skus, now=now)
        shared.extend(skus)
    # An order taken from several locations (or from none the store said) is held back at every location
    # until the ERP books it, in one warehouse, and the store lowered only the locations that sold: this
    # store's other locations must come down now (and back up when it is cancelled), not minutes later
    # when the ERP's figures change, or never while the ERP is down.
    # So are the SKUs of lines a refund restocked: the store put the units back on its shelf at once, the
    # ERP counts a shipped one only when the return comes in, and until then it must not be offered. And
    # those of lines an order edit changed: the store moved the level at once, the ERP only when it follows
    # the edit, or never (an edit of goods it already shipped: the store's restocked unit is not there).
    # And those of a return's lines: units the store restocked (the ERP counts them when the return comes
    # in) and the items given in exchange (committed in the store, held in the ERP once it books them).
    unplaced = {o["store_order_id"] for o in orders if o["store_location"] is None}
    restocked = {(o["store_order_id"], line_id) for o in orders
                 for line_id in restocked_lines(o["refunds"]) | edited_lines(o["edits"])
                 | returned_lines(o["returns"])}
    if own := {line["sku"] for line in fresh if line["store_order_id"] in unplaced
               or (line["store_order_id"], line["store_line_id"]) in restocked}:
        publish_due.mark(conn, stores=[store], steps=publish_due.STOCK_STEPS, skus=own, now=now)
    return len(orders)


# What a new version of an order can change that moves stock: read from staging to tell a version apart
# from the one staged when the store stamped both in the same second.
_MOVES = ("cancelled_at", "refunds", "edits", "returns", "store_location")


def _newer_versions(conn: Connection, store: str, orders: list[dict[str, Any]]) -> set[str]:
    """The ids of ``orders`` that staging lacks in this version (new, or changed since). The store stamps
    whole seconds: a version stamped in the second of the staged one (an order cancelled the second it was
    placed) is newer when what it says about stock differs."""
    staged: dict[str, dict[str, Any]] = {}
    for chunk in db.chunks(sorted(o["store_order_id"] for o in orders)):
        staged.update((row["store_order_id"], row) for row in conn.execute(
            select(stg_order.c.store_order_id, stg_order.c.store_updated_at, *(stg_order.c[c] for c in _MOVES))
            .where(stg_order.c.store == store, stg_order.c.store_order_id.in_(chunk))).mappings())
    newer = set()
    for o in orders:
        old = staged.get(o["store_order_id"])
        stamp = db.as_utc(o["store_updated_at"])
        if old is None or stamp > db.as_utc(old["store_updated_at"]) or (
                stamp == db.as_utc(old["store_updated_at"]) and any(_same(o[c]) != _same(old[c]) for c in _MOVES)):
            newer.add(o["store_order_id"])
    return newer


def _same(value: Any) -> Any:
    """A staged value as it compares: times in UTC, JSON documents as text, empty as None."""
    if isinstance(value, dt.datetime):
        return db.as_utc(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, default=str) if value else None
    return value


def _when(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _order_row(store: str, p: dict[str, Any], batch_id: str, now: dt.datetime) -> dict[str, Any]:
    customer = p["customer"]
    return {
        "store": store, "store_order_id": p["order_id"], "order_name": p["name"],
        "store_created_at": _when(p["created_at"]), "store_updated_at": _when(p["updated_at"]),
        "currency": p["currency"], "financial_status": p.get("financial_status"),
        "fulfillment_status": p.get("fulfillment_status"), "cancelled_at": _when(p.get("cancelled_at")),
        "cancel_reason": p.get("cancel_reason"), "customer_ref": customer.get("customer_id"),
        "customer": customer, "shipping_address": p.get("shipping_address"), "billing_address": p.get("billing_address"),
        "subtotal": Decimal(p["subtotal"]), "discount_total": Decimal(p["discount_total"]),
        "shipping_total": Decimal(p["shipping_total"]), "tax_total": Decimal(p["tax_total"]),
        "total": Decimal(p["total"]), "refunded_total": Decimal(p["refunded_total"]), "refunds": p.get("refunds") or [],
        "edits": p.get("edits") or [],
        "returns": p.get("returns") or [],
        "taxes_included": bool(p.get("taxes_included")), "store_version": p.get("version"),
        "requires_shipping": any(line["requires_shipping"] for line in p["lines"]),
        # One location: the ERP books the sale there and only it holds the units back. Split over several
        # (or not said): unknown, held back everywhere, booked in the web shop's first warehouse.
        "store_location": locations[0] if len(locations := p.get("locations") or []) == 1 else None,
        "batch_id": batch_id, "staged_at": now,
        "personal_data_purged_at": None,  # a version read again carries its data again: purged again later
    }


def _line_row(store: str, order: dict[str, Any], line: dict[str, Any], batch_id: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "store": store, "store_order_id": order["order_id"], "store_line_id": line["line_id"], "sku": line.get("sku"),
        "title": line.get("title"), "quantity": Decimal(line["quantity"]),
        "current_quantity": Decimal(line["current_quantity"]), "unit_price": Decimal(line["unit_price"]),
        "discount_total": Decimal(line["discount_total"]), "tax_total": Decimal(0),
        "requires_shipping": bool(line["requires_shipping"]), "batch_id": batch_id, "staged_at": now,
    }
