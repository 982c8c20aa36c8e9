"""Engines for the warehouse URL: PostgreSQL in production, a SQLite file as the embedded default."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

DEFAULT_SQLITE_PATH = Path(__file__).resolve().parents[3] / "var" / "warehouse.sqlite"


def default_url() -> str:
    """``WAREHOUSE_URL`` from the environment, else the embedded SQLite file under ``var/``."""
    return os.environ.get("WAREHOUSE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"


def normalize_url(url: str | URL) -> URL:
    """Pin the PostgreSQL driver to psycopg 3 whatever spelling the URL uses."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername != "postgresql+psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL, **kwargs) -> Engine:
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, pool_pre_ping=True, **kwargs)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the Airflow UI read while a task writes; busy_timeout makes concurrent tasks wait for the
    # write lock instead of failing at once.
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON", "synchronous=NORMAL"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()
