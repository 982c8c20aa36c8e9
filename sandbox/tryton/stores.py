"""Where a sandbox keeps its working database and its pristine snapshot: SQLite files or PostgreSQL.

Both stores offer the same operations, so the control code never branches on the backend:
``exists``/``create_empty``/``drop`` for the working database, ``snapshot`` (working -> pristine),
``restore`` (pristine -> working) and ``drop_snapshot``.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from sandbox.tryton.errors import BUILD_HINT, ErpSandboxError

# trytond runs SQLite in WAL mode: these files belong to the database file and must go with it.
SQLITE_SIDECARS = ("-wal", "-shm", "-journal")


class SqliteStore:
    """The working database is ``<home>/db/<name>.sqlite``; the snapshot lives outside trytond's path."""

    def __init__(self, home: Path, db_name: str, pristine: Path | None = None):
        self.directory = home / "db"
        self.path = self.directory / f"{db_name}.sqlite"
        self.pristine = pristine or home / "pristine" / f"{db_name}.sqlite"

    @property
    def uri(self) -> str:
        return "sqlite://"

    @property
    def pristine_ref(self) -> str:
        return str(self.pristine)

    def exists(self) -> bool:
        return self.path.is_file()

    def has_snapshot(self) -> bool:
        return self.pristine.is_file()

    def create_empty(self) -> None:
        # trytond-admin initialises an existing (empty) SQLite file but refuses to create one.
        self.drop()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path.touch()

    def drop(self) -> None:
        _remove_sqlite(self.path)

    def snapshot(self) -> None:
        _sqlite_copy(self.path, self.pristine)

    def restore(self) -> None:
        if not self.has_snapshot():
            raise ErpSandboxError(f"no pristine snapshot at {self.pristine}: {BUILD_HINT}")
        self.directory.mkdir(parents=True, exist_ok=True)
        self.drop()
        _sqlite_copy(self.pristine, self.path)

    def drop_snapshot(self) -> None:
        _remove_sqlite(self.pristine)

    def import_snapshot(self, source: Path) -> None:
        """Take a copy of another instance's snapshot as ours (clones)."""
        _sqlite_copy(source, self.pristine)


def _remove_sqlite(path: Path) -> None:
    for candidate in [path, *(path.with_name(path.name + suffix) for suffix in SQLITE_SIDECARS)]:
        candidate.unlink(missing_ok=True)


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy a database with SQLite's backup API into a temporary file, then rename it into place.

    A plain file copy of a WAL database misses the pages still in ``-wal`` and corrupts the copy. The copy
    is switched to a rollback journal so it is one self-contained file; trytond turns WAL back on when it
    opens it.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    _remove_sqlite(partial)
    reader = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    writer = sqlite3.connect(partial)
    try:
        reader.backup(writer)
        writer.execute("PRAGMA journal_mode = DELETE")
    finally:
        writer.close()
        reader.close()
    _remove_sqlite(target)
    os.replace(partial, target)


class PostgresStore:
    """The working database is ``<name>``; the snapshot is the template database ``<name>_pristine``.

    A clone shares its source's template (passed as ``pristine``) instead of copying it: templates are
    frozen (no connections allowed), so sharing is safe, and only the clone's working database is new.
    """

    def __init__(self, url: str, db_name: str, python: Path, pristine: str | None = None):
        self.url = url
        self.db_name = db_name
        self.python = python
        self.pristine = pristine or f"{db_name}_pristine"

    @property
    def uri(self) -> str:
        return self.url

    @property
    def pristine_ref(self) -> str:
        return self.pristine

    def exists(self) -> bool:
        return self._admin("exists", self.db_name, check=False) == 0

    def has_snapshot(self) -> bool:
        return self._admin("exists", self.pristine, check=False) == 0

    def create_empty(self) -> None:
        self.drop()
        self._admin("create", self.db_name)

    def drop(self) -> None:
        self._admin("drop", self.db_name)

    def snapshot(self) -> None:
        self._admin("drop", self.pristine)
        self._admin("create", self.pristine, "--template", self.db_name)
        self._admin("freeze", self.pristine)

    def restore(self) -> None:
        if not self.has_snapshot():
            raise ErpSandboxError(f"no pristine template database {self.pristine!r}: {BUILD_HINT}")
        self.drop()
        self._admin("create", self.db_name, "--template", self.pristine)

    def drop_snapshot(self) -> None:
        self._admin("drop", self.pristine)

    def _admin(self, action: str, name: str, *extra: str, check: bool = True) -> int:
        command = [str(self.python), "-m", "sandbox.tryton.pgadmin", action, name, *extra]
        # The URL goes through the environment: a password in it must not show in the process list.
        result = subprocess.run(command, cwd=_repo_root(), capture_output=True, text=True,
                                env={**os.environ, "ERP_DB_URL": self.url})
        if check and result.returncode:
            raise ErpSandboxError(
                f"PostgreSQL {action} {name!r} failed on {redact(self.url)}: {result.stderr.strip()[-800:]}")
        return result.returncode


def redact(url: str) -> str:
    """The URL without its password, for messages and `info`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[2]
