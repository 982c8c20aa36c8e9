"""Orders: placement (inventory moves from available to committed), cancellation, refunds, fulfillment,
and the money arithmetic behind every total Shopify reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sandbox.shopify.errors import UserError, UserErrors
from sandbox.shopify.settings import SHOP_CURRENCY
from sandbox.shopify.state.inventory import change
from sandbox.shopify.state.records import (
    Address,
    Customer,
    DiscountApplication,
    Fulfillment,
    FulfillmentOrder,
    FulfillmentOrderLine,
    LineItem,
    Order,
    OrderTransaction,
    Refund,
    RefundLineItem,
    Sale,
    SalesAgreement,
    ShippingLine,
    TaxLine,
)
from sandbox.shopify.state.customers import normalize_phone
from sandbox.shopify.state.store import Store

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# OrderTransactionStatus values a refund's transaction can be given (the others are the gateway's own).
TRANSACTION_STATUSES = ("SUCCESS", "PENDING", "FAILURE")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(slots=True)
class LineRequest:
    variant_id: int
    quantity: int
    discount: Decimal | None = None  # a fixed amount off this line (a manual line discount)
    discount_title: str = "Line discount"


@dataclass(slots=True)
class ShippingDiscount:
    """A discount on the order's shipping line: a code (e.g. a free-shipping code, 100 percent) or a manual
    discount with a title; a percentage of the shipping price or a fixed amount off it."""

    code: str | None = None
    title: str | None = None
    percentage: Decimal | None = None
    amount: Decimal | None = None


@dataclass(slots=True)
class OrderRequest:
    email: str | None  # None: a guest checking out with a phone number, or with no contact at all
    first_name: str
    last_name: str
    shipping_address: Address | None
    lines: list[LineRequest]
    billing_address: Address | None = None
    phone: str | None = None
    discount_code: str | None = None
    discount_percentage: Decimal | None = None
    shipping_title: str = "Standard"
    shipping_price: Decimal = ZERO
    tax_rate: Decimal = ZERO
    tax_title: str = "Sales Tax"
    note: str | None = None
    tags: list[str] = field(default_factory=list)
    # Several taxes on each taxable line (and the shipping), e.g. a state tax and a county tax: (title, rate).
    # None: the single `tax_title`/`tax_rate` (no tax when the rate is 0).
    tax_lines: list[tuple[str, Decimal]] | None = None
    taxes_included: bool = False  # prices (lines and shipping) include the taxes
    shipping_discount: ShippingDiscount | None = None

    def taxes(self) -> list[tuple[str, Decimal]]:
        if self.tax_lines is not None:
            return [(title, Decimal(rate)) for title, rate in self.tax_lines]
        return [(self.tax_title, self.tax_rate)] if self.tax_rate else []


# -- money -------------------------------------------------------------------------------------------


def line_original_total(line: LineItem) -> Decimal:
    return cents(line.unit_price * line.quantity)


def line_discount_total(line: LineItem) -> Decimal:
    return sum((Decimal(amount) for _index, amount in line.discount_allocations), ZERO)


def line_tax_total(line: LineItem) -> Decimal:
    return sum((tax.price for tax in line.tax_lines), ZERO)


def tax_amounts(amount: Decimal, rates: list[Decimal], included: bool) -> list[Decimal]:
    """The tax of each rate on an amount (a line's discounted price, a shipping price), each rounded to the
    cent on its own. Added taxes: amount x rate. Included taxes: the part of the amount that is that tax,
    Shopify's Tax = (Tax Rate x Price) / (1 + Tax Rate) with the rates together in the divisor when there
    are several (the net price is amount / (1 + all rates); each tax is its rate of that net price)."""
    if not included:
        return [cents(amount * rate) for rate in rates]
    divisor = 1 + sum(rates, ZERO)
    return [cents(amount * rate / divisor) for rate in rates]


def shipping_discount_total(shipping: ShippingLine) -> Decimal:
    return sum((Decimal(amount) for _index, amount in shipping.discount_allocations), ZERO)


def shipping_discounted(shipping: ShippingLine) -> Decimal:
    """The shipping price after its discounts (what the customer pays for it, with its tax if included)."""
    return shipping.price - shipping_discount_total(shipping)


def shipping_tax_total(shipping: ShippingLine) -> Decimal:
    return sum((tax.price for tax in shipping.tax_lines), ZERO)


def added_tax(order: Order, tax: Decimal) -> Decimal:
    """What a tax adds to a price: all of it, or nothing when the order's prices include it."""
    return ZERO if order.taxes_included else tax


def refund_total(order: Order, refund: Refund) -> Decimal:
    """The money a refund gives back: its lines and shipping, plus their taxes unless these are in them; a
    return's refund gives back the amount its transactions were asked for."""
    if refund.amount is not None:
        return refund.amount
    lines = sum((r.subtotal + added_tax(order, r.total_tax) for r in refund.refund_line_items), ZERO)
    return lines + refund.shipping + added_tax(order, refund.shipping_tax)


def refunded(order: Order) -> dict[str, Decimal]:
    """What refunds took off the order. A return's refund lines are left out: the return's agreement takes
    the returned units off (see :func:`returned_by_returns`); its money and shipping count."""
    lines = [r for refund in order.refunds if refund.return_id is None for r in refund.refund_line_items]
    subtotal = sum((r.subtotal for r in lines), ZERO)
    tax = sum((r.total_tax for r in lines), ZERO)
    shipping = sum((refund.shipping for refund in order.refunds), ZERO)
    shipping_tax = sum((refund.shipping_tax for refund in order.refunds), ZERO)
    return {
        "subtotal": subtotal,
        "tax": tax,
        "shipping": shipping,
        "shipping_tax": shipping_tax,
        "total": sum((refund_total(order, refund) for refund in order.refunds), ZERO),
    }


def removed_by_edits(order: Order) -> dict[str, Decimal]:
    """What order edits took off the order (positive amounts): the RETURN sales of its edit agreements."""
    sales = [
        sale
        for agreement in order.agreements
        if agreement.reason == "ORDER_EDIT"
        for sale in agreement.sales
        if sale.action_type == "RETURN"
    ]
    return {
        "subtotal": -sum((sale.subtotal for sale in sales), ZERO),
        "tax": -sum((sale.tax for sale in sales), ZERO),
        "discount": -sum((sale.discount for sale in sales), ZERO),
    }


def returned_by_returns(order: Order) -> dict[str, Decimal]:
    """What processed returns took back (positive amounts): the RETURN sales of the ReturnAgreements. Their
    exchange items are line items of the order, counted with the others."""
    sales = [
        sale
        for agreement in order.agreements
        if agreement.reason == "RETURN"
        for sale in agreement.sales
        if sale.action_type == "RETURN"
    ]
    return {
        "subtotal": -sum((sale.subtotal for sale in sales), ZERO),
        "tax": -sum((sale.tax for sale in sales), ZERO),
    }


def totals(order: Order) -> dict[str, Decimal]:
    """Original (after edits, before refunds and returns) and current (after refunds, edits and returns)
    amounts, all in the shop currency. Line totals count every ordered unit, removed ones too (as
    LineItem's do in Shopify); what edits removed comes off the order's totals, what returns took back off
    its current totals (their exchange items are line items like any other).

    As Shopify reports them: the subtotal is the lines after their discounts (with their tax when the
    order's taxes are included); the shipping (totalShippingPriceSet) is before its discounts, the current
    shipping after them; the discounts count line and shipping discounts; the total is subtotal +
    discounted shipping + tax, the tax only when it is not already in the prices."""
    original = sum((line_original_total(line) for line in order.line_items), ZERO)
    removed = removed_by_edits(order)
    line_discounts = sum((line_discount_total(line) for line in order.line_items), ZERO)
    shipping_discounts = sum((shipping_discount_total(s) for s in order.shipping_lines), ZERO)
    discounts = line_discounts + shipping_discounts - removed["discount"]
    line_tax = sum((line_tax_total(line) for line in order.line_items), ZERO) - removed["tax"]
    shipping = sum((s.price for s in order.shipping_lines), ZERO)
    shipping_paid = shipping - shipping_discounts
    shipping_tax = sum((shipping_tax_total(s) for s in order.shipping_lines), ZERO)
    subtotal = original - line_discounts - removed["subtotal"]
    tax = line_tax + shipping_tax
    back = refunded(order)
    returned = returned_by_returns(order)
    current_subtotal = subtotal - back["subtotal"] - returned["subtotal"]
    current_tax = tax - back["tax"] - back["shipping_tax"] - returned["tax"]
    current_shipping = shipping_paid - back["shipping"]
    current_discounts = sum(
        (
            cents(line_discount_total(line) * line.current_quantity / line.quantity)
            for line in order.line_items
        ),
        ZERO,
    ) + shipping_discounts
    total = subtotal + shipping_paid + added_tax(order, tax)
    current_total = current_subtotal + current_shipping + added_tax(order, current_tax)
    paid = total if order.paid is None else order.paid
    return {
        "subtotal": subtotal,
        "discounts": discounts,
        "tax": tax,
        "shipping": shipping,
        "total": total,
        "refunded": back["total"],
        "refunded_shipping": back["shipping"],
        "current_subtotal": current_subtotal,
        "current_tax": current_tax,
        "current_shipping": current_shipping,
        "current_discounts": current_discounts,
        "current_total": current_total,
        "received": paid,
        "net_payment": paid - back["total"],
        # Positive: the customer owes (items added by an edit); negative: the merchant owes (items removed).
        "outstanding": current_total - (paid - back["total"]),
    }


def financial_status(order: Order) -> str:
    amounts = totals(order)
    if amounts["refunded"] <= 0:
        # An edit that adds items leaves a balance to collect: Shopify shows the order partially paid.
        return "PARTIALLY_PAID" if amounts["outstanding"] > 0 else order.financial_status
    return "REFUNDED" if amounts["refunded"] >= amounts["total"] else "PARTIALLY_REFUNDED"


def fulfillment_status(order: Order) -> str:
    remaining = sum(line.current_quantity - line.fulfilled_quantity for line in order.line_items)
    fulfilled = sum(line.fulfilled_quantity for line in order.line_items)
    if fulfilled and remaining <= 0:
        return "FULFILLED"
    if fulfilled:
        return "PARTIALLY_FULFILLED"
    return "UNFULFILLED"


# -- sales agreements ----------------------------------------------------------------------------------


def line_share(line: LineItem, units: int) -> tuple[Decimal, Decimal, Decimal]:
    """(subtotal after discounts, tax, discount) of `units` of a line, pro rata of its ordered units. The
    discount is what takes the units' price to their subtotal (each rounded on its own, the two could be a
    cent apart, and the order's totals would not add up)."""
    share = Decimal(units) / line.quantity
    subtotal = cents((line_original_total(line) - line_discount_total(line)) * share)
    return subtotal, cents(line_tax_total(line) * share), cents(line_original_total(line) * share) - subtotal


def product_sale(store: Store, line: LineItem, units: int, action: str, taxes_included: bool = False) -> Sale:
    """A ProductSale of `units` of a line: ORDER with positive amounts, RETURN with negative ones."""
    subtotal, tax, discount = line_share(line, units)
    sign = 1 if action == "ORDER" else -1
    return Sale(
        store.next_id("sale"), action, "PRODUCT", units, sign * subtotal, sign * tax, sign * discount,
        line.id, taxes_included=taxes_included,
    )


def add_agreement(
    store: Store, order: Order, reason: str, sales: list[Sale], refund_id: int | None = None
) -> SalesAgreement:
    agreement = SalesAgreement(
        store.next_id("sales_agreement"), order.id, reason, store.now(), sales, refund_id
    )
    order.agreements.append(agreement)
    return agreement


def _order_agreement(store: Store, order: Order) -> SalesAgreement:
    """The agreement of the order's placement: a sale per line and per shipping line."""
    included = order.taxes_included
    sales = [product_sale(store, line, line.quantity, "ORDER", included) for line in order.line_items]
    for shipping in order.shipping_lines:
        sales.append(Sale(
            store.next_id("sale"), "ORDER", "SHIPPING", 1, shipping_discounted(shipping),
            shipping_tax_total(shipping), shipping_discount_total(shipping), None, shipping.id, included,
        ))
    return add_agreement(store, order, "ORDER", sales)


# -- placing -----------------------------------------------------------------------------------------


def _pick_location(store: Store, item_id: int, quantity: int, oversell: bool) -> int | None:
    """The location with the most available stock that can cover the quantity (any, if overselling)."""
    candidates = []
    for location_id in store.levels_by_item.get(item_id, []):
        location = store.locations.get(location_id)
        if location is not None and location.is_active:
            candidates.append((store.levels[(item_id, location_id)].quantity("available"), -location_id))
    if not candidates:
        return None
    available, neg_location = max(candidates)
    return -neg_location if available >= quantity or oversell else None


def _customer(store: Store, request: OrderRequest) -> Customer | None:
    """The order's customer, found by e-mail, else by phone, else new; None for a guest who gave neither
    (Shopify then has no customer on the order). A customer the merchant made (customerCreate) or who
    registered is found the same way. A new one is a customers/create, a found one a customers/update
    (its `updatedAt` moves); the order's address joins the customer's addresses when it is a new one."""
    now = store.now()
    if request.email:
        found = store.customers.equal["email"].get(request.email.lower())
    elif request.phone:
        phones = store.customers.equal["phone"]
        found = phones.get(request.phone) or phones.get(normalize_phone(request.phone))
    else:
        return None
    customer = store.customers.get(min(found)) if found else None
    address = request.shipping_address or request.billing_address
    if customer is None:
        customer = Customer(
            store.next_id("customer"),
            request.first_name,
            request.last_name,
            request.email,
            now,
            now,
            request.phone,
            address,
            addresses=[address] if address else [],
        )
        store.emit("customers/create", customer.id)
    else:
        if address is not None and address not in customer.addresses:
            customer.addresses.append(address)
            customer.default_address = customer.default_address or address
        store.emit("customers/update", customer.id)
    customer.updated_at = now
    return customer


def _shipping_application(index: int, discount: ShippingDiscount) -> DiscountApplication:
    """A shipping discount's application: targetType SHIPPING_LINE, allocated to each shipping line (a code,
    such as a free-shipping code, targets them all; a manual discount the one it was put on)."""
    kind, title = (
        ("code", discount.code) if discount.code else ("manual", discount.title or "Shipping discount")
    )
    value_type, value = (
        ("percentage", discount.percentage) if discount.percentage else ("fixed", discount.amount)
    )
    return DiscountApplication(
        index, kind, title, value_type, value, "EACH", "ALL" if kind == "code" else "EXPLICIT",
        "SHIPPING_LINE",
    )


def place_order(store: Store, request: OrderRequest) -> Order:
    """Create a paid order; each tracked line moves its quantity from available to committed at the
    location chosen for it. Nothing changes if a line cannot be sold (unknown variant, not enough stock
    under the DENY policy)."""
    errors, plan = [], []
    for index, line in enumerate(request.lines):
        variant = store.variants.get(line.variant_id)
        product = store.products.get(variant.product_id) if variant else None
        if variant is None or product is None or product.status != "ACTIVE" or line.quantity <= 0:
            errors.append(UserError(["lines", str(index)], "The variant is not available for sale."))
            continue
        item = store.items.get(variant.inventory_item_id)
        oversell = variant.inventory_policy == "CONTINUE" or not item.tracked
        location_id = _pick_location(store, item.id, line.quantity, oversell)
        if location_id is None:
            errors.append(
                UserError(["lines", str(index)], f"Not enough stock for {variant.sku or variant.id}.")
            )
            continue
        plan.append((line, variant, product, item, location_id))
    if errors:
        raise UserErrors(errors)

    now = store.now()
    customer = _customer(store, request)
    applications: list[DiscountApplication] = []
    line_items: list[LineItem] = []
    for line, variant, product, item, location_id in plan:
        line_item = LineItem(
            store.next_id("line_item"),
            variant.id,
            product.id,
            product.title,
            None if variant.title == "Default Title" else variant.title,
            variant.sku,
            line.quantity,
            variant.price,
            variant.taxable,
            item.requires_shipping,
            location_id,
        )
        if line.discount:
            application = DiscountApplication(
                len(applications), "manual", line.discount_title, "fixed", line.discount, "ACROSS", "EXPLICIT"
            )
            applications.append(application)
            line_item.discount_allocations.append(
                [application.index, min(cents(line.discount), line_original_total(line_item))]
            )
        line_items.append(line_item)
        if item.tracked:
            level = store.levels[(item.id, location_id)]
            change(store, level, {"available": -line.quantity, "committed": line.quantity})
    if request.discount_code and request.discount_percentage:
        application = DiscountApplication(
            len(applications),
            "code",
            request.discount_code,
            "percentage",
            request.discount_percentage,
            "ACROSS",
            "ALL",
        )
        applications.append(application)
        for line_item in line_items:
            base = line_original_total(line_item) - line_discount_total(line_item)
            line_item.discount_allocations.append(
                [application.index, cents(base * request.discount_percentage / 100)]
            )
    taxes = request.taxes()
    rates = [rate for _title, rate in taxes]
    for line_item in line_items:
        if line_item.taxable and taxes:
            base = line_original_total(line_item) - line_discount_total(line_item)
            line_item.tax_lines.extend(
                TaxLine(title, float(rate), amount)
                for (title, rate), amount in zip(taxes, tax_amounts(base, rates, request.taxes_included))
            )
    shipping_lines = []
    if any(li.requires_shipping for li in line_items):
        shipping = ShippingLine(
            store.next_id("shipping_line"), request.shipping_title, request.shipping_title,
            request.shipping_price,
        )
        discount = request.shipping_discount
        if discount is not None and request.shipping_price > 0 and (discount.percentage or discount.amount):
            application = _shipping_application(len(applications), discount)
            applications.append(application)
            off = (
                cents(request.shipping_price * discount.percentage / 100)
                if discount.percentage
                else cents(discount.amount)
            )
            shipping.discount_allocations.append([application.index, min(off, request.shipping_price)])
        if taxes and request.shipping_price:
            # The tax on the shipping after its discounts (a TaxLine is "after discounts"): none to pay on
            # free shipping, its tax lines then at 0.00.
            amounts = tax_amounts(shipping_discounted(shipping), rates, request.taxes_included)
            shipping.tax_lines = [
                TaxLine(title, float(rate), amount) for (title, rate), amount in zip(taxes, amounts)
            ]
        shipping_lines.append(shipping)
    fulfillment_orders = []
    for location_id in dict.fromkeys(li.location_id for li in line_items):
        lines = [
            FulfillmentOrderLine(store.next_id("fulfillment_order_line"), li.id, li.quantity, li.quantity)
            for li in line_items
            if li.location_id == location_id
        ]
        fulfillment_orders.append(
            FulfillmentOrder(store.next_id("fulfillment_order"), location_id, "OPEN", now, now, lines)
        )
    order = Order(
        store.next_id("order"),
        store.next_id("order_number"),
        request.email,
        now,
        now,
        now,
        SHOP_CURRENCY,
        customer.id if customer else None,
        request.shipping_address,
        request.billing_address or request.shipping_address,
        line_items,
        shipping_lines,
        applications,
        list(dict.fromkeys(
            ([request.discount_code] if request.discount_code else [])
            + [a.title for a in applications if a.kind == "code" and a.target_type == "SHIPPING_LINE"]
        )),
        note=request.note,
        tags=list(request.tags),
        fulfillment_orders=fulfillment_orders,
        taxes_included=request.taxes_included,
    )
    order.paid = totals(order)["total"]  # paid at checkout
    _order_agreement(store, order)
    if customer is not None:
        customer.order_ids.append(order.id)
        store.save(customer)
    store.save(order)
    store.emit("orders/create", order.id)
    store.emit("orders/paid", order.id)  # orders are paid at creation
    return order


# -- refunds and cancellation ------------------------------------------------------------------------


def _refund_line(
    store: Store, order: Order, line: LineItem, quantity: int, restock: bool
) -> list[RefundLineItem]:
    """Take `quantity` off a line: unfulfilled units first (restock type CANCEL), then fulfilled ones
    (RETURN); with restock, the units go back to available at the line's location. A refund line's
    subtotal is its share of the line's discounted price (with the tax in it when the order's taxes are
    included), its total tax its share of the line's tax."""
    unfulfilled = line.current_quantity - line.fulfilled_quantity
    from_unfulfilled = min(quantity, unfulfilled)
    from_fulfilled = quantity - from_unfulfilled
    share = (line_original_total(line) - line_discount_total(line)) / line.quantity
    tax_share = line_tax_total(line) / line.quantity
    variant = store.variants.get(line.variant_id) if line.variant_id else None
    item = store.items.get(variant.inventory_item_id) if variant else None
    level = store.levels.get((item.id, line.location_id)) if item is not None and item.tracked else None
    result = []
    for units, kind in ((from_unfulfilled, "CANCEL"), (from_fulfilled, "RETURN")):
        if units <= 0:
            continue
        if level is not None:
            deltas = {"committed": -units} if kind == "CANCEL" else {}
            if restock:
                deltas["available"] = units
            if deltas:
                change(store, level, deltas)
        result.append(
            RefundLineItem(
                store.next_id("refund_line_item"),
                line.id,
                units,
                kind if restock else "NO_RESTOCK",
                line.location_id,
                cents(share * units),
                cents(tax_share * units),
            )
        )
        if kind == "CANCEL":
            _release_fulfillment_order_lines(order, line.id, units)
    line.refunded_quantity += quantity
    line.fulfilled_quantity = min(line.fulfilled_quantity, line.current_quantity)
    return result


def _release_fulfillment_order_lines(order: Order, line_item_id: int, units: int) -> None:
    for fulfillment_order in order.fulfillment_orders:
        for fo_line in fulfillment_order.line_items:
            if fo_line.line_item_id == line_item_id and units > 0:
                taken = min(units, fo_line.remaining_quantity)
                fo_line.remaining_quantity -= taken
                fo_line.total_quantity -= taken
                units -= taken
        if all(
            fo_line.remaining_quantity == 0 for fo_line in fulfillment_order.line_items
        ) and fulfillment_order.status in ("OPEN", "IN_PROGRESS"):
            fulfillment_order.status = (
                "CLOSED"
                if any(fo_line.total_quantity for fo_line in fulfillment_order.line_items)
                else "CANCELLED"
            )


def refund_order(
    store: Store,
    order: Order,
    lines: list[tuple[int, int, bool]],
    refund_shipping: bool = False,
    note: str | None = None,
    transaction_status: str = "SUCCESS",
) -> Refund:
    """lines: (line item id, quantity, restock). ``transaction_status``: how the gateway answered the
    refund's transaction (``PENDING``: it answers later, :func:`settle_refund`)."""
    if transaction_status not in TRANSACTION_STATUSES:
        raise UserErrors([UserError(["transactions", "0", "status"],
                                    f"Transaction status must be one of {', '.join(TRANSACTION_STATUSES)}.")])
    by_id = {line.id: line for line in order.line_items}
    errors = []
    for index, (line_id, quantity, _restock) in enumerate(lines):
        line = by_id.get(line_id)
        if line is None:
            errors.append(
                UserError(["refundLineItems", str(index), "lineItemId"], "Line item does not exist.")
            )
        elif quantity <= 0 or quantity > line.current_quantity:
            errors.append(
                UserError(
                    ["refundLineItems", str(index), "quantity"],
                    f"Quantity cannot refund more items than were purchased ({line.current_quantity}).",
                )
            )
    if errors:
        raise UserErrors(errors)
    now = store.now()
    refund_lines: list[RefundLineItem] = []
    for line_id, quantity, restock in lines:
        refund_lines.extend(_refund_line(store, order, by_id[line_id], quantity, restock))
    shipping = shipping_tax = ZERO
    if refund_shipping:
        already = refunded(order)
        # What the customer paid for shipping: after its discounts (nothing back on free shipping).
        shipping = sum((shipping_discounted(s) for s in order.shipping_lines), ZERO) - already["shipping"]
        shipping_tax = (
            sum((shipping_tax_total(s) for s in order.shipping_lines), ZERO) - already["shipping_tax"]
        )
    refund = Refund(store.next_id("refund"), now, note, refund_lines, shipping, shipping_tax)
    amount = refund_total(order, refund)
    if amount > 0:
        refund.transactions.append(OrderTransaction(
            store.next_id("transaction"), "REFUND", transaction_status, amount, now,
            None if transaction_status == "PENDING" else now))
    order.refunds.append(refund)
    _refund_agreement(store, order, refund)
    order.updated_at = now
    store.save(order)
    store.emit("refunds/create", refund.id)
    return refund


def _refund_agreement(store: Store, order: Order, refund: Refund) -> SalesAgreement:
    """A refund's agreement: a RETURN sale per refund line (and one for refunded shipping)."""
    lines = {line.id: line for line in order.line_items}
    sales = [
        Sale(
            store.next_id("sale"),
            "RETURN",
            "PRODUCT",
            r.quantity,
            -r.subtotal,
            -r.total_tax,
            -line_share(lines[r.line_item_id], r.quantity)[2],
            r.line_item_id,
            taxes_included=order.taxes_included,
        )
        for r in refund.refund_line_items
    ]
    if refund.shipping or refund.shipping_tax:
        shipping_line = order.shipping_lines[0].id if order.shipping_lines else None
        sales.append(Sale(
            store.next_id("sale"), "RETURN", "SHIPPING", 1, -refund.shipping, -refund.shipping_tax, ZERO,
            None, shipping_line, order.taxes_included,
        ))
    return add_agreement(store, order, "REFUND", sales, refund.id)


def settle_refund(store: Store, order: Order, refund_id: int, status: str) -> Refund:
    """The gateway's late answer to a refund's pending transaction: SUCCESS (the money moved) or FAILURE.
    The order changes (its updatedAt moves, an orders/updated goes out), as in Shopify."""
    refund = next((r for r in order.refunds if r.id == refund_id), None)
    pending = [t for t in refund.transactions if t.status == "PENDING"] if refund else []
    if not pending or status not in ("SUCCESS", "FAILURE"):
        raise UserErrors([UserError(["id"], "Refund has no pending transaction to settle as "
                                            f"{status!r} (SUCCESS or FAILURE).")])
    now = store.now()
    for transaction in pending:
        transaction.status, transaction.processed_at = status, now
    order.updated_at = now
    store.save(order)
    return refund


def cancel_order(store: Store, order: Order, reason: str = "CUSTOMER", restock: bool = True) -> None:
    """Cancel and refund what has not been fulfilled; Shopify refuses to cancel a fulfilled order."""
    if order.cancelled_at is not None:
        raise UserErrors.one(["orderId"], "Order has already been cancelled.", "INVALID")
    if any(line.fulfilled_quantity for line in order.line_items):
        raise UserErrors.one(["orderId"], "Cannot cancel an order that has fulfillments.", "INVALID")
    lines = [(line.id, line.current_quantity, restock) for line in order.line_items if line.current_quantity]
    refund_order(store, order, lines, refund_shipping=True, note="Order canceled")
    now = store.now()
    for fulfillment_order in order.fulfillment_orders:
        fulfillment_order.status, fulfillment_order.updated_at = "CANCELLED", now
    order.cancelled_at = order.closed_at = order.updated_at = now
    order.cancel_reason = reason
    store.save(order)
    store.emit("orders/cancelled", order.id)


# -- fulfillment -------------------------------------------------------------------------------------


@dataclass(slots=True)
class FulfillmentRequest:
    fulfillment_order_id: int | None
    lines: list[tuple[int | None, int]] | None  # (fulfillment order line id, quantity); None = everything


def create_fulfillment(
    store: Store, requests: list[FulfillmentRequest], tracking: list[list[str | None]]
) -> tuple[Order, Fulfillment]:
    errors: list[UserError] = []
    orders, locations, picked = set(), set(), []
    for index, request in enumerate(requests):
        path = ["fulfillment", "lineItemsByFulfillmentOrder", str(index), "fulfillmentOrderId"]
        order_id = store.order_of_fulfillment_order.get(request.fulfillment_order_id)
        order = store.orders.get(order_id)
        fulfillment_order = (
            next((fo for fo in order.fulfillment_orders if fo.id == request.fulfillment_order_id), None)
            if order
            else None
        )
        if fulfillment_order is None:
            errors.append(UserError(path, "Fulfillment order does not exist."))
            continue
        if fulfillment_order.status not in ("OPEN", "IN_PROGRESS"):
            errors.append(
                UserError(
                    path,
                    f"Fulfillment order gid://shopify/FulfillmentOrder/{fulfillment_order.id} "
                    f"has an unfulfillable status= {fulfillment_order.status.lower()}.",
                )
            )
            continue
        by_id = {line.id: line for line in fulfillment_order.line_items}
        wanted = (
            request.lines
            if request.lines
            else [(line.id, line.remaining_quantity) for line in fulfillment_order.line_items]
        )
        for line_id, quantity in wanted:
            line = by_id.get(line_id)
            if line is None or quantity <= 0 or quantity > line.remaining_quantity:
                errors.append(
                    UserError(["fulfillment"], "Invalid fulfillment order line item quantity requested.")
                )
                continue
            picked.append((order, fulfillment_order, line, quantity))
        orders.add(order.id)
        locations.add(fulfillment_order.location_id)
    if not errors and (len(orders) != 1 or len(locations) != 1):
        errors.append(
            UserError(
                ["fulfillment"],
                "All fulfillment orders in a fulfillment must belong to the same order and location.",
            )
        )
    if not errors and not picked:
        errors.append(UserError(["fulfillment"], "Nothing to fulfill."))
    if errors:
        raise UserErrors(errors)

    now = store.now()
    order = picked[0][0]
    line_items = {line.id: line for line in order.line_items}
    fulfilled: dict[int, int] = {}
    for _order, fulfillment_order, fo_line, quantity in picked:
        fo_line.remaining_quantity -= quantity
        line = line_items[fo_line.line_item_id]
        line.fulfilled_quantity += quantity
        fulfilled[line.id] = fulfilled.get(line.id, 0) + quantity
        variant = store.variants.get(line.variant_id) if line.variant_id else None
        item = store.items.get(variant.inventory_item_id) if variant else None
        level = store.levels.get((item.id, fulfillment_order.location_id)) if item and item.tracked else None
        if level is not None:  # shipped: out of committed, and so out of on_hand
            change(store, level, {"committed": -quantity})
        fulfillment_order.status = (
            "CLOSED"
            if all(fl.remaining_quantity == 0 for fl in fulfillment_order.line_items)
            else "IN_PROGRESS"
        )
        fulfillment_order.updated_at = now
    fulfillment = Fulfillment(
        store.next_id("fulfillment"),
        f"{order.name}.{len(order.fulfillments) + 1}",
        "SUCCESS",
        now,
        now,
        picked[0][1].location_id,
        list(dict.fromkeys(fo.id for _o, fo, _l, _q in picked)),
        [[line_id, qty] for line_id, qty in fulfilled.items()],
        tracking,
        [store.next_id("fulfillment_line_item") for _line in fulfilled],
    )
    order.fulfillments.append(fulfillment)
    order.updated_at = now
    status = fulfillment_status(order)
    if status == "FULFILLED" and order.financial_status == "PAID":
        order.closed_at = now
    store.save(order)
    store.emit("fulfillments/create", fulfillment.id)
    store.emit("orders/fulfilled" if status == "FULFILLED" else "orders/partially_fulfilled", order.id)
    return order, fulfillment
