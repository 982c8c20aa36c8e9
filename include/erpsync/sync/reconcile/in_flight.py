"""Which of the store's orders the ERP lacks are still the order flow's to book ("in flight").

Reconciliation compares the store's recent orders with the ERP's sales. During a backlog (a sale's burst,
a store answering slowly) the order flow is minutes behind, and every order it has not booked yet looks
missing: booking those beside the flow doubles the booking load on the ERP when it is busiest, and
alerting on them reports a gap that closes on its own. An order the ERP lacks is *in flight*, and
reconciliation neither books it nor counts it missing, when the flow is on its way to it:

- the flow has not read that far: the order last changed at or after the flow's cursor (the store time
  up to which it has read and staged) less its overlap (each order read starts again ``order_lag`` before
  the cursor: the store stamps whole seconds, and its search may show an order late), or
- the flow has read and staged it, and its booking has not failed yet (no ledger row, or one ``pending``:
  claimed by a booking attempt); a failed booking is in the row error queue: missing here (counted,
  alerted on, and booked again once its backoff is due);

and only while the order's last change is younger than the *patience* (``in_flight_minutes``, a param of
the reconcile DAG, 30 by default). Past it the flow is not on its way but stuck, and the order is missing:
booked by reconciliation and alerted on. Patience 0 books every missing order at once. Times are the
store's (the order's change, the flow's cursor) against the run's data interval, never a worker's clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from erpsync.store.records import OrderStamp

DEFAULT_PATIENCE = dt.timedelta(minutes=30)  # the 100k peak day's backlog was booked within 25 minutes


@dataclass(frozen=True, slots=True)
class FlowPosition:
    """How far the order flow has got with the orders the ERP lacks: its cursor (None: it has never staged
    a read) and how far before it its next read starts again, those it has staged, and those it is done
    with (a ledger row booked, cancelled or failed)."""

    cursor: dt.datetime | None
    staged: Collection[str] = ()
    settled: Collection[str] = ()
    overlap: dt.timedelta = dt.timedelta(0)


def in_flight(stamp: OrderStamp, flow: FlowPosition, *, until: dt.datetime, patience: dt.timedelta) -> bool:
    """Whether the order flow is on its way to book the order of ``stamp`` (which the ERP lacks), as seen by
    a reconciliation of the window ending at ``until``."""
    if stamp.updated_at < until - patience:
        return False  # older than the patience: the flow is stuck, not on its way
    if stamp.order_id in flow.settled:
        return False  # booked once (gone from the ERP since), cancelled, or its booking failed
    if stamp.order_id in flow.staged:
        return True
    return flow.cursor is not None and stamp.updated_at >= flow.cursor - flow.overlap


def split_in_flight(missing: Collection[OrderStamp], flow: FlowPosition, *, until: dt.datetime,
                    patience: dt.timedelta) -> tuple[list[str], list[str]]:
    """The order ids of ``missing`` (orders the ERP lacks) as (missing, in flight), each sorted."""
    gone, flying = [], []
    for stamp in missing:
        (flying if in_flight(stamp, flow, until=until, patience=patience) else gone).append(stamp.order_id)
    return sorted(gone), sorted(flying)
