"""Webhook bodies: Shopify sends the REST Admin API's JSON representation of the resource (snake_case,
numeric ids beside `admin_graphql_api_id`, money as strings, lowercase statuses, timestamps with an
offset). Modest subsets of those representations, with the fields an integration keys on.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sandbox.shopify.ids import gid, inventory_level_gid
from sandbox.shopify.settings import SHOP_CURRENCY
from sandbox.shopify.state import orders as domain
from sandbox.shopify.state.inventory import total_available
from sandbox.shopify.state.records import (
    Address,
    Customer,
    DiscountApplication,
    Fulfillment,
    InventoryLevel,
    LineItem,
    Order,
    Product,
    Refund,
    TaxLine,
)
from sandbox.shopify.state.store import FIRST_ORDER_NUMBER, Event, Store

# REST's financial_status and fulfillment_status values (lowercase; an unfulfilled order has null).
FULFILLMENT_STATUS = {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial", "UNFULFILLED": None}


def timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _money(amount: Decimal) -> str:
    return f"{domain.cents(amount):f}"


def _address(address: Address | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {
        "first_name": address.first_name,
        "last_name": address.last_name,
        "name": f"{address.first_name} {address.last_name}".strip(),
        "company": address.company,
        "address1": address.address1,
        "address2": address.address2,
        "city": address.city,
        "zip": address.zip,
        "province_code": address.province_code,
        "country_code": address.country_code,
        "phone": address.phone,
    }


def _line_item(line: LineItem) -> dict[str, Any]:
    unfulfilled = line.current_quantity - line.fulfilled_quantity
    return {
        "id": line.id,
        "admin_graphql_api_id": gid("LineItem", line.id),
        "variant_id": line.variant_id,
        "product_id": line.product_id,
        "sku": line.sku,
        "title": line.title,
        "variant_title": line.variant_title,
        "name": f"{line.title} - {line.variant_title}" if line.variant_title else line.title,
        "quantity": line.quantity,
        "current_quantity": line.current_quantity,
        "fulfillable_quantity": max(unfulfilled, 0),
        "fulfillment_status": "fulfilled" if line.fulfilled_quantity and unfulfilled <= 0 else None,
        "price": _money(line.unit_price),
        "total_discount": _money(domain.line_discount_total(line)),
        "taxable": line.taxable,
        "requires_shipping": line.requires_shipping,
        "tax_lines": _tax_lines(line.tax_lines),
        "discount_allocations": _allocations(line.discount_allocations),
    }


def _tax_lines(tax_lines: list[TaxLine]) -> list[dict[str, Any]]:
    return [
        {"title": tax.title, "rate": tax.rate, "price": _money(tax.price), "price_set": _money_set(tax.price)}
        for tax in tax_lines
    ]


def _allocations(allocations: list[list[Any]]) -> list[dict[str, Any]]:
    return [{"amount": _money(Decimal(amount)), "amount_set": _money_set(Decimal(amount)),
             "discount_application_index": index} for index, amount in allocations]


def _money_set(amount: Decimal) -> dict[str, Any]:
    """REST's `*_set`: the amount in shop and presentment currencies (the same here)."""
    money = {"amount": _money(amount), "currency_code": SHOP_CURRENCY}
    return {"shop_money": money, "presentment_money": dict(money)}


def _discount_code_type(application: DiscountApplication) -> str:
    """REST's discount_codes[].type: `shipping` for a shipping code, else `percentage` or `fixed_amount`."""
    if application.target_type == "SHIPPING_LINE":
        return "shipping"
    return "percentage" if application.value_type == "percentage" else "fixed_amount"


def _discount_codes(order: Order) -> list[dict[str, Any]]:
    codes = []
    for code in order.discount_codes:
        application = next(
            (a for a in order.discount_applications if a.kind == "code" and a.title == code), None
        )
        if application is None:  # a code that gave nothing (no percentage): as the emulator always sent it
            codes.append({"code": code, "amount": _money(Decimal(0)), "type": "percentage"})
            continue
        allocated = sum(
            (Decimal(amount) for part in (*order.line_items, *order.shipping_lines)
             for index, amount in part.discount_allocations if index == application.index),
            Decimal(0),
        )
        codes.append({"code": code, "amount": _money(allocated), "type": _discount_code_type(application)})
    return codes


def _discount_applications(order: Order) -> list[dict[str, Any]]:
    return [
        {
            "type": {"code": "discount_code", "manual": "manual"}.get(a.kind, "automatic"),
            **({"code": a.title} if a.kind == "code" else {"title": a.title, "description": a.description}),
            "value": f"{a.value:f}",
            "value_type": "percentage" if a.value_type == "percentage" else "fixed_amount",
            "allocation_method": a.allocation_method.lower(),
            "target_selection": a.target_selection.lower(),
            "target_type": a.target_type.lower(),
        }
        for a in order.discount_applications
    ]


def refund_body(order: Order, refund: Refund) -> dict[str, Any]:
    lines = {line.id: line for line in order.line_items}
    return {
        "id": refund.id,
        "admin_graphql_api_id": gid("Refund", refund.id),
        "order_id": order.id,
        "created_at": timestamp(refund.created_at),
        "processed_at": timestamp(refund.created_at),
        "note": refund.note,
        "restock": any(r.restock_type != "NO_RESTOCK" for r in refund.refund_line_items),
        "refund_line_items": [
            {
                "id": r.id,
                "line_item_id": r.line_item_id,
                "quantity": r.quantity,
                "restock_type": r.restock_type.lower(),
                "location_id": r.location_id,
                "subtotal": _money(r.subtotal),
                "total_tax": _money(r.total_tax),
                "line_item": _line_item(lines[r.line_item_id]),
            }
            for r in refund.refund_line_items
        ],
        "refund_shipping_lines": [],
        "transactions": [
            {"id": t.id, "admin_graphql_api_id": gid("OrderTransaction", t.id), "order_id": order.id,
             "kind": t.kind.lower(), "status": t.status.lower(), "amount": _money(t.amount),
             "gateway": "manual", "created_at": timestamp(t.created_at),
             "processed_at": timestamp(t.processed_at) if t.processed_at else None}
            for t in refund.transactions
        ],
        "order_adjustments": [],
    }


def fulfillment_body(order: Order, fulfillment: Fulfillment) -> dict[str, Any]:
    lines = {line.id: line for line in order.line_items}
    tracking = fulfillment.tracking
    return {
        "id": fulfillment.id,
        "admin_graphql_api_id": gid("Fulfillment", fulfillment.id),
        "order_id": order.id,
        "name": fulfillment.name,
        "status": fulfillment.status.lower(),
        "created_at": timestamp(fulfillment.created_at),
        "updated_at": timestamp(fulfillment.updated_at),
        "location_id": fulfillment.location_id,
        "service": "manual",
        "shipment_status": None,
        "tracking_company": tracking[0][0] if tracking else None,
        "tracking_number": tracking[0][1] if tracking else None,
        "tracking_numbers": [number for _company, number, _url in tracking if number],
        "tracking_url": tracking[0][2] if tracking else None,
        "tracking_urls": [url for _company, _number, url in tracking if url],
        "line_items": [
            {**_line_item(lines[line_id]), "quantity": quantity}
            for line_id, quantity in fulfillment.line_items
        ],
    }


def _order_tax_lines(order: Order) -> list[TaxLine]:
    """The order's tax lines: each title and rate once, with the amounts of its lines and shipping."""
    sums: dict[tuple[str, float], Decimal] = {}
    for part in (*order.line_items, *order.shipping_lines):
        for tax in part.tax_lines:
            sums[(tax.title, tax.rate)] = sums.get((tax.title, tax.rate), Decimal(0)) + tax.price
    return [TaxLine(title, rate, amount) for (title, rate), amount in sums.items()]


def order_body(store: Store, order: Order) -> dict[str, Any]:
    amounts = domain.totals(order)
    customer = store.customers.get(order.customer_id)
    return {
        "id": order.id,
        "admin_graphql_api_id": gid("Order", order.id),
        "name": order.name,
        "order_number": order.number,
        "number": order.number - FIRST_ORDER_NUMBER + 1,
        "email": order.email,
        "contact_email": order.email,
        "created_at": timestamp(order.created_at),
        "updated_at": timestamp(order.updated_at),
        "processed_at": timestamp(order.processed_at),
        "cancelled_at": timestamp(order.cancelled_at),
        "cancel_reason": order.cancel_reason.lower() if order.cancel_reason else None,
        "closed_at": timestamp(order.closed_at),
        "currency": SHOP_CURRENCY,
        "presentment_currency": SHOP_CURRENCY,
        "financial_status": domain.financial_status(order).lower(),
        "fulfillment_status": FULFILLMENT_STATUS[domain.fulfillment_status(order)],
        "confirmed": True,
        "test": False,
        "note": order.note,
        "tags": ", ".join(order.tags),
        "taxes_included": order.taxes_included,
        "total_line_items_price": _money(sum(
            (domain.line_original_total(line) for line in order.line_items), Decimal(0))),
        "subtotal_price": _money(amounts["subtotal"]),
        "total_discounts": _money(amounts["discounts"]),
        "total_shipping_price_set": _money_set(amounts["shipping"]),
        "total_tax": _money(amounts["tax"]),
        "total_price": _money(amounts["total"]),
        "current_subtotal_price": _money(amounts["current_subtotal"]),
        "current_total_discounts": _money(amounts["current_discounts"]),
        "current_shipping_price_set": _money_set(amounts["current_shipping"]),
        "current_total_tax": _money(amounts["current_tax"]),
        "current_total_price": _money(amounts["current_total"]),
        "total_outstanding": _money(amounts["outstanding"]),
        "tax_lines": _tax_lines(_order_tax_lines(order)),
        "discount_codes": _discount_codes(order),
        "discount_applications": _discount_applications(order),
        "customer": None
        if customer is None
        else {
            "id": customer.id,
            "admin_graphql_api_id": gid("Customer", customer.id),
            "email": customer.email,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
        },
        "shipping_address": _address(order.shipping_address),
        "billing_address": _address(order.billing_address),
        "line_items": [_line_item(line) for line in order.line_items],
        "shipping_lines": [
            {"id": s.id, "title": s.title, "code": s.code, "price": _money(s.price),
             "discounted_price": _money(domain.shipping_discounted(s)),
             "tax_lines": _tax_lines(s.tax_lines),
             "discount_allocations": _allocations(s.discount_allocations)}
            for s in order.shipping_lines
        ],
        "fulfillments": [fulfillment_body(order, f) for f in order.fulfillments],
        "refunds": [refund_body(order, r) for r in order.refunds],
    }



def product_body(store: Store, product: Product) -> dict[str, Any]:
    variants = [store.variants.get(variant_id) for variant_id in product.variant_ids]
    return {
        "id": product.id,
        "admin_graphql_api_id": gid("Product", product.id),
        "title": product.title,
        "body_html": product.description_html,
        "vendor": product.vendor,
        "product_type": product.product_type,
        "handle": product.handle,
        "status": product.status.lower(),
        "tags": ", ".join(product.tags),
        "created_at": timestamp(product.created_at),
        "updated_at": timestamp(product.updated_at),
        "options": [
            {"name": name, "position": position, "values": values}
            for position, (name, values) in enumerate(product.options, start=1)
        ],
        "variants": [
            {
                "id": variant.id,
                "admin_graphql_api_id": gid("ProductVariant", variant.id),
                "product_id": product.id,
                "title": variant.title,
                "sku": variant.sku,
                "barcode": variant.barcode,
                "price": _money(variant.price),
                "compare_at_price": (
                    None if variant.compare_at_price is None else _money(variant.compare_at_price)
                ),
                "position": variant.position,
                "inventory_policy": variant.inventory_policy.lower(),
                "inventory_item_id": variant.inventory_item_id,
                "inventory_quantity": total_available(store, store.items.get(variant.inventory_item_id)),
                "taxable": variant.taxable,
                **{f"option{i}": value for i, value in enumerate(variant.option_values[:3], start=1)},
                "created_at": timestamp(variant.created_at),
                "updated_at": timestamp(variant.updated_at),
            }
            for variant in variants
        ],
        "images": [
            {
                "id": media.id,
                "product_id": product.id,
                "position": position,
                "src": media.original_source,
                "alt": media.alt,
            }
            for position, media in enumerate((store.media.get(m) for m in product.media_ids), start=1)
        ],
    }


def inventory_level_body(level: InventoryLevel) -> dict[str, Any]:
    return {
        "inventory_item_id": level.item_id,
        "location_id": level.location_id,
        "available": level.quantity("available"),
        "updated_at": timestamp(level.updated_at),
        "admin_graphql_api_id": inventory_level_gid(level.location_id, level.item_id),
    }


def _order_part(store: Store, index: dict[int, int], attribute: str, part_id: int) -> Any:
    order = store.orders.get(index.get(part_id))
    part = next((p for p in getattr(order, attribute, []) if p.id == part_id), None)
    return order, part


def _refund(store: Store, refund_id: int) -> dict[str, Any] | None:
    order, refund = _order_part(store, store.order_of_refund, "refunds", refund_id)
    return refund_body(order, refund) if refund else None


def _fulfillment(store: Store, fulfillment_id: int) -> dict[str, Any] | None:
    order, fulfillment = _order_part(store, store.order_of_fulfillment, "fulfillments", fulfillment_id)
    return fulfillment_body(order, fulfillment) if fulfillment else None


def _order(store: Store, order_id: int) -> dict[str, Any] | None:
    order = store.orders.get(order_id)
    return order_body(store, order) if order else None


def order_edit_body(store: Store, session_id: int) -> dict[str, Any] | None:
    """orders/edited: not the order but what the edit changed, line by line (`delta`: units added to or
    removed from the line; a variant added by the edit is an addition to its new line)."""
    session = store.order_edits.get(session_id)
    order = store.orders.get(session.order_id) if session else None
    agreement = (
        next((a for a in order.agreements if a.id == session.agreement_id), None) if order else None
    )
    if agreement is None:
        return None
    changes = {"ORDER": [], "RETURN": []}
    for sale in agreement.sales:
        changes[sale.action_type].append({"id": sale.line_item_id, "delta": sale.quantity})
    return {
        "order_edit": {
            "id": session.id,
            "app_id": None,
            "created_at": timestamp(session.committed_at),
            "notify_customer": session.notify_customer,
            "order_id": order.id,
            "staff_note": session.staff_note or "",
            "user_id": None,
            "line_items": {"additions": changes["ORDER"], "removals": changes["RETURN"]},
            "discounts": {"additions": [], "removals": []},
            "shipping_lines": {"additions": [], "removals": []},
        }
    }


def _product(store: Store, product_id: int) -> dict[str, Any] | None:
    product = store.products.get(product_id)
    return product_body(store, product) if product else None


def _level(store: Store, pair: tuple[int, int]) -> dict[str, Any] | None:
    level = store.levels.get(pair)
    return inventory_level_body(level) if level else None


def _return(store: Store, return_id: int) -> dict[str, Any] | None:
    """returns/approve, returns/process, returns/close, returns/cancel: the return as it stands."""
    order = store.orders.get(store.order_of_return.get(return_id))
    return_ = next((r for r in order.returns if r.id == return_id), None) if order else None
    if return_ is None:
        return None
    return {
        "id": return_.id,
        "admin_graphql_api_id": gid("Return", return_.id),
        "order_id": order.id,
        "name": return_.name,
        "status": return_.status.lower(),
        "created_at": timestamp(return_.created_at),
        "closed_at": timestamp(return_.closed_at),
        "return_line_items": [
            {"id": rl.id, "admin_graphql_api_id": gid("ReturnLineItem", rl.id),
             "fulfillment_line_item_id": rl.fulfillment_line_item_id, "line_item_id": rl.line_item_id,
             "quantity": rl.quantity, "processed_quantity": rl.processed_quantity,
             "return_reason_note": rl.return_reason_note}
            for rl in return_.return_line_items
        ],
        "exchange_line_items": [
            {"id": e.id, "admin_graphql_api_id": gid("ExchangeLineItem", e.id), "variant_id": e.variant_id,
             "sku": e.variant_sku, "quantity": e.quantity, "processed_quantity": e.processed_quantity,
             "line_item_ids": list(e.line_item_ids)}
            for e in return_.exchange_line_items
        ],
        "refund_ids": list(return_.refund_ids),
    }


def _reverse_fulfillment_order(store: Store, reverse_id: int) -> dict[str, Any] | None:
    """reverse_fulfillment_orders/dispose: the reverse fulfillment order and all its dispositions."""
    order = store.orders.get(store.order_of_reverse_fulfillment_order.get(reverse_id))
    pairs = [(r, rfo) for r in (order.returns if order else []) for rfo in r.reverse_fulfillment_orders]
    return_, reverse = next(((r, rfo) for r, rfo in pairs if rfo.id == reverse_id), (None, None))
    if reverse is None:
        return None
    dispositions = [
        {"id": d.id, "type": d.type.lower(), "quantity": d.quantity, "location_id": d.location_id,
         "created_at": timestamp(d.created_at),
         "reverse_fulfillment_order_line_item": {
             "id": line.id, "admin_graphql_api_id": gid("ReverseFulfillmentOrderLineItem", line.id),
             "line_item_id": line.line_item_id}}
        for line in reverse.line_items for d in line.dispositions
    ]
    return {
        "id": reverse.id,
        "admin_graphql_api_id": gid("ReverseFulfillmentOrder", reverse.id),
        "order_id": order.id,
        "return_id": return_.id,
        "status": reverse.status.lower(),
        "total_dispositions": len(dispositions),
        "dispositions": dispositions,
    }


def customer_body(customer: Customer) -> dict[str, Any]:
    """customers/create, customers/update: the REST Admin API's customer (tags a comma-separated string,
    the state lowercase, the default address among the addresses)."""
    book = customer.addresses or ([customer.default_address] if customer.default_address else [])
    addresses = [
        {"customer_id": customer.id, "default": index == 0, **_address(address)}
        for index, address in enumerate(book)
    ]
    return {
        "id": customer.id,
        "admin_graphql_api_id": gid("Customer", customer.id),
        "email": customer.email,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "phone": customer.phone,
        "created_at": timestamp(customer.created_at),
        "updated_at": timestamp(customer.updated_at),
        "state": customer.state.lower(),
        "note": customer.note,
        "tags": ", ".join(customer.tags),
        "verified_email": True,
        "tax_exempt": False,
        "currency": SHOP_CURRENCY,
        "addresses": addresses,
        "default_address": addresses[0] if addresses else None,
    }


def _customer(store: Store, customer_id: int) -> dict[str, Any] | None:
    customer = store.customers.get(customer_id)
    return customer_body(customer) if customer else None


BUILDERS: dict[str, Callable[[Store, Any], dict[str, Any] | None]] = {
    "orders/create": _order,
    "orders/updated": _order,
    "orders/paid": _order,
    "orders/cancelled": _order,
    "orders/fulfilled": _order,
    "orders/partially_fulfilled": _order,
    "orders/edited": order_edit_body,
    "refunds/create": _refund,
    "returns/approve": _return,
    "returns/process": _return,
    "returns/close": _return,
    "returns/cancel": _return,
    "reverse_fulfillment_orders/dispose": _reverse_fulfillment_order,
    "fulfillments/create": _fulfillment,
    "inventory_levels/update": _level,
    "products/create": _product,
    "products/update": _product,
    "products/delete": lambda _store, _id: None,  # always from the event's snapshot
    "customers/create": _customer,
    "customers/update": _customer,
}


def build(store: Store, event: Event) -> dict[str, Any] | None:
    """The body of an event, from the store as committed; None when its record is gone."""
    if event.snapshot is not None:
        return event.snapshot
    return BUILDERS[event.topic](store, event.subject)


def include_fields(body: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """A subscription's `includeFields`: only these (dotted paths reach into objects and lists)."""
    if not fields:
        return body
    kept: dict[str, Any] = {}
    for path in fields:
        _copy_path(body, kept, path.split("."))
    return kept


def _copy_path(source: Any, target: dict[str, Any], parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if not isinstance(source, dict) or head not in source:
        return
    value = source[head]
    if not rest:
        target[head] = value
    elif isinstance(value, list):
        items = target.setdefault(head, [{} for _ in value])
        for item, kept in zip(value, items, strict=True):
            _copy_path(item, kept, rest)
    elif isinstance(value, dict):
        _copy_path(value, target.setdefault(head, {}), rest)
