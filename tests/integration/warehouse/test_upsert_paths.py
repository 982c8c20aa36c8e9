"""The two ways an upsert writes: COPY through a temporary table (many rows on PostgreSQL) and one
statement run over all rows (fewer rows, and SQLite). Both leave the same rows, on both engines: newer
rows kept, a repeat changing nothing, every kind of value stored as it was given."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from erpsync.warehouse import db
from erpsync.warehouse.schema import stg_product

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
PARIS = dt.timezone(dt.timedelta(hours=1))


def product(i: int, *, updated: dt.datetime = T0, title: str | None = None, batch: str = "b1") -> dict:
    """A staged product with awkward values: quotes, tabs, newlines, backslashes and accents in text and
    JSON, JSON lists, objects and nulls, money to the column's scale, a time given in another zone."""
    return {
        "sku": f"SKU-{i:06d}", "erp_product_id": i, "erp_template_id": i // 3,
        "template_code": None if i % 4 == 0 else f"TPL-{i // 3}",
        "title": title or f"Tee \"{i}\"\tà l'été \\ n°{i}",
        "description": None if i % 5 == 0 else f"line one\nline two\r\n\\N is not null {i}",
        "image_urls": None if i % 6 == 0 else [f"https://erp.example/{i}?s=1&t=\"x\"", "é\\\t"][: 1 + i % 2],
        "image_version": "" if i % 2 else f"{i}@2026-11-01",
        "categories": [{"name": "Wäsche / Socken", "depth": 2, "tags": ["a", None, 1.5]}] if i % 3 else [],
        "unit": "u", "list_price": Decimal("123456789.0125") if i == 1 else Decimal(f"{i}.0150"),
        "sale_price": None if i % 7 == 0 else Decimal("0.0001"), "currency": "EUR",
        "active": i % 8 != 0, "salable": True, "in_web_shop": i % 9 != 0, "source_updated_at": updated.astimezone(PARIS),
        "content_hash": f"{i:064x}", "batch_id": batch, "staged_at": T0,
    }


def stored(engine) -> dict:
    """The table's rows by SKU, and how many hold an SQL NULL (not JSON null) in a JSON column."""
    with engine.connect() as conn:
        rows = {row.sku: row._asdict() for row in conn.execute(select(stg_product))}
        sql_nulls = conn.execute(select(func.count()).where(stg_product.c.image_urls.is_(None))).scalar_one()
    return {"rows": rows, "sql_null_image_urls": sql_nulls}


def upsert(engine, rows: list[dict], **options) -> None:
    with engine.begin() as conn:
        assert db.upsert(conn, stg_product, rows, unless_older="source_updated_at", **options) == len(rows)


def go_through(monkeypatch, path: str, chunk_rows: int) -> None:
    monkeypatch.setattr(db, "COPY_MIN_ROWS", 1 if path == "copy" else 10**9)
    monkeypatch.setattr(db, "COPY_CHUNK_ROWS", chunk_rows)


def on_each_path(warehouse, monkeypatch, steps, chunk_rows: int) -> list[dict]:
    """What the table holds after each step; on PostgreSQL the same through COPY too, which must agree."""
    go_through(monkeypatch, "statement", chunk_rows)
    states = [step() or stored(warehouse) for step in steps]
    if warehouse.dialect.name == "postgresql":
        with warehouse.begin() as conn:
            conn.execute(stg_product.delete())
        go_through(monkeypatch, "copy", chunk_rows)
        assert [step() or stored(warehouse) for step in steps] == states
    return states


def test_newer_rows_stay_a_repeat_changes_nothing_and_values_come_back_as_given(warehouse, monkeypatch):
    count = 30
    first = [product(i) for i in range(1, count + 1)]
    before, after = T0 - dt.timedelta(days=1), T0 + dt.timedelta(seconds=1)
    older = [product(i, updated=before, title="older", batch="b0") for i in range(1, 16)]
    newer = [product(i, updated=after, title="newer", batch="b2") for i in range(1, count + 1, 3)]
    nothing_to_update = [product(i, title="inserted", batch="b3") for i in range(count - 1, count + 3)]
    # COPY in chunks of 4 rows: the steps cross chunk edges.
    loaded, again, after_older, after_newer, after_new = on_each_path(warehouse, monkeypatch, [
        lambda: upsert(warehouse, first), lambda: upsert(warehouse, first), lambda: upsert(warehouse, older),
        lambda: upsert(warehouse, newer), lambda: upsert(warehouse, nothing_to_update, update=[]),
    ], chunk_rows=4)

    assert again == loaded
    assert after_older == loaded

    def expected(i: int) -> dict:
        if i > count:
            return product(i, title="inserted", batch="b3")
        if i % 3 == 1:
            return product(i, updated=after, title="newer", batch="b2")
        return product(i)  # untouched by the older versions, and by the rows with nothing to update

    # Values come back as given: text, JSON (None as JSON null), decimals, times (in UTC).
    assert after_new["rows"] == {f"SKU-{i:06d}": expected(i) for i in range(1, count + 3)}
    assert {row["source_updated_at"].utcoffset() for row in after_new["rows"].values()} == {dt.timedelta(0)}
    assert after_new["sql_null_image_urls"] == 0
    assert after_newer["rows"]["SKU-000004"]["title"] == "newer"


def test_an_upsert_above_the_copy_threshold_leaves_what_the_statement_path_leaves(warehouse, monkeypatch):
    count = db.COPY_CHUNK_ROWS + 7  # well above COPY_MIN_ROWS, across a chunk edge
    assert count >= db.COPY_MIN_ROWS
    earlier = T0 - dt.timedelta(hours=1)
    first = [product(i, updated=earlier if i % 2 else T0) for i in range(1, count + 1)]
    # Odd rows are newer in this second load, even rows older than what the table holds.
    second = [product(i, updated=T0 if i % 2 else earlier, title="second", batch="b2")
              for i in range(1, count + 1)]
    copied = []
    copy_upsert = db._copy_upsert

    def counted_copy_upsert(conn, table, rows, *rest):
        copied.append(len(rows))
        return copy_upsert(conn, table, rows, *rest)

    monkeypatch.setattr(db, "_copy_upsert", counted_copy_upsert)

    states = []
    for rows in (first, first, second):
        upsert(warehouse, rows)
        states.append(stored(warehouse))

    assert copied == ([count] * 3 if warehouse.dialect.name == "postgresql" else [])
    assert states[1] == states[0]
    final = states[2]["rows"]
    assert len(final) == count
    assert {row["title"] for sku, row in final.items() if int(sku[4:]) % 2} == {"second"}
    assert "second" not in {row["title"] for sku, row in final.items() if not int(sku[4:]) % 2}
    if warehouse.dialect.name == "postgresql":
        monkeypatch.setattr(db, "COPY_MIN_ROWS", 10**9)
        with warehouse.begin() as conn:
            conn.execute(stg_product.delete())
        for rows in (first, first, second):
            upsert(warehouse, rows)
        assert stored(warehouse) == states[2]
