"""Stage the ERP's product and stock batches (validation, quarantine and cursor rules in
:mod:`erpsync.sync.staging`), and mark what they changed due for each store's publish steps, in the same
transaction (:mod:`erpsync.sync.state.publish_due`)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine

from erpsync.common.jsontext import dumps_function
from erpsync.quality.suites import product_checks, stock_checks
from erpsync.sync.staging import Dataset, StageResult, frame_of, raw_batch, stage
from erpsync.sync.state import publish_due
from erpsync.warehouse import db
from erpsync.warehouse.schema import stg_offer, stg_product, stg_stock_level

SOURCE = "erp"


def stage_products(
    engine: Engine, *, batch_id: str, currency: str, run_id: str | None, now: dt.datetime,
    cursor_at: dt.datetime | None, publish_to: Sequence[str],
) -> StageResult:
    """Stage the product batch; ``currency`` is what the store sells in; ``cursor_at`` the extract's
    window end (None: leave the cursor, e.g. a run for a list of SKUs); ``publish_to`` the stores whose
    publish steps must look at what it staged."""

    def write(conn: Connection, good: list[dict[str, Any]]) -> int:
        staged = write_products(conn, good, batch_id=batch_id, now=now)
        publish_due.mark(conn, stores=publish_to, steps=publish_due.PRODUCT_STEPS, skus=(p["sku"] for p in good),
                         now=now)
        return staged

    dataset = Dataset(
        SOURCE, "product", checks=lambda: product_checks(currency), key=lambda p: p.get("sku") or "",
        frame=product_frame, write=write,
    )
    with engine.connect() as conn:
        payloads = raw_batch(conn, SOURCE, "product", batch_id)
    return stage(engine, dataset, payloads, batch_id=batch_id, run_id=run_id, now=now, cursor_at=cursor_at)


def stage_stock(
    engine: Engine, *, batch_id: str, run_id: str | None, now: dt.datetime, cursor_at: dt.datetime | None,
    publish_to: Sequence[str],
) -> StageResult:

    def write(conn: Connection, good: list[dict[str, Any]]) -> int:
        staged = db.upsert(conn, stg_stock_level, db.LazyRows(lambda p: _stock_row(p, batch_id, now), good),
                           unless_older="as_of")
        publish_due.mark(conn, stores=publish_to, steps=publish_due.STOCK_STEPS, skus=(p["sku"] for p in good),
                         now=now)
        return staged

    dataset = Dataset(
        SOURCE, "stock_level", checks=stock_checks, key=lambda p: f"{p.get('sku')}@{p.get('warehouse_code')}",
        frame=_stock_frame, write=write,
    )
    with engine.connect() as conn:
        payloads = raw_batch(conn, SOURCE, "stock_level", batch_id)
    return stage(engine, dataset, payloads, batch_id=batch_id, run_id=run_id, now=now, cursor_at=cursor_at)


def write_products(conn: Connection, payloads: list[dict[str, Any]], *, batch_id: str,
                   now: dt.datetime) -> int:
    """Upsert the validated product payloads into staging, with how each further web shop offers them
    (``stg_offer``); an older version never replaces a newer one."""
    staged = db.upsert(conn, stg_product, product_rows(payloads, batch_id=batch_id, now=now),
                       unless_older="source_updated_at")
    offers = [_offer_row(p, offer, batch_id, now) for p in payloads for offer in p.get("offers") or ()]
    db.upsert(conn, stg_offer, offers, unless_older="source_updated_at")
    return staged


def product_rows(payloads: list[dict[str, Any]], *, batch_id: str, now: dt.datetime) -> db.LazyRows:
    """The staged rows of product payloads, each built when read."""
    return db.LazyRows(lambda p: _product_row(p, batch_id, now), payloads)


def product_frame(payloads: list[dict[str, Any]]):
    """The frame the product checks read: the payloads, with whether the store is to sell each one."""
    import pandas as pd

    frame = frame_of(payloads, numeric=("list_price", "sale_price"))
    if not frame.empty:
        sold = pd.Series(True, index=frame.index)
        for flag in ("active", "salable", "in_web_shop"):
            if flag in frame.columns:
                sold &= frame[flag].fillna(True).astype(bool)
        frame["sold"] = sold
        # The lowest price another web shop lists it at (its own price list): checked as the web price is.
        lowest = [_lowest_listed_price(p.get("offers")) for p in payloads]
        frame["offer_price_min"] = pd.to_numeric(pd.Series(lowest, index=frame.index, dtype=object), errors="coerce")
    return frame


def _lowest_listed_price(offers: list[dict[str, Any]] | None) -> float | None:
    prices = [float(o["sale_price"]) for o in offers or () if o.get("listed") and o.get("sale_price") is not None]
    return min(prices) if prices else None


def _stock_frame(payloads: list[dict[str, Any]]):
    frame = frame_of(payloads, numeric=("quantity", "forecast_quantity"))
    if not frame.empty:
        frame["quantity_fraction"] = frame["quantity"] % 1
        frame["forecast_fraction"] = frame["forecast_quantity"] % 1
    return frame


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


# json.dumps(parts, sort_keys=True, default=str) to the character (digests already stored must not
# change), without building an encoder per row.
_hashed_json = dumps_function(sort_keys=True, default=str)


def content_hash(*parts: Any) -> str:
    """A stable digest of what the store shows, to tell whether content changed."""
    return hashlib.sha256(_hashed_json(parts).encode()).hexdigest()


def _product_row(p: dict[str, Any], batch_id: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "sku": p["sku"], "erp_product_id": p["erp_product_id"], "erp_template_id": p["template_id"],
        "template_code": p.get("template_code"), "title": p["title"], "description": p.get("description"),
        "image_urls": list(p.get("image_urls") or []), "image_version": p.get("image_version") or "",
        "categories": list(p.get("categories") or []), "unit": p.get("unit"),
        "list_price": _decimal(p.get("list_price")), "sale_price": _decimal(p.get("sale_price")),
        "currency": p["currency"], "active": bool(p["active"]), "salable": bool(p.get("salable", True)),
        "in_web_shop": bool(p.get("in_web_shop", True)),
        "source_updated_at": dt.datetime.fromisoformat(p["updated_at"]),
        "content_hash": content_hash(p["title"], p.get("description"), p.get("image_version"), p["active"]),
        "batch_id": batch_id, "staged_at": now,
    }


def _offer_row(p: dict[str, Any], offer: dict[str, Any], batch_id: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "web_shop": offer["web_shop"], "erp_product_id": p["erp_product_id"], "sku": p["sku"],
        "listed": bool(offer["listed"]), "sale_price": _decimal(offer.get("sale_price")), "currency": offer["currency"],
        "source_updated_at": dt.datetime.fromisoformat(p["updated_at"]), "batch_id": batch_id, "staged_at": now,
    }


def _stock_row(p: dict[str, Any], batch_id: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "sku": p["sku"], "warehouse_code": p["warehouse_code"], "erp_product_id": p["erp_product_id"],
        "erp_warehouse_id": p["warehouse_id"], "quantity": _decimal(p["quantity"]),
        "forecast_quantity": _decimal(p["forecast_quantity"]),
        # The ERP's clock (older landings carry none: then the extraction's time).
        "as_of": dt.datetime.fromisoformat(p["read_at"]) if p.get("read_at") else p["_extracted_at"],
        "batch_id": batch_id,
        "staged_at": now,
    }
