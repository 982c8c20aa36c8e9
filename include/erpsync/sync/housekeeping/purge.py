"""Housekeeping's writes: old rows deleted and personal data blanked, in batches of ``batch_rows``, each
its own transaction, so that a flow writing to the same table never waits long on it.

What goes (cut-offs from :mod:`.policy`, counted back from the run's data interval end):
- ``raw_record`` rows landed before the raw cut-off;
- ``sync_run`` rows started before the run-log cut-off, and ``store_event`` rows (the webhook inbox: an
  event's row only has to outlive the store's redeliveries of it, two days at most) received before it;
- ``row_error`` rows *resolved* before the closed cut-off (open and given-up rows wait for a fix or a
  person: never deleted);
- ``quarantine`` rows *released, superseded or expired* before the closed cut-off (open ones: never);
- and, in the order payloads that stay, personal data: raw order rows landed before the personal-data
  cut-off, closed quarantined orders closed before it, and staged orders (``stg_order``: customer and
  addresses) last changed before it whose booking is done (the ledger says so: booking is the only step
  that reads them). Each such row is stamped ``personal_data_purged_at``, and is not read again until
  staging writes a newer version of it.

Running it twice deletes and blanks nothing the second time. The order ledger and the published state are
never touched (exactly-once and publish-only-what-changed rest on them), nor anything of a staged order
but its customer and addresses.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass

from sqlalchemy import ColumnElement, Engine, Table, and_, bindparam, delete, exists, select, update

from erpsync.sync.housekeeping.policy import RetentionConfig, cutoffs, without_personal_data
from erpsync.sync.orders.ledger import DONE
from erpsync.warehouse.schema import (
    order_ledger,
    quarantine,
    raw_record,
    row_error,
    stg_order,
    store_event,
    sync_run,
)

log = logging.getLogger(__name__)

CLOSED_QUARANTINE = ("released", "superseded", "expired")


@dataclass(slots=True)
class PurgeResult:
    raw_deleted: int = 0
    runs_deleted: int = 0
    events_deleted: int = 0
    errors_deleted: int = 0
    quarantine_deleted: int = 0
    raw_orders_purged: int = 0  # rows whose personal data was blanked
    quarantined_orders_purged: int = 0
    staged_orders_purged: int = 0
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
    result.events_deleted = _delete(engine, store_event, [store_event.c.received_at < cut.run_log], batch,
                                    cut.run_log)
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
    rows, fields = _blank_staged_orders(engine, cut.personal_data, batch, now)
    result.staged_orders_purged = rows
    result.personal_fields_blanked += fields
    if result.raw_orders_purged or result.quarantined_orders_purged or rows:
        log.info("personal data blanked in %d raw, %d quarantined and %d staged order(s) older than %s (%d fields)",
                 result.raw_orders_purged, result.quarantined_orders_purged, rows, cut.personal_data.isoformat(),
                 result.personal_fields_blanked)
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


PERSONAL_COLUMNS = ("customer", "shipping_address", "billing_address")


def _blank_staged_orders(engine: Engine, cutoff: dt.datetime, batch: int, now: dt.datetime) -> tuple[int, int]:
    """Blank the customer and addresses of staged orders last changed before ``cutoff`` whose booking is
    done (ledger state in ``DONE``: booking, the only reader of them, will not run for them again)."""
    booked = exists().where(order_ledger.c.store == stg_order.c.store,
                            order_ledger.c.store_order_id == stg_order.c.store_order_id,
                            order_ledger.c.state.in_(DONE))
    statement = (update(stg_order)
                 .where(and_(stg_order.c.store == bindparam("key_store"),
                             stg_order.c.store_order_id == bindparam("key_order")))
                 .values(personal_data_purged_at=now,
                         **{c: bindparam(f"clean_{c}", type_=stg_order.c[c].type) for c in PERSONAL_COLUMNS}))
    rows = fields = 0
    while True:
        with engine.begin() as conn:
            found = conn.execute(select(stg_order.c.store, stg_order.c.store_order_id,
                                        *(stg_order.c[c] for c in PERSONAL_COLUMNS))
                                 .where(stg_order.c.store_updated_at < cutoff,
                                        stg_order.c.personal_data_purged_at.is_(None), booked)
                                 .order_by(stg_order.c.store, stg_order.c.store_order_id).limit(batch)).all()
            if not found:
                break
            values = []
            for store, order_id, *documents in found:
                row = {"key_store": store, "key_order": order_id}
                for column, document in zip(PERSONAL_COLUMNS, documents, strict=True):
                    row[f"clean_{column}"], blanked = without_personal_data(document)
                    fields += blanked
                values.append(row)
            conn.execute(statement, values)
        rows += len(found)
        log.info("stg_order: customer and addresses blanked in %d booked order(s) so far", rows)
    return rows, fields
