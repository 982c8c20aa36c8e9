"""Upgrading in place: a warehouse at the previous release's revision (the one before head), with rows
in every table, migrated to head on both engines. Every row of every table is still there with the values
it had, and how long the upgrade took is printed (20,000 raw rows, 500 in each other table).

The rows are made from the tables as they are at that revision (reflected from the database), not from
the product's declared schema: a column the new revision renames or drops would show as a loss here."""

from __future__ import annotations

import datetime as dt
import re
import time
from decimal import Decimal

from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Boolean, DateTime, Integer, MetaData, Numeric, String, Table, Text, func, select

from erpsync.warehouse import migrate
from erpsync.warehouse.engine import make_engine

T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
ROWS = {"raw_record": 20_000}
DEFAULT_ROWS = 500


def previous_revision() -> str:
    script = ScriptDirectory(str(migrate.MIGRATIONS_DIR))
    return script.get_revision(script.get_current_head()).down_revision


def allowed(table: Table, column: str) -> list[str] | None:
    """The values a check constraint of the table as the previous release made it allows in ``column`` (e.g.
    a status): the declared, newer one may allow values the previous release did not."""
    for constraint in table.constraints:
        text = str(getattr(constraint, "sqltext", ""))
        # SQLite gives it back as written ("status IN ('a', 'b')"), PostgreSQL as
        # "((status)::text = ANY ((ARRAY['a'::character varying, ...])::text[]))".
        if re.match(rf"[\s(]*{column}\)?(::\w+)?\s*(IN\s*\(|=\s*ANY)", text):
            return re.findall(r"'([^']*)'", text)
    return None


def value(table: Table, column, i: int):
    choices = allowed(table, column.name)
    if choices:
        return choices[i % len(choices)]
    kind = column.type
    if isinstance(kind, Boolean):
        return i % 2 == 0
    if isinstance(kind, Integer):
        return i + 1
    if isinstance(kind, Numeric):
        return Decimal(i) / 4
    if isinstance(kind, DateTime):
        return T0 + dt.timedelta(seconds=i)
    if isinstance(kind, JSON):
        return {"i": i, "customer": {"email": f"buyer{i}@example.com"}, "lines": [{"sku": f"SKU-{i}", "quantity": i}]}
    if isinstance(kind, String | Text):
        text = f"{column.name[:8]}-{i}"
        return text[-kind.length:] if getattr(kind, "length", None) else text
    raise AssertionError(f"{table.name}.{column.name}: no test value for {kind!r}")


def contents(engine, tables) -> dict[str, list[tuple]]:
    with engine.connect() as conn:
        return {table.name: [tuple(row) for row in conn.execute(select(*table.columns).order_by(*table.columns))]
                for table in tables}


def test_an_upgrade_from_the_previous_release_keeps_every_row_of_every_table(empty_db_url):
    engine = make_engine(empty_db_url)
    previous = previous_revision()
    migrate.upgrade(engine, previous)
    before = MetaData()
    before.reflect(engine)
    tables = [t for name, t in sorted(before.tables.items()) if name != "alembic_version"]
    with engine.begin() as conn:
        for table in tables:
            rows = [{c.name: value(table, c, i) for c in table.columns}
                    for i in range(ROWS.get(table.name, DEFAULT_ROWS))]
            conn.execute(table.insert(), rows)
    kept = contents(engine, tables)
    assert all(kept.values()), "every table has rows"

    started = time.monotonic()
    migrate.upgrade(engine)
    took = time.monotonic() - started
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert contents(engine, tables) == kept
    with engine.connect() as conn:
        counts = {t.name: conn.execute(select(func.count()).select_from(t)).scalar() for t in tables}
    print(f"{engine.dialect.name}: {previous} -> {migrate.head_revision()} over {sum(counts.values())} rows "
          f"in {took:.2f} s")
    engine.dispose()
