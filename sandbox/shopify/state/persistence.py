"""SQLite write-through: every committed change of the in-memory store is upserted here, and the store
is rebuilt from it at start-up. One row per record, its body JSON-encoded."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sandbox.shopify.state.codec import decode, encode

_DDL = """
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL,
    key  TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class Database:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One connection, used under the store's lock only (check_same_thread off for that reason).
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_DDL)
        self._lock = threading.Lock()

    def load(self) -> Iterator[tuple[str, Any]]:
        for kind, body in self._conn.execute("SELECT kind, body FROM records"):
            yield kind, decode(body)

    def load_meta(self) -> dict[str, Any]:
        return {name: json.loads(value) for name, value in self._conn.execute("SELECT name, value FROM meta")}

    def write(
        self,
        upserts: Iterable[tuple[str, str, Any]],
        deletes: Iterable[tuple[str, str]],
        meta: dict[str, Any],
    ) -> None:
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(
                    "INSERT INTO records (kind, key, body) VALUES (?, ?, ?) "
                    "ON CONFLICT (kind, key) DO UPDATE SET body = excluded.body",
                    ((kind, key, encode(record)) for kind, key, record in upserts),
                )
                self._conn.executemany("DELETE FROM records WHERE kind = ? AND key = ?", deletes)
                self._conn.executemany(
                    "INSERT INTO meta (name, value) VALUES (?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    ((name, json.dumps(value)) for name, value in meta.items()),
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def clear(self) -> None:
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.execute("DELETE FROM records")
            self._conn.execute("DELETE FROM meta")
            self._conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
