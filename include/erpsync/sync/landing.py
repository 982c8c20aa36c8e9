"""Landing extracted records in the raw layer: the part every extract (ERP catalog, store orders) shares.

An extract reads the half-open window ``[cursor - lag, run end)`` and lands every record under one batch
id. It does not move the cursor: staging does, in the transaction that commits the batch. A crash
anywhere before that leaves the cursor where it was, so the next attempt reads the same window again;
records read twice are harmless (raw is history, everything downstream upserts by key).
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from erpsync.common.progress import Progress
from erpsync.common.window import Window
from erpsync.warehouse import db
from erpsync.warehouse.schema import NOT_OF_A_STORE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExtractResult:
    source: str
    entity: str
    batch_id: str
    rows: int
    window_start: dt.datetime | None
    window_end: dt.datetime
    move_cursor: bool  # False for a run over given keys: it must not make the next run skip changes
    seconds: float
    facts: dict[str, Any] = field(default_factory=dict)  # what staging needs to know (e.g. the currency)

    def as_counts(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id, "rows": self.rows, "seconds": round(self.seconds, 3),
            "window_start": self.window_start.isoformat() if self.window_start else None,
            "window_end": self.window_end.isoformat(), "move_cursor": self.move_cursor, **self.facts,
        }


def window_for(engine: Engine, source: str, entity: str, end: dt.datetime, lag: dt.timedelta,
               full_refresh: bool, *, store: str = NOT_OF_A_STORE) -> Window:
    with engine.connect() as conn:
        cursor = None if full_refresh else db.get_cursor(conn, source, entity, store=store)
    return Window.after_cursor(cursor, end, lag)


def land(
    engine: Engine,
    source: str,
    entity: str,
    pages: Iterator[list[db.RawRow]],
    *,
    window: Window,
    run_id: str | None,
    now: dt.datetime,
    move_cursor: bool = True,
    scope: str | None = None,
    facts: dict[str, Any] | None = None,
    store: str = NOT_OF_A_STORE,
) -> ExtractResult:
    """Land ``pages`` under one new batch id; ``store``: the store they were read from (the ERP's: '')."""
    batch_id = uuid.uuid4().hex
    progress = Progress(log, f"extract {f'{store} ' if store else ''}{source}.{entity} {scope or window}")
    for page in pages:
        # A transaction per page keeps write locks short; an attempt that dies half way leaves an
        # orphan partial batch (harmless history: nothing downstream is handed its batch id).
        with engine.begin() as conn:
            db.land_raw(conn, source=source, entity=entity, rows=page, batch_id=batch_id, run_id=run_id,
                        extracted_at=now, store=store)
        progress.add(len(page))
    seconds = progress.finish()
    return ExtractResult(source, entity, batch_id, progress.done, window.start, window.end, move_cursor, seconds,
                         facts or {})
