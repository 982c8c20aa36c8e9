"""The webhook receiver's work for one delivery, apart from the web framework and Airflow (both given as
functions): verify, record in the inbox, then ask for a run of the store's order flow, in that order.

- A delivery that is not proven (signature, headers) is refused with 401 and recorded; nothing it carries
  is used.
- A proven one is recorded (table ``store_event``) *before* it is answered 2xx: once the store has its
  2xx, the event is in the warehouse.
- A new event that needs work asks for a run (the caller's ``request_run``: an Airflow asset event on which
  the store's order flow is scheduled; Airflow coalesces them, so a burst makes one run, or one more after
  the running one). A repeated delivery does not ask again, unless asking failed the first time.
- When the warehouse cannot record, the answer is 503, so that the store delivers again later.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from erpsync.store.events import Decision, Delivery, Endpoint, RefusedDelivery, decide
from erpsync.sync.state import store_events

log = logging.getLogger(__name__)

DEFAULT_MAX_AGE = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, str]


def receive(endpoint: Endpoint, headers: Mapping[str, str], body: bytes, *, engine: Engine,
            request_run: Callable[[Delivery], None], received_at: dt.datetime,
            max_age: dt.timedelta = DEFAULT_MAX_AGE) -> Answer:
    """Handle one delivery to ``endpoint`` (``headers``' keys in lower case)."""
    store = endpoint.store
    try:
        delivery = endpoint.parse(headers, body)
    except RefusedDelivery as refused:
        try:
            with engine.begin() as conn:
                store_events.record_refused(conn, store=store, topic=refused.claimed_topic,
                                            reason=str(refused), received_at=received_at)
        except SQLAlchemyError as error:
            log.error("store %s: a refused delivery could not be recorded: %s", store, type(error).__name__)
        log.warning("store %s: delivery refused: %s", store, refused)
        return Answer(401, {"outcome": "refused", "reason": str(refused)})
    try:
        with engine.begin() as conn:
            known = None
            if delivery.resource and delivery.order_state is not None:
                known = store_events.known_order(conn, store=store, order_id=delivery.resource)
            decision = decide(delivery, received_at=received_at, max_age=max_age, known=known)
            recorded = store_events.record(conn, store=store, delivery=delivery, decision=decision,
                                           received_at=received_at)
    except SQLAlchemyError as error:
        log.error("store %s: event %s could not be recorded (%s): answered 503, the store delivers it again",
                  store, delivery.event_id, type(error).__name__)
        return Answer(503, {"outcome": "not_recorded", "reason": "the warehouse is unavailable"})
    if not recorded.new and recorded.outcome != store_events.RUN_FAILED:
        return Answer(200, {"outcome": "duplicate", "event_id": delivery.event_id})
    if not recorded.new:
        decision = Decision(store_events.RUN)  # asking failed on an earlier delivery: ask now
    if not decision.wants_run:
        return Answer(200, {"outcome": decision.outcome, "event_id": delivery.event_id})
    return _ask_for_run(engine, store, delivery, request_run, again=not recorded.new)


def _ask_for_run(engine: Engine, store: str, delivery: Delivery, request_run: Callable[[Delivery], None], *,
                 again: bool) -> Answer:
    try:
        request_run(delivery)
    except Exception as error:  # noqa: BLE001 - whatever Airflow raised, the store must deliver again
        reason = f"the run could not be asked for: {type(error).__name__}: {error}"
        log.error("store %s: event %s: %s", store, delivery.event_id, reason)
        try:
            with engine.begin() as conn:
                store_events.set_outcome(conn, store=store, event_id=delivery.event_id,
                                         outcome=store_events.RUN_FAILED, reason=reason)
        except SQLAlchemyError:
            pass  # the row says "run": the safety-net poll reads the change anyway
        return Answer(503, {"outcome": store_events.RUN_FAILED, "event_id": delivery.event_id})
    if again:  # the row says run_failed
        with engine.begin() as conn:
            store_events.set_outcome(conn, store=store, event_id=delivery.event_id, outcome=store_events.RUN)
    return Answer(200, {"outcome": store_events.RUN, "event_id": delivery.event_id})
