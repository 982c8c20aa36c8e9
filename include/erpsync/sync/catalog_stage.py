"""Validate a landed raw batch and stage it: good rows into staging, bad rows into quarantine.

One transaction per dataset does it all: upsert the good rows (an older read never replaces a newer
one), quarantine the bad rows with the checks they failed (superseding the key's earlier quarantine),
release the quarantine of keys that now pass, and move the extract's cursor. The cursor therefore moves
only when what was read is committed in staging; a failure leaves everything as it was for a rerun.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, select

from erpsync.quality.suites import Check, product_checks, stock_checks
from erpsync.quality.validate import validate_frame
from erpsync.warehouse import db
from erpsync.warehouse.schema import quarantine, raw_record, stg_product, stg_stock_level

log = logging.getLogger(__name__)

SOURCE = "erp"
QUARANTINE_DAYS = 30


@dataclass
class StageResult:
    entity: str
    rows: int = 0
    staged: int = 0
    quarantined: int = 0
    released: int = 0
    failed_checks: dict[str, int] = field(default_factory=dict)
    cursor_at: dt.datetime | None = None
    seconds: float = 0.0

    def as_counts(self) -> dict[str, Any]:
        return {
            "rows": self.rows, "staged": self.staged, "quarantined": self.quarantined, "released": self.released,
            "failed_checks": self.failed_checks, "seconds": round(self.seconds, 3),
        }


def _raw_batch(conn: Connection, entity: str, batch_id: str) -> list[tuple[dict[str, Any], dt.datetime]]:
    return [
        (payload, extracted_at)
        for payload, extracted_at in conn.execute(
            select(raw_record.c.payload, raw_record.c.extracted_at)
            .where(raw_record.c.source == SOURCE, raw_record.c.entity == entity, raw_record.c.batch_id == batch_id)
            .order_by(raw_record.c.id)
        )
    ]


def stage_products(
    engine: Engine, *, batch_id: str, currency: str, run_id: str | None, now: dt.datetime,
    cursor_at: dt.datetime | None,
) -> StageResult:
    """Stage the product batch; ``currency`` is what the store sells in; ``cursor_at`` the extract's
    window end (None: leave the cursor, e.g. a run for a list of SKUs)."""
    with engine.connect() as conn:
        batch = _raw_batch(conn, "product", batch_id)
    payloads = [payload for payload, _ in batch]
    frame = _frame(payloads, numeric=("list_price", "sale_price"))
    return _stage(
        engine, "product", payloads, frame, lambda: product_checks(currency), key=lambda p: p.get("sku") or "",
        rows=lambda good: [_product_row(p, batch_id, now) for p in good],
        table=stg_product, unless_older="source_updated_at", batch_id=batch_id, run_id=run_id, now=now,
        cursor_at=cursor_at,
    )


def stage_stock(
    engine: Engine, *, batch_id: str, run_id: str | None, now: dt.datetime, cursor_at: dt.datetime | None,
) -> StageResult:
    with engine.connect() as conn:
        batch = _raw_batch(conn, "stock_level", batch_id)
    payloads = [{**payload, "_as_of": extracted_at} for payload, extracted_at in batch]
    frame = _frame(payloads, numeric=("quantity", "forecast_quantity"))
    if not frame.empty:
        frame["quantity_fraction"] = frame["quantity"] % 1
        frame["forecast_fraction"] = frame["forecast_quantity"] % 1
    return _stage(
        engine, "stock_level", payloads, frame, stock_checks,
        key=lambda p: f"{p.get('sku')}@{p.get('warehouse_code')}",
        rows=lambda good: [_stock_row(p, batch_id, now) for p in good],
        table=stg_stock_level, unless_older="as_of", batch_id=batch_id, run_id=run_id, now=now,
        cursor_at=cursor_at,
    )


def _stage(engine, entity, payloads, frame, checks: Callable[[], Sequence[Check]], *, key, rows, table,
           unless_older, batch_id, run_id, now, cursor_at) -> StageResult:
    started = time.monotonic()
    result = StageResult(entity, rows=len(payloads))
    # An empty batch (a run with nothing to do) never imports Great Expectations (seconds per process).
    validation = validate_frame(frame, checks() if payloads else [], dataset=f"{SOURCE}.{entity}")
    good = [payloads[i] for i in validation.good_rows]
    rejected = validation.rejected
    with engine.begin() as conn:
        result.staged = db.upsert(conn, table, rows(good), unless_older=unless_older)
        bad_keys = [key(payloads[i]) for i in rejected]
        _close_quarantine(conn, entity, bad_keys, status="superseded", now=now)
        for chunk in db.chunks([
            {
                "source": SOURCE, "entity": entity, "record_key": key(payloads[i]), "batch_id": batch_id,
                "run_id": run_id, "failed_expectations": rejection.checks, "reason": rejection.reason,
                "payload": _without_private(payloads[i]), "status": "open", "quarantined_at": now,
                "expires_at": now + dt.timedelta(days=QUARANTINE_DAYS),
            }
            for i, rejection in rejected.items()
        ]):
            conn.execute(quarantine.insert(), chunk)
        result.quarantined = len(rejected)
        result.released = _close_quarantine(conn, entity, [key(p) for p in good], status="released", now=now)
        if cursor_at is not None:
            result.cursor_at = db.advance_cursor(conn, SOURCE, entity, cursor_at, run_id=run_id, now=now)
    result.failed_checks = validation.failures_by_check()
    result.seconds = time.monotonic() - started
    if result.quarantined:
        log.warning("%s: %d of %d rows quarantined (%s); first keys: %s", entity, result.quarantined, result.rows,
                    result.failed_checks, [key(payloads[i]) for i in list(rejected)[:5]])
    return result


def _close_quarantine(conn: Connection, entity: str, keys: list[str], *, status: str, now: dt.datetime) -> int:
    closed = 0
    for chunk in db.chunks(sorted(set(keys))):
        closed += conn.execute(
            quarantine.update()
            .where(quarantine.c.source == SOURCE, quarantine.c.entity == entity,
                   quarantine.c.status == "open", quarantine.c.record_key.in_(chunk))
            .values(status=status, resolved_at=now)
        ).rowcount
    return closed


def _frame(payloads: list[dict[str, Any]], numeric: Sequence[str]):
    import pandas as pd

    frame = pd.DataFrame([_without_private(p) for p in payloads])
    for column in numeric:
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def _without_private(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if not k.startswith("_")}


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def content_hash(*parts: Any) -> str:
    """A stable digest of what the store shows, to tell whether content changed."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def _product_row(p: dict[str, Any], batch_id: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "sku": p["sku"], "erp_product_id": p["erp_product_id"], "erp_template_id": p["template_id"],
        "template_code": p.get("template_code"), "title": p["title"], "description": p.get("description"),
        "image_urls": list(p.get("image_urls") or []), "image_version": p.get("image_version") or "",
        "categories": list(p.get("categories") or []), "unit": p.get("unit"),
        "list_price": _decimal(p.get("list_price")), "sale_price": _decimal(p.get("sale_price")),
        "currency": p["currency"], "active": bool(p["active"]), "salable": bool(p.get("salable", True)),
        "source_updated_at": dt.datetime.fromisoformat(p["updated_at"]),
        "content_hash": content_hash(p["title"], p.get("description"), p.get("image_version"), p["active"]),
        "batch_id": batch_id, "staged_at": now,
    }


def _stock_row(p: dict[str, Any], batch_id: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "sku": p["sku"], "warehouse_code": p["warehouse_code"], "erp_product_id": p["erp_product_id"],
        "erp_warehouse_id": p["warehouse_id"], "quantity": _decimal(p["quantity"]),
        "forecast_quantity": _decimal(p["forecast_quantity"]), "as_of": p["_as_of"], "batch_id": batch_id,
        "staged_at": now,
    }
