"""Vendure's orders behind the store interface: the changed orders of a window, their stamps, and
fulfillments.

**An order's last change.** Vendure's ``Order.updatedAt`` does not move on every change: a payment
settled, a state transition (cancelled, shipped), a refund settled change other rows (the payment, the
refund, the fulfillment, the order's history) and leave the order's own row as it was. An extract by
``updatedAt`` alone misses them. Here an order's last change is the latest of its ``updatedAt``, its
payments', refunds' and fulfillments' ``updatedAt`` and its newest history entry (every state transition
writes one). Vendure cannot filter orders by that, so a window's orders are the orders whose own
``updatedAt`` falls in it plus, among the orders placed in the last ``follow_days`` (the ones still
moving: paid, shipped, refunded), those whose last change does; their stamps are read cheaply first and
only the orders of the window are read whole. An order changed after ``follow_days`` without touching its
own row is left to reconciliation.

**Fulfillment.** Vendure has no fulfillment orders: each order stands for one, of the lines still to
ship (ordered, not cancelled, not yet in a fulfillment); its location is Vendure's own choice (its stock
allocation), so it is not said. A fulfillment is created with the manual handler (carrier and tracking
code) and moved to Shipped.

**Order modifications** (the Admin API's ``modifyOrder`` while the order is ``Modifying``) are the order's
edits: one :class:`StoreOrderEdit` per modification that changed lines (see :func:`order_edits`). A
refund given with a modification pays back what the modification took off, which its edit already takes
off the ERP's sales: it is not read as a refund of its own (it still counts in ``refunded_total``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from erpsync.common.window import Window
from erpsync.store.records import (
    FulfillmentOrder,
    OrderStamp,
    StoreAddress,
    StoreCustomer,
    StoreEditLine,
    StoreOrder,
    StoreOrderEdit,
    StoreOrderLine,
    StoreRefund,
    StoreRefundLine,
)
from erpsync.vendure.client import VendureClient
from erpsync.vendure.operations import load

ORDER_PAGE = 20  # whole orders per request
STAMP_PAGE = 200
IDS_PER_QUERY = 50
FULFILLMENT_HANDLER = "manual-fulfillment"
DONE_STATES = ("Shipped", "Delivered")  # every line shipped
SETTLED = "Settled"


def vendure_iso(moment: dt.datetime) -> str:
    """A moment as Vendure's DateTime input (UTC, ``...Z``)."""
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def vendure_time(text: str | None) -> dt.datetime | None:
    """One of Vendure's ISO timestamps (``...Z``) as an aware datetime."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def last_change(node: dict[str, Any]) -> dt.datetime:
    """The latest moment anything of the order changed (see the module)."""
    moments = [node["updatedAt"]]
    for payment in node.get("payments") or ():
        moments.append(payment["updatedAt"])
        moments.extend(refund["updatedAt"] for refund in payment.get("refunds") or ())
    moments.extend(f["updatedAt"] for f in node.get("fulfillments") or ())
    moments.extend(m["createdAt"] for m in node.get("modifications") or ())
    moments.extend(entry["createdAt"] for entry in (node.get("history") or {}).get("items") or ())
    return max(vendure_time(moment) for moment in moments)


class VendureOrders:
    def __init__(self, client: VendureClient, *, follow_days: float, money, prices_include_tax):
        self.client = client
        self.follow = dt.timedelta(days=follow_days)
        self._money = money  # minor units -> Decimal
        self._with_tax = prices_include_tax  # () -> bool: the channel shows prices with tax

    # -- which orders changed ------------------------------------------------------------------------

    def _stamps(self, options: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        yield from self.client.paginate(load("OrderStamps"), {"options": options}, "orders", take=STAMP_PAGE)

    def changed(self, window: Window) -> list[tuple[str, dt.datetime, dict[str, Any]]]:
        """(order id, last change, stamp) of the placed orders whose last change falls in ``window``,
        oldest change first."""
        found: dict[str, tuple[dt.datetime, dict[str, Any]]] = {}
        # Vendure on SQLite keeps whole seconds (rounded down): a change made after the window began, in its
        # first second, reads as before it. The window starts at its whole second (an order may come twice
        # across windows; staging keeps each version once).
        start = window.start.replace(microsecond=0) if window.start is not None else None
        placed = {"active": {"eq": False}}
        if start is None:  # from the beginning: every placed order changed before the end
            scans = [{**placed, "updatedAt": {"before": vendure_iso(window.end)}}]
        else:
            between = {"start": vendure_iso(start), "end": vendure_iso(window.end)}
            scans = [{**placed, "updatedAt": {"between": between}},
                     {**placed, "orderPlacedAt": {"after": vendure_iso(window.end - self.follow)}}]
        for order_filter in scans:
            for page in self._stamps({"filter": order_filter, "sort": {"id": "ASC"}}):
                for node in page:
                    moment = last_change(node)
                    if (start is None or start <= moment) and moment < window.end:
                        found[node["id"]] = (moment, node)
        return sorted(((order_id, moment, node) for order_id, (moment, node) in found.items()),
                      key=lambda item: (item[1], int(item[0]) if item[0].isdigit() else item[0]))

    def stamps(self, window: Window) -> Iterator[list[OrderStamp]]:
        changed = self.changed(window)
        for start in range(0, len(changed), STAMP_PAGE):
            yield [OrderStamp(order_id, moment, node["code"], node["state"] == "Cancelled")
                   for order_id, moment, node in changed[start:start + STAMP_PAGE]]

    def orders(self, window: Window, order_ids: Sequence[str] | None = None) -> Iterator[list[StoreOrder]]:
        ids = list(order_ids) if order_ids is not None else [order_id for order_id, _, _ in self.changed(window)]
        for start in range(0, len(ids), ORDER_PAGE):
            chunk = ids[start:start + ORDER_PAGE]
            nodes = self.whole(chunk)
            orders = [self._order(nodes[order_id]) for order_id in chunk if order_id in nodes]
            if orders:
                yield sorted(orders, key=lambda order: order.updated_at)

    def whole(self, order_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The orders' raw nodes, by id."""
        nodes: dict[str, dict[str, Any]] = {}
        for start in range(0, len(order_ids), ORDER_PAGE):
            chunk = list(order_ids[start:start + ORDER_PAGE])
            options = {"filter": {"id": {"in": chunk}}, "sort": {"id": "ASC"}}
            for page in self.client.paginate(load("Orders"), {"options": options}, "orders", take=ORDER_PAGE):
                nodes.update((node["id"], node) for node in page)
        return nodes

    # -- fulfillment ----------------------------------------------------------------------------------

    def fulfillment_orders(self, order_ids: Sequence[str]) -> dict[str, list[FulfillmentOrder]]:
        result: dict[str, list[FulfillmentOrder]] = {}
        for order_id, node in self.whole(order_ids).items():
            # A fulfillment left Pending by an attempt whose answer was lost is not shipped: its units
            # stay to fulfil, and fulfilling them ships it (create_fulfillment) instead of a second one.
            shipped: dict[str, int] = {}
            for fulfillment in node["fulfillments"] or ():
                if fulfillment["state"] not in ("Cancelled", "Pending"):
                    for line in fulfillment["lines"]:
                        shipped[line["orderLineId"]] = shipped.get(line["orderLineId"], 0) + line["quantity"]
            remaining = tuple((line["id"], max(0, line["quantity"] - shipped.get(line["id"], 0)))
                              for line in node["lines"])
            ids = tuple(f["id"] for f in node["fulfillments"] or () if f["state"] != "Cancelled")
            pending = any(f["state"] == "Pending" for f in node["fulfillments"] or ())
            if node["state"] == "Cancelled":
                status = "CANCELLED"
            elif not any(quantity for _, quantity in remaining) and not pending:
                status = "CLOSED"
            else:
                status = "OPEN"
            result[order_id] = [FulfillmentOrder(
                order_id, status, ids, None, remaining,
                tuple((line["id"], line["productVariant"]["sku"]) for line in node["lines"]),
                tuple((line["id"], min(line["quantity"], shipped.get(line["id"], 0))) for line in node["lines"]))]
        return result

    def create_fulfillment(self, fulfillment_orders: Sequence[FulfillmentOrder], *, tracking_number: str | None,
                           tracking_company: str | None, units: Mapping[str, int] | None = None) -> str:
        """Fulfil ``units`` of the order's lines (all still to ship without it), with tracking, and mark
        it Shipped. A fulfillment of an earlier attempt still Pending (its answer lost before it was
        shipped) is shipped instead of making a second one; what it lacks is asked for on the next run."""
        (order,) = fulfillment_orders
        wanted = order.fulfillable if units is None else [(line_id, quantity) for line_id, quantity in units.items()
                                                          if quantity > 0]
        lines = [{"orderLineId": line_id, "quantity": quantity} for line_id, quantity in wanted]
        pending = [f for f in self.whole([order.fulfillment_order_id]).get(order.fulfillment_order_id, {})
                   .get("fulfillments") or () if f["state"] == "Pending"]
        if pending:
            fulfillment_id = pending[0]["id"]
        else:
            fulfillment_id = self.client.mutate(load("AddFulfillment"), {"input": {"lines": lines, "handler": {
                "code": FULFILLMENT_HANDLER, "arguments": [
                    {"name": "method", "value": tracking_company or ""},
                    {"name": "trackingCode", "value": tracking_number or ""}]}}})["id"]
        self.client.mutate(load("ShipFulfillment"), {"id": fulfillment_id})
        return fulfillment_id

    # -- records --------------------------------------------------------------------------------------

    def _order(self, node: dict[str, Any]) -> StoreOrder:
        money, tax = self._money, self._with_tax()
        amount = (lambda n, field: money(n[f"{field}WithTax"] if tax else n[field]))
        history = (node.get("history") or {}).get("items") or ()
        # The last cancellation entry: a modification lowering a line writes one of its own (measured).
        cancellation = next((e for e in reversed(history) if e["type"] == "ORDER_CANCELLATION"), None)
        cancelled = node["state"] == "Cancelled"
        edits = order_edits(node, money, tax)
        # A modification's refund gives back what its edit takes off the order (see the module).
        edit_refunds = {(m.get("refund") or {}).get("id") for m in node.get("modifications") or ()} - {None}
        refunds = tuple(
            StoreRefund(refund["id"], vendure_time(refund["createdAt"]), money(refund["total"]), tuple(
                StoreRefundLine(line["orderLineId"], line["quantity"], False, self._refund_subtotal(node, line))
                for line in refund["lines"]))
            for payment in node["payments"] or () for refund in payment["refunds"]
            if refund["state"] == SETTLED and refund["id"] not in edit_refunds)
        all_refunded = sum((money(refund["total"]) for payment in node["payments"] or ()
                            for refund in payment["refunds"] if refund["state"] == SETTLED), Decimal(0))
        changed, new = _edited_units(node), _new_lines(node)
        lines = tuple(
            StoreOrderLine(
                line_id=line["id"], sku=line["productVariant"]["sku"], title=line["productVariant"]["name"],
                # Every unit ever ordered (placed or added by a modification; removed ones too), as
                # Shopify counts a line's quantity: the edits tell how many were added and removed.
                quantity=_placed(line, line["id"] in new) + changed[line["id"]][0],
                current_quantity=line["quantity"],
                unit_price=amount(line, "unitPrice"),
                # Per unit, times the quantity placed and edited: a cancelled line keeps what it was sold at.
                discount_total=((amount(line, "unitPrice") - amount(line, "proratedUnitPrice"))
                                * _booked(line, changed)),
                requires_shipping=True)
            for line in node["lines"])
        figures = _as_placed(node, money, changed) if cancelled else {
            "subtotal": amount(node, "subTotal"), "shipping": amount(node, "shipping"),
            "tax": money(node["totalWithTax"]) - money(node["total"]), "total": money(node["totalWithTax"])}
        total = figures["total"]
        refunded = all_refunded
        customer = node.get("customer") or {}
        return StoreOrder(
            order_id=node["id"], name=node["code"], created_at=vendure_time(node["orderPlacedAt"] or node["createdAt"]),
            updated_at=last_change(node),
            cancelled_at=(vendure_time(cancellation["createdAt"]) if cancellation else last_change(node)) if cancelled else None,
            cancel_reason=((cancellation or {}).get("data") or {}).get("reason") if cancelled else None,
            currency=node["currencyCode"], financial_status=_financial(node, refunded, total),
            fulfillment_status="FULFILLED" if node["state"] in DONE_STATES else "UNFULFILLED",
            customer=StoreCustomer(customer.get("id"), customer.get("emailAddress"), customer.get("firstName"),
                                   customer.get("lastName")),
            shipping_address=store_address(node.get("shippingAddress")),
            billing_address=store_address(node.get("billingAddress")),
            subtotal=figures["subtotal"],
            discount_total=sum((line.discount_total for line in lines), Decimal(0)),
            shipping_total=figures["shipping"], tax_total=figures["tax"],
            total=total, refunded_total=refunded, lines=lines, refunds=refunds, edits=edits,
            taxes_included=tax and not cancelled,  # a cancelled order's figures are without tax (_as_placed)
        )

    def _refund_subtotal(self, node: dict[str, Any], refund_line: dict[str, Any]) -> Decimal:
        line = next(line for line in node["lines"] if line["id"] == refund_line["orderLineId"])
        field = "proratedUnitPriceWithTax" if self._with_tax() else "proratedUnitPrice"
        return self._money(line[field] * refund_line["quantity"])


def _placed(line: dict[str, Any], added: bool = False) -> int:
    """The units the line was placed with: a line a modification put on the order keeps an
    ``orderPlacedQuantity`` of 0 (measured), and was placed with none."""
    return 0 if added else line["orderPlacedQuantity"] or line["quantity"]


def _modifications(node: dict[str, Any]) -> list[dict[str, Any]]:
    """The order's modifications, oldest first."""
    return sorted(node.get("modifications") or (), key=lambda m: (m["createdAt"], _id_key(m["id"])))


def _id_key(text: str) -> tuple[int, int | str]:
    return (0, int(text)) if text.isdigit() else (1, text)


def _edited_units(node: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Per line id: (units the order's modifications added, their net change of the line)."""
    found = {line["id"]: (0, 0) for line in node["lines"]}
    for modification in _modifications(node):
        for change in modification["lines"]:
            added, net = found.get(change["orderLineId"], (0, 0))
            found[change["orderLineId"]] = (added + max(change["quantity"], 0), net + change["quantity"])
    return found


def _new_lines(node: dict[str, Any]) -> set[str]:
    """The lines a modification put on the order: placed with none (``orderPlacedQuantity`` 0) and
    raised by a modification."""
    changed = _edited_units(node)
    return {line["id"] for line in node["lines"]
            if not line["orderPlacedQuantity"] and changed[line["id"]][0]}


def _booked(line: dict[str, Any], changed: dict[str, tuple[int, int]]) -> int:
    """The units of the line as placed and then modified (before any cancellation)."""
    added, net = changed.get(line["id"], (0, 0))
    return max(_placed(line, bool(added and not line["orderPlacedQuantity"])) + net, 0)


def order_edits(node: dict[str, Any], money, with_tax: bool) -> tuple[StoreOrderEdit, ...]:
    """The order's modifications as edits, oldest first: per modification that changed lines, each
    line's units (Vendure's ``OrderModificationLine.quantity`` is the change, negative for units taken
    off), and whether the line is new with it (the first modification to raise a line the order was not
    placed with).

    Vendure keeps no discount or tax of a modification, only its ``priceChange`` (with tax, shipping and
    surcharges). What a line's change adds to the order's discounts and taxes is worked out from the
    line's current prices, per unit times the units changed (negative when units come off):
    discount = ``unitPrice`` - ``proratedUnitPrice`` per unit (the ``...WithTax`` prices when the
    channel shows prices with tax, as the line's ``discount_total``), tax = ``proratedUnitPriceWithTax``
    - ``proratedUnitPrice`` per unit. Surcharges and a modification's shipping change are not read.

    Vendure 3.7.3 records ``addItems`` of a variant already on the order with the line's quantity before
    subtracted from the units asked for (``quantity - initialQuantity``), not the units added: a merchant
    raising a line should adjust it (``adjustOrderLines``); this reads what Vendure recorded."""
    lines = {line["id"]: line for line in node["lines"]}
    new = _new_lines(node)
    seen: set[str] = set()
    unit_discount = {
        line_id: (money(line["unitPriceWithTax"] - line["proratedUnitPriceWithTax"]) if with_tax
                  else money(line["unitPrice"] - line["proratedUnitPrice"]))
        for line_id, line in lines.items()}
    unit_tax = {line_id: money(line["proratedUnitPriceWithTax"] - line["proratedUnitPrice"])
                for line_id, line in lines.items()}
    edits = []
    for modification in _modifications(node):
        units: dict[str, int] = {}
        for change in modification["lines"]:
            units[change["orderLineId"]] = units.get(change["orderLineId"], 0) + change["quantity"]
        edit_lines = tuple(
            StoreEditLine(line_id, quantity, added=line_id in new and line_id not in seen and quantity > 0,
                          discount=unit_discount.get(line_id, Decimal(0)) * quantity,
                          tax=unit_tax.get(line_id, Decimal(0)) * quantity)
            for line_id, quantity in units.items() if quantity)
        seen.update(line_id for line_id, quantity in units.items() if quantity)
        if edit_lines:
            edits.append(StoreOrderEdit(modification["id"], vendure_time(modification["createdAt"]),
                                        edit_lines))
    return tuple(edits)


def _as_placed(node: dict[str, Any], money,
               changed: dict[str, tuple[int, int]] | None = None) -> dict[str, Decimal]:
    """A cancelled order's figures as it was placed (the flows book and compare orders as placed, like
    Shopify keeps them): Vendure zeroes a cancelled order's lines, shipping and totals but keeps each
    line's unit prices and placed quantity and each shipping line's price. Prices excluding tax (the
    channel's pricesIncludeTax false); a shipping discount is not known any more and is not subtracted.
    A modified order's lines count as modified (its edits are undone with it)."""
    changed = changed if changed is not None else _edited_units(node)
    goods = sum((money(line["proratedUnitPrice"]) * _booked(line, changed) for line in node["lines"]),
                Decimal(0))
    line_tax = sum((money(line["proratedUnitPriceWithTax"] - line["proratedUnitPrice"])
                    * _booked(line, changed)
                    for line in node["lines"]), Decimal(0))
    shipping = sum((money(s["price"]) for s in node["shippingLines"]), Decimal(0))
    shipping_tax = sum((money(s["priceWithTax"] - s["price"]) for s in node["shippingLines"]), Decimal(0))
    return {"subtotal": goods, "shipping": shipping, "tax": line_tax + shipping_tax,
            "total": goods + shipping + line_tax + shipping_tax}


def _financial(node: dict[str, Any], refunded: Decimal, total: Decimal) -> str:
    """Vendure's payments in the store-neutral words the flows use (Shopify's financial statuses)."""
    states = {p["state"] for p in node["payments"] or ()}
    if refunded and refunded >= total:
        return "REFUNDED"
    if refunded:
        return "PARTIALLY_REFUNDED"
    if SETTLED in states:
        return "PAID"
    if "Authorized" in states:
        return "AUTHORIZED"
    return "PENDING"


def store_address(data: dict[str, Any] | None) -> StoreAddress | None:
    """One of Vendure's addresses (an order's, with ``countryCode``) as ours; None when it is empty."""
    if not data or not any(data.values()):
        return None
    first, _, last = (data.get("fullName") or "").partition(" ")
    return StoreAddress(first_name=first or None, last_name=last or None, company=data.get("company") or None,
                        address1=data.get("streetLine1") or None, address2=data.get("streetLine2") or None,
                        city=data.get("city") or None, zip=data.get("postalCode") or None,
                        province_code=data.get("province") or None, country_code=data.get("countryCode") or None,
                        phone=data.get("phoneNumber") or None)
