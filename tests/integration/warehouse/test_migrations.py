"""Migrations: up and down on both engines, idempotent, and the same schema on both."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from erpsync.warehouse import migrate
from erpsync.warehouse.engine import make_engine
from erpsync.warehouse.schema import metadata
from tests.conftest import create_pg_database, drop_pg_database


def _tables(engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_creates_every_table_and_downgrade_removes_them(empty_db_url):
    engine = make_engine(empty_db_url)
    try:
        migrate.upgrade(engine)
        assert _tables(engine) == set(metadata.tables)
        assert migrate.current_revision(engine) == migrate.head_revision()

        migrate.downgrade(engine, "base")
        assert _tables(engine) == set()
        assert migrate.current_revision(engine) is None

        migrate.upgrade(engine)  # and back up again after a full downgrade
        assert _tables(engine) == set(metadata.tables)
    finally:
        engine.dispose()


def test_upgrade_twice_is_a_no_op(empty_db_url):
    engine = make_engine(empty_db_url)
    try:
        migrate.upgrade(engine)
        before = _schema_signature(engine)
        migrate.upgrade(engine)
        assert _schema_signature(engine) == before
        assert migrate.current_revision(engine) == migrate.head_revision()
    finally:
        engine.dispose()


def test_migrated_database_matches_the_declared_schema(warehouse_url):
    """`alembic check`: the migrations and schema.py describe the same tables (no drift)."""
    engine = make_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_schema_is_identical_on_postgresql_and_sqlite(tmp_path, pg_server):
    sqlite_engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    pg_url = create_pg_database(pg_server)
    pg_engine = make_engine(pg_url)
    try:
        migrate.upgrade(sqlite_engine)
        migrate.upgrade(pg_engine)
        assert _schema_signature(sqlite_engine) == _schema_signature(pg_engine)
    finally:
        sqlite_engine.dispose()
        pg_engine.dispose()
        drop_pg_database(pg_server, pg_url)


# Types reflected differently by the two engines that are the same logical type for us.
_TYPE_FAMILIES = {
    "BIGINT": "integer", "INTEGER": "integer", "SMALLINT": "integer",
    "JSONB": "json", "JSON": "json",
    "TIMESTAMP": "timestamp", "DATETIME": "timestamp",
    "BOOLEAN": "boolean", "TEXT": "text", "VARCHAR": "string", "NUMERIC": "numeric",
}


def _type_family(column_type) -> str:
    name = type(column_type).__name__.upper()
    family = _TYPE_FAMILIES.get(name, name)
    if family == "string":
        return f"string({column_type.length})"
    if family == "numeric":
        return f"numeric({column_type.precision},{column_type.scale})"
    return family


def _schema_signature(engine) -> dict:
    """Tables, columns (logical type, nullability), keys, unique constraints and indexes, by name."""
    inspector = inspect(engine)
    signature = {}
    for table in sorted(_tables(engine)):
        uniques = {
            (u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)
        }
        indexes = {
            (i["name"], tuple(i["column_names"]), bool(i["unique"]))
            for i in inspector.get_indexes(table)
            # PostgreSQL reports a unique constraint's backing index too; SQLite does not.
            if (i["name"], tuple(i["column_names"])) not in uniques
        }
        signature[table] = {
            "columns": [
                (c["name"], _type_family(c["type"]), c["nullable"]) for c in inspector.get_columns(table)
            ],
            "primary_key": tuple(inspector.get_pk_constraint(table)["constrained_columns"]),
            "unique": sorted(uniques),
            "indexes": sorted(indexes),
            "checks": sorted(c["name"] for c in inspector.get_check_constraints(table)),
        }
    return signature
