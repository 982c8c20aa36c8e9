"""Order editing as Shopify's order editing API does it: orderEditBegin opens a session (a CalculatedOrder
over the order), orderEditAddVariant and orderEditSetQuantity stage changes on it, and orderEditCommit
applies them to the order in one go, recording an OrderEditAgreement whose sales itemize the change.

On commit an added variant becomes a new line item (the variant's price, the order's taxes, its units
committed at the chosen location and put on an open fulfillment order there, or a new one); a lowered
quantity counts as removed units of the line (`quantity` keeps them, `currentQuantity` drops them), comes
off the line's fulfillment order and out of committed (back to available with restock; out of on_hand
without); a raised quantity adds units to the same line. Only unfulfilled units can be removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sandbox.shopify.errors import UserError, UserErrors
from sandbox.shopify.state.inventory import change
from sandbox.shopify.state.orders import (
    ZERO,
    _pick_location,
    _release_fulfillment_order_lines,
    add_agreement,
    cents,
    line_share,
    added_tax,
    product_sale,
    tax_amounts,
    totals,
)
from sandbox.shopify.state.records import (
    FulfillmentOrder,
    FulfillmentOrderLine,
    LineItem,
    Order,
    OrderEditSession,
    Sale,
    SalesAgreement,
    StagedAddition,
    StagedQuantity,
    TaxLine,
    Variant,
)
from sandbox.shopify.state.store import Store


def _fail(path: str, message: str) -> UserErrors:
    return UserErrors([UserError([path], message)])


# -- the calculated order ------------------------------------------------------------------------------


@dataclass(slots=True)
class CalculatedLine:
    """A CalculatedLineItem: a line of the order as the staged changes leave it, or an added variant."""

    id: int
    session_id: int
    variant_id: int | None
    title: str
    variant_title: str | None
    sku: str | None
    quantity: int  # with the staged change
    quantity_before: int  # the line's current quantity when the edit began (0 for an added variant)
    fulfilled: int
    unit_price: Decimal
    discounted_unit_price: Decimal
    restocking: bool
    restockable: bool
    line: LineItem | None = None  # None for an added variant
    changes: list[dict] = field(default_factory=list)  # OrderStagedChange values, with their __typename

    @property
    def editable_quantity(self) -> int:
        return self.quantity - self.fulfilled

    @property
    def editable_quantity_before_changes(self) -> int:
        return self.quantity_before - self.fulfilled


@dataclass(slots=True)
class CalculatedOrder:
    id: int
    session: OrderEditSession
    order: Order
    line_items: list[CalculatedLine]  # the order's lines, changes applied
    added_line_items: list[CalculatedLine]
    subtotal: Decimal
    total: Decimal
    outstanding: Decimal
    subtotal_quantity: int

    @property
    def committed(self) -> bool:
        return self.session.committed_at is not None

    def staged_changes(self) -> list[dict]:
        return [c for line in (*self.line_items, *self.added_line_items) for c in line.changes]


def _order_taxes(order: Order) -> list[TaxLine]:
    """The order's taxes (titles and rates): those of its first taxed line, else of its shipping."""
    for line in order.line_items:
        if line.tax_lines:
            return line.tax_lines
    for shipping in order.shipping_lines:
        if shipping.tax_lines:
            return shipping.tax_lines
    return []


def _taxes_on(order: Order, taxes: list[TaxLine], amount: Decimal) -> list[Decimal]:
    """Each tax's amount on more of a line's price: added to it, or the part of it that is tax when the
    order's taxes are included (as at checkout, each rounded on its own)."""
    return tax_amounts(amount, [Decimal(str(tax.rate)) for tax in taxes], order.taxes_included)


def _tax_for(order: Order, amount: Decimal, taxable: bool) -> Decimal:
    return sum(_taxes_on(order, _order_taxes(order), amount), ZERO) if taxable else ZERO


def _line_tax(order: Order, line: LineItem, amount: Decimal) -> Decimal:
    """Tax on more units of a line: at the rates of its own tax lines."""
    return sum(_taxes_on(order, line.tax_lines, amount), ZERO)


def _staged(session: OrderEditSession, line_id: int) -> StagedQuantity | None:
    return next((q for q in session.quantities if q.line_item_id == line_id), None)


def _calculated_quantity(session: OrderEditSession, line: LineItem) -> int:
    staged = _staged(session, line.id)
    return staged.quantity if staged else line.current_quantity


def calculate(store: Store, session: OrderEditSession) -> CalculatedOrder:
    order = store.orders.get(session.order_id)
    amounts = totals(order)
    delta = ZERO
    lines = []
    for line in order.line_items:
        staged = _staged(session, line.id)
        quantity = staged.quantity if staged else line.current_quantity
        discounted = cents((line.unit_price * line.quantity - sum(
            (Decimal(a) for _i, a in line.discount_allocations), ZERO)) / line.quantity)
        calc = CalculatedLine(
            line.id, session.id, line.variant_id, line.title, line.variant_title, line.sku, quantity,
            line.current_quantity, line.fulfilled_quantity, line.unit_price, discounted,
            bool(staged and staged.restock and quantity < line.current_quantity),
            _restockable(store, line.variant_id), line,
        )
        units = quantity - line.current_quantity
        if units < 0:
            subtotal, tax, _discount = line_share(line, -units)
            delta -= subtotal + added_tax(order, tax)
            calc.changes.append({"__typename": "OrderStagedChangeDecrementItem", "delta": -units,
                                 "lineItem": line, "restock": calc.restocking, "key": line.id})
        elif units > 0:
            added = cents(line.unit_price * units)
            delta += added + added_tax(order, _line_tax(order, line, added))
            calc.changes.append({"__typename": "OrderStagedChangeIncrementItem", "delta": units,
                                 "lineItem": line, "key": line.id})
        lines.append(calc)
    added_lines = []
    for addition in session.additions:
        variant = store.variants.get(addition.variant_id)
        product = store.products.get(variant.product_id) if variant else None
        if product is None:  # deleted since it was staged: the commit refuses it
            continue
        calc = CalculatedLine(
            addition.id, session.id, variant.id, product.title, _variant_title(variant), variant.sku,
            addition.quantity, 0, 0, variant.price, variant.price, False, _restockable(store, variant.id),
        )
        added = cents(variant.price * addition.quantity)
        delta += added + added_tax(order, _tax_for(order, added, variant.taxable))
        calc.changes.append({"__typename": "OrderStagedChangeAddVariant", "quantity": addition.quantity,
                             "variant": variant, "key": addition.id})
        added_lines.append(calc)
    subtotal = amounts["subtotal"] + sum(
        (_subtotal_delta(order, c) for c in (*lines, *added_lines)), ZERO
    )
    return CalculatedOrder(
        session.id, session, order, lines, added_lines, subtotal, amounts["current_total"] + delta,
        amounts["outstanding"] + delta, sum(c.quantity for c in (*lines, *added_lines)),
    )


def _subtotal_delta(order: Order, calc: CalculatedLine) -> Decimal:
    units = calc.quantity - calc.quantity_before
    if calc.line is not None and units < 0:
        return -line_share(calc.line, -units)[0]
    return cents(calc.unit_price * units) if units > 0 else ZERO


def _variant_title(variant: Variant) -> str | None:
    return None if variant.title == "Default Title" else variant.title


def _restockable(store: Store, variant_id: int | None) -> bool:
    variant = store.variants.get(variant_id)
    item = store.items.get(variant.inventory_item_id) if variant else None
    return bool(item and item.tracked)


# -- the session ---------------------------------------------------------------------------------------


def begin_edit(store: Store, order_id: int | None) -> OrderEditSession:
    order = store.orders.get(order_id)
    if order is None:
        raise _fail("id", "Order does not exist.")
    if order.cancelled_at is not None:
        raise _fail("id", "Canceled orders can't be edited.")
    if order.closed_at is not None:
        raise _fail("id", "Archived orders can't be edited.")
    now = store.now()
    session = OrderEditSession(store.next_id("order_edit"), order.id, now, now)
    store.save(session)
    return session


def open_session(store: Store, session_id: int | None) -> OrderEditSession:
    """The session of a CalculatedOrder (or OrderEditSession) id, if it can still take changes."""
    session = store.order_edits.get(session_id)
    if session is None:
        raise _fail("id", "Calculated order does not exist.")
    if session.committed_at is not None:
        raise _fail("id", "The order edit has already been committed.")
    order = store.orders.get(session.order_id)
    if order.cancelled_at is not None:
        raise _fail("id", "Canceled orders can't be edited.")
    return session


def _location(store: Store, location_id: int | None, item_id: int, path: str) -> int:
    location = store.locations.get(location_id)
    if location is None or not location.is_active:
        raise _fail(path, "Location does not exist.")
    if (item_id, location.id) not in store.levels:
        raise _fail(path, "The variant is not stocked at the location.")
    return location.id


def _check_stock(store: Store, variant: Variant, location_id: int, units: int) -> None:
    """DENY never sells below 0 available, in an edit as at checkout."""
    item = store.items.get(variant.inventory_item_id)
    if not item.tracked or variant.inventory_policy == "CONTINUE" or units <= 0:
        return
    available = store.levels[(item.id, location_id)].quantity("available")
    if available < units:
        name = store.locations.get(location_id).name
        raise _fail("quantity", f"Not enough stock of {variant.sku or variant.id} at {name}: "
                                f"{available} available.")


def _default_location(store: Store, order: Order, variant: Variant, units: int) -> int:
    """The order's location (its first line's) if the variant can be sold from there, else the location
    with the most stock."""
    item = store.items.get(variant.inventory_item_id)
    oversell = variant.inventory_policy == "CONTINUE" or not item.tracked
    if order.line_items:
        preferred = order.line_items[0].location_id
        level = store.levels.get((item.id, preferred))
        location = store.locations.get(preferred)
        if level is not None and location is not None and location.is_active and (
            oversell or level.quantity("available") >= units
        ):
            return preferred
    picked = _pick_location(store, item.id, units, oversell)
    if picked is None:
        raise _fail("quantity", f"Not enough stock of {variant.sku or variant.id} at any location.")
    return picked


def add_variant(
    store: Store,
    session: OrderEditSession,
    variant_id: int | None,
    quantity: int,
    location_id: int | None = None,
    allow_duplicates: bool = False,
    location_given: bool = False,
) -> StagedAddition:
    order = store.orders.get(session.order_id)
    variant = store.variants.get(variant_id)
    product = store.products.get(variant.product_id) if variant else None
    if variant is None or product is None:
        raise _fail("variantId", "Variant does not exist.")
    if product.status != "ACTIVE":
        raise _fail("variantId", "The variant is not available for sale.")
    if quantity <= 0:
        raise _fail("quantity", "Quantity must be greater than 0.")
    on_order = any(
        line.variant_id == variant.id and _calculated_quantity(session, line) > 0 for line in order.line_items
    ) or any(a.variant_id == variant.id for a in session.additions)
    if on_order and not allow_duplicates:
        raise _fail("variantId", "The variant is already on the order. Set allowDuplicates to add it "
                                 "as a new line item.")
    if location_given or location_id is not None:
        location = _location(store, location_id, variant.inventory_item_id, "locationId")
        _check_stock(store, variant, location, quantity)
    else:
        location = _default_location(store, order, variant, quantity)
    # The id is the future line item's: ids are never given twice, so a discarded edit leaves a gap only.
    addition = StagedAddition(store.next_id("line_item"), variant.id, quantity, location)
    session.additions.append(addition)
    session.updated_at = store.now()
    store.save(session)
    return addition


def set_quantity(
    store: Store,
    session: OrderEditSession,
    line_id: int | None,
    quantity: int,
    restock: bool = False,
    location_id: int | None = None,
    location_given: bool = False,
) -> int:
    """Stage a line's new quantity; returns the id of its CalculatedLineItem."""
    order = store.orders.get(session.order_id)
    if quantity < 0:
        raise _fail("quantity", "Quantity can't be negative.")
    addition = next((a for a in session.additions if a.id == line_id), None)
    if addition is not None:  # a variant added in this edit: 0 takes it back out
        if quantity == 0:
            session.additions.remove(addition)
        else:
            _check_stock(store, store.variants.get(addition.variant_id), addition.location_id, quantity)
            addition.quantity = quantity
        session.updated_at = store.now()
        store.save(session)
        return addition.id
    line = next((li for li in order.line_items if li.id == line_id), None)
    if line is None:
        raise _fail("lineItemId", "Line item does not exist on the calculated order.")
    if quantity < line.fulfilled_quantity:
        raise _fail("quantity", f"Quantity can't be lower than the fulfilled quantity "
                                f"({line.fulfilled_quantity}).")
    variant = store.variants.get(line.variant_id)
    restock_at = None
    if location_given or location_id is not None:
        if variant is None:
            raise _fail("locationId", "Location does not exist.")
        restock_at = _location(store, location_id, variant.inventory_item_id, "locationId")
    if quantity > line.current_quantity and variant is not None:
        _check_stock(store, variant, line.location_id, quantity - line.current_quantity)
    staged = _staged(session, line.id)
    if staged is not None:
        session.quantities.remove(staged)
    if quantity != line.current_quantity:
        session.quantities.append(StagedQuantity(line.id, quantity, bool(restock), restock_at))
    session.updated_at = store.now()
    store.save(session)
    return line.id


# -- committing ----------------------------------------------------------------------------------------


def _level(store: Store, variant_id: int | None, location_id: int):
    variant = store.variants.get(variant_id)
    item = store.items.get(variant.inventory_item_id) if variant else None
    return store.levels.get((item.id, location_id)) if item is not None and item.tracked else None


def _place_units(store: Store, order: Order, line_id: int, location_id: int, units: int) -> None:
    """Put units of a line on an open fulfillment order at the location (a new one if there is none)."""
    now = store.now()
    fulfillment_order = next(
        (fo for fo in order.fulfillment_orders if fo.location_id == location_id and fo.status == "OPEN"),
        None,
    )
    if fulfillment_order is None:
        fulfillment_order = FulfillmentOrder(
            store.next_id("fulfillment_order"), location_id, "OPEN", now, now, []
        )
        order.fulfillment_orders.append(fulfillment_order)
    fo_line = next((fl for fl in fulfillment_order.line_items if fl.line_item_id == line_id), None)
    if fo_line is None:
        fulfillment_order.line_items.append(
            FulfillmentOrderLine(store.next_id("fulfillment_order_line"), line_id, units, units)
        )
    else:
        fo_line.total_quantity += units
        fo_line.remaining_quantity += units
    fulfillment_order.updated_at = now


def _commit_units(store: Store, variant_id: int | None, location_id: int, units: int) -> None:
    level = _level(store, variant_id, location_id)
    if level is not None:
        change(store, level, {"available": -units, "committed": units})


def _remove(store: Store, order: Order, line: LineItem, units: int, staged: StagedQuantity) -> Sale:
    sale = product_sale(store, line, units, "RETURN", order.taxes_included)
    level = _level(store, line.variant_id, line.location_id)
    if level is not None:
        restock_at = staged.location_id or line.location_id
        if staged.restock and restock_at == line.location_id:
            change(store, level, {"committed": -units, "available": units})
        else:  # no restock: the units leave committed and so on_hand
            change(store, level, {"committed": -units})
            if staged.restock:
                target = _level(store, line.variant_id, restock_at)
                if target is not None:
                    change(store, target, {"available": units})
    _release_fulfillment_order_lines(order, line.id, units)
    line.removed_quantity += units
    return sale


def _increment(store: Store, order: Order, line: LineItem, units: int) -> Sale:
    added = cents(line.unit_price * units)
    amounts = _taxes_on(order, line.tax_lines, added)
    for tax_line, amount in zip(line.tax_lines, amounts, strict=True):
        tax_line.price += amount
    line.quantity += units
    _commit_units(store, line.variant_id, line.location_id, units)
    _place_units(store, order, line.id, line.location_id, units)
    return Sale(store.next_id("sale"), "ORDER", "PRODUCT", units, added, sum(amounts, ZERO), ZERO, line.id,
                taxes_included=order.taxes_included)


def _add(store: Store, order: Order, addition: StagedAddition) -> Sale:
    variant = store.variants.get(addition.variant_id)
    product = store.products.get(variant.product_id)
    item = store.items.get(variant.inventory_item_id)
    line = LineItem(
        addition.id, variant.id, product.id, product.title, _variant_title(variant), variant.sku,
        addition.quantity, variant.price, variant.taxable, item.requires_shipping, addition.location_id,
    )
    taxes = _order_taxes(order)
    if taxes and variant.taxable:
        amounts = _taxes_on(order, taxes, cents(variant.price * addition.quantity))
        line.tax_lines = [
            TaxLine(tax.title, tax.rate, amount) for tax, amount in zip(taxes, amounts, strict=True)
        ]
    order.line_items.append(line)
    _commit_units(store, variant.id, addition.location_id, addition.quantity)
    _place_units(store, order, line.id, addition.location_id, addition.quantity)
    return product_sale(store, line, addition.quantity, "ORDER", order.taxes_included)


def commit_edit(
    store: Store, session: OrderEditSession, notify_customer: bool = False, staff_note: str | None = None
) -> tuple[Order, SalesAgreement | None]:
    """Apply the staged changes; an edit that changes nothing leaves the order as it was."""
    order = store.orders.get(session.order_id)
    lines = {line.id: line for line in order.line_items}
    errors = []
    for staged in session.quantities:  # a fulfillment since staging may have made a change impossible
        line = lines[staged.line_item_id]
        if staged.quantity < line.fulfilled_quantity:
            errors.append(UserError(["id"], f"Quantity of line item {line.id} can't be lower than the "
                                            f"fulfilled quantity ({line.fulfilled_quantity})."))
    needed: dict[tuple[int, int], int] = {}  # (variant, location) -> units to commit
    for staged in session.quantities:
        line = lines[staged.line_item_id]
        if staged.quantity > line.current_quantity and line.variant_id in store.variants.by_id:
            key = (line.variant_id, line.location_id)
            needed[key] = needed.get(key, 0) + staged.quantity - line.current_quantity
    for addition in session.additions:
        variant = store.variants.get(addition.variant_id)
        if variant is None or store.products.get(variant.product_id) is None:
            errors.append(UserError(["id"], "A variant added in this edit no longer exists."))
            continue
        key = (variant.id, addition.location_id)
        needed[key] = needed.get(key, 0) + addition.quantity
    for (variant_id, location_id), units in needed.items():
        try:
            _check_stock(store, store.variants.get(variant_id), location_id, units)
        except UserErrors as failure:
            errors.extend(failure.errors)
    if errors:
        raise UserErrors(errors)
    now = store.now()
    if order.paid is None:
        order.paid = totals(order)["total"]
    sales: list[Sale] = []
    for staged in session.quantities:
        line = lines[staged.line_item_id]
        units = staged.quantity - line.current_quantity
        if units < 0:
            sales.append(_remove(store, order, line, -units, staged))
        elif units > 0:
            sales.append(_increment(store, order, line, units))
    for addition in session.additions:
        sales.append(_add(store, order, addition))
    session.committed_at = session.updated_at = now
    session.notify_customer, session.staff_note = bool(notify_customer), staff_note
    agreement = None
    if sales:
        agreement = add_agreement(store, order, "ORDER_EDIT", sales)
        session.agreement_id = agreement.id
        order.updated_at = now
        store.save(order)
        store.emit("orders/edited", session.id)
    store.save(session)
    return order, agreement


@dataclass(slots=True)
class EditRequest:
    """One edit in one go (the admin shortcut, the shopper): variants to add and line quantities to set."""

    additions: list[tuple[int | None, int, int | None, bool]] = field(default_factory=list)
    # (variant id, quantity, location id, allow duplicates)
    quantities: list[tuple[int | None, int, bool]] = field(default_factory=list)  # (line id, qty, restock)
    notify_customer: bool = False
    staff_note: str | None = None


def edit_order(
    store: Store, order_id: int, request: EditRequest
) -> tuple[Order, SalesAgreement | None, list[int]]:
    """Begin, stage and commit; returns the order, the edit's agreement and the new line item ids. On a
    userError nothing has been applied (the session stays open and unused, as an abandoned edit)."""
    session = begin_edit(store, order_id)
    for line_id, quantity, restock in request.quantities:
        set_quantity(store, session, line_id, quantity, restock)
    added = [
        add_variant(store, session, variant_id, quantity, location_id, allow_duplicates).id
        for variant_id, quantity, location_id, allow_duplicates in request.additions
    ]
    order, agreement = commit_edit(store, session, request.notify_customer, request.staff_note)
    on_order = {line.id for line in order.line_items}
    return order, agreement, [line_id for line_id in added if line_id in on_order]
