"""Store events (webhooks) whatever the store kind: what a verified delivery announces, and the pure
decision of what it causes. An event is a hint to read the store, never the data itself: a lost,
repeated, late or reordered event changes nothing but latency, because the order flow reads the changed
orders from the store as its polling does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

# The topics on which the order flow has work: an order created, changed, cancelled, edited, paid or
# refunded. Anything else (inventory, products, fulfillments: what the ERP masters or we write ourselves)
# causes no run: the catalog flow publishes the ERP's figures and reconciliation repairs drift.
ORDER_TOPIC_PREFIXES = ("orders/", "refunds/")
NO_WORK_ORDER_TOPICS = frozenset({"orders/fulfilled", "orders/partially_fulfilled", "orders/delete"})
# How much later than our own fulfillment an order may say it changed and still be that write's echo.
ECHO_SLACK = dt.timedelta(seconds=2)


class RefusedDelivery(ValueError):
    """A delivery that is not a proven event of the store: refused (401), recorded, nothing used but the
    topic it claims (``claimed_topic``, kept for people reading the inbox)."""

    def __init__(self, reason: str, *, claimed_topic: str | None = None):
        super().__init__(reason)
        self.claimed_topic = claimed_topic


@dataclass(frozen=True)
class OrderState:
    """What an order event's body says about the parts of the order our own writes change."""

    fulfillment_ids: frozenset[str] = frozenset()
    refund_ids: frozenset[str] = frozenset()
    cancelled: bool = False
    fulfilled_at: dt.datetime | None = None  # the latest of its fulfillments' stamps, the store's clock


@dataclass(frozen=True)
class Delivery:
    """A verified delivery: the event it announces (no payload: it carries customer data)."""

    topic: str
    event_id: str
    triggered_at: dt.datetime | None
    resource: str | None
    resource_updated_at: dt.datetime | None
    order_state: OrderState | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Endpoint:
    """One store's webhook endpoint: the store's warehouse name and how its deliveries are proven
    (``parse``: headers in lower case and the raw body -> the event, or :class:`RefusedDelivery`)."""

    store: str
    parse: Callable[[Mapping[str, str], bytes], Delivery] = field(repr=False)


class NoWebhooks(LookupError):
    """A store Connection without webhooks: its kind has none, or no ``webhook_secret`` is set."""


@dataclass(frozen=True)
class KnownOrder:
    """What the sync state knows of an order: the fulfillments we created, the refunds and cancellation
    already applied to the ERP."""

    fulfillment_ids: frozenset[str]
    refund_ids: frozenset[str]
    cancelled: bool


@dataclass(frozen=True)
class Decision:
    outcome: str  # run | ignored | echo | stale
    reason: str | None = None

    @property
    def wants_run(self) -> bool:
        return self.outcome == "run"


def decide(delivery: Delivery, *, received_at: dt.datetime, max_age: dt.timedelta,
           known: KnownOrder | None) -> Decision:
    """What a new (never seen) verified event causes: a run of the store's order flow, or nothing and why.

    - ``stale``: the store says it happened more than ``max_age`` before it arrived (a replay, or a retry
      so late that the safety-net poll has read the change already);
    - ``ignored``: a topic on which the order flow has no work;
    - ``echo``: an order event that our own fulfillment caused: the order's fulfillments are ours, its
      refunds and cancellation are in the ERP already, and it changed no later than our last fulfillment;
    - ``run`` otherwise.
    """
    if delivery.triggered_at is not None and received_at - delivery.triggered_at > max_age:
        return Decision("stale", f"triggered at {delivery.triggered_at.isoformat()}, more than "
                                 f"{int(max_age.total_seconds())} s before it arrived")
    topic = delivery.topic
    if not topic.startswith(ORDER_TOPIC_PREFIXES) or topic in NO_WORK_ORDER_TOPICS:
        return Decision("ignored", f"the order flow has no work on {topic}")
    if is_echo(delivery, known):
        return Decision("echo", "our own fulfillment of the order")
    return Decision("run")


def is_echo(delivery: Delivery, known: KnownOrder | None) -> bool:
    """Whether an order event only reflects our own fulfillment (see :func:`decide`). Unsure means no:
    a real change taken for an echo would wait for the safety-net poll."""
    state = delivery.order_state
    if known is None or state is None or not state.fulfillment_ids or delivery.topic != "orders/updated":
        return False
    if not state.fulfillment_ids <= known.fulfillment_ids or not state.refund_ids <= known.refund_ids:
        return False
    if state.cancelled != known.cancelled:
        return False
    if state.fulfilled_at is None or delivery.resource_updated_at is None:
        return False
    return delivery.resource_updated_at <= state.fulfilled_at + ECHO_SLACK
