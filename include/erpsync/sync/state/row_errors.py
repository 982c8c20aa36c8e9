"""The row-level error queue: a row that failed (a store write refused, a product the store rejects)
is recorded with its error and retried by later runs with exponential backoff, stays visible, and is
resolved automatically the next time it succeeds. Every row is of one store (``store``, the store's
name): the one a publish wrote to or an order came from, so two stores' queues never touch.

A row that keeps failing does not retry for ever: after ``GIVE_UP_AFTER`` attempts it is ``given_up``,
a terminal state that no run retries on its own; ``sync_watch`` alerts it as STUCK and an operator
releases it (:func:`retry_given_up`) once the cause is fixed. A row a guardrail holds never gives up:
every run looks at it again until it is approved or fixed."""

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
GIVE_UP_AFTER = 12  # attempts: 30 s, 1, 2, 4 ... 32 min, then hourly: about 6 hours of retries
_LONGEST_DOUBLING = (LONGEST_WAIT // FIRST_RETRY).bit_length()  # doublings past which the wait is capped


@dataclass(frozen=True)
class RowFailure:
    key: str
    kind: str  # e.g. CHANGE_FROM_QUANTITY_STALE, INVALID, StoreTransportError
    message: str
    payload: dict[str, Any] | None = None


def next_attempt(attempts: int, now: dt.datetime) -> dt.datetime:
    """When a row that has failed ``attempts`` times is due again: the wait doubles from FIRST_RETRY up to
    LONGEST_WAIT (the exponent is capped first, so any count of attempts gives a time)."""
    return now + min(LONGEST_WAIT, FIRST_RETRY * 2 ** min(max(0, attempts - 1), _LONGEST_DOUBLING))


UNRESOLVED = ("open", "given_up")
HELD = "HeldByGuardrail"  # the kind of a row a guardrail holds: looked at again by every run


def record_failures(conn: Connection, *, store: str, flow: str, entity: str, operation: str,
                    failures: Sequence[RowFailure], run_id: str | None, now: dt.datetime,
                    give_up_after: int = GIVE_UP_AFTER) -> None:
    """Open (or reopen) an error per failed row; the attempt count and the backoff grow each time, and the
    ``give_up_after``-th failure makes it ``given_up``. A row held by a guardrail is due again at once:
    every run re-evaluates it until approved or fixed."""
    if not failures:
        return
    attempts = _attempts(conn, store, flow, entity, operation, [f.key for f in failures])
    rows = {f.key: {"store": store, **_failed_row(flow, entity, operation, f, attempts.get(f.key, 0) + 1, run_id,
                                                  now, give_up_after)}
            for f in failures}
    changing = ["status", "error_kind", "error_message", "attempts", "last_failed_at", "next_attempt_at",
                "resolved_at", "run_id", "payload"]
    key = ["store", "flow", "entity", "record_key", "operation"]
    # An open error keeps when it first failed; a resolved one that fails again starts over.
    db.upsert(conn, row_error, [row for k, row in rows.items() if k in attempts], key=key, update=changing)
    db.upsert(conn, row_error, [row for k, row in rows.items() if k not in attempts], key=key,
              update=[*changing, "first_failed_at"])


def _failed_row(flow: str, entity: str, operation: str, failure: RowFailure, attempts: int, run_id: str | None,
                now: dt.datetime, give_up_after: int) -> dict[str, Any]:
    held = failure.kind == HELD
    given_up = not held and attempts >= give_up_after
    return {
        "flow": flow, "entity": entity, "record_key": failure.key, "operation": operation,
        "status": "given_up" if given_up else "open", "error_kind": failure.kind[:64],
        "error_message": failure.message, "attempts": attempts, "first_failed_at": now, "last_failed_at": now,
        "next_attempt_at": None if given_up else now if held else next_attempt(attempts, now),
        "resolved_at": None, "run_id": run_id, "payload": failure.payload,
    }


def resolve(conn: Connection, *, store: str, flow: str, entity: str, operation: str, keys: Iterable[str],
            now: dt.datetime) -> int:
    resolved = 0
    for chunk in db.chunks(sorted(set(keys))):
        resolved += conn.execute(
            row_error.update()
            .where(*_of_step(store, flow, entity, operation), row_error.c.status.in_(UNRESOLVED),
                   row_error.c.record_key.in_(chunk))
            .values(status="resolved", resolved_at=now, next_attempt_at=None)
        ).rowcount
    return resolved


def retry_given_up(conn: Connection, *, store: str, flow: str, keys: Iterable[str] | None = None,
                   now: dt.datetime) -> int:
    """Release given-up rows of ``flow`` in ``store`` (all of them, or only ``keys``) for one more attempt
    by the next run; a row that fails again gives up again at once. Returns how many were released."""
    where = [row_error.c.store == store, row_error.c.flow == flow, row_error.c.status == "given_up"]
    if keys is None:
        return conn.execute(row_error.update().where(*where).values(status="open", next_attempt_at=now)).rowcount
    released = 0
    for chunk in db.chunks(sorted(set(keys))):
        released += conn.execute(row_error.update().where(*where, row_error.c.record_key.in_(chunk))
                                 .values(status="open", next_attempt_at=now)).rowcount
    return released


def waiting_keys(conn: Connection, *, store: str, flow: str, entity: str, operation: str, now: dt.datetime) -> set[str]:
    """Keys that must not be tried now: their retry is not due yet, or they have given up."""
    return set(conn.execute(
        select(row_error.c.record_key).where(
            *_of_step(store, flow, entity, operation),
            ((row_error.c.status == "open") & (row_error.c.next_attempt_at > now))
            | (row_error.c.status == "given_up"))
    ).scalars())


def due_keys(conn: Connection, *, store: str, flow: str, entity: str, operation: str, now: dt.datetime) -> list[str]:
    """Keys whose retry is due."""
    return list(conn.execute(
        select(row_error.c.record_key).where(
            *_of_step(store, flow, entity, operation), row_error.c.status == "open",
            row_error.c.next_attempt_at <= now,
        )
    ).scalars())


def unresolved_keys(conn: Connection, *, store: str, flow: str, entity: str, operation: str) -> set[str]:
    """Keys still in the queue (waiting for a retry, held, or given up): in flight, not forgotten."""
    return set(conn.execute(
        select(row_error.c.record_key).where(
            *_of_step(store, flow, entity, operation), row_error.c.status.in_(UNRESOLVED),
        )
    ).scalars())


def _of_step(store: str, flow: str, entity: str, operation: str) -> tuple[Any, ...]:
    """The conditions that pick the rows of one step's queue in one store."""
    return (row_error.c.store == store, row_error.c.flow == flow, row_error.c.entity == entity,
            row_error.c.operation == operation)


def _attempts(conn: Connection, store: str, flow: str, entity: str, operation: str,
              keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in db.chunks(sorted(set(keys))):
        found.update(conn.execute(
            select(row_error.c.record_key, row_error.c.attempts).where(
                *_of_step(store, flow, entity, operation), row_error.c.status.in_(UNRESOLVED),
                row_error.c.record_key.in_(chunk))
        ).all())
    return found
