"""Firing and resolved alerts: one row per ongoing problem, so a problem seen by every run (a flow
running every 30 seconds) is sent once, repeated only after ``renotify_after``, and its end announced."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from erpsync.alerts.channels import AlertDeliveryError
from erpsync.warehouse import db
from erpsync.warehouse.schema import NOT_OF_A_STORE, alert_state

log = logging.getLogger(__name__)

Sender = Callable[[str, str], list[str]]


@dataclass(frozen=True)
class Alert:
    key: str  # the ongoing problem: the same key from run to run is the same problem
    kind: str  # failure | quarantine | guardrail | stale | row_errors | drift | not_applied | waiting
    title: str
    details: list[str] = field(default_factory=list)  # never secrets or personal data
    dag_id: str | None = None
    run_id: str | None = None
    run_url: str | None = None
    store: str = NOT_OF_A_STORE  # a store's problem: its key starts with the store (:func:`store_key`)


class AlertBook:
    def __init__(self, engine: Engine, send: Sender, *, renotify_after: dt.timedelta = dt.timedelta(hours=6)):
        self.engine = engine
        self.send = send
        self.renotify_after = renotify_after
        self.undelivered: list[AlertDeliveryError] = []

    def fire(self, alert: Alert, now: dt.datetime) -> bool:
        """Record the problem; send it unless it is already firing and was sent recently. A broken channel
        never keeps the alert from the others (see :meth:`raise_undelivered`); an alert that no channel
        took is not recorded as sent, so the next run sends it again."""
        with self.engine.begin() as conn:
            state = conn.execute(select(alert_state).where(alert_state.c.alert_key == alert.key)).mappings().first()
            firing = state is not None and state["status"] == "firing"
            due = not firing or state["last_sent_at"] is None or now - state["last_sent_at"] >= self.renotify_after
            if due and not self._send(f"[erpsync] {alert.title}", _text(alert, repeated=firing)):
                return False
            db.upsert(conn, alert_state, [{
                "alert_key": alert.key, "store": alert.store, "kind": alert.kind, "status": "firing",
                "title": alert.title,
                "details": alert.details, "occurrences": (state["occurrences"] + 1) if firing else 1,
                "first_seen_at": state["first_seen_at"] if firing else now, "last_seen_at": now,
                "last_sent_at": now if due else state["last_sent_at"], "resolved_at": None,
                "dag_id": alert.dag_id, "run_id": alert.run_id,
            }])
        if not due:
            log.info("alert %s still firing (sent %s): not repeated", alert.key, state["last_sent_at"])
        return due

    def clear(self, key: str, now: dt.datetime, *, run_url: str | None = None) -> bool:
        """Mark the problem resolved and announce it, if it was firing (and stays firing when no channel
        took the announcement, to be announced by the next run)."""
        with self.engine.begin() as conn:
            state = conn.execute(select(alert_state).where(alert_state.c.alert_key == key)).mappings().first()
            if state is None or state["status"] != "firing":
                return False
            lasted = now - state["first_seen_at"]
            if not self._send(f"[erpsync] RESOLVED: {state['title']}",
                              f"Cleared after {duration(lasted)} ({state['occurrences']} run(s) saw it)."
                              + (f"\n{run_url}" if run_url else "")):
                return False
            conn.execute(alert_state.update().where(alert_state.c.alert_key == key)
                         .values(status="resolved", resolved_at=now, last_seen_at=now))
        return True

    def _send(self, subject: str, text: str) -> bool:
        """Send; False when a channel was broken and none took the alert. Every delivery error is kept."""
        try:
            self.send(subject, text)
        except AlertDeliveryError as error:
            self.undelivered.append(error)
            return bool(error.delivered)
        return True

    def raise_undelivered(self) -> None:
        """After all of a task's alerts: fail it when a channel was broken, naming the channel and the fix
        (its failure is itself alerted through the channels that work)."""
        if self.undelivered:
            for error in self.undelivered[1:]:
                log.error("%s", error)
            raise self.undelivered[0]

    def firing(self, prefix: str = "") -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(alert_state).where(
                alert_state.c.status == "firing", alert_state.c.alert_key.startswith(prefix))).mappings()]


def _text(alert: Alert, *, repeated: bool) -> str:
    lines = [*alert.details]
    if alert.dag_id:
        lines.append(f"DAG {alert.dag_id}, run {alert.run_id}")
    if alert.run_url:
        lines.append(alert.run_url)
    if repeated:
        lines.append("(still going on: this is a reminder)")
    return "\n".join(lines)


def store_key(store: str, key: str) -> str:
    """The key of a store's alert: ``shop-eu/orders/stuck_rows``, so two stores' problems are two alerts."""
    return f"{store}/{key}" if store else key


def duration(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
