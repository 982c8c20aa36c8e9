"""Set-based reads and writes of the warehouse, the same on PostgreSQL and SQLite.

Writes go in sets (``INSERT .. ON CONFLICT`` over many rows per statement), never one round trip per
row, and every write that a rerun may repeat is an upsert by the natural key, so repeating it changes
nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.dialects import postgresql, sqlite

from erpsync.warehouse.schema import raw_record, sync_cursor, sync_run

# Rows per INSERT statement: SQLite allows 32,766 bound parameters per statement; ~20 columns x 1,000
# stays well inside it and is large enough that PostgreSQL round trips do not dominate.
CHUNK_ROWS = 1000


@dataclass(frozen=True, slots=True)
class RawRow:
    record_key: str
    payload: dict[str, Any]
    source_updated_at: dt.datetime | None = None


def _insert(table: Table, dialect: str):
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"the warehouse runs on PostgreSQL or SQLite, not {dialect}")


def upsert(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    key: Sequence[str] | None = None,
    update: Iterable[str] | None = None,
    unless_older: str | None = None,
) -> int:
    """Insert ``rows`` into ``table``, updating ``update`` columns (default: all but the key) on a key
    conflict. ``key`` defaults to the primary key. With ``unless_older`` (a timestamp column), a row
    never replaces one that is newer by that column: a slow run finishing late cannot undo a fresh one.
    Returns the number of rows sent."""
    if not rows:
        return 0
    key = list(key or [column.name for column in table.primary_key.columns])
    update_columns = list(update) if update is not None else [
        name for name in rows[0] if name not in key
    ]
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[start:start + CHUNK_ROWS]
        statement = _insert(table, conn.dialect.name).values(chunk)
        if update_columns:
            newer = None
            if unless_older is not None:
                current = table.c[unless_older]
                newer = current.is_(None) | (current <= statement.excluded[unless_older])
            statement = statement.on_conflict_do_update(
                index_elements=key,
                set_={name: statement.excluded[name] for name in update_columns},
                where=newer,
            )
        else:
            statement = statement.on_conflict_do_nothing(index_elements=key)
        conn.execute(statement)
    return len(rows)


def chunks(values: Sequence, size: int = CHUNK_ROWS):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def land_raw(
    conn: Connection,
    *,
    source: str,
    entity: str,
    rows: Sequence[RawRow],
    batch_id: str,
    run_id: str | None,
    extracted_at: dt.datetime,
) -> int:
    """Append ``rows`` to the raw layer (never updates: raw is the history of what was extracted)."""
    values = [
        {
            "source": source,
            "entity": entity,
            "record_key": row.record_key,
            "batch_id": batch_id,
            "run_id": run_id,
            "extracted_at": extracted_at,
            "source_updated_at": row.source_updated_at,
            "payload": row.payload,
        }
        for row in rows
    ]
    for start in range(0, len(values), CHUNK_ROWS):
        conn.execute(raw_record.insert(), values[start:start + CHUNK_ROWS])
    return len(values)


def get_cursor(conn: Connection, source: str, entity: str) -> dt.datetime | None:
    return conn.execute(
        select(sync_cursor.c.cursor_at).where(
            sync_cursor.c.source == source, sync_cursor.c.entity == entity
        )
    ).scalar_one_or_none()


def advance_cursor(
    conn: Connection, source: str, entity: str, cursor_at: dt.datetime, *, run_id: str | None, now: dt.datetime
) -> dt.datetime:
    """Move the cursor to ``cursor_at`` unless it is already further (a backfill or an older run
    finishing late must never move it back). Call it in the transaction that commits what was read."""
    current = get_cursor(conn, source, entity)
    if current is not None and current >= cursor_at:
        return current
    upsert(conn, sync_cursor, [{
        "source": source, "entity": entity, "cursor_at": cursor_at, "run_id": run_id, "updated_at": now,
    }])
    return cursor_at


def start_run(
    engine: Engine,
    *,
    flow: str,
    dag_id: str,
    run_id: str,
    logical_date: dt.datetime | None,
    window_start: dt.datetime | None,
    window_end: dt.datetime | None,
    now: dt.datetime,
) -> None:
    """Record that a flow run (re)started; a rerun of the same Airflow run reuses its row."""
    with engine.begin() as conn:
        upsert(conn, sync_run, [{
            "flow": flow, "dag_id": dag_id, "run_id": run_id, "logical_date": logical_date,
            "window_start": window_start, "window_end": window_end, "status": "running",
            "started_at": now, "finished_at": None, "counts": {}, "timings": {}, "error": None,
        }], key=["flow", "dag_id", "run_id"])


def finish_run(
    engine: Engine,
    *,
    flow: str,
    dag_id: str,
    run_id: str,
    status: str,
    counts: dict[str, Any],
    timings: dict[str, float],
    error: str | None,
    now: dt.datetime,
) -> None:
    with engine.begin() as conn:
        result = conn.execute(
            sync_run.update()
            .where(sync_run.c.flow == flow, sync_run.c.dag_id == dag_id, sync_run.c.run_id == run_id)
            .values(status=status, counts=counts, timings=timings, error=error, finished_at=now)
        )
        if result.rowcount == 0:
            raise LookupError(f"no sync_run row for {flow}/{dag_id}/{run_id}: start_run was not called")
