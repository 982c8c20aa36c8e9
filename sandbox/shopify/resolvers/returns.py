"""Returns (returnCreate, returnProcess, returnClose, returnCancel, reverseFulfillmentOrderDispose), the
Return and its parts, Order.returns and Order.returnStatus, Refund.return and ReturnAgreement.return."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from graphql import GraphQLResolveInfo

from sandbox.shopify.errors import NotModelled, UserErrors
from sandbox.shopify.ids import gid
from sandbox.shopify.resolvers.base import graphql_type, paginate_list, resolver, store_of
from sandbox.shopify.resolvers.common import id_resolver, money_bag, numeric_id
from sandbox.shopify.resolvers.orders import fulfillment_line_item, order_part
from sandbox.shopify.state import returns as domain
from sandbox.shopify.state.orders import line_share
from sandbox.shopify.state.records import (
    Disposition,
    ExchangeLine,
    Order,
    Refund,
    Return,
    ReturnLine,
    ReverseFulfillmentOrder,
    ReverseFulfillmentOrderLine,
    SalesAgreement,
)
from sandbox.shopify.state.store import Store

graphql_type(Return, "Return")
graphql_type(ReturnLine, "ReturnLineItem")
graphql_type(ExchangeLine, "ExchangeLineItem")
graphql_type(ReverseFulfillmentOrder, "ReverseFulfillmentOrder")
graphql_type(ReverseFulfillmentOrderLine, "ReverseFulfillmentOrderLineItem")
graphql_type(Disposition, "ReverseFulfillmentOrderDisposition")


def _refuse(info: GraphQLResolveInfo, values: Mapping[str, Any], names: tuple[str, ...], where: str) -> None:
    for name in names:
        if values.get(name) not in (None, [], {}):
            raise NotModelled(f"{where}.{name}", info)


def _payload(failure: UserErrors | None = None, **values: Any) -> dict[str, Any]:
    if failure is not None:
        return {**{name: None for name in values}, "userErrors": failure.errors}
    return {**values, "userErrors": []}


# -- mutations -----------------------------------------------------------------------------------------


@resolver("Mutation", "returnCreate")
def resolve_return_create(_root: Any, info: GraphQLResolveInfo, returnInput: Mapping[str, Any]):
    _refuse(info, returnInput, ("returnShippingFee",), "ReturnInput")
    lines = []
    for entry in returnInput.get("returnLineItems") or []:
        _refuse(info, entry, ("restockingFee",), "ReturnLineItemInput")
        lines.append(domain.ReturnLineRequest(
            numeric_id(entry["fulfillmentLineItemId"], "FulfillmentLineItem"), entry["quantity"],
            entry.get("returnReasonNote"), numeric_id(entry.get("returnReasonDefinitionId"),
                                                      "ReturnReasonDefinition"),
        ))
    exchanges = []
    for entry in returnInput.get("exchangeLineItems") or []:
        _refuse(info, entry, ("appliedDiscount", "giftCardCodes"), "ExchangeLineItemInput")
        exchanges.append((numeric_id(entry.get("variantId"), "ProductVariant"), entry["quantity"]))
    try:
        _order, created = domain.create_return(
            store_of(info), numeric_id(returnInput["orderId"], "Order"), lines, exchanges,
            returnInput.get("requestedAt"),
        )
    except UserErrors as failure:
        return _payload(failure, **{"return": None})
    return _payload(**{"return": created})


def _money_input(value: Mapping[str, Any]) -> tuple[Decimal, str]:
    return Decimal(str(value["amount"])), value["currencyCode"]


@resolver("Mutation", "returnProcess")
def resolve_return_process(_root: Any, info: GraphQLResolveInfo, input: Mapping[str, Any]):
    _refuse(info, input, ("refundDuties", "tipLineId"), "ReturnProcessInput")
    request = domain.ProcessRequest(numeric_id(input["returnId"], "Return"), note=input.get("note"))
    for entry in input.get("returnLineItems") or []:
        _refuse(info, entry, ("dispositions",), "ReturnProcessReturnLineItemInput")
        request.lines.append((numeric_id(entry["id"], "ReturnLineItem"), entry["quantity"]))
    for entry in input.get("exchangeLineItems") or []:
        request.exchanges.append((numeric_id(entry["id"], "ExchangeLineItem"), entry["quantity"]))
    issue = (input.get("financialTransfer") or {}).get("issueRefund")
    if issue is not None:
        _refuse(info, issue, ("refundMethods",), "ReturnProcessRefundInput")
        request.refund_amounts = [_money_input(t["transactionAmount"]) for t in issue["orderTransactions"]]
        request.allow_over_refunding = bool(issue.get("allowOverRefunding"))
    shipping = input.get("refundShipping")
    if shipping is not None:
        request.refund_shipping_full = bool(shipping.get("fullRefund"))
        if shipping.get("shippingRefundAmount") is not None:
            request.refund_shipping_amount = _money_input(shipping["shippingRefundAmount"])[0]
    try:
        _order, processed, _agreement, _refund = domain.process_return(store_of(info), request)
    except UserErrors as failure:
        return _payload(failure, **{"return": None})
    return _payload(**{"return": processed})


@resolver("Mutation", "returnClose")
def resolve_return_close(_root: Any, info: GraphQLResolveInfo, id: str):
    try:
        _order, closed = domain.close_return(store_of(info), numeric_id(id, "Return"))
    except UserErrors as failure:
        return _payload(failure, **{"return": None})
    return _payload(**{"return": closed})


@resolver("Mutation", "returnCancel")
def resolve_return_cancel(_root: Any, info: GraphQLResolveInfo, id: str, notifyCustomer: bool | None = None):
    try:
        _order, canceled = domain.cancel_return(store_of(info), numeric_id(id, "Return"))
    except UserErrors as failure:
        return _payload(failure, **{"return": None})
    return _payload(**{"return": canceled})


@resolver("Mutation", "reverseFulfillmentOrderDispose")
def resolve_dispose(_root: Any, info: GraphQLResolveInfo, dispositionInputs: list[Mapping[str, Any]]):
    requests = [
        domain.DisposeRequest(
            numeric_id(entry["reverseFulfillmentOrderLineItemId"], "ReverseFulfillmentOrderLineItem"),
            entry["quantity"], entry["dispositionType"], numeric_id(entry.get("locationId"), "Location"),
            entry.get("locationId") is not None,
        )
        for entry in dispositionInputs
    ]
    try:
        lines = domain.dispose(store_of(info), requests)
    except UserErrors as failure:
        return _payload(failure, reverseFulfillmentOrderLineItems=None)
    return _payload(reverseFulfillmentOrderLineItems=lines)


# -- queries -------------------------------------------------------------------------------------------


def find_return(store: Store, return_id: int | None) -> Return | None:
    return domain.find_return(store, return_id)[1]


def find_reverse_fulfillment_order(store: Store, reverse_id: int | None) -> ReverseFulfillmentOrder | None:
    order = store.orders.get(store.order_of_reverse_fulfillment_order.get(reverse_id))
    return_ = domain.return_of_reverse(order, reverse_id) if order else None
    if return_ is None:
        return None
    return next((r for r in return_.reverse_fulfillment_orders if r.id == reverse_id), None)


@resolver("QueryRoot", "return")
def resolve_return(_root: Any, info: GraphQLResolveInfo, id: str) -> Return | None:
    return find_return(store_of(info), numeric_id(id, "Return"))


@resolver("QueryRoot", "reverseFulfillmentOrder")
def resolve_reverse_fulfillment_order(_root: Any, info: GraphQLResolveInfo, id: str):
    return find_reverse_fulfillment_order(store_of(info), numeric_id(id, "ReverseFulfillmentOrder"))


@resolver("Order", "returns")
def resolve_order_returns(order: Order, info: GraphQLResolveInfo, query: str | None = None, **args: Any):
    if query:
        raise NotModelled("Order.returns(query:)", info)
    return paginate_list(info, args, order.returns)


@resolver("Order", "returnStatus")
def resolve_return_status(order: Order, _info: GraphQLResolveInfo) -> str:
    return domain.order_return_status(order)


@resolver("Refund", "return")
def resolve_refund_return(refund: Refund, info: GraphQLResolveInfo) -> Return | None:
    return find_return(store_of(info), refund.return_id) if refund.return_id else None


@resolver("ReturnAgreement", "return")
def resolve_agreement_return(agreement: SalesAgreement, info: GraphQLResolveInfo) -> Return | None:
    return find_return(store_of(info), agreement.return_id)


# -- Return --------------------------------------------------------------------------------------------


def _order_of(info: GraphQLResolveInfo, return_: Return) -> Order:
    store = store_of(info)
    return store.orders.get(store.order_of_return[return_.id])


def _by_status(records: list[Any], status: str | None) -> list[Any]:
    if status == "PROCESSED":
        return [r for r in records if r.processed_quantity > 0]
    if status == "PROCESSABLE":
        return [r for r in records if r.unprocessed_quantity > 0]
    return records


resolver("Return", "id")(id_resolver("Return"))
resolver("Return", "order")(lambda return_, info: _order_of(info, return_))
resolver("Return", "requestApprovedAt")(lambda return_, _info: return_.created_at)
resolver("Return", "totalQuantity")(lambda return_, _info: sum(r.quantity for r in return_.return_line_items))


@resolver("Return", "returnLineItems")
def resolve_return_lines(return_: Return, info: GraphQLResolveInfo, processingStatus: str | None = None,
                         **args: Any):
    return paginate_list(info, args, _by_status(return_.return_line_items, processingStatus))


@resolver("Return", "exchangeLineItems")
def resolve_exchange_lines(return_: Return, info: GraphQLResolveInfo, processingStatus: str | None = None,
                           includeRemovedItems: bool | None = None, **args: Any):
    return paginate_list(info, args, _by_status(return_.exchange_line_items, processingStatus))


@resolver("Return", "reverseFulfillmentOrders")
def resolve_reverse_orders(return_: Return, info: GraphQLResolveInfo, **args: Any):
    return paginate_list(info, args, return_.reverse_fulfillment_orders)


def _refunds(info: GraphQLResolveInfo, return_: Return) -> list[Refund]:
    return [r for r in _order_of(info, return_).refunds if r.id in return_.refund_ids]


@resolver("Return", "refunds")
def resolve_return_refunds(return_: Return, info: GraphQLResolveInfo, **args: Any):
    return paginate_list(info, args, _refunds(info, return_))


@resolver("Return", "transactions")
def resolve_return_transactions(return_: Return, info: GraphQLResolveInfo, **args: Any):
    return paginate_list(info, args, [t for r in _refunds(info, return_) for t in r.transactions])


for _name, _value in {"decline": None, "staffMember": None, "returnShippingFees": []}.items():
    resolver("Return", _name)(lambda _r, _i, _value=_value, **_a: _value)


# -- ReturnLineItem, ExchangeLineItem ------------------------------------------------------------------


def _line_of(store: Store, line_id: int):
    return order_part(store, store.order_of_line_item, line_id, "line_items")


resolver("ReturnLineItem", "id")(id_resolver("ReturnLineItem"))
resolver("ReturnLineItem", "processableQuantity", "refundableQuantity")(
    lambda line, _info: line.unprocessed_quantity
)


@resolver("ReturnLineItem", "refundedQuantity")
def resolve_refunded_quantity(return_line: ReturnLine, info: GraphQLResolveInfo) -> int:
    """Processed units whose processing issued a refund."""
    store = store_of(info)
    order = store.orders.get(store.order_of_return_line_item[return_line.id])
    return_ = next(r for r in order.returns if return_line in r.return_line_items)
    refunded = sum(
        rl.quantity for r in order.refunds if r.id in return_.refund_ids
        for rl in r.refund_line_items if rl.line_item_id == return_line.line_item_id
    )
    return min(refunded, return_line.processed_quantity)


@resolver("ReturnLineItem", "fulfillmentLineItem")
def resolve_return_fulfillment_line(return_line: ReturnLine, info: GraphQLResolveInfo):
    return _fulfillment_line(store_of(info), return_line.fulfillment_line_item_id)


def _fulfillment_line(store: Store, fli_id: int) -> dict[str, Any] | None:
    located = domain.find_fulfillment_line(store, fli_id)
    return fulfillment_line_item(*located) if located else None


@resolver("ReturnLineItem", "withCodeDiscountedTotalPriceSet")
def resolve_return_line_value(return_line: ReturnLine, info: GraphQLResolveInfo) -> dict[str, Any]:
    line = _line_of(store_of(info), return_line.line_item_id)
    return money_bag(line_share(line, return_line.quantity)[0])


for _name, _value in {"returnReason": "UNKNOWN", "returnReasonDefinition": None, "customerNote": None,
                      "restockingFee": None, "totalWeight": None}.items():
    resolver("ReturnLineItem", _name)(lambda _r, _i, _value=_value, **_a: _value)

resolver("ExchangeLineItem", "id")(id_resolver("ExchangeLineItem"))
resolver("ExchangeLineItem", "processableQuantity")(lambda line, _info: line.unprocessed_quantity)
resolver("ExchangeLineItem", "variantId")(lambda line, _info: gid("ProductVariant", line.variant_id))
resolver("ExchangeLineItem", "productId")(
    lambda line, _info: gid("Product", line.product_id) if line.product_id else None
)


@resolver("ExchangeLineItem", "lineItems")
def resolve_exchange_line_items(exchange: ExchangeLine, info: GraphQLResolveInfo):
    store = store_of(info)
    return [_line_of(store, line_id) for line_id in exchange.line_item_ids]


@resolver("ExchangeLineItem", "lineItem")
def resolve_exchange_line_item(exchange: ExchangeLine, info: GraphQLResolveInfo):
    return _line_of(store_of(info), exchange.line_item_ids[0]) if exchange.line_item_ids else None


# -- reverse fulfillment orders ------------------------------------------------------------------------

resolver("ReverseFulfillmentOrder", "id")(id_resolver("ReverseFulfillmentOrder"))
resolver("ReverseFulfillmentOrder", "thirdPartyConfirmation")(lambda _r, _i: None)


@resolver("ReverseFulfillmentOrder", "order")
def resolve_reverse_order(reverse: ReverseFulfillmentOrder, info: GraphQLResolveInfo) -> Order:
    store = store_of(info)
    return store.orders.get(store.order_of_reverse_fulfillment_order[reverse.id])


@resolver("ReverseFulfillmentOrder", "lineItems")
def resolve_reverse_lines(rfo: ReverseFulfillmentOrder, info: GraphQLResolveInfo, **args: Any):
    return paginate_list(info, args, rfo.line_items)


@resolver("ReverseFulfillmentOrder", "reverseDeliveries")
def resolve_reverse_deliveries(_reverse: ReverseFulfillmentOrder, info: GraphQLResolveInfo, **args: Any):
    return paginate_list(info, args, [])  # no return shipping labels or tracking here


resolver("ReverseFulfillmentOrderLineItem", "id")(id_resolver("ReverseFulfillmentOrderLineItem"))


@resolver("ReverseFulfillmentOrderLineItem", "fulfillmentLineItem")
def resolve_reverse_fulfillment_line(reverse_line: ReverseFulfillmentOrderLine, info: GraphQLResolveInfo):
    return _fulfillment_line(store_of(info), reverse_line.fulfillment_line_item_id)


resolver("ReverseFulfillmentOrderDisposition", "id")(id_resolver("ReverseFulfillmentOrderDisposition"))


@resolver("ReverseFulfillmentOrderDisposition", "location")
def resolve_disposition_location(disposition: Disposition, info: GraphQLResolveInfo):
    return store_of(info).locations.get(disposition.location_id) if disposition.location_id else None
