"""Work waiting for a person, and what people decided on it (DAG ``review_held``, Airflow's "Required
actions").

Two kinds of row in the error queue stop for a person:

- a change a guardrail held (kind ``HeldByGuardrail``): a price moving more than the limit, products
  unpublished en masse. Its *subject* is the value held (the new price, ``unpublish``): an approval lets
  exactly that value through, and a later different value is a new question;
- a row that gave up retrying (``given_up``). Its subject is the time of its last failure: "retry" releases
  it for one more attempt; if it gives up again, that is a new question.

A row, and so its decision, is of one store (the error queue's ``store``): the same SKU held in two stores
is two questions. A decision is recorded once per row and subject (table ``review_decision``, latest wins);
the review asks only about rows without a decision on their current subject, so nothing is asked twice and
nothing is decided for a value nobody saw.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, select, tuple_

from erpsync.sync.state.row_errors import HELD, retry_given_up
from erpsync.warehouse import db
from erpsync.warehouse.schema import review_decision, row_error

APPROVED, REJECTED, RETRY, LEAVE = "approved", "rejected", "retry", "leave"
Key = tuple[str, str, str, str, str]  # store, flow, entity, operation, record_key


@dataclass(frozen=True, slots=True)
class Item:
    """One row waiting for a person."""

    flow: str
    entity: str
    operation: str
    record_key: str
    subject: str  # what a decision on it is about (see the module's doc)
    reason: str
    attempts: int
    detail: dict[str, Any]  # held: {"from": .., "to": ..} or {"change": "unpublish", ...}
    store: str = ""  # the store the row is of

    @property
    def key(self) -> Key:
        return self.store, self.flow, self.entity, self.operation, self.record_key

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Item:
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Decision:
    subject: str
    decision: str


# -- pure decisions -----------------------------------------------------------------------------------

def held_subject(payload: Mapping[str, Any] | None) -> str:
    """The value a held row holds back: the new price, or the change (``unpublish``)."""
    payload = payload or {}
    return str(payload.get("to") if payload.get("to") is not None else payload.get("change", "hold"))


def awaiting(items: Iterable[Item], decisions: Mapping[Key, Decision]) -> list[Item]:
    """The items nobody decided on yet: no decision, or one about another subject."""
    return [i for i in items if (d := decisions.get(i.key)) is None or d.subject != i.subject]


def approved_keys(subjects: Mapping[str, str], decisions: Mapping[str, Decision]) -> set[str]:
    """Of ``subjects`` (record key -> the value it would publish now), the keys approved for that very value."""
    return {key for key, subject in subjects.items()
            if (d := decisions.get(key)) is not None and d.decision == APPROVED and d.subject == subject}


# -- reads --------------------------------------------------------------------------------------------

def held_awaiting(conn: Connection) -> list[Item]:
    """Changes held by a guardrail that nobody decided on, oldest first."""
    rows = conn.execute(select(row_error).where(row_error.c.status == "open", row_error.c.error_kind == HELD)
                        .order_by(row_error.c.first_failed_at, row_error.c.record_key)).mappings().all()
    items = [Item(r["flow"], r["entity"], r["operation"], r["record_key"], held_subject(r["payload"]),
                  r["error_message"], r["attempts"], dict(r["payload"] or {}), r["store"]) for r in rows]
    return awaiting(items, _decisions(conn, [i.key for i in items]))


def given_up_awaiting(conn: Connection) -> list[Item]:
    """Rows that gave up retrying and that nobody decided on since they last failed, oldest first."""
    rows = conn.execute(select(row_error).where(row_error.c.status == "given_up")
                        .order_by(row_error.c.last_failed_at, row_error.c.record_key)).mappings().all()
    items = [Item(r["flow"], r["entity"], r["operation"], r["record_key"], r["last_failed_at"].isoformat(),
                  f"{r['error_kind']}: {r['error_message']}", r["attempts"], {}, r["store"]) for r in rows]
    return awaiting(items, _decisions(conn, [i.key for i in items]))


def decisions_for(conn: Connection, *, store: str, flow: str, entity: str, operation: str,
                  keys: Iterable[str]) -> dict[str, Decision]:
    """The decisions on these rows of one step in one store, by record key."""
    found = _decisions(conn, [(store, flow, entity, operation, k) for k in keys])
    return {key[4]: d for key, d in found.items()}


def _decisions(conn: Connection, keys: Sequence[Key]) -> dict[Key, Decision]:
    c = review_decision.c
    found: dict[Key, Decision] = {}
    for chunk in db.chunks(sorted(set(keys)), size=200):
        for row in conn.execute(select(c.store, c.flow, c.entity, c.operation, c.record_key, c.subject, c.decision)
                                .where(tuple_(c.store, c.flow, c.entity, c.operation, c.record_key).in_(chunk))):
            found[(row.store, row.flow, row.entity, row.operation, row.record_key)] = Decision(row.subject,
                                                                                                 row.decision)
    return found


# -- writes -------------------------------------------------------------------------------------------

def record(conn: Connection, items: Sequence[Item], *, decision: str, decided_by: str | None,
           review_run_id: str, now: dt.datetime) -> int:
    """Record one decision on each of ``items`` (what the person was shown); a retry also releases the
    given-up rows for the next run."""
    db.upsert(conn, review_decision, [
        {"store": i.store, "flow": i.flow, "entity": i.entity, "operation": i.operation, "record_key": i.record_key,
         "subject": i.subject, "decision": decision, "decided_by": decided_by, "decided_at": now,
         "review_run_id": review_run_id} for i in items],
        key=["store", "flow", "entity", "record_key", "operation"],
        update=["subject", "decision", "decided_by", "decided_at", "review_run_id"])
    if decision != RETRY:
        return len(items)
    released = 0
    for store, flow in sorted({(i.store, i.flow) for i in items}):
        released += retry_given_up(conn, store=store, flow=flow, now=now,
                                   keys=[i.record_key for i in items if (i.store, i.flow) == (store, flow)])
    return released
