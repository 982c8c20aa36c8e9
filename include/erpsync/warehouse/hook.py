"""Airflow hook: turns the `warehouse_default` Connection into a SQLAlchemy engine.

Connection types: ``postgres`` (Host, Port, Schema = database, Login, Password; the production
warehouse) or ``sqlite`` (Host = the database file's absolute path; the embedded default).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from airflow.sdk import BaseHook
from sqlalchemy import Engine
from sqlalchemy.engine import URL

from erpsync.warehouse.engine import make_engine


def url_from_connection(conn_type: str, *, host: str | None, port: int | None, schema: str | None,
                        login: str | None, password: str | None, conn_id: str) -> URL:
    if conn_type in ("postgres", "postgresql"):
        return URL.create("postgresql+psycopg", username=login, password=password, host=host,
                          port=port, database=schema)
    if conn_type == "sqlite":
        if not host:
            raise ValueError(f"Connection {conn_id!r}: put the SQLite file's absolute path in Host")
        return URL.create("sqlite", database=host)
    raise ValueError(f"Connection {conn_id!r} has type {conn_type!r}; the warehouse needs postgres or sqlite")


@cache
def _engine(url: URL) -> Engine:
    # One engine (and pool) per worker process and URL, shared by every task that process runs.
    return make_engine(url)


class WarehouseHook(BaseHook):
    conn_name_attr = "warehouse_conn_id"
    default_conn_name = "warehouse_default"
    conn_type = "postgres"
    hook_name = "Sync warehouse"

    def __init__(self, warehouse_conn_id: str = default_conn_name, **kwargs: Any):
        super().__init__(**kwargs)
        self.warehouse_conn_id = warehouse_conn_id

    def get_conn(self) -> Engine:
        conn = self.get_connection(self.warehouse_conn_id)
        return _engine(url_from_connection(
            conn.conn_type, host=conn.host, port=conn.port, schema=conn.schema, login=conn.login,
            password=conn.password, conn_id=self.warehouse_conn_id,
        ))
