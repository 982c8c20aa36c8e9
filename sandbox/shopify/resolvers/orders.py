"""Orders with their line items, discounts, taxes, refunds and fulfillment orders; fulfillmentCreate."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from graphql import GraphQLResolveInfo

from sandbox.shopify.errors import UserErrors
from sandbox.shopify.ids import gid
from sandbox.shopify.resolvers.base import (
    Searchable,
    graphql_type,
    paginate_list,
    resolver,
    search_roots,
    store_of,
)
from sandbox.shopify.resolvers.common import id_resolver, legacy_id, money, money_bag, numeric_id
from sandbox.shopify.search import SearchField
from sandbox.shopify.state import orders as domain
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
    ShippingLine,
    TaxLine,
)
from sandbox.shopify.state.store import Store, epoch

graphql_type(Order, "Order")
graphql_type(Customer, "Customer")
graphql_type(FulfillmentOrder, "FulfillmentOrder")
graphql_type(Fulfillment, "Fulfillment")
graphql_type(Refund, "Refund")
graphql_type(OrderTransaction, "OrderTransaction")
graphql_type(LineItem, "LineItem")
graphql_type(
    DiscountApplication,
    lambda d: {"code": "DiscountCodeApplication", "manual": "ManualDiscountApplication"}.get(
        d.kind, "AutomaticDiscountApplication"
    ),
)

COUNTRIES = {
    "US": "United States",
    "CA": "Canada",
    "GB": "United Kingdom",
    "DE": "Germany",
    "FR": "France",
    "NL": "Netherlands",
    "BE": "Belgium",
    "ES": "Spain",
    "IT": "Italy",
    "AU": "Australia",
}


def _status(order: Order) -> str:
    if order.cancelled_at is not None:
        return "cancelled"
    return "closed" if order.closed_at is not None else "open"


ORDER_SEARCH = Searchable(
    collection=lambda store: store.orders,
    fields={
        "id": SearchField(lambda o: o.id, "id", "Order"),
        "name": SearchField(lambda o: o.name, "exact"),
        "status": SearchField(_status, "enum"),
        "financial_status": SearchField(lambda o: domain.financial_status(o), "enum"),
        "fulfillment_status": SearchField(
            lambda o: {"FULFILLED": "shipped", "PARTIALLY_FULFILLED": "partial"}.get(
                domain.fulfillment_status(o), "unshipped"
            ),
            "enum",
        ),
        "email": SearchField(lambda o: o.email, "exact"),
        "sku": SearchField(lambda o: [li.sku for li in o.line_items], "any"),
        "tag": SearchField(lambda o: " ".join(o.tags), "text"),
        "customer_id": SearchField(lambda o: o.customer_id, "number", "Customer"),
        "updated_at": SearchField(lambda o: o.updated_at, "datetime"),
        "created_at": SearchField(lambda o: o.created_at, "datetime"),
        "processed_at": SearchField(lambda o: o.processed_at, "datetime"),
    },
    default_text=lambda o: f"{o.name} {o.email}",
    sort_keys={
        "ID": ("ID", lambda o: o.id),
        "RELEVANCE": ("ID", lambda o: o.id),
        "ORDER_NUMBER": ("ID", lambda o: o.id),
        "UPDATED_AT": ("UPDATED_AT", lambda o: epoch(o.updated_at)),
        "CREATED_AT": ("CREATED_AT", lambda o: epoch(o.created_at)),
        # Orders are processed when they are created here, so both orders share the CREATED_AT index.
        "PROCESSED_AT": ("CREATED_AT", lambda o: epoch(o.processed_at)),
        "TOTAL_PRICE": (None, lambda o: float(domain.totals(o)["total"])),
        "CURRENT_TOTAL_PRICE": (None, lambda o: float(domain.totals(o)["current_total"])),
        "TOTAL_ITEMS_QUANTITY": (None, lambda o: sum(li.quantity for li in o.line_items)),
        "FINANCIAL_STATUS": (None, domain.financial_status),
        "FULFILLMENT_STATUS": (None, domain.fulfillment_status),
    },
    range_fields={
        "updated_at": ("UPDATED_AT", epoch),
        "created_at": ("CREATED_AT", epoch),
        "processed_at": ("CREATED_AT", epoch),
        "id": ("ID", int),
    },
    candidates={"id": lambda _s, value: {value}},
)


# -- queries -------------------------------------------------------------------------------------------


@resolver("QueryRoot", "order")
def resolve_order(_root: Any, info: GraphQLResolveInfo, id: str) -> Order | None:
    return store_of(info).orders.get(numeric_id(id, "Order"))


search_roots("orders", "ordersCount", ORDER_SEARCH, "PROCESSED_AT")


@resolver("QueryRoot", "customer")
def resolve_customer(_root: Any, info: GraphQLResolveInfo, id: str) -> Customer | None:
    return store_of(info).customers.get(numeric_id(id, "Customer"))


def order_part(store: Store, mapping: dict[int, int], part_id: int | None, attribute: str) -> Any:
    order = store.orders.get(mapping.get(part_id))
    return next((p for p in getattr(order, attribute) if p.id == part_id), None) if order else None


@resolver("QueryRoot", "fulfillmentOrder")
def resolve_fulfillment_order(_root: Any, info: GraphQLResolveInfo, id: str) -> FulfillmentOrder | None:
    store = store_of(info)
    return order_part(
        store, store.order_of_fulfillment_order, numeric_id(id, "FulfillmentOrder"), "fulfillment_orders"
    )


@resolver("QueryRoot", "fulfillment")
def resolve_fulfillment(_root: Any, info: GraphQLResolveInfo, id: str) -> Fulfillment | None:
    store = store_of(info)
    return order_part(store, store.order_of_fulfillment, numeric_id(id, "Fulfillment"), "fulfillments")


@resolver("QueryRoot", "refund")
def resolve_refund(_root: Any, info: GraphQLResolveInfo, id: str) -> Refund | None:
    store = store_of(info)
    return order_part(store, store.order_of_refund, numeric_id(id, "Refund"), "refunds")


# -- Order ---------------------------------------------------------------------------------------------

resolver("Order", "id")(id_resolver("Order"))
resolver("Order", "legacyResourceId")(legacy_id)

_TOTALS = {
    "subtotalPriceSet": "subtotal",
    "totalPriceSet": "total",
    "totalTaxSet": "tax",
    "totalDiscountsSet": "discounts",
    "totalShippingPriceSet": "shipping",
    "totalRefundedSet": "refunded",
    "totalRefundedShippingSet": "refunded_shipping",
    "currentSubtotalPriceSet": "current_subtotal",
    "currentTotalPriceSet": "current_total",
    "currentTotalTaxSet": "current_tax",
    "currentTotalDiscountsSet": "current_discounts",
    "currentShippingPriceSet": "current_shipping",
    "totalOutstandingSet": "outstanding",
    "totalReceivedSet": "received",
    "netPaymentSet": "net_payment",
}
for _field, _key in _TOTALS.items():
    resolver("Order", _field)(lambda order, _info, _key=_key, **_a: money_bag(domain.totals(order)[_key]))


@resolver("Order", "currentSubtotalLineItemsQuantity")
def resolve_current_quantity(order: Order, _info: GraphQLResolveInfo) -> int:
    return sum(line.current_quantity for line in order.line_items)


@resolver("Order", "subtotalLineItemsQuantity")
def resolve_subtotal_quantity(order: Order, _info: GraphQLResolveInfo) -> int:
    """Before returns: ordered units less the ones order edits removed."""
    return sum(line.quantity - line.removed_quantity for line in order.line_items)


@resolver("Order", "displayFinancialStatus")
def resolve_financial_status(order: Order, _info: GraphQLResolveInfo) -> str:
    return domain.financial_status(order)


@resolver("Order", "displayFulfillmentStatus")
def resolve_fulfillment_status(order: Order, _info: GraphQLResolveInfo) -> str:
    return domain.fulfillment_status(order)


@resolver("Order", "closed")
def resolve_closed(order: Order, _info: GraphQLResolveInfo) -> bool:
    return order.closed_at is not None


@resolver("Order", "customer")
def resolve_order_customer(order: Order, info: GraphQLResolveInfo) -> Customer | None:
    return store_of(info).customers.get(order.customer_id)


@resolver("Order", "displayAddress")
def resolve_display_address(order: Order, _info: GraphQLResolveInfo) -> Address | None:
    return order.shipping_address or order.billing_address


@resolver("Order", "presentmentCurrencyCode")
def resolve_presentment_currency(order: Order, _info: GraphQLResolveInfo) -> str:
    return order.currency_code


@resolver("Order", "discountCode")
def resolve_discount_code(order: Order, _info: GraphQLResolveInfo) -> str | None:
    return order.discount_codes[0] if order.discount_codes else None


@resolver("Order", "lineItems")
def resolve_line_items(order: Order, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    return paginate_list(info, args, order.line_items)


@resolver("Order", "shippingLines")
def resolve_shipping_lines(order: Order, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    return paginate_list(info, args, order.shipping_lines)


@resolver("Order", "shippingLine")
def resolve_shipping_line(order: Order, _info: GraphQLResolveInfo) -> ShippingLine | None:
    return order.shipping_lines[0] if order.shipping_lines else None


@resolver("Order", "discountApplications")
def resolve_discount_applications(order: Order, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    return paginate_list(
        info, args, order.discount_applications, key=lambda d: d.index, ident=lambda d: d.index
    )


@resolver("Order", "fulfillmentOrders")
def resolve_fulfillment_orders(order: Order, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    return paginate_list(info, args, order.fulfillment_orders)


@resolver("Order", "fulfillments")
def resolve_order_fulfillments(order: Order, _info: GraphQLResolveInfo, first: int | None = None, **_a: Any):
    return order.fulfillments[:first]


@resolver("Order", "refunds")
def resolve_order_refunds(order: Order, _info: GraphQLResolveInfo, first: int | None = None):
    return order.refunds[:first]


def _aggregate_taxes(order: Order, current: bool) -> list[TaxLine]:
    sums: dict[tuple[str, float], Decimal] = {}
    for line in order.line_items:
        kept = line.current_quantity if current else line.quantity - line.removed_quantity
        share = Decimal(kept) / line.quantity
        for tax in line.tax_lines:
            sums[(tax.title, tax.rate)] = sums.get((tax.title, tax.rate), Decimal(0)) + domain.cents(
                tax.price * share
            )
    for shipping in order.shipping_lines:
        for tax in shipping.tax_lines:
            sums[(tax.title, tax.rate)] = sums.get((tax.title, tax.rate), Decimal(0)) + tax.price
    return [TaxLine(title, rate, amount) for (title, rate), amount in sums.items()]


@resolver("Order", "taxLines")
def resolve_tax_lines(order: Order, _info: GraphQLResolveInfo) -> list[TaxLine]:
    return _aggregate_taxes(order, current=False)


@resolver("Order", "currentTaxLines")
def resolve_current_tax_lines(order: Order, _info: GraphQLResolveInfo) -> list[TaxLine]:
    return _aggregate_taxes(order, current=True)


@resolver("Order", "taxesIncluded")
def resolve_taxes_included(order: Order, _info: GraphQLResolveInfo) -> bool:
    return order.taxes_included


@resolver("Order", "cancellation")
def resolve_cancellation(order: Order, _info: GraphQLResolveInfo) -> dict[str, Any] | None:
    return {"staffNote": None} if order.cancelled_at else None


@resolver("Order", "fulfillable")
def resolve_fulfillable(order: Order, _info: GraphQLResolveInfo) -> bool:
    return order.cancelled_at is None and any(
        fo.status in ("OPEN", "IN_PROGRESS") for fo in order.fulfillment_orders
    )


@resolver("Order", "refundable")
def resolve_refundable(order: Order, _info: GraphQLResolveInfo) -> bool:
    return domain.financial_status(order) != "REFUNDED"


for _name, _value in {
    "phone": None,
    "paymentGatewayNames": ["bogus"],
    "test": False,
    "confirmed": True,
    "sourceName": "web",
    "refundDiscrepancySet": money_bag(Decimal(0)),
    "productNetwork": False,
    "cartToken": None,
    "checkoutToken": None,
    "attribution": None,
}.items():
    resolver("Order", _name)(lambda _o, _i, _value=_value, **_a: _value)


# -- LineItem, discounts, taxes, shipping --------------------------------------------------------------

resolver("LineItem", "id")(id_resolver("LineItem"))


def _order_of_line(store: Store, line: LineItem) -> Order:
    return store.orders.get(store.order_of_line_item[line.id])


@resolver("LineItem", "name")
def resolve_line_name(line: LineItem, _info: GraphQLResolveInfo) -> str:
    return f"{line.title} - {line.variant_title}" if line.variant_title else line.title


@resolver("LineItem", "variant")
def resolve_line_variant(line: LineItem, info: GraphQLResolveInfo):
    return store_of(info).variants.get(line.variant_id)


@resolver("LineItem", "product")
def resolve_line_product(line: LineItem, info: GraphQLResolveInfo):
    return store_of(info).products.get(line.product_id)


@resolver("LineItem", "unfulfilledQuantity", "fulfillableQuantity")
def resolve_unfulfilled(line: LineItem, _info: GraphQLResolveInfo) -> int:
    return max(0, line.current_quantity - line.fulfilled_quantity)


def _line_amounts(line: LineItem) -> dict[str, Decimal]:
    original = domain.line_original_total(line)
    discount = domain.line_discount_total(line)
    return {"original": original, "discount": discount, "discounted": original - discount}


@resolver("LineItem", "originalUnitPriceSet")
def resolve_original_unit(line: LineItem, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return money_bag(line.unit_price)


@resolver("LineItem", "originalTotalSet")
def resolve_original_total(line: LineItem, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return money_bag(domain.line_original_total(line))


@resolver("LineItem", "totalDiscountSet")
def resolve_line_discount(line: LineItem, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return money_bag(domain.line_discount_total(line))


@resolver("LineItem", "discountedTotalSet")
def resolve_discounted_total(line: LineItem, _info: GraphQLResolveInfo, **_a: Any) -> dict[str, Any]:
    return money_bag(_line_amounts(line)["discounted"])


@resolver("LineItem", "discountedUnitPriceSet", "discountedUnitPriceAfterAllDiscountsSet")
def resolve_discounted_unit(line: LineItem, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return money_bag(domain.cents(_line_amounts(line)["discounted"] / line.quantity))


@resolver("LineItem", "unfulfilledOriginalTotalSet")
def resolve_unfulfilled_total(line: LineItem, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return money_bag(domain.cents(line.unit_price * max(0, line.current_quantity - line.fulfilled_quantity)))


@resolver("LineItem", "discountAllocations")
def resolve_line_allocations(line: LineItem, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    order = _order_of_line(store_of(info), line)
    return [
        {
            "allocatedAmountSet": money_bag(Decimal(amount)),
            "discountApplication": order.discount_applications[index],
        }
        for index, amount in line.discount_allocations
    ]


@resolver("LineItem", "taxLines")
def resolve_line_taxes(line: LineItem, _info: GraphQLResolveInfo, first: int | None = None) -> list[TaxLine]:
    return line.tax_lines[:first]


@resolver("LineItem", "requiresShipping")
def resolve_line_requires_shipping(line: LineItem, _info: GraphQLResolveInfo) -> bool:
    """As its inventory item was when the order was placed (false for a download, a gift card)."""
    return line.requires_shipping


for _name, _value in {
    "vendor": None,
    "isGiftCard": False,
    "customAttributes": [],
    "image": None,
    "restockable": True,
    "sellingPlan": None,
}.items():
    resolver("LineItem", _name)(lambda _l, _i, _value=_value, **_a: _value)


@resolver("TaxLine", "priceSet")
def resolve_tax_price(tax: TaxLine, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return money_bag(tax.price)


@resolver("TaxLine", "ratePercentage")
def resolve_tax_percentage(tax: TaxLine, _info: GraphQLResolveInfo) -> float:
    return round(tax.rate * 100, 4)


for _name in ("channelLiable", "source"):
    resolver("TaxLine", _name)(lambda _t, _i, **_a: None)


def _discount_value(application: DiscountApplication, _info: GraphQLResolveInfo) -> dict[str, Any]:
    if application.value_type == "percentage":
        return {"__typename": "PricingPercentageValue", "percentage": float(application.value)}
    return {"__typename": "MoneyV2", **money(application.value)}


for _type in ("DiscountCodeApplication", "ManualDiscountApplication", "AutomaticDiscountApplication"):
    resolver(_type, "value")(_discount_value)
resolver("DiscountCodeApplication", "code")(lambda application, _info: application.title)

resolver("ShippingLine", "id")(id_resolver("ShippingLine"))


def _order_of_shipping(store: Store, shipping: ShippingLine) -> Order | None:
    return store.orders.get(store.order_of_shipping_line.get(shipping.id))


@resolver("ShippingLine", "originalPriceSet")
def resolve_shipping_price(shipping: ShippingLine, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return money_bag(shipping.price)


@resolver("ShippingLine", "discountedPriceSet")
def resolve_discounted_shipping(shipping: ShippingLine, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return money_bag(domain.shipping_discounted(shipping))


@resolver("ShippingLine", "currentDiscountedPriceSet")
def resolve_current_shipping(shipping: ShippingLine, info: GraphQLResolveInfo) -> dict[str, Any]:
    order = _order_of_shipping(store_of(info), shipping)
    back = domain.refunded(order)["shipping"] if order else 0
    return money_bag(domain.shipping_discounted(shipping) - back)


@resolver("ShippingLine", "discountAllocations")
def resolve_shipping_allocations(shipping: ShippingLine, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    order = _order_of_shipping(store_of(info), shipping)
    return [
        {
            "allocatedAmountSet": money_bag(Decimal(amount)),
            "discountApplication": order.discount_applications[index],
        }
        for index, amount in shipping.discount_allocations
    ]


@resolver("ShippingLine", "taxLines")
def resolve_shipping_taxes(shipping: ShippingLine, _info: GraphQLResolveInfo) -> list[TaxLine]:
    return shipping.tax_lines


for _name, _value in {
    "custom": False,
    "source": "shopify",
    "carrierIdentifier": None,
    "deliveryCategory": None,
    "phone": None,
    "isRemoved": False,
    "shippingRateHandle": None,
}.items():
    resolver("ShippingLine", _name)(lambda _s, _i, _value=_value, **_a: _value)


# -- addresses and customers ---------------------------------------------------------------------------


@resolver("MailingAddress", "id")
def resolve_address_id(address: Address, _info: GraphQLResolveInfo) -> str:
    # Addresses are values here; a content checksum keeps their id stable across restarts.
    fingerprint = "|".join(
        str(v) for v in (address.first_name, address.last_name, address.address1, address.zip)
    )
    return gid("MailingAddress", zlib.crc32(fingerprint.encode()))


@resolver("MailingAddress", "name")
def resolve_address_name(address: Address, _info: GraphQLResolveInfo) -> str:
    return f"{address.first_name} {address.last_name}".strip()


@resolver("MailingAddress", "countryCodeV2")
def resolve_country_code(address: Address, _info: GraphQLResolveInfo) -> str:
    return address.country_code


@resolver("MailingAddress", "country")
def resolve_country(address: Address, _info: GraphQLResolveInfo) -> str:
    return COUNTRIES.get(address.country_code, address.country_code)


@resolver("MailingAddress", "province")
def resolve_province(address: Address, _info: GraphQLResolveInfo) -> str | None:
    return address.province_code


@resolver("MailingAddress", "formatted")
def resolve_formatted(
    address: Address, _info: GraphQLResolveInfo, withName: bool = False, withCompany: bool = True
) -> list[str]:
    lines = [f"{address.first_name} {address.last_name}"] if withName else []
    if withCompany and address.company:
        lines.append(address.company)
    lines += [
        address.address1,
        *([address.address2] if address.address2 else []),
        " ".join(p for p in (address.city, address.province_code or "", address.zip) if p),
        COUNTRIES.get(address.country_code, address.country_code),
    ]
    return [line for line in lines if line]  # a customer's address may lack parts (MailingAddressInput)


@resolver("MailingAddress", "formattedArea")
def resolve_formatted_area(address: Address, _info: GraphQLResolveInfo) -> str:
    return ", ".join(
        p for p in (address.city, address.province_code, COUNTRIES.get(address.country_code)) if p
    )


for _name, _value in {
    "latitude": None,
    "longitude": None,
    "timeZone": None,
    "coordinatesValidated": False,
    "validationResultSummary": None,
}.items():
    resolver("MailingAddress", _name)(lambda _a, _i, _value=_value, **_k: _value)

resolver("Customer", "id")(id_resolver("Customer"))
resolver("Customer", "legacyResourceId")(legacy_id)


@resolver("Customer", "displayName")
def resolve_customer_name(customer: Customer, _info: GraphQLResolveInfo) -> str:
    """The name, else the e-mail, else the phone (a customer has at least one of them)."""
    name = " ".join(p for p in (customer.first_name, customer.last_name) if p)
    return name or customer.email or customer.phone or ""


@resolver("Customer", "defaultEmailAddress")
def resolve_customer_email(customer: Customer, _info: GraphQLResolveInfo) -> dict[str, Any] | None:
    if not customer.email:
        return None
    return {
        "emailAddress": customer.email,
        "marketingState": "NOT_SUBSCRIBED",
        "marketingOptInLevel": None,
        "marketingUpdatedAt": None,
        "validFormat": True,
    }


@resolver("Customer", "defaultPhoneNumber")
def resolve_customer_phone(customer: Customer, _info: GraphQLResolveInfo) -> dict[str, Any] | None:
    return {"phoneNumber": customer.phone, "marketingState": "NOT_SUBSCRIBED"} if customer.phone else None


@resolver("Customer", "numberOfOrders")
def resolve_number_of_orders(customer: Customer, _info: GraphQLResolveInfo) -> int:
    return len(customer.order_ids)


@resolver("Customer", "amountSpent")
def resolve_amount_spent(customer: Customer, info: GraphQLResolveInfo) -> dict[str, Any]:
    store = store_of(info)
    return money(
        sum((domain.totals(store.orders.get(o))["current_total"] for o in customer.order_ids), Decimal(0))
    )


@resolver("Customer", "orders")
def resolve_customer_orders(customer: Customer, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    store = store_of(info)
    return paginate_list(info, args, [store.orders.get(o) for o in customer.order_ids])


@resolver("Customer", "lastOrder")
def resolve_last_order(customer: Customer, info: GraphQLResolveInfo) -> Order | None:
    return store_of(info).orders.get(customer.order_ids[-1]) if customer.order_ids else None


for _name, _value in {
    "verifiedEmail": True,
    "taxExempt": False,
    "locale": "en",
    "dataSaleOptOut": False,
    "multipassIdentifier": None,
    "canDelete": False,
    "lifetimeDuration": "less than a year",
}.items():
    resolver("Customer", _name)(lambda _c, _i, _value=_value, **_a: _value)


# -- refunds -------------------------------------------------------------------------------------------

resolver("Refund", "id")(id_resolver("Refund"))
resolver("Refund", "legacyResourceId")(legacy_id)
resolver("Refund", "processedAt")(lambda refund, _info: refund.created_at)
resolver("Refund", "updatedAt")(lambda refund, _info: refund.created_at)


@resolver("Refund", "order")
def resolve_refund_order(refund: Refund, info: GraphQLResolveInfo) -> Order:
    store = store_of(info)
    return store.orders.get(store.order_of_refund[refund.id])


@resolver("Refund", "totalRefundedSet")
def resolve_refund_total(refund: Refund, info: GraphQLResolveInfo) -> dict[str, Any]:
    store = store_of(info)
    return money_bag(domain.refund_total(store.orders.get(store.order_of_refund[refund.id]), refund))


@resolver("Refund", "refundLineItems")
def resolve_refund_lines(refund: Refund, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    return paginate_list(info, args, refund.refund_line_items)


@resolver("Refund", "transactions")
def resolve_refund_transactions(refund: Refund, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    return paginate_list(info, args, refund.transactions)


for _name, _value in {"staffMember": None, "duties": []}.items():
    resolver("Refund", _name)(lambda _r, _i, _value=_value, **_a: _value)

resolver("OrderTransaction", "id")(id_resolver("OrderTransaction"))
resolver("OrderTransaction", "amountSet")(lambda transaction, _info: money_bag(transaction.amount))
resolver("OrderTransaction", "errorCode")(
    lambda transaction, _info: "GENERIC_ERROR" if transaction.status == "FAILURE" else None)
for _name, _value in {
    "gateway": "manual", "formattedGateway": "Manual", "test": False, "parentTransaction": None,
    "manuallyCapturable": False, "multiCapturable": False,
}.items():
    resolver("OrderTransaction", _name)(lambda _t, _i, _value=_value, **_a: _value)

resolver("RefundLineItem", "id")(id_resolver("RefundLineItem"))


@resolver("RefundLineItem", "lineItem")
def resolve_refunded_line(refund_line: RefundLineItem, info: GraphQLResolveInfo) -> LineItem:
    store = store_of(info)
    order = store.orders.get(store.order_of_line_item[refund_line.line_item_id])
    return next(li for li in order.line_items if li.id == refund_line.line_item_id)


@resolver("RefundLineItem", "restocked")
def resolve_restocked(refund_line: RefundLineItem, _info: GraphQLResolveInfo) -> bool:
    return refund_line.restock_type != "NO_RESTOCK"


@resolver("RefundLineItem", "location")
def resolve_refund_location(refund_line: RefundLineItem, info: GraphQLResolveInfo):
    return store_of(info).locations.get(refund_line.location_id)


@resolver("RefundLineItem", "priceSet")
def resolve_refund_price(refund_line: RefundLineItem, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return money_bag(domain.cents(refund_line.subtotal / refund_line.quantity))


resolver("RefundLineItem", "subtotalSet")(lambda refund_line, _info: money_bag(refund_line.subtotal))
resolver("RefundLineItem", "totalTaxSet")(lambda refund_line, _info: money_bag(refund_line.total_tax))


# -- fulfillment orders and fulfillments ---------------------------------------------------------------

resolver("FulfillmentOrder", "id")(id_resolver("FulfillmentOrder"))


def _order_of_fulfillment_order(store: Store, fulfillment_order: FulfillmentOrder) -> Order:
    return store.orders.get(store.order_of_fulfillment_order[fulfillment_order.id])


@resolver("FulfillmentOrder", "order")
def resolve_fo_order(fulfillment_order: FulfillmentOrder, info: GraphQLResolveInfo) -> Order:
    return _order_of_fulfillment_order(store_of(info), fulfillment_order)


@resolver("FulfillmentOrder", "orderId")
def resolve_fo_order_id(fulfillment_order: FulfillmentOrder, info: GraphQLResolveInfo) -> str:
    return gid("Order", store_of(info).order_of_fulfillment_order[fulfillment_order.id])


@resolver("FulfillmentOrder", "orderName")
def resolve_fo_order_name(fulfillment_order: FulfillmentOrder, info: GraphQLResolveInfo) -> str:
    return _order_of_fulfillment_order(store_of(info), fulfillment_order).name


@resolver("FulfillmentOrder", "orderProcessedAt")
def resolve_fo_processed(fulfillment_order: FulfillmentOrder, info: GraphQLResolveInfo):
    return _order_of_fulfillment_order(store_of(info), fulfillment_order).processed_at


@resolver("FulfillmentOrder", "assignedLocation")
def resolve_assigned_location(
    fulfillment_order: FulfillmentOrder, info: GraphQLResolveInfo
) -> dict[str, Any]:
    location = store_of(info).locations.get(fulfillment_order.location_id)
    return {
        "name": location.name,
        "location": location,
        "countryCode": location.country_code,
        "address1": location.address1,
        "address2": None,
        "city": location.city,
        "zip": location.zip,
        "province": location.province_code,
        "phone": None,
    }


@resolver("FulfillmentOrder", "destination")
def resolve_destination(
    fulfillment_order: FulfillmentOrder, info: GraphQLResolveInfo
) -> dict[str, Any] | None:
    order = _order_of_fulfillment_order(store_of(info), fulfillment_order)
    address = order.shipping_address
    if address is None:
        return None
    return {
        "id": gid("FulfillmentOrderDestination", fulfillment_order.id),
        "address1": address.address1,
        "address2": address.address2,
        "city": address.city,
        "zip": address.zip,
        "countryCode": address.country_code,
        "province": address.province_code,
        "firstName": address.first_name,
        "lastName": address.last_name,
        "email": order.email,
        "phone": address.phone,
        "company": address.company,
        "location": None,
    }


@resolver("FulfillmentOrder", "lineItems")
def resolve_fo_lines(
    fulfillment_order: FulfillmentOrder, info: GraphQLResolveInfo, **args: Any
) -> dict[str, Any]:
    return paginate_list(info, args, fulfillment_order.line_items)


@resolver("FulfillmentOrder", "fulfillments")
def resolve_fo_fulfillments(fulfillment_order: FulfillmentOrder, info: GraphQLResolveInfo, **args: Any):
    order = _order_of_fulfillment_order(store_of(info), fulfillment_order)
    return paginate_list(
        info, args, [f for f in order.fulfillments if fulfillment_order.id in f.fulfillment_order_ids]
    )


@resolver("FulfillmentOrder", "supportedActions")
def resolve_supported_actions(fulfillment_order: FulfillmentOrder, _info: GraphQLResolveInfo):
    open_ = fulfillment_order.status in ("OPEN", "IN_PROGRESS")
    return [{"action": "CREATE_FULFILLMENT", "externalUrl": None}] if open_ else []


for _name, _value in {
    "requestStatus": "UNSUBMITTED",
    "fulfillAt": None,
    "fulfillBy": None,
    "fulfillmentHolds": [],
    "deliveryMethod": None,
    "internationalDuties": None,
    "remainingLineItemsWeight": None,
}.items():
    resolver("FulfillmentOrder", _name)(lambda _f, _i, _value=_value, **_a: _value)

resolver("FulfillmentOrderLineItem", "id")(id_resolver("FulfillmentOrderLineItem"))


def _fo_line_item(store: Store, fo_line: FulfillmentOrderLine) -> LineItem:
    order = store.orders.get(store.order_of_line_item[fo_line.line_item_id])
    return next(li for li in order.line_items if li.id == fo_line.line_item_id)


@resolver("FulfillmentOrderLineItem", "lineItem")
def resolve_fo_line_item(fo_line: FulfillmentOrderLine, info: GraphQLResolveInfo) -> LineItem:
    return _fo_line_item(store_of(info), fo_line)


@resolver(
    "FulfillmentOrderLineItem",
    "sku",
    "productTitle",
    "variantTitle",
    "variant",
    "inventoryItemId",
    "requiresShipping",
)
def resolve_fo_line_fields(fo_line: FulfillmentOrderLine, info: GraphQLResolveInfo) -> Any:
    store = store_of(info)
    line = _fo_line_item(store, fo_line)
    variant = store.variants.get(line.variant_id)
    return {
        "sku": line.sku,
        "productTitle": line.title,
        "variantTitle": line.variant_title,
        "variant": variant,
        "inventoryItemId": gid("InventoryItem", variant.inventory_item_id) if variant else None,
        "requiresShipping": line.requires_shipping,
    }[info.field_name]


for _name, _value in {
    "vendor": None,
    "warnings": [],
    "image": None,
    "weight": None,
    "financialSummaries": [],
    "shippingLine": None,
}.items():
    resolver("FulfillmentOrderLineItem", _name)(lambda _f, _i, _value=_value, **_a: _value)

resolver("Fulfillment", "id")(id_resolver("Fulfillment"))
resolver("Fulfillment", "legacyResourceId")(legacy_id)


@resolver("Fulfillment", "order")
def resolve_fulfillment_order_of(fulfillment: Fulfillment, info: GraphQLResolveInfo) -> Order:
    store = store_of(info)
    return store.orders.get(store.order_of_fulfillment[fulfillment.id])


@resolver("Fulfillment", "location")
def resolve_fulfillment_location(fulfillment: Fulfillment, info: GraphQLResolveInfo):
    return store_of(info).locations.get(fulfillment.location_id)


@resolver("Fulfillment", "trackingInfo")
def resolve_tracking(fulfillment: Fulfillment, _info: GraphQLResolveInfo, first: int | None = None):
    return [{"company": c, "number": n, "url": u} for c, n, u in fulfillment.tracking][:first]


@resolver("Fulfillment", "totalQuantity")
def resolve_total_quantity(fulfillment: Fulfillment, _info: GraphQLResolveInfo) -> int:
    return sum(quantity for _line, quantity in fulfillment.line_items)


@resolver("Fulfillment", "fulfillmentLineItems")
def resolve_fulfillment_lines(
    fulfillment: Fulfillment, info: GraphQLResolveInfo, **args: Any
) -> dict[str, Any]:
    store = store_of(info)
    order = store.orders.get(store.order_of_fulfillment[fulfillment.id])
    items = [
        fulfillment_line_item(order, fulfillment, index) for index in range(len(fulfillment.line_items))
    ]
    return paginate_list(info, args, items, key=lambda i: i["key"], ident=lambda i: i["key"])


def fulfillment_line_item(order: Order, fulfillment: Fulfillment, index: int) -> dict[str, Any]:
    """A FulfillmentLineItem: the units of one line item a fulfillment shipped."""
    line_id, quantity = fulfillment.line_items[index]
    line = next(li for li in order.line_items if li.id == line_id)
    amount = domain.cents(line.unit_price * quantity)
    return {
        "id": gid("FulfillmentLineItem", fulfillment.fulfillment_line_item_ids()[index]),
        "key": line_id,
        "lineItem": line,
        "quantity": quantity,
        "originalTotalSet": money_bag(amount),
        "discountedTotalSet": money_bag(amount),
        "originalTotal": money(amount),
        "discountedTotal": money(amount),
    }


@resolver("Fulfillment", "fulfillmentOrders")
def resolve_fulfillment_fos(
    fulfillment: Fulfillment, info: GraphQLResolveInfo, **args: Any
) -> dict[str, Any]:
    store = store_of(info)
    order = store.orders.get(store.order_of_fulfillment[fulfillment.id])
    return paginate_list(
        info, args, [fo for fo in order.fulfillment_orders if fo.id in fulfillment.fulfillment_order_ids]
    )


for _name, _value in {
    "displayStatus": "FULFILLED",
    "deliveredAt": None,
    "inTransitAt": None,
    "estimatedDeliveryAt": None,
    "requiresShipping": True,
    "originAddress": None,
    "service": None,
}.items():
    resolver("Fulfillment", _name)(lambda _f, _i, _value=_value, **_a: _value)


# -- fulfillmentCreate ---------------------------------------------------------------------------------


def _tracking(info: Mapping[str, Any] | None) -> list[list[str | None]]:
    if not info:
        return []
    numbers = info.get("numbers") or ([info["number"]] if info.get("number") else [])
    urls = info.get("urls") or ([info["url"]] if info.get("url") else [])
    company = info.get("company")
    if not numbers:
        return [[company, None, urls[0] if urls else None]] if company or urls else []
    return [[company, number, urls[i] if i < len(urls) else None] for i, number in enumerate(numbers)]


@resolver("Mutation", "fulfillmentCreate")
def resolve_fulfillment_create(
    _root: Any, info: GraphQLResolveInfo, fulfillment: Mapping[str, Any], message: str | None = None
) -> dict[str, Any]:
    requests = [
        domain.FulfillmentRequest(
            numeric_id(entry["fulfillmentOrderId"], "FulfillmentOrder"),
            [
                (numeric_id(line["id"], "FulfillmentOrderLineItem"), line["quantity"])
                for line in entry.get("fulfillmentOrderLineItems") or []
            ]
            or None,
        )
        for entry in fulfillment["lineItemsByFulfillmentOrder"]
    ]
    try:
        _order, created = domain.create_fulfillment(
            store_of(info), requests, _tracking(fulfillment.get("trackingInfo"))
        )
    except UserErrors as failure:
        return {"fulfillment": None, "userErrors": failure.errors}
    return {"fulfillment": created, "userErrors": []}
