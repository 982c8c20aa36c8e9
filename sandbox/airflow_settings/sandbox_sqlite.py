"""How the sandbox's Airflow connects to its SQLite metadata database (``sandbox/airflow_local.py`` puts this
folder on the ``PYTHONPATH`` of every Airflow process and names ``CONNECT_ARGS`` in
``[database] sql_alchemy_connect_args``): each query's rows are read whole when it runs.

Why: Python's sqlite3 begins a transaction only before a write, so a read runs outside one; but a query
whose rows are not all fetched yet keeps its read open. A write made meanwhile upgrades that read to a
write, and in WAL mode, when another process committed since the read began, the upgrade fails at once
with ``database is locked``: the busy timeout is not consulted (the scheduler died of it under load).
A read fetched whole has ended before the next statement, so a write begins its own transaction, and
that one waits for the lock up to the busy timeout. Setting the driver's ``isolation_level`` to
``IMMEDIATE`` does not help (the driver still begins only at the first write), and ``BEGIN IMMEDIATE`` for
every SQLAlchemy transaction deadlocks Airflow against itself (``airflow standalone`` holds a session
while its migration check opens a second connection). tests/sandbox/test_airflow_sqlite_lock.py shows
all three.
"""

from __future__ import annotations

import sqlite3
from collections import deque


class BufferedCursor(sqlite3.Cursor):
    """A cursor that fetches every row of a query when it executes it, then hands them out."""

    def execute(self, sql, parameters=(), /):
        super().execute(sql, parameters)
        self._rows = deque(super().fetchall()) if self.description is not None else deque()
        return self

    def executemany(self, sql, seq_of_parameters, /):
        super().executemany(sql, seq_of_parameters)
        self._rows = deque()
        return self

    def fetchone(self):
        rows = getattr(self, "_rows", None)
        return rows.popleft() if rows else None

    def fetchmany(self, size=None):
        rows = getattr(self, "_rows", None) or deque()
        size = self.arraysize if size is None else size
        return [rows.popleft() for _ in range(min(size, len(rows)))]

    def fetchall(self):
        rows = getattr(self, "_rows", None) or deque()
        self._rows = deque()
        return list(rows)

    def __iter__(self):
        return self

    def __next__(self):
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row


class BufferedConnection(sqlite3.Connection):
    def cursor(self, factory=BufferedCursor):
        return super().cursor(factory)


CONNECT_ARGS = {"factory": BufferedConnection}
