"""Returns as Shopify's Returns API does them: returnCreate opens a Return over fulfilled units (with a
reverse fulfillment order to bring them back and, optionally, exchange items), returnProcess settles what
came back (a ReturnAgreement itemizing the returned units and the exchange items, the exchange items as new
line items, a refund when asked), reverseFulfillmentOrderDispose says what became of the units (RESTOCKED
puts them back in stock), returnClose and returnCancel end it.

Money follows the order-editing model: the ReturnAgreement's RETURN sales (the returned units' share of
their line: after discounts, with tax) come off the order's current totals; the exchange items are line
items priced as an edit's added variant; a return's refund gives back the amount its transaction was asked
for and restocks nothing (its refund lines say NO_RESTOCK: the dispositions restock).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sandbox.shopify.errors import UserError, UserErrors
from sandbox.shopify.state import edits
from sandbox.shopify.state.inventory import change
from sandbox.shopify.state.orders import (
    ZERO,
    add_agreement,
    added_tax,
    cents,
    line_share,
    product_sale,
    refunded,
    shipping_discounted,
    shipping_tax_total,
    totals,
)
from sandbox.shopify.state.records import (
    Disposition,
    ExchangeLine,
    Fulfillment,
    LineItem,
    Order,
    OrderTransaction,
    Refund,
    RefundLineItem,
    Return,
    ReturnLine,
    ReverseFulfillmentOrder,
    ReverseFulfillmentOrderLine,
    SalesAgreement,
    StagedAddition,
)
from sandbox.shopify.state.store import Store

DISPOSITION_TYPES = ("RESTOCKED", "NOT_RESTOCKED", "MISSING", "PROCESSING_REQUIRED")


def _error(path: list[object], message: str, code: str) -> UserError:
    return UserError([str(p) for p in path], message, code)


def _fail(path: list[object], message: str, code: str) -> UserErrors:
    return UserErrors([_error(path, message, code)])


# -- lookups -------------------------------------------------------------------------------------------


def find_return(store: Store, return_id: int | None) -> tuple[Order, Return] | tuple[None, None]:
    order = store.orders.get(store.order_of_return.get(return_id))
    found = next((r for r in order.returns if r.id == return_id), None) if order else None
    return (order, found) if found else (None, None)


def find_fulfillment_line(store: Store, fli_id: int | None) -> tuple[Order, Fulfillment, int] | None:
    """The order, fulfillment and index in its line_items of a FulfillmentLineItem id."""
    order = store.orders.get(store.order_of_fulfillment_line_item.get(fli_id))
    for fulfillment in order.fulfillments if order else []:
        ids = fulfillment.fulfillment_line_item_ids()
        if fli_id in ids:
            return order, fulfillment, ids.index(fli_id)
    return None


def find_reverse_line(
    store: Store, line_id: int | None
) -> tuple[Order, Return, ReverseFulfillmentOrder, ReverseFulfillmentOrderLine] | None:
    order = store.orders.get(store.order_of_reverse_fulfillment_order_line.get(line_id))
    for return_ in order.returns if order else []:
        for reverse in return_.reverse_fulfillment_orders:
            for reverse_line in reverse.line_items:
                if reverse_line.id == line_id:
                    return order, return_, reverse, reverse_line
    return None


def return_of_reverse(order: Order, reverse_id: int) -> Return | None:
    return next(
        (r for r in order.returns if any(rfo.id == reverse_id for rfo in r.reverse_fulfillment_orders)), None
    )


def order_return_status(order: Order) -> str:
    """OrderReturnStatus: NO_RETURN, IN_PROGRESS while a return is open, RETURNED when all are closed."""
    live = [r for r in order.returns if r.status != "CANCELED"]
    if not live:
        return "NO_RETURN"
    return "RETURNED" if all(r.status == "CLOSED" for r in live) else "IN_PROGRESS"


def _units_in_returns(order: Order, fli_id: int) -> int:
    return sum(
        rl.quantity
        for r in order.returns
        if r.status != "CANCELED"
        for rl in r.return_line_items
        if rl.fulfillment_line_item_id == fli_id
    )


def _pending_units_of_line(order: Order, line_id: int) -> int:
    """Units of a line in open returns, not processed yet (still on the order)."""
    return sum(
        rl.unprocessed_quantity
        for r in order.returns
        if r.status == "OPEN"
        for rl in r.return_line_items
        if rl.line_item_id == line_id
    )


def returnable_quantity(order: Order, fulfillment: Fulfillment, index: int) -> int:
    """Units of a fulfillment line item that can still be returned: shipped, not in another return, and
    still on the order (not refunded)."""
    line_id, shipped = fulfillment.line_items[index]
    fli_id = fulfillment.fulfillment_line_item_ids()[index]
    line = next(li for li in order.line_items if li.id == line_id)
    on_order = min(line.fulfilled_quantity, line.current_quantity) - _pending_units_of_line(order, line_id)
    return max(0, min(shipped - _units_in_returns(order, fli_id), on_order))


# -- returnCreate --------------------------------------------------------------------------------------


@dataclass(slots=True)
class ReturnLineRequest:
    fulfillment_line_item_id: int | None
    quantity: int
    return_reason_note: str | None = None
    return_reason_definition_id: int | None = None


def _check_variant(store: Store, variant_id: int | None, path: list[object]) -> list[UserError]:
    variant = store.variants.get(variant_id)
    product = store.products.get(variant.product_id) if variant else None
    if variant is None or product is None:
        return [_error(path, "Variant does not exist.", "NOT_FOUND")]
    if product.status != "ACTIVE":
        return [_error(path, "The variant is not available for sale.", "INVALID")]
    return []


def create_return(
    store: Store,
    order_id: int | None,
    lines: list[ReturnLineRequest],
    exchanges: list[tuple[int | None, int]] | None = None,
    requested_at: object = None,
) -> tuple[Order, Return]:
    """returnCreate: an OPEN return of fulfilled units, with one OPEN reverse fulfillment order."""
    order = store.orders.get(order_id)
    if order is None:
        raise _fail(["returnInput", "orderId"], "Order does not exist.", "NOT_FOUND")
    if order.cancelled_at is not None:
        raise _fail(["returnInput", "orderId"], "Canceled orders can't be returned.", "INVALID_STATE")
    if not lines:
        raise _fail(["returnInput", "returnLineItems"], "Return line items can't be blank.", "BLANK")
    errors: list[UserError] = []
    asked: dict[int, int] = {}
    found = []
    for index, request in enumerate(lines):
        path: list[object] = ["returnInput", "returnLineItems", index]
        located = find_fulfillment_line(store, request.fulfillment_line_item_id)
        if located is None or located[0].id != order.id:
            errors.append(_error([*path, "fulfillmentLineItemId"], "Fulfillment line item does not exist.",
                                 "NOT_FOUND"))
            continue
        if request.quantity <= 0:
            errors.append(_error([*path, "quantity"], "Quantity must be greater than 0.", "GREATER_THAN"))
            continue
        _order, fulfillment, position = located
        fli_id = request.fulfillment_line_item_id
        asked[fli_id] = asked.get(fli_id, 0) + request.quantity
        returnable = returnable_quantity(order, fulfillment, position)
        if asked[fli_id] > returnable:
            errors.append(_error([*path, "quantity"], f"Quantity can't be more than the fulfilled quantity "
                                 f"that can be returned ({returnable}).", "LESS_THAN_OR_EQUAL_TO"))
            continue
        found.append((request, fulfillment.line_items[position][0]))
    for index, (variant_id, quantity) in enumerate(exchanges or []):
        path = ["returnInput", "exchangeLineItems", index]
        errors.extend(_check_variant(store, variant_id, [*path, "variantId"]))
        if quantity <= 0:
            errors.append(_error([*path, "quantity"], "Quantity must be greater than 0.", "GREATER_THAN"))
    if errors:
        raise UserErrors(errors)
    now = store.now()
    return_lines = [
        ReturnLine(store.next_id("return_line_item"), request.fulfillment_line_item_id, line_id,
                   request.quantity, 0, request.return_reason_note or "", request.return_reason_definition_id)
        for request, line_id in found
    ]
    exchange_lines = []
    for variant_id, quantity in exchanges or []:
        variant = store.variants.get(variant_id)
        product = store.products.get(variant.product_id)
        exchange_lines.append(ExchangeLine(
            store.next_id("exchange_line_item"), variant.id, product.id, product.title,
            None if variant.title == "Default Title" else variant.title, variant.sku, quantity,
        ))
    reverse = ReverseFulfillmentOrder(store.next_id("reverse_fulfillment_order"), "OPEN", [
        ReverseFulfillmentOrderLine(store.next_id("reverse_fulfillment_order_line"), rl.id,
                                    rl.fulfillment_line_item_id, rl.line_item_id, rl.quantity)
        for rl in return_lines
    ])
    return_ = Return(
        store.next_id("return"), f"{order.name}-R{len(order.returns) + 1}", "OPEN", now, return_lines,
        exchange_lines, [reverse], requested_at if requested_at is not None else now,
    )
    order.returns.append(return_)
    order.updated_at = now
    store.save(order)
    store.emit("returns/approve", return_.id)
    return order, return_


# -- returnProcess -------------------------------------------------------------------------------------


@dataclass(slots=True)
class ProcessRequest:
    return_id: int | None
    lines: list[tuple[int | None, int]] = field(default_factory=list)  # (return line item id, quantity)
    exchanges: list[tuple[int | None, int]] = field(default_factory=list)  # (exchange line item id, qty)
    refund_amounts: list[tuple[Decimal, str]] | None = None  # issueRefund: (amount, currency) each
    allow_over_refunding: bool = False
    refund_shipping_full: bool = False
    refund_shipping_amount: Decimal | None = None
    note: str | None = None


def _open_return(store: Store, return_id: int | None, path: list[object]) -> tuple[Order, Return]:
    order, return_ = find_return(store, return_id)
    if return_ is None:
        raise _fail(path, "Return does not exist.", "NOT_FOUND")
    if return_.status != "OPEN":
        raise _fail(path, f"Return is {return_.status.lower()}: only an open return can change.",
                    "INVALID_STATE")
    return order, return_


def returned_value(order: Order, line: LineItem, units: int) -> Decimal:
    """What `units` of a line are worth to the customer: their share after discounts, with their tax."""
    subtotal, tax, _discount = line_share(line, units)
    return subtotal + added_tax(order, tax)


def exchange_value(store: Store, order: Order, variant_id: int, units: int) -> Decimal:
    """What `units` of a variant cost as exchange items: the variant's price and the order's taxes."""
    variant = store.variants.get(variant_id)
    amount = cents(variant.price * units)
    return amount + added_tax(order, edits._tax_for(order, amount, variant.taxable))


def _check_process(store: Store, order: Order, return_: Return, request: ProcessRequest) -> list[tuple]:
    """The exchange items' locations; raises the userErrors of what cannot be processed."""
    errors: list[UserError] = []
    if not request.lines and not request.exchanges:
        raise _fail(["input"], "Nothing to process: give returnLineItems or exchangeLineItems.", "BLANK")
    for kind, entries, records in (
        ("returnLineItems", request.lines, return_.return_line_items),
        ("exchangeLineItems", request.exchanges, return_.exchange_line_items),
    ):
        by_id = {record.id: record for record in records}
        asked: dict[int, int] = {}
        for index, (record_id, quantity) in enumerate(entries):
            path: list[object] = ["input", kind, index]
            record = by_id.get(record_id)
            if record is None:
                errors.append(_error([*path, "id"], "Line item does not exist on the return.", "NOT_FOUND"))
            elif quantity <= 0:
                errors.append(_error([*path, "quantity"], "Quantity must be greater than 0.", "GREATER_THAN"))
            else:
                asked[record.id] = asked.get(record.id, 0) + quantity
                if asked[record.id] > record.unprocessed_quantity:
                    errors.append(_error(
                        [*path, "quantity"],
                        "Quantity can't be more than the unprocessed quantity "
                        f"({record.unprocessed_quantity}).",
                        "LESS_THAN_OR_EQUAL_TO",
                    ))
    placed = []
    if not errors:
        exchanges = {e.id: e for e in return_.exchange_line_items}
        for index, (exchange_id, quantity) in enumerate(request.exchanges):
            exchange = exchanges[exchange_id]
            path = ["input", "exchangeLineItems", index]
            problems = _check_variant(store, exchange.variant_id, [*path, "id"])
            if problems:
                errors.extend(problems)
                continue
            variant = store.variants.get(exchange.variant_id)
            try:
                location = edits._default_location(store, order, variant, quantity)
            except UserErrors:
                errors.append(_error([*path, "quantity"], f"Not enough stock of "
                                     f"{variant.sku or variant.id} for the exchange.", "INVALID"))
                continue
            placed.append((exchange, quantity, location))
    if request.refund_amounts is not None:
        path = ["input", "financialTransfer", "issueRefund", "orderTransactions"]
        amounts = ZERO
        for index, (amount, currency) in enumerate(request.refund_amounts):
            if amount <= 0:
                errors.append(_error([*path, index, "transactionAmount"], "Amount must be greater than 0.",
                                     "GREATER_THAN"))
            if currency != order.currency_code:
                errors.append(_error([*path, index, "transactionAmount"],
                                     f"Currency must be the order's ({order.currency_code}).", "INVALID"))
            amounts += amount
        amounts_now = totals(order)
        refundable = amounts_now["received"] - amounts_now["refunded"]
        if amounts > refundable and not request.allow_over_refunding:
            errors.append(_error(path, f"Refund amount {amounts} is more than the refundable amount "
                                       f"{refundable}.", "LESS_THAN_OR_EQUAL_TO"))
    elif request.refund_shipping_full or request.refund_shipping_amount is not None:
        errors.append(_error(["input", "refundShipping"], "Refunding shipping needs "
                             "financialTransfer.issueRefund.", "INVALID"))
    if errors:
        raise UserErrors(errors)
    return placed


def _shipping_refund(order: Order, request: ProcessRequest) -> tuple[Decimal, Decimal]:
    already = refunded(order)
    paid = sum((shipping_discounted(s) for s in order.shipping_lines), ZERO) - already["shipping"]
    tax = sum((shipping_tax_total(s) for s in order.shipping_lines), ZERO) - already["shipping_tax"]
    if request.refund_shipping_full:
        return paid, tax
    if request.refund_shipping_amount is not None and paid > 0:
        amount = min(request.refund_shipping_amount, paid)
        return amount, cents(tax * amount / paid)
    return ZERO, ZERO


def process_return(
    store: Store, request: ProcessRequest
) -> tuple[Order, Return, SalesAgreement, Refund | None]:
    order, return_ = _open_return(store, request.return_id, ["input", "returnId"])
    placed = _check_process(store, order, return_, request)
    now = store.now()
    if order.paid is None:
        order.paid = totals(order)["total"]
    lines = {line.id: line for line in order.line_items}
    return_lines = {rl.id: rl for rl in return_.return_line_items}
    sales = []
    refund_lines = []
    for return_line_id, units in request.lines:
        return_line = return_lines[return_line_id]
        line = lines[return_line.line_item_id]
        sale = product_sale(store, line, units, "RETURN", order.taxes_included)
        sale.quantity = -units  # a return's sale counts the units taken back as negative
        sales.append(sale)
        subtotal, tax, _discount = line_share(line, units)
        refund_lines.append((line.id, units, subtotal, tax))
        line.returned_quantity += units
        line.fulfilled_quantity = min(line.fulfilled_quantity, line.current_quantity)
        return_line.processed_quantity += units
    for exchange, units, location in placed:
        addition = StagedAddition(store.next_id("line_item"), exchange.variant_id, units, location)
        sales.append(edits._add(store, order, addition))
        exchange.line_item_ids.append(addition.id)
        exchange.processed_quantity += units
    agreement = add_agreement(store, order, "RETURN", sales)
    agreement.return_id = return_.id
    return_.agreement_ids.append(agreement.id)
    refund = None
    if request.refund_amounts is not None:
        shipping, shipping_tax = _shipping_refund(order, request)
        refund = Refund(
            store.next_id("refund"), now, request.note,
            [
                RefundLineItem(
                    store.next_id("refund_line_item"), line_id, units, "NO_RESTOCK", None, subtotal, tax
                )
                for line_id, units, subtotal, tax in refund_lines
            ],
            shipping, shipping_tax, [], return_.id, sum((a for a, _c in request.refund_amounts), ZERO),
        )
        refund.transactions = [
            OrderTransaction(store.next_id("transaction"), "REFUND", "SUCCESS", amount, now, now)
            for amount, _currency in request.refund_amounts
        ]
        order.refunds.append(refund)
        return_.refund_ids.append(refund.id)
        store.emit("refunds/create", refund.id)
    order.updated_at = now
    store.save(order)
    store.emit("returns/process", return_.id)
    return order, return_, agreement, refund


# -- reverseFulfillmentOrderDispose --------------------------------------------------------------------


@dataclass(slots=True)
class DisposeRequest:
    reverse_line_id: int | None
    quantity: int
    disposition_type: str
    location_id: int | None = None
    location_given: bool = False


def _level(store: Store, line: LineItem, location_id: int):
    variant = store.variants.get(line.variant_id)
    item = store.items.get(variant.inventory_item_id) if variant else None
    if item is None or not item.tracked:
        return None, True
    level = store.levels.get((item.id, location_id))
    return level, level is not None


def dispose(store: Store, requests: list[DisposeRequest]) -> list[ReverseFulfillmentOrderLine]:
    """Record what became of returned units; RESTOCKED puts them back in available (and on_hand) at the
    location. A reverse fulfillment order whose units are all disposed of is CLOSED."""
    errors: list[UserError] = []
    asked: dict[int, int] = {}
    checked = []
    for index, request in enumerate(requests):
        path: list[object] = ["dispositionInputs", index]
        found = find_reverse_line(store, request.reverse_line_id)
        if found is None:
            errors.append(_error([*path, "reverseFulfillmentOrderLineItemId"],
                                 "Reverse fulfillment order line item does not exist.", "NOT_FOUND"))
            continue
        order, return_, reverse, reverse_line = found
        if return_.status == "CANCELED" or reverse.status == "CANCELED":
            errors.append(_error([*path, "reverseFulfillmentOrderLineItemId"],
                                 "The return is canceled.", "INVALID_STATE"))
            continue
        if request.quantity <= 0:
            errors.append(_error([*path, "quantity"], "Quantity must be greater than 0.", "GREATER_THAN"))
            continue
        asked[reverse_line.id] = asked.get(reverse_line.id, 0) + request.quantity
        left = reverse_line.total_quantity - reverse_line.disposed_quantity
        if asked[reverse_line.id] > left:
            errors.append(_error([*path, "quantity"], f"Quantity can't be more than the quantity left to "
                                 f"dispose of ({left}).", "LESS_THAN_OR_EQUAL_TO"))
            continue
        if request.disposition_type not in DISPOSITION_TYPES:
            errors.append(_error([*path, "dispositionType"], "Disposition type is invalid.", "INCLUSION"))
            continue
        location = None
        if request.location_given or request.location_id is not None:
            location = store.locations.get(request.location_id)
            if location is None or not location.is_active:
                errors.append(_error([*path, "locationId"], "Location does not exist.", "NOT_FOUND"))
                continue
        line = next(li for li in order.line_items if li.id == reverse_line.line_item_id)
        level = None
        if request.disposition_type == "RESTOCKED":
            if location is None:
                errors.append(_error([*path, "locationId"], "A location is needed to restock.", "BLANK"))
                continue
            level, stocked = _level(store, line, location.id)
            if not stocked:
                errors.append(_error([*path, "locationId"], "The item is not stocked at the location.",
                                     "INVALID"))
                continue
        checked.append((order, reverse, reverse_line, request, location, level))
    if errors:
        raise UserErrors(errors)
    now = store.now()
    result = []
    for order, reverse, reverse_line, request, location, level in checked:
        reverse_line.dispositions.append(Disposition(
            store.next_id("reverse_fulfillment_order_disposition"), now, request.quantity,
            request.disposition_type, location.id if location else None,
        ))
        if level is not None:
            change(store, level, {"available": request.quantity})
        if all(rl.disposed_quantity >= rl.total_quantity for rl in reverse.line_items):
            reverse.status = "CLOSED"
        if reverse_line not in result:
            result.append(reverse_line)
        order.updated_at = now
        store.save(order)
        store.emit("reverse_fulfillment_orders/dispose", reverse.id)
    return result


# -- returnClose, returnCancel -------------------------------------------------------------------------


def close_return(store: Store, return_id: int | None) -> tuple[Order, Return]:
    order, return_ = _open_return(store, return_id, ["id"])
    now = store.now()
    return_.status, return_.closed_at = "CLOSED", now
    order.updated_at = now
    store.save(order)
    store.emit("returns/close", return_.id)
    return order, return_


def cancel_return(store: Store, return_id: int | None) -> tuple[Order, Return]:
    """Only a return with nothing processed and nothing disposed of can be canceled."""
    order, return_ = _open_return(store, return_id, ["id"])
    processed = any(rl.processed_quantity for rl in return_.return_line_items) or any(
        e.processed_quantity for e in return_.exchange_line_items
    )
    disposed = any(rl.dispositions for rfo in return_.reverse_fulfillment_orders for rl in rfo.line_items)
    if processed or disposed:
        raise _fail(["id"], "A return with processed or disposed items can't be canceled.", "INVALID_STATE")
    now = store.now()
    return_.status = "CANCELED"
    for reverse in return_.reverse_fulfillment_orders:
        reverse.status = "CANCELED"
    order.updated_at = now
    store.save(order)
    store.emit("returns/cancel", return_.id)
    return order, return_


# -- everything in one go (the admin shortcut, the shopper) --------------------------------------------


@dataclass(slots=True)
class ReturnRequest:
    lines: list[tuple[int, int]]  # (line item id, quantity)
    exchanges: list[tuple[int, int]] = field(default_factory=list)  # (variant id, quantity)
    refund: bool = True
    dispose: str | None = "RESTOCKED"
    location_id: int | None = None
    close: bool = True


@dataclass(slots=True)
class ReturnOutcome:
    order: Order
    return_: Return
    agreement: SalesAgreement
    refund: Refund | None
    line_item_ids: list[int]


def _pick_fulfillment_lines(
    order: Order, request: ReturnRequest
) -> list[tuple[ReturnLineRequest, int, int]]:
    """Each (line, quantity) spread over the line's fulfillment line items that can still be returned."""
    errors: list[UserError] = []
    picked: list[tuple[ReturnLineRequest, int, int]] = []  # (request, fulfilled from, line id)
    taken: dict[int, int] = {}
    lines = {line.id: line for line in order.line_items}
    for index, (line_id, quantity) in enumerate(request.lines):
        if line_id not in lines:
            errors.append(_error(["lines", index, "line_item_id"], "Line item does not exist.", "NOT_FOUND"))
            continue
        if quantity <= 0:
            errors.append(_error(["lines", index, "quantity"], "Quantity must be greater than 0.",
                                 "GREATER_THAN"))
            continue
        left = quantity
        for fulfillment in order.fulfillments:
            ids = fulfillment.fulfillment_line_item_ids()
            for position, (fulfilled_line, _shipped) in enumerate(fulfillment.line_items):
                if fulfilled_line != line_id or left <= 0:
                    continue
                free = returnable_quantity(order, fulfillment, position) - taken.get(ids[position], 0)
                units = min(free, left)
                if units > 0:
                    taken[ids[position]] = taken.get(ids[position], 0) + units
                    picked.append((ReturnLineRequest(ids[position], units), fulfillment.location_id, line_id))
                    left -= units
        if left > 0:
            errors.append(_error(["lines", index, "quantity"], f"Only {quantity - left} fulfilled unit(s) of "
                                 f"the line can be returned.", "LESS_THAN_OR_EQUAL_TO"))
    if errors:
        raise UserErrors(errors)
    return picked


def return_order(store: Store, order_id: int, request: ReturnRequest) -> ReturnOutcome:
    """What a merchant does in the admin in one go: returnCreate, returnProcess of everything (refunding
    what the returned units are worth beyond the exchange items, with their taxes), the disposal of every
    unit (at `location_id`, else where it was fulfilled from) and returnClose. Everything is checked before
    anything changes."""
    order = store.orders.get(order_id)
    if order is None:
        raise _fail(["id"], "Order does not exist.", "NOT_FOUND")
    if request.dispose is not None and request.dispose not in DISPOSITION_TYPES:
        raise _fail(["dispose"], f"dispose must be one of {', '.join(DISPOSITION_TYPES)} or null.",
                    "INCLUSION")
    picked = _pick_fulfillment_lines(order, request)
    lines = {line.id: line for line in order.line_items}
    units_of_line: dict[int, int] = {}
    for line_id, quantity in request.lines:
        units_of_line[line_id] = units_of_line.get(line_id, 0) + quantity
    if request.dispose is not None:
        if request.location_id is not None:
            location = store.locations.get(request.location_id)
            if location is None or not location.is_active:
                raise _fail(["location_id"], "Location does not exist.", "NOT_FOUND")
        for _r, fulfilled_from, line_id in picked:
            location_id = request.location_id or fulfilled_from
            if request.dispose == "RESTOCKED" and not _level(store, lines[line_id], location_id)[1]:
                raise _fail(["location_id"], "The item is not stocked at the location.", "INVALID")
    for index, (variant_id, quantity) in enumerate(request.exchanges):
        problems = _check_variant(store, variant_id, ["exchange", index, "variant_id"])
        if problems:
            raise UserErrors(problems)
        try:
            edits._default_location(store, order, store.variants.get(variant_id), quantity)
        except UserErrors as failure:
            raise _fail(["exchange", index, "quantity"], failure.errors[0].message, "INVALID") from None
    back = sum(
        (returned_value(order, lines[line_id], units) for line_id, units in units_of_line.items()), ZERO
    )
    owed = sum((exchange_value(store, order, v, q) for v, q in request.exchanges), ZERO)
    order, return_ = create_return(
        store, order_id, [r for r, _loc, _line in picked], list(request.exchanges) or None
    )
    process = ProcessRequest(
        return_.id,
        [(rl.id, rl.quantity) for rl in return_.return_line_items],
        [(e.id, e.quantity) for e in return_.exchange_line_items],
        [(back - owed, order.currency_code)] if request.refund and back > owed else None,
    )
    order, return_, agreement, refund = process_return(store, process)
    if request.dispose is not None:
        locations = {rl.id: loc for rl, (_r, loc, _l) in zip(return_.return_line_items, picked, strict=True)}
        dispose(store, [
            DisposeRequest(reverse_line.id, reverse_line.total_quantity, request.dispose,
                           request.location_id or locations[reverse_line.return_line_item_id])
            for reverse in return_.reverse_fulfillment_orders
            for reverse_line in reverse.line_items
        ])
    if request.close:
        close_return(store, return_.id)
    new_lines = [line_id for e in return_.exchange_line_items for line_id in e.line_item_ids]
    return ReturnOutcome(order, return_, agreement, refund, new_lines)
