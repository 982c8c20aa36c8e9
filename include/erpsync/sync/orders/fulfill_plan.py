"""What to tell the store the ERP has shipped of an order: pure decisions, no I/O.

The ERP may ship a sale in parts (the warehouse ships what it has and the rest later, an edit's new lines
go in a sale of their own, an exchange too). Each shipment the ERP has done becomes fulfillments in the
store with exactly its units, one per store location (a fulfillment may not span locations), with that
shipment's tracking number. What the store has already fulfilled of a SKU counts against the ERP's
shipments in their order, so running the plan again after any of its fulfillments were made (or their
answer lost) asks only for the rest. What the store no longer has to fulfil (refunded, cancelled, edited
away) is never asked for, whatever the ERP shipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from erpsync.store.records import FulfillmentOrder

DONE = ("CLOSED", "CANCELLED", "INCOMPLETE")


@dataclass(frozen=True, slots=True)
class Shipped:
    """A shipment the ERP has done: its tracking number and the units of each SKU it carried."""

    shipment_id: int
    tracking: str | None
    units: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Fulfilment:
    """One fulfillment to create: at one location, for one ERP shipment (None: units the ERP does not
    ship, such as services, fulfilled once it has shipped all the rest)."""

    location_id: str | None
    shipment_id: int | None
    tracking: str | None
    lines: tuple[tuple[str, str, int], ...]  # (fulfillment order id, its line item id, units)

    @property
    def units(self) -> int:
        return sum(quantity for _, _, quantity in self.lines)


def fulfilled_units(orders: Sequence[FulfillmentOrder]) -> Counter[str]:
    """Units of each SKU the store has fulfilled already, over all the order's fulfillment orders."""
    found: Counter[str] = Counter()
    for order in orders:
        skus = dict(order.skus)
        for line_id, quantity in order.fulfilled:
            if quantity > 0 and skus.get(line_id):
                found[skus[line_id]] += quantity
    return found


def plan(shipments: Sequence[Shipped], orders: Sequence[FulfillmentOrder], *, complete: bool,
         unshipped_skus: frozenset[str] = frozenset()) -> list[Fulfilment]:
    """The fulfillments that tell the store what the ERP has shipped and the store has not fulfilled yet.

    ``shipments`` are the ERP's done shipments of all the order's sales; ``orders`` the store's
    fulfillment orders of the order. Units already fulfilled in the store are taken off the earliest
    shipments first. ``complete``: the ERP has shipped all it will ship of the order; then the units of
    ``unshipped_skus`` (lines the ERP sold but never ships, such as services) still open in the store are
    fulfilled too, with the last shipment's tracking number.
    """
    already = fulfilled_units(orders)
    open_lines: list[tuple[str | None, str, str, str]] = []  # (location, fulfillment order, line, sku)
    left: dict[tuple[str, str], int] = {}
    for order in sorted(orders, key=lambda o: (str(o.location_id), o.fulfillment_order_id)):
        if order.status in DONE:
            continue
        skus = dict(order.skus)
        for line_id, quantity in order.fulfillable:
            if skus.get(line_id):
                open_lines.append((order.location_id, order.fulfillment_order_id, line_id, skus[line_id]))
                left[order.fulfillment_order_id, line_id] = quantity
    made: dict[tuple[int | None, str | None], list[tuple[str, str, int]]] = {}
    tracking: dict[int | None, str | None] = {}

    def take(shipment_id: int | None, sku: str, units: int) -> None:
        for location_id, fo_id, line_id, line_sku in open_lines:
            if units <= 0:
                return
            if line_sku != sku or not left[fo_id, line_id]:
                continue
            quantity = min(units, left[fo_id, line_id])
            left[fo_id, line_id] -= quantity
            units -= quantity
            made.setdefault((shipment_id, location_id), []).append((fo_id, line_id, quantity))

    for shipment in sorted(shipments, key=lambda s: s.shipment_id):
        tracking[shipment.shipment_id] = shipment.tracking
        for sku, units in shipment.units:
            counted = min(units, already[sku])
            already[sku] -= counted
            take(shipment.shipment_id, sku, units - counted)
    if complete and unshipped_skus:
        last = max(shipments, key=lambda s: s.shipment_id) if shipments else None
        tracking.setdefault(last.shipment_id if last else None, last.tracking if last else None)
        for sku in sorted(unshipped_skus):
            take(last.shipment_id if last else None, sku,
                 sum(left[fo_id, line_id] for _, fo_id, line_id, line_sku in open_lines if line_sku == sku))
    return [Fulfilment(location_id, shipment_id, tracking.get(shipment_id), _merged(lines))
            for (shipment_id, location_id), lines in sorted(made.items(), key=lambda item: (
                item[0][0] is None, item[0][0] or 0, str(item[0][1])))]


def _merged(lines: list[tuple[str, str, int]]) -> tuple[tuple[str, str, int], ...]:
    total: dict[tuple[str, str], int] = {}
    for fo_id, line_id, quantity in lines:
        total[fo_id, line_id] = total.get((fo_id, line_id), 0) + quantity
    return tuple((fo_id, line_id, quantity) for (fo_id, line_id), quantity in total.items())
