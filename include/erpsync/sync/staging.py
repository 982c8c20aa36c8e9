"""Validate a landed raw batch and stage it: good rows into staging, bad rows into quarantine.

One transaction per dataset does it all: write the good rows (the caller's upserts), quarantine the bad
rows with the checks they failed (superseding the key's earlier quarantine), release the quarantine of
keys that now pass, and move the extract's cursor. The cursor therefore moves only when what was read is
committed in staging; a failure leaves everything as it was for a rerun.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, select

from erpsync.common.memory import paused_gc
from erpsync.quality.suites import Check
from erpsync.quality.validate import validate_frame
from erpsync.warehouse import db
from erpsync.warehouse.schema import NOT_OF_A_STORE, quarantine, raw_record

log = logging.getLogger(__name__)

QUARANTINE_DAYS = 30


@dataclass
class StageResult:
    entity: str
    rows: int = 0
    staged: int = 0
    quarantined: int = 0  # rows of this batch rejected
    newly_quarantined: int = 0  # of which not already in quarantine for the same reasons
    released: int = 0
    failed_checks: dict[str, int] = field(default_factory=dict)
    cursor_at: dt.datetime | None = None
    seconds: float = 0.0
    figures: dict[str, int] = field(default_factory=dict)  # the dataset's own (e.g. orders: shared_skus)

    def as_counts(self) -> dict[str, Any]:
        return {
            "rows": self.rows, "staged": self.staged, "quarantined": self.quarantined,
            "newly_quarantined": self.newly_quarantined, "released": self.released,
            "failed_checks": self.failed_checks, "seconds": round(self.seconds, 3), **self.figures,
        }


@dataclass
class Dataset:
    """How one kind of record is validated and staged."""

    source: str
    entity: str
    checks: Callable[[], Sequence[Check]]  # built only for a non-empty batch (GX imports take seconds)
    key: Callable[[dict[str, Any]], str]
    frame: Callable[[list[dict[str, Any]]], Any]  # payloads -> the pandas frame the checks read
    write: Callable[[Connection, list[dict[str, Any]]], int]  # upsert the good payloads; returns rows written
    store: str = NOT_OF_A_STORE  # the store the records come from; '' for the ERP's


def raw_batch(conn: Connection, source: str, entity: str, batch_id: str, *,
              store: str = NOT_OF_A_STORE) -> list[dict[str, Any]]:
    """The batch's payloads, each with its extraction time as ``_extracted_at``."""
    return [
        {**payload, "_extracted_at": extracted_at}
        for payload, extracted_at in conn.execute(
            select(raw_record.c.payload, raw_record.c.extracted_at)
            .where(raw_record.c.store == store, raw_record.c.source == source, raw_record.c.entity == entity,
                   raw_record.c.batch_id == batch_id)
            .order_by(raw_record.c.id)
        )
    ]


def held_back(conn: Connection, source: str, entity: str, *, store: str = NOT_OF_A_STORE) -> list[dict[str, Any]]:
    """Payloads in quarantine: validated again with each batch, so that a fix elsewhere (a product created
    in the ERP) releases them without them changing themselves."""
    return [dict(payload) for payload in conn.execute(
        select(quarantine.c.payload).where(quarantine.c.store == store, quarantine.c.source == source,
                                           quarantine.c.entity == entity, quarantine.c.status == "open")
        .order_by(quarantine.c.id)
    ).scalars()]


def stage(engine: Engine, dataset: Dataset, payloads: list[dict[str, Any]], *, batch_id: str, run_id: str | None,
          now: dt.datetime, cursor_at: dt.datetime | None) -> StageResult:
    started = time.monotonic()
    result = StageResult(dataset.entity, rows=len(payloads))
    # An empty batch (a run with nothing to do) never imports Great Expectations.
    validation = validate_frame(dataset.frame(payloads), dataset.checks() if payloads else [],
                                dataset=f"{dataset.source}.{dataset.entity}")
    good = [payloads[i] for i in validation.good_rows]
    with engine.begin() as conn:
        result.staged = dataset.write(conn, good)
        # A row rejected again for the same reasons (a held row validated with each batch, a row re-read
        # by the overlap of two windows) keeps its quarantine entry: no churn, no duplicate.
        still = _open_quarantine(conn, dataset, [dataset.key(payloads[i]) for i in validation.rejected])
        fresh = {
            i: rejection for i, rejection in validation.rejected.items()
            if still.get(dataset.key(payloads[i])) != (sorted(rejection.checks), without_private(payloads[i]))
        }
        _close_quarantine(conn, dataset, [dataset.key(payloads[i]) for i in fresh], status="superseded", now=now)
        for chunk in db.chunks([
            {
                "store": dataset.store, "source": dataset.source, "entity": dataset.entity,
                "record_key": dataset.key(payloads[i]),
                "batch_id": batch_id, "run_id": run_id, "failed_expectations": rejection.checks,
                "reason": rejection.reason, "payload": without_private(payloads[i]), "status": "open",
                "quarantined_at": now, "expires_at": now + dt.timedelta(days=QUARANTINE_DAYS),
            }
            for i, rejection in fresh.items()
        ]):
            conn.execute(quarantine.insert(), chunk)
        result.quarantined = len(validation.rejected)
        result.newly_quarantined = len(fresh)
        result.released = _close_quarantine(conn, dataset, [dataset.key(p) for p in good], status="released", now=now)
        if cursor_at is not None:
            result.cursor_at = db.advance_cursor(conn, dataset.source, dataset.entity, cursor_at, run_id=run_id,
                                                 now=now, store=dataset.store)
    result.failed_checks = validation.failures_by_check()
    result.seconds = time.monotonic() - started
    if result.quarantined:
        log.warning("%s.%s: %d of %d rows quarantined (%s); first keys: %s", dataset.source, dataset.entity,
                    result.quarantined, result.rows, result.failed_checks,
                    [dataset.key(payloads[i]) for i in list(validation.rejected)[:5]])
    return result


def _of_dataset(dataset: Dataset) -> tuple[Any, ...]:
    return (quarantine.c.store == dataset.store, quarantine.c.source == dataset.source,
            quarantine.c.entity == dataset.entity)


def _open_quarantine(conn: Connection, dataset: Dataset, keys: list[str]) -> dict[str, tuple[list[str], Any]]:
    found: dict[str, tuple[list[str], Any]] = {}
    for chunk in db.chunks(sorted(set(keys))):
        found.update((key, (sorted(checks), payload)) for key, checks, payload in conn.execute(
            select(quarantine.c.record_key, quarantine.c.failed_expectations, quarantine.c.payload)
            .where(*_of_dataset(dataset), quarantine.c.status == "open", quarantine.c.record_key.in_(chunk))))
    return found


def _close_quarantine(conn: Connection, dataset: Dataset, keys: list[str], *, status: str, now: dt.datetime) -> int:
    closed = 0
    for chunk in db.chunks(sorted(set(keys))):
        closed += conn.execute(
            quarantine.update()
            .where(*_of_dataset(dataset), quarantine.c.status == "open", quarantine.c.record_key.in_(chunk))
            .values(status=status, resolved_at=now)
        ).rowcount
    return closed


def frame_of(payloads: list[dict[str, Any]], numeric: Sequence[str] = ()):
    import pandas as pd

    with paused_gc():
        frame = pd.DataFrame([without_private(p) for p in payloads])
    for column in numeric:
        if column in frame:
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame


def without_private(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if not k.startswith("_")}
