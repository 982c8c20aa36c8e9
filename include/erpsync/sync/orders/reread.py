"""Which orders of a window the order flow reads whole: pure decisions over their stamps.

A whole order costs dozens of points of the store's rate limit, its stamp one. An order is not read
whole again when staging holds the version its stamp shows, nor when the only change since staging is
the order flow's own fulfillment (the "echo" of ``push_fulfillments``: it moves ``updatedAt``, and is
otherwise nothing the flows act on).

The store stamps whole seconds, so a version read in the second of its stamp may miss a change made later
in that second, which leaves the stamp as it was. Staging is trusted only for stamps before ``settled``:
for the order flow the second its cursor is in, from which on each run reads whole again what it read in
its window's last second (reconciliation, which never moves the cursor, trusts all it finds staged: the
flow reads those again).

The echo is recognised in two steps:

1. the stamp shows the change our last fulfillment made (``echo_at``, from the store's answer to it) and
   staging holds an earlier version of the order;
2. the order's version read cheaply (cancelled, edited, refunded, returned, current total and units)
   equals the staged one: nothing the flows act on changed between the staged read and our fulfillment,
   nor in the same second as it (the store's clock has whole seconds).

What the version does not show (a changed address or note in the second of our fulfillment) is not read
back; the flows do not act on it once the order is booked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from erpsync.store.records import OrderStamp


@dataclass(frozen=True, slots=True)
class Known:
    """What the sync state holds of an order: the version staged and the change our fulfillment made."""

    staged_at: dt.datetime | None = None
    staged_version: str | None = None
    echo_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    read: list[str]  # to read whole
    echo: list[str]  # perhaps changed only by our fulfillment: their versions decide (:func:`after_versions`)


def plan(stamps: Mapping[str, dt.datetime], known: Mapping[str, Known], *, settled: dt.datetime) -> Plan:
    """Sort the orders of ``stamps`` (order id -> ``updatedAt``): staged in that version before ``settled``
    (left out), perhaps only our echo, or to read whole."""
    read, echo = [], []
    for order_id, updated_at in stamps.items():
        state = known.get(order_id, Known())
        if state.staged_at == updated_at and updated_at < settled:
            continue
        if _may_be_echo(updated_at, state):
            echo.append(order_id)
        else:
            read.append(order_id)
    return Plan(read, echo)


def after_versions(candidates: Iterable[str], versions: Iterable[OrderStamp], known: Mapping[str, Known]
                   ) -> list[str]:
    """Of the echo candidates, those to read whole after all: changed again since the stamps (a later
    ``updatedAt``), or at a version other than the staged one. Candidates the store no longer has are left
    out (nothing to read); so are the ones whose version matches: only our fulfillment changed them."""
    found = {stamp.order_id: stamp for stamp in versions}
    return [order_id for order_id in candidates if order_id in found
            and not is_echo(found[order_id], known.get(order_id, Known()))]


def is_echo(stamp: OrderStamp, state: Known) -> bool:
    """The order's last change is our fulfillment's and nothing the flows act on changed since staging."""
    return (_may_be_echo(stamp.updated_at, state) and stamp.version is not None
            and stamp.version == state.staged_version)


def _may_be_echo(updated_at: dt.datetime, state: Known) -> bool:
    return (state.echo_at is not None and updated_at == state.echo_at and state.staged_at is not None
            and state.staged_at < updated_at and state.staged_version is not None)
