"""The row-level error queue: a row that failed (a store write refused, a product the store rejects)
is recorded with its error and retried by later runs with exponential backoff, stays visible, and is
resolved automatically the next time it succeeds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from erpsync.warehouse import db
from erpsync.warehouse.schema import row_error

FIRST_RETRY = dt.timedelta(seconds=30)
LONGEST_WAIT = dt.timedelta(hours=1)


@dataclass(frozen=True)
class RowFailure:
    key: str
    kind: str  # e.g. CHANGE_FROM_QUANTITY_STALE, INVALID, StoreTransportError
    message: str
    payload: dict[str, Any] | None = None


def next_attempt(attempts: int, now: dt.datetime) -> dt.datetime:
    return now + min(LONGEST_WAIT, FIRST_RETRY * 2 ** max(0, attempts - 1))


HELD = "HeldByGuardrail"  # the kind of a row a guardrail holds: looked at again by every run


def record_failures(conn: Connection, *, flow: str, entity: str, operation: str, failures: Sequence[RowFailure],
                    run_id: str | None, now: dt.datetime) -> None:
    """Open (or reopen) an error per failed row; the attempt count and the backoff grow each time. A row
    held by a guardrail is due again at once: every run re-evaluates it until approved or fixed."""
    if not failures:
        return
    attempts = _attempts(conn, flow, entity, operation, [f.key for f in failures])
    rows = {
        f.key: {
            "flow": flow, "entity": entity, "record_key": f.key, "operation": operation, "status": "open",
            "error_kind": f.kind[:64], "error_message": f.message, "attempts": attempts.get(f.key, 0) + 1,
            "first_failed_at": now, "last_failed_at": now,
            "next_attempt_at": now if f.kind == HELD else next_attempt(attempts.get(f.key, 0) + 1, now),
            "resolved_at": None,
            "run_id": run_id, "payload": f.payload,
        }
        for f in failures
    }
    changing = ["status", "error_kind", "error_message", "attempts", "last_failed_at", "next_attempt_at",
                "resolved_at", "run_id", "payload"]
    key = ["flow", "entity", "record_key", "operation"]
    # An open error keeps when it first failed; a resolved one that fails again starts over.
    db.upsert(conn, row_error, [row for k, row in rows.items() if k in attempts], key=key, update=changing)
    db.upsert(conn, row_error, [row for k, row in rows.items() if k not in attempts], key=key,
              update=[*changing, "first_failed_at"])


def resolve(conn: Connection, *, flow: str, entity: str, operation: str, keys: Iterable[str],
            now: dt.datetime) -> int:
    resolved = 0
    for chunk in db.chunks(sorted(set(keys))):
        resolved += conn.execute(
            row_error.update()
            .where(row_error.c.flow == flow, row_error.c.entity == entity, row_error.c.operation == operation,
                   row_error.c.status == "open", row_error.c.record_key.in_(chunk))
            .values(status="resolved", resolved_at=now, next_attempt_at=None)
        ).rowcount
    return resolved


def due_keys(conn: Connection, *, flow: str, entity: str, operation: str, now: dt.datetime) -> list[str]:
    """Keys whose retry is due."""
    return list(conn.execute(
        select(row_error.c.record_key).where(
            row_error.c.flow == flow, row_error.c.entity == entity, row_error.c.operation == operation,
            row_error.c.status == "open", row_error.c.next_attempt_at <= now,
        )
    ).scalars())


def _attempts(conn: Connection, flow: str, entity: str, operation: str, keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in db.chunks(sorted(set(keys))):
        found.update(conn.execute(
            select(row_error.c.record_key, row_error.c.attempts).where(
                row_error.c.flow == flow, row_error.c.entity == entity, row_error.c.operation == operation,
                row_error.c.status == "open", row_error.c.record_key.in_(chunk))
        ).all())
    return found
