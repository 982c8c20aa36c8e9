"""Housekeeping's writes: old rows deleted and personal data blanked, in batches of ``batch_rows``, each
its own transaction, so that a flow writing to the same table never waits long on it.

What goes (cut-offs from :mod:`.policy`, counted back from the run's data interval end):
- ``raw_record`` rows landed before the raw cut-off;
- ``sync_run`` rows started before the run-log cut-off;
- ``row_error`` rows *resolved* before the closed cut-off (open and given-up rows wait for a fix or a
  person: never deleted);
- ``quarantine`` rows *released, superseded or expired* before the closed cut-off (open ones: never);
- and, in the order payloads that stay, personal data: raw order rows landed before the personal-data
  cut-off, closed quarantined orders closed before it. Each such row is stamped
  ``personal_data_purged_at``, and is not read again.

Running it twice deletes and blanks nothing the second time. The order ledger, the staged orders and the
published state are never touched: exactly-once and publish-only-what-changed rest on them.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass

from sqlalchemy import ColumnElement, Engine, Table, bindparam, delete, select, update

from erpsync.sync.housekeeping.policy import RetentionConfig, cutoffs, without_personal_data
from erpsync.warehouse.schema import quarantine, raw_record, row_error, sync_run

log = logging.getLogger(__name__)

CLOSED_QUARANTINE = ("released", "superseded", "expired")


@dataclass(slots=True)
class PurgeResult:
    raw_deleted: int = 0
    runs_deleted: int = 0
    errors_deleted: int = 0
    quarantine_deleted: int = 0
    raw_orders_purged: int = 0  # rows whose personal data was blanked
    quarantined_orders_purged: int = 0
    personal_fields_blanked: int = 0

    def as_counts(self) -> dict[str, int]:
        return asdict(self)


def purge(engine: Engine, config: RetentionConfig, *, as_of: dt.datetime, now: dt.datetime) -> PurgeResult:
    """Delete what is past its retention and blank the personal data past its period, as of ``as_of``
    (the run's data interval end); ``now`` stamps the rows blanked."""
    cut = cutoffs(config, as_of)
    batch = config.batch_rows
    result = PurgeResult()
    result.raw_deleted = _delete(engine, raw_record, [raw_record.c.extracted_at < cut.raw], batch, cut.raw)
    result.runs_deleted = _delete(engine, sync_run, [sync_run.c.started_at < cut.run_log], batch, cut.run_log)
    result.errors_deleted = _delete(engine, row_error, [row_error.c.status == "resolved",
                                                        row_error.c.resolved_at < cut.closed], batch, cut.closed)
    result.quarantine_deleted = _delete(engine, quarantine, [quarantine.c.status.in_(CLOSED_QUARANTINE),
                                                             quarantine.c.resolved_at < cut.closed], batch, cut.closed)
    rows, fields = _blank_personal_data(engine, raw_record, [
        raw_record.c.entity == "order", raw_record.c.extracted_at < cut.personal_data], batch, now)
    result.raw_orders_purged, result.personal_fields_blanked = rows, fields
    rows, fields = _blank_personal_data(engine, quarantine, [
        quarantine.c.entity == "order", quarantine.c.status.in_(CLOSED_QUARANTINE),
        quarantine.c.resolved_at < cut.personal_data], batch, now)
    result.quarantined_orders_purged = rows
    result.personal_fields_blanked += fields
    if rows or result.raw_orders_purged:
        log.info("personal data blanked in %d raw and %d quarantined order payload(s) older than %s (%d fields)",
                 result.raw_orders_purged, rows, cut.personal_data.isoformat(), result.personal_fields_blanked)
    return result


def _delete(engine: Engine, table: Table, where: list[ColumnElement[bool]], batch: int,
            cutoff: dt.datetime) -> int:
    deleted = 0
    while True:
        with engine.begin() as conn:
            ids = conn.execute(select(table.c.id).where(*where).order_by(table.c.id).limit(batch)).scalars().all()
            if not ids:
                break
            conn.execute(delete(table).where(table.c.id.in_(ids)))
        deleted += len(ids)
        log.info("%s: %d row(s) older than %s deleted so far", table.name, deleted, cutoff.isoformat())
    return deleted


def _blank_personal_data(engine: Engine, table: Table, where: list[ColumnElement[bool]], batch: int,
                         now: dt.datetime) -> tuple[int, int]:
    """Blank the personal fields of the payloads ``where`` selects and not yet blanked; rows, fields."""
    statement = (update(table).where(table.c.id == bindparam("row_id"))
                 .values(payload=bindparam("clean", type_=table.c.payload.type), personal_data_purged_at=now))
    rows = fields = 0
    while True:
        with engine.begin() as conn:
            found = conn.execute(select(table.c.id, table.c.payload)
                                 .where(*where, table.c.personal_data_purged_at.is_(None))
                                 .order_by(table.c.id).limit(batch)).all()
            if not found:
                break
            values = []
            for row_id, payload in found:
                clean, blanked = without_personal_data(payload)
                values.append({"row_id": row_id, "clean": clean})
                fields += blanked
            conn.execute(statement, values)
        rows += len(found)
        log.info("%s: personal data blanked in %d order payload(s) so far", table.name, rows)
    return rows, fields
