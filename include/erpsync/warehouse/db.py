"""Set-based reads and writes of the warehouse, the same on PostgreSQL and SQLite.

Writes go in sets, never one round trip per row: one ``INSERT .. ON CONFLICT`` statement executed over
all rows (psycopg pipelines it, SQLite runs it in process), or, for many rows on PostgreSQL, COPY into a
temporary table and one ``INSERT .. SELECT .. ON CONFLICT`` from it. Every write that a rerun may repeat
is an upsert by the natural key, so repeating it changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Boolean, Column, Connection, Engine, MetaData, Table, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeEngine

from erpsync.common.jsontext import dumps_function
from erpsync.common.memory import paused_gc
from erpsync.warehouse.schema import NOT_OF_A_STORE, raw_record, sync_cursor, sync_run
from erpsync.warehouse.types import UtcDateTime

# Rows per INSERT, keys per IN list: SQLite allows 32,766 bound parameters per statement; ~20 columns x
# 1,000 stays well inside it and is large enough that PostgreSQL round trips do not dominate.
CHUNK_ROWS = 1000
# From this many rows, an upsert on PostgreSQL goes through COPY and a temporary table (faster from a few
# hundred rows on; twice as fast at 10,000).
COPY_MIN_ROWS = 1000
# Rows per COPY into that table and per INSERT .. SELECT from it.
COPY_CHUNK_ROWS = 10_000
_json_dumps = dumps_function()  # what psycopg's JSON adapters call: json.dumps


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
    conflict. ``key`` defaults to the primary key; a key appears at most once in ``rows``. With
    ``unless_older`` (a timestamp column), a row never replaces one that is newer by that column: a slow
    run finishing late cannot undo a fresh one. Returns the number of rows sent.

    On PostgreSQL, ``COPY_MIN_ROWS`` rows or more go through a temporary table filled by COPY, in the
    caller's transaction (``engine.begin()``; not an autocommit connection, where the table would be gone
    at once); fewer rows, and every row set on SQLite, go as one statement executed for all rows."""
    if not rows:
        return 0
    key = list(key or [column.name for column in table.primary_key.columns])
    update_columns = list(update) if update is not None else [
        name for name in rows[0] if name not in key
    ]
    dialect = conn.dialect.name
    with paused_gc():
        if dialect == "postgresql" and len(rows) >= COPY_MIN_ROWS:
            _copy_upsert(conn, table, rows, key, update_columns, unless_older)
        else:
            # One statement compiled once and run over all rows: compiling a multi-row VALUES statement
            # per chunk cost more than the database's work.
            conn.execute(_on_conflict(_insert(table, dialect), table, key, update_columns, unless_older),
                         list(rows))
    return len(rows)


def insert_absent(conn: Connection, table: Table, row: dict[str, Any], *, key: Sequence[str]) -> bool:
    """Insert ``row`` unless a row with its ``key`` exists (whatever it holds); True when inserted."""
    statement = (_insert(table, conn.dialect.name).values(**row).on_conflict_do_nothing(index_elements=list(key))
                 .returning(*(table.c[name] for name in key)))  # (rowcount is -1 for an insert on PostgreSQL)
    return conn.execute(statement).first() is not None


def _on_conflict(statement, table: Table, key: list[str], update_columns: list[str],
                 unless_older: str | None):
    if not update_columns:
        return statement.on_conflict_do_nothing(index_elements=key)
    newer = None
    if unless_older is not None:
        current = table.c[unless_older]
        newer = current.is_(None) | (current <= statement.excluded[unless_older])
    return statement.on_conflict_do_update(
        index_elements=key, set_={name: statement.excluded[name] for name in update_columns}, where=newer,
    )


def _copy_upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], key: list[str],
                 update_columns: list[str], unless_older: str | None) -> None:
    """COPY the rows a chunk at a time into a temporary table and upsert each chunk from it, all in the
    caller's transaction. While the server upserts a chunk, the next one is built (``rows`` may be
    :class:`LazyRows`) and converted: client and server work at the same time."""
    from psycopg import Error, sql

    columns = list(rows[0])
    staging = Table(f"{table.name}_upsert", MetaData(),
                    *(Column(name, table.c[name].type) for name in columns),
                    prefixes=["TEMPORARY"], postgresql_on_commit="DROP")
    staging.create(conn)
    from_staging = _on_conflict(postgresql.insert(table).from_select(columns, select(staging)), table, key,
                                update_columns, unless_older).compile(dialect=conn.dialect)
    dbapi_connection = conn.connection.dbapi_connection
    try:
        chunk = list(_copy_values(conn, table, columns, rows[:COPY_CHUNK_ROWS]))
        for start in range(COPY_CHUNK_ROWS, len(rows) + COPY_CHUNK_ROWS, COPY_CHUNK_ROWS):
            copy_into(conn, staging, columns, chunk)
            # Pipeline mode sends the statements and returns: the next chunk is built while they run.
            with dbapi_connection.pipeline(), dbapi_connection.cursor() as cursor:
                cursor.execute(str(from_staging), from_staging.params)
                cursor.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(staging.name)))
                chunk = list(_copy_values(conn, table, columns, rows[start:start + COPY_CHUNK_ROWS]))
    except Exception as error:
        # As SQLAlchemy raises them on the other path: IntegrityError, StatementError (a naive datetime)...
        raise DBAPIError.instance(str(from_staging), None, error, Error, dialect=conn.dialect) from error
    # Dropped now rather than at commit: the same transaction may upsert into this table again.
    staging.drop(conn)


class LazyRows(Sequence[dict[str, Any]]):
    """``build(item)`` for each of ``items``, built when read: an upsert of many rows builds each chunk
    while the server writes the one before, and never holds all the rows at once."""

    def __init__(self, build: Callable[[Any], dict[str, Any]], items: Sequence[Any]):
        self._build = build
        self._items = items

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return LazyRows(self._build, self._items[index])
        return self._build(self._items[index])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return map(self._build, self._items)


def _copy_values(conn: Connection, table: Table, columns: Sequence[str],
                 rows: Iterable[dict[str, Any]]) -> Iterator[list[Any]]:
    """The rows as lists of ``columns`` for :func:`copy_into`, each value converted as a bound parameter
    would be (UTC timestamps, JSON)."""
    pick = itemgetter(*columns) if len(columns) > 1 else lambda row: (row[columns[0]],)
    convert = [
        (position, converter) for position, name in enumerate(columns)
        if (converter := _copy_converter(table.c[name].type, conn.dialect))
    ]
    for row in rows:
        values = list(pick(row))
        for position, converter in convert:
            values[position] = converter(values[position])
        yield values


def _copy_converter(column_type: TypeEngine, dialect: Dialect) -> Callable[[Any], Any] | None:
    """The column's bind processor, with shortcuts for the values it would pass through as they are (a
    bool for a native boolean, an aware UTC time). For JSON, the text of what it returns: psycopg would
    serialize it with ``json.dumps``, four times slower than the encoder kept here for the purpose; a list
    or a dict goes straight to the serializer the processor would wrap it with (profiled: the processors
    were a third of converting a row)."""
    impl = column_type.dialect_impl(dialect)
    process = impl.bind_processor(dialect)
    if process is None:
        return None
    if isinstance(impl, Boolean) and dialect.supports_native_boolean:
        return lambda value: value if value is True or value is False else process(value)
    if isinstance(impl, UtcDateTime) and dialect.name == "postgresql":  # a UTC time goes in as it is
        return lambda value: (value if value.__class__ is dt.datetime and value.tzinfo is dt.UTC
                              else process(value))
    if not isinstance(impl, JSON):
        return process

    def json_text(value: Any) -> str | None:
        wrapped = process(value)  # psycopg's Json or Jsonb, or None for SQL NULL
        return None if wrapped is None else (wrapped.dumps or _json_dumps)(wrapped.obj)

    dumps = process([]).dumps or _json_dumps  # the serializer it wraps every list and dict with
    return lambda value: dumps(value) if value.__class__ in (list, dict) else json_text(value)


def copy_into(conn: Connection, table: Table, columns: Sequence[str],
              values: Iterable[Sequence[Any]]) -> None:
    """``COPY table (columns) FROM STDIN`` of ``values``, rows as psycopg adapts them (JSON as text or
    wrapped in Jsonb), in the connection's transaction."""
    from psycopg import sql

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns)))
    with conn.connection.dbapi_connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in values:
            copy.write_row(row)


def clock(conn: Connection) -> dt.datetime:
    """The warehouse database's own clock (aware UTC), at the moment of the call: one clock for every
    worker, whatever the workers' clocks say, for times that workers on other hosts compare (a claim's
    lease). SQLite is embedded, so its clock is its one host's."""
    if conn.dialect.name == "postgresql":
        return conn.execute(text("SELECT clock_timestamp()")).scalar_one().astimezone(dt.UTC)
    value = conn.execute(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")).scalar_one()
    return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """A naive time as UTC (SQLite hands back the warehouse's times without their zone)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


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
    store: str = NOT_OF_A_STORE,
) -> int:
    """Append ``rows`` to the raw layer (never updates: raw is the history of what was extracted); ``store``:
    the store they were read from (the ERP's: '')."""
    values = [
        {
            "store": store,
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


def get_cursor(conn: Connection, source: str, entity: str, *, store: str = NOT_OF_A_STORE) -> dt.datetime | None:
    """Where the extract of ``entity`` from ``source`` (in ``store``, for a store's) has read up to."""
    return conn.execute(
        select(sync_cursor.c.cursor_at).where(
            sync_cursor.c.store == store, sync_cursor.c.source == source, sync_cursor.c.entity == entity
        )
    ).scalar_one_or_none()


def advance_cursor(
    conn: Connection, source: str, entity: str, cursor_at: dt.datetime, *, run_id: str | None, now: dt.datetime,
    store: str = NOT_OF_A_STORE,
) -> dt.datetime:
    """Move the cursor to ``cursor_at`` unless it is already further (a backfill or an older run
    finishing late must never move it back); return where it is. One statement (an upsert that only
    updates an older cursor), so two runs committing at once cannot move it back between a read and a
    write. Call it in the transaction that commits what was read."""
    upsert(conn, sync_cursor, [{
        "store": store, "source": source, "entity": entity, "cursor_at": cursor_at, "run_id": run_id,
        "updated_at": now,
    }], unless_older="cursor_at")
    return get_cursor(conn, source, entity, store=store)


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
    store: str = NOT_OF_A_STORE,
) -> None:
    """Record that a flow run (re)started; a rerun of the same Airflow run reuses its row. ``store``: the
    store a flow of one store works on (orders, reconcile); '' for the catalog flow, which starts at the ERP."""
    with engine.begin() as conn:
        upsert(conn, sync_run, [{
            "store": store, "flow": flow, "dag_id": dag_id, "run_id": run_id, "logical_date": logical_date,
            "window_start": window_start, "window_end": window_end, "status": "running",
            "started_at": now, "finished_at": None, "counts": {}, "timings": {}, "error": None,
        }], key=["store", "flow", "dag_id", "run_id"])


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
    store: str = NOT_OF_A_STORE,
) -> None:
    with engine.begin() as conn:
        result = conn.execute(
            sync_run.update()
            .where(sync_run.c.store == store, sync_run.c.flow == flow, sync_run.c.dag_id == dag_id,
                   sync_run.c.run_id == run_id)
            .values(status=status, counts=counts, timings=timings, error=error, finished_at=now)
        )
        if result.rowcount == 0:
            raise LookupError(f"no sync_run row for {store or 'the ERP'}/{flow}/{dag_id}/{run_id}: start_run was not "
                              "called")
