"""Order editing (orderEditBegin, orderEditAddVariant, orderEditSetQuantity, orderEditCommit, the
CalculatedOrder) and the order's sales agreements (Order.agreements, Order.edited)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from graphql import GraphQLResolveInfo

from sandbox.shopify.errors import NotModelled, UserErrors
from sandbox.shopify.ids import gid
from sandbox.shopify.resolvers.base import graphql_type, paginate_list, resolver, store_of
from sandbox.shopify.resolvers.common import id_resolver, money_bag, numeric_id
from sandbox.shopify.resolvers.orders import order_part
from sandbox.shopify.state import edits as domain
from sandbox.shopify.state.edits import CalculatedLine, CalculatedOrder
from sandbox.shopify.state.records import Order, OrderEditSession, Sale, SalesAgreement

AGREEMENT_TYPES = {
    "ORDER": "OrderAgreement", "ORDER_EDIT": "OrderEditAgreement", "REFUND": "RefundAgreement",
    "RETURN": "ReturnAgreement",
}
graphql_type(SalesAgreement, lambda agreement: AGREEMENT_TYPES[agreement.reason])
graphql_type(Sale, lambda sale: "ProductSale" if sale.line_type == "PRODUCT" else "ShippingLineSale")
graphql_type(CalculatedOrder, "CalculatedOrder")
graphql_type(OrderEditSession, "OrderEditSession")


def session_id(value: Any) -> int | None:
    """A CalculatedOrder or an OrderEditSession id: both name the same session here."""
    return numeric_id(value, "CalculatedOrder", "OrderEditSession")


def _failed(failure: UserErrors, **nulls: Any) -> dict[str, Any]:
    return {**{name: None for name in nulls}, "userErrors": failure.errors}


def _session_payload(store: Any, session: OrderEditSession, line_id: int | None = None) -> dict[str, Any]:
    calculated = domain.calculate(store, session)
    lines = {line.id: line for line in (*calculated.line_items, *calculated.added_line_items)}
    return {
        "calculatedOrder": calculated,
        "orderEditSession": session,
        "calculatedLineItem": lines.get(line_id),
        "userErrors": [],
    }


# -- mutations -----------------------------------------------------------------------------------------


@resolver("Mutation", "orderEditBegin")
def resolve_edit_begin(_root: Any, info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
    store = store_of(info)
    try:
        session = domain.begin_edit(store, numeric_id(id, "Order"))
    except UserErrors as failure:
        return _failed(failure, calculatedOrder=None, orderEditSession=None)
    return _session_payload(store, session)


@resolver("Mutation", "orderEditAddVariant")
def resolve_edit_add_variant(
    _root: Any,
    info: GraphQLResolveInfo,
    id: str,
    variantId: str,
    quantity: int,
    locationId: str | None = None,
    allowDuplicates: bool = False,
) -> dict[str, Any]:
    store = store_of(info)
    try:
        session = domain.open_session(store, session_id(id))
        addition = domain.add_variant(
            store, session, numeric_id(variantId, "ProductVariant"), quantity,
            numeric_id(locationId, "Location"), bool(allowDuplicates), locationId is not None,
        )
    except UserErrors as failure:
        return _failed(failure, calculatedOrder=None, orderEditSession=None, calculatedLineItem=None)
    return _session_payload(store, session, addition.id)


@resolver("Mutation", "orderEditSetQuantity")
def resolve_edit_set_quantity(
    _root: Any,
    info: GraphQLResolveInfo,
    id: str,
    lineItemId: str,
    quantity: int,
    restock: bool | None = None,
    locationId: str | None = None,
) -> dict[str, Any]:
    store = store_of(info)
    try:
        session = domain.open_session(store, session_id(id))
        line_id = domain.set_quantity(
            store, session, numeric_id(lineItemId, "CalculatedLineItem"), quantity, bool(restock),
            numeric_id(locationId, "Location"), locationId is not None,
        )
    except UserErrors as failure:
        return _failed(failure, calculatedOrder=None, orderEditSession=None, calculatedLineItem=None)
    return _session_payload(store, session, line_id)


@resolver("Mutation", "orderEditCommit")
def resolve_edit_commit(
    _root: Any,
    info: GraphQLResolveInfo,
    id: str,
    notifyCustomer: bool | None = None,
    staffNote: str | None = None,
) -> dict[str, Any]:
    store = store_of(info)
    try:
        session = domain.open_session(store, session_id(id))
        order, _agreement = domain.commit_edit(store, session, bool(notifyCustomer), staffNote)
    except UserErrors as failure:
        return _failed(failure, order=None, successMessages=None)
    return {"order": order, "successMessages": [], "userErrors": []}


# -- CalculatedOrder, CalculatedLineItem, OrderEditSession ---------------------------------------------

resolver("CalculatedOrder", "id")(id_resolver("CalculatedOrder"))
resolver("CalculatedOrder", "originalOrder")(lambda calculated, _info: calculated.order)
resolver("CalculatedOrder", "subtotalPriceSet")(lambda calculated, _info: money_bag(calculated.subtotal))
resolver("CalculatedOrder", "totalPriceSet")(lambda calculated, _info: money_bag(calculated.total))
resolver("CalculatedOrder", "totalOutstandingSet")(
    lambda calculated, _info: money_bag(calculated.outstanding)
)
resolver("CalculatedOrder", "subtotalLineItemsQuantity")(
    lambda calculated, _info: calculated.subtotal_quantity
)


@resolver("CalculatedOrder", "lineItems")
def resolve_calculated_lines(
    calculated: CalculatedOrder, info: GraphQLResolveInfo, query: str | None = None, **args: Any
) -> dict[str, Any]:
    if query:
        raise NotModelled("CalculatedOrder.lineItems(query:)", info)
    return paginate_list(info, args, calculated.line_items)


@resolver("CalculatedOrder", "addedLineItems")
def resolve_added_lines(calculated: CalculatedOrder, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    return paginate_list(info, args, calculated.added_line_items)


@resolver("CalculatedOrder", "stagedChanges")
def resolve_staged_changes(calculated: CalculatedOrder, info: GraphQLResolveInfo, **args: Any):
    changes = calculated.staged_changes()
    keyed = [{**change, "position": index} for index, change in enumerate(changes)]
    return paginate_list(info, args, keyed, key=lambda c: c["position"], ident=lambda c: c["position"])


resolver("OrderEditSession", "id")(id_resolver("OrderEditSession"))
resolver("CalculatedLineItem", "id")(id_resolver("CalculatedLineItem"))
resolver("CalculatedLineItem", "editableQuantity")(lambda line, _info: line.editable_quantity)
resolver("CalculatedLineItem", "editableQuantityBeforeChanges")(
    lambda line, _info: line.editable_quantity_before_changes
)
resolver("CalculatedLineItem", "originalUnitPriceSet")(lambda line, _info: money_bag(line.unit_price))
resolver("CalculatedLineItem", "discountedUnitPriceSet")(
    lambda line, _info: money_bag(line.discounted_unit_price)
)
resolver("CalculatedLineItem", "stagedChanges")(lambda line, _info: line.changes)


@resolver("CalculatedLineItem", "variant")
def resolve_calculated_variant(line: CalculatedLine, info: GraphQLResolveInfo):
    return store_of(info).variants.get(line.variant_id)


@resolver("CalculatedLineItem", "editableSubtotalSet")
def resolve_editable_subtotal(line: CalculatedLine, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return money_bag(domain.cents(line.discounted_unit_price * line.editable_quantity))


@resolver("CalculatedLineItem", "uneditableSubtotalSet")
def resolve_uneditable_subtotal(line: CalculatedLine, _info: GraphQLResolveInfo) -> dict[str, Any]:
    return money_bag(domain.cents(line.discounted_unit_price * line.fulfilled))


for _name, _value in {"customAttributes": [], "image": None, "hasStagedLineItemDiscount": False}.items():
    resolver("CalculatedLineItem", _name)(lambda _l, _i, _value=_value, **_a: _value)


# -- Order.edited and Order.agreements -----------------------------------------------------------------


@resolver("Order", "edited")
def resolve_edited(order: Order, _info: GraphQLResolveInfo) -> bool:
    return any(agreement.reason == "ORDER_EDIT" for agreement in order.agreements)


@resolver("Order", "agreements")
def resolve_agreements(
    order: Order, info: GraphQLResolveInfo, query: str | None = None, **args: Any
) -> dict[str, Any]:
    if query:
        raise NotModelled("Order.agreements(query:)", info)
    return paginate_list(info, args, order.agreements)


for _type in AGREEMENT_TYPES.values():
    resolver(_type, "id")(id_resolver("SalesAgreement"))
    resolver(_type, "sales")(
        lambda agreement, info, **args: paginate_list(info, args, agreement.sales)
    )
    resolver(_type, "app")(lambda _a, _i: None)
    resolver(_type, "user")(lambda _a, _i: None)
resolver("OrderAgreement", "order")(lambda agreement, info: store_of(info).orders.get(agreement.order_id))


@resolver("RefundAgreement", "refund")
def resolve_agreement_refund(agreement: SalesAgreement, info: GraphQLResolveInfo):
    store = store_of(info)
    return order_part(store, store.order_of_refund, agreement.refund_id, "refunds")


def _sale_total(sale: Sale, _info: GraphQLResolveInfo) -> dict[str, Any]:
    """After discounts and taxes: the tax is already in the amount when the order's taxes are included."""
    return money_bag(sale.subtotal if sale.taxes_included else sale.subtotal + sale.tax)


def _sale_taxes(sale: Sale, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
    """One SaleTax per tax line of the sold line, the sale's tax split in proportion to those lines'
    amounts (the last one takes the rounding, so they add up to the sale's totalTaxAmount)."""
    if not sale.tax:
        return []
    store = store_of(info)
    line = _sale_line(store, sale)
    shipping = None if line is not None else order_part(
        store, store.order_of_shipping_line, sale.shipping_line_id, "shipping_lines"
    )
    tax_lines = line.tax_lines if line is not None else shipping.tax_lines if shipping is not None else []
    whole = sum((tax.price for tax in tax_lines), Decimal(0))
    if not tax_lines or not whole:
        return []
    amounts = [domain.cents(sale.tax * tax.price / whole) for tax in tax_lines]
    amounts[-1] = sale.tax - sum(amounts[:-1], Decimal(0))
    return [
        # The first keeps the sale's number; further ones are set apart by a multiple of 10^12.
        {"id": gid("SaleTax", sale.id + index * 10**12), "amount": money_bag(amount), "taxLine": tax}
        for index, (tax, amount) in enumerate(zip(tax_lines, amounts, strict=True))
    ]


def _sale_line(store: Any, sale: Sale):
    return order_part(store, store.order_of_line_item, sale.line_item_id, "line_items")


for _type in ("ProductSale", "ShippingLineSale"):
    resolver(_type, "id")(id_resolver("Sale"))
    resolver(_type, "totalAmount")(_sale_total)
    resolver(_type, "totalTaxAmount")(lambda sale, _info: money_bag(sale.tax))
    resolver(_type, "totalDiscountAmountBeforeTaxes")(lambda sale, _info: money_bag(sale.discount))
    resolver(_type, "totalDiscountAmountAfterTaxes")(lambda sale, _info: money_bag(sale.discount))
    resolver(_type, "taxes")(_sale_taxes)
resolver("ProductSale", "lineItem")(lambda sale, info: _sale_line(store_of(info), sale))


@resolver("ShippingLineSale", "shippingLine")
def resolve_sale_shipping_line(sale: Sale, info: GraphQLResolveInfo):
    # Shopify: "shippingLine is not available if the SaleActionType is a return".
    if sale.action_type == "RETURN":
        return None
    store = store_of(info)
    return order_part(store, store.order_of_shipping_line, sale.shipping_line_id, "shipping_lines")
