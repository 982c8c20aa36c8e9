"""The warehouse as code inside Airflow's API server (the plugin apps: the sync-health page, the webhook
receiver) reaches it: the ``warehouse_default`` Connection read from Airflow's own secrets and metadata
database (the API server has them; the task SDK's channel exists only in workers), on every call, since it
may be edited; one engine, and its pool, per URL."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Engine
from sqlalchemy.engine import URL


def warehouse_engine(conn_id: str = "warehouse_default") -> Engine:
    from airflow.models.connection import Connection

    from erpsync.warehouse.hook import url_from_connection

    conn = Connection.get_connection_from_secrets(conn_id)
    return _engine_for(url_from_connection(conn.conn_type, host=conn.host, port=conn.port, schema=conn.schema,
                                           login=conn.login, password=conn.password, conn_id=conn_id))


@cache
def _engine_for(url: URL) -> Engine:
    from erpsync.warehouse.engine import make_engine

    return make_engine(url)
