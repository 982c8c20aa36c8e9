"""PostgreSQL database administration for the sandbox ERP: create, copy from a template, freeze, drop.

Runs inside the ERP environment (psycopg 3, which trytond's PostgreSQL backend needs anyway), started by the
stdlib-only control code as ``ERP_DB_URL=URL .venv-erp/bin/python -m sandbox.tryton.pgadmin ACTION NAME``.
The pristine snapshot of a PostgreSQL sandbox is a template database: copying it with
``CREATE DATABASE ... TEMPLATE`` takes about a second, whatever the data size.
"""

from __future__ import annotations

import argparse
import os
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql


def connect(url: str) -> psycopg.Connection:
    """Connect to the maintenance database of the server named by a trytond-style URL."""
    parts = urlsplit(url)
    # autocommit: CREATE/DROP DATABASE cannot run inside a transaction block.
    return psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True)


def exists(connection: psycopg.Connection, name: str) -> bool:
    row = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def drop(connection: psycopg.Connection, name: str) -> None:
    if not exists(connection, name):
        return
    # A template database cannot be dropped, and open sessions (a killed server's) would block the drop.
    connection.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false ALLOW_CONNECTIONS true").format(
        sql.Identifier(name)))
    connection.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def create(connection: psycopg.Connection, name: str, template: str | None) -> None:
    if template:
        connection.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)))
    else:
        # As trytond creates its databases: UTF8, from template0.
        connection.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
            sql.Identifier(name)))


def freeze(connection: psycopg.Connection, name: str) -> None:
    """Mark a database as a template nobody can connect to, so the pristine copy cannot drift."""
    connection.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false").format(
        sql.Identifier(name)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["exists", "create", "drop", "freeze"])
    parser.add_argument("name")
    parser.add_argument("--template", help="for create: copy this database")
    args = parser.parse_args(argv)
    url = os.environ.get("ERP_DB_URL")
    if not url:
        parser.error("set ERP_DB_URL to the server's postgresql://user@host:port/ URL")
    with connect(url) as connection:
        if args.action == "exists":
            return 0 if exists(connection, args.name) else 1
        if args.action == "create":
            create(connection, args.name, args.template)
        elif args.action == "drop":
            drop(connection, args.name)
        else:
            freeze(connection, args.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
