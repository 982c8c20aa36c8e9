"""The emulator's own endpoints under /_emulator, for the demo and tests only (never part of Shopify's
API): seed, inspect, reset, configure the plan and faults, drive the shopper, place and change orders,
watch webhook deliveries."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox.shopify.errors import UserErrors
from sandbox.shopify.ids import gid
from sandbox.shopify.settings import ADMIN_PREFIX, Plan
from sandbox.shopify.shopper import Shopper, ShopperConfig
from sandbox.shopify.state import catalog, customers, edits, orders, returns
from sandbox.shopify.state.records import Address, Order, WebhookSubscription

if TYPE_CHECKING:
    from sandbox.shopify.server import EmulatorApp


@dataclass(slots=True)
class AdminResponse:
    status: int
    body: Any


class BadRequest(Exception):
    pass


def _order_summary(order: Order) -> dict[str, Any]:
    amounts = orders.totals(order)
    return {
        "id": gid("Order", order.id),
        "name": order.name,
        "email": order.email,
        "created_at": order.created_at.isoformat(),
        "updated_at": order.updated_at.isoformat(),
        "cancelled_at": order.cancelled_at.isoformat() if order.cancelled_at else None,
        "cancel_reason": order.cancel_reason,
        "financial_status": orders.financial_status(order),
        "fulfillment_status": orders.fulfillment_status(order),
        "total": str(amounts["total"]),
        "current_total": str(amounts["current_total"]),
        "lines": [
            {
                "id": gid("LineItem", li.id),
                "sku": li.sku,
                "quantity": li.quantity,
                "current_quantity": li.current_quantity,
                "fulfilled_quantity": li.fulfilled_quantity,
            }
            for li in order.line_items
        ],
        "fulfillment_orders": [
            {
                "id": gid("FulfillmentOrder", fo.id),
                "status": fo.status,
                "location_id": gid("Location", fo.location_id),
            }
            for fo in order.fulfillment_orders
        ],
        # The money each refund gives back and whether it moved (its transactions' status: SUCCESS, or
        # PENDING / FAILURE at the gateway; none when it gives nothing back), and the order's returns and
        # edits: what an audit of a day of trading counts.
        "refunds": [
            {
                "id": gid("Refund", refund.id),
                "total": str(orders.refund_total(order, refund)),
                "status": refund.transactions[-1].status if refund.transactions else "SUCCESS",
                "return_id": gid("Return", refund.return_id) if refund.return_id else None,
            }
            for refund in order.refunds
        ],
        "returns": [
            {"id": gid("Return", r.id), "status": r.status,
             "exchanged": sum(x.processed_quantity for x in r.exchange_line_items),
             "exchange_line_ids": [gid("LineItem", line_id) for x in r.exchange_line_items
                                   for line_id in x.line_item_ids]}
            for r in order.returns
        ],
        "edits": sum(1 for a in order.agreements if a.reason == "ORDER_EDIT"),
        # What each edit did to the order's lines, as its agreement itemizes it: units added (ORDER) or
        # taken off (RETURN, negative).
        "edit_lines": [
            {"edit_id": gid("SalesAgreement", a.id), "line_id": gid("LineItem", sale.line_item_id),
             "quantity": (1 if sale.action_type == "ORDER" else -1) * abs(sale.quantity or 0)}
            for a in order.agreements if a.reason == "ORDER_EDIT"
            for sale in a.sales if sale.line_type == "PRODUCT" and sale.line_item_id is not None
        ],
    }


def _subscription_summary(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        "id": gid("WebhookSubscription", subscription.id),
        "topic": subscription.topic,
        "uri": subscription.uri,
        "format": subscription.format,
        "include_fields": list(subscription.include_fields),
        "created_at": subscription.created_at.isoformat(),
    }


def _numeric(value: Any) -> int:
    """A numeric id, or the number at the end of a gid."""
    return int(str(value).rsplit("/", 1)[-1])


def _address(data: dict[str, Any], first: str, last: str) -> Address:
    return Address(
        data.get("first_name", first),
        data.get("last_name", last),
        data.get("address1", "1 Main St"),
        data.get("city", "Portland"),
        data.get("zip", "97205"),
        data.get("country_code", "US"),
        data.get("province_code"),
        data.get("phone"),
    )


def _tax_lines(entries: list[dict[str, Any]]) -> list[tuple[str, Decimal]]:
    """`"tax_lines": [{"title": "State tax", "rate": "0.0625"}, ...]`: each taxable line (and the shipping)
    gets one tax line per entry."""
    if not isinstance(entries, list):
        raise BadRequest("tax_lines must be a list of {\"title\", \"rate\"}")
    result = []
    for entry in entries:
        rate = Decimal(str(entry["rate"]))
        if rate < 0:
            raise BadRequest(f"tax rate {rate} is negative")
        result.append((str(entry.get("title") or "Sales Tax"), rate))
    return result


def _shipping_discount(data: dict[str, Any]) -> orders.ShippingDiscount:
    """`{"code": "FREESHIP", "percentage": "100"}` or `{"title": ..., "amount": "2.00"}` (a code or a
    title; a percentage or an amount)."""
    percentage = Decimal(str(data["percentage"])) if data.get("percentage") is not None else None
    amount = Decimal(str(data["amount"])) if data.get("amount") is not None else None
    if (percentage is None) == (amount is None):
        raise BadRequest("shipping_discount needs either \"percentage\" or \"amount\"")
    if (percentage is not None and not 0 <= percentage <= 100) or (amount is not None and amount < 0):
        raise BadRequest("shipping_discount: percentage from 0 to 100, amount not negative")
    return orders.ShippingDiscount(data.get("code"), data.get("title"), percentage, amount)


class AdminApi:
    def __init__(self, app: EmulatorApp) -> None:
        self.app = app
        self.store = app.store
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Any]]] = [
            ("GET", r"/state", self.state),
            ("POST", r"/seed", self.seed),
            ("POST", r"/reset", self.reset),
            ("GET", r"/products", self.product_by_sku),
            ("GET", r"/inventory", self.inventory),
            ("GET", r"/inventory/history", self.inventory_history),
            ("GET", r"/variants", self.list_variants),
            ("GET", r"/orders", self.list_orders),
            ("POST", r"/orders", self.place_order),
            ("POST", r"/customers", self.register_customer),
            ("POST", r"/orders/(\d+)/cancel", self.cancel_order),
            ("POST", r"/orders/(\d+)/refund", self.refund_order),
            ("POST", r"/orders/(\d+)/edit", self.edit_order),
            ("POST", r"/orders/(\d+)/return", self.return_order),
            ("POST", r"/orders/(\d+)/refunds/(\d+)/settle", self.settle_refund),
            ("PUT", r"/plan", self.set_plan),
            ("GET", r"/faults", self.get_faults),
            ("PUT", r"/faults", self.set_faults),
            ("DELETE", r"/faults", self.clear_faults),
            ("POST", r"/apps", self.install_app),
            ("POST", r"/shopper/start", self.start_shopper),
            ("POST", r"/shopper/stop", self.stop_shopper),
            ("POST", r"/shopper/step", self.step_shopper),
            ("GET", r"/webhooks", self.webhooks),
            ("POST", r"/webhooks/flush", self.flush_webhooks),
        ]
        self._routes = [(m, re.compile(f"^{re.escape(ADMIN_PREFIX)}{p}$"), h) for m, p, h in self._routes]

    def handle(self, method: str, path: str, query: dict[str, str], body: Any) -> AdminResponse:
        for route_method, pattern, handler in self._routes:
            match = pattern.match(path)
            if match and route_method == method:
                try:
                    return AdminResponse(200, handler(*match.groups(), query=query, body=body or {}))
                except UserErrors as failure:
                    return AdminResponse(
                        422,
                        {
                            "userErrors": [
                                {"field": e.field, "message": e.message, "code": e.code}
                                for e in failure.errors
                            ]
                        },
                    )
                except (BadRequest, ValueError, KeyError, TypeError) as error:
                    return AdminResponse(400, {"error": str(error)})
        return AdminResponse(404, {"error": f"no admin endpoint {method} {path}"})

    # -- state -----------------------------------------------------------------------------------------

    def state(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        with self.store.lock:
            counts = self.store.counts()
        return {
            "counts": counts,
            "plan": self.app.buckets.plan.name,
            "shopper": self.app.shopper.status(),
            "faults": self.app.faults.describe(),
        }

    def seed(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        with self.store.transaction(), self.store.bulk():
            return catalog.seed(self.store, body)

    def reset(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        self.app.shopper.stop()
        self.store.reset()
        return {"counts": self.store.counts()}

    def _variants_by_sku(self, sku: str) -> list[Any]:
        ids = sorted(self.store.variants.equal["sku"].get(sku.lower()))
        if not ids:
            raise BadRequest(f"no variant with sku {sku!r}")
        return [self.store.variants.get(i) for i in ids]

    def _levels(self, variant: Any) -> dict[str, dict[str, int]]:
        item_id = variant.inventory_item_id
        return {
            self.store.locations.get(loc).name: {
                name: self.store.levels[(item_id, loc)].quantity(name)
                for name in ("available", "committed", "on_hand")
            }
            for loc in self.store.levels_by_item.get(item_id, [])
        }

    def product_by_sku(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        with self.store.lock:
            variant = self._variants_by_sku(query["sku"])[0]
            product = self.store.products.get(variant.product_id)
            return {
                "id": gid("Product", product.id),
                "title": product.title,
                "handle": product.handle,
                "status": product.status,
                "description_html": product.description_html,
                "updated_at": product.updated_at.isoformat(),
                "images": [self.store.media.get(m).original_source for m in product.media_ids],
                "variants": [
                    {
                        "id": gid("ProductVariant", v.id),
                        "sku": v.sku,
                        "title": v.title,
                        "price": str(v.price),
                        "compare_at_price": None if v.compare_at_price is None else str(v.compare_at_price),
                        "inventory_item_id": gid("InventoryItem", v.inventory_item_id),
                        "inventory": self._levels(v),
                    }
                    for v in (self.store.variants.get(i) for i in product.variant_ids)
                ],
            }

    def inventory(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        with self.store.lock:
            return {"sku": query["sku"], "levels": self._levels(self._variants_by_sku(query["sku"])[0])}

    def inventory_history(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        """Every change of the SKU's levels since the emulator started (after seeding), oldest first: when,
        where, by how much, the level after, and what made it (``set_quantities``: a write through the API;
        the other names are the store's own steps: a sale, a cancellation, a refund's or a return's
        restock)."""
        with self.store.lock:
            items = {v.inventory_item_id for v in self._variants_by_sku(query["sku"])}
            names = {loc.id: loc.name for loc in self.store.locations.by_id.values()}
            return {"sku": query["sku"], "changes": [
                {"at": at.isoformat(), "location": names.get(location_id), "deltas": dict(deltas),
                 "available": available, "by": by}
                for at, item_id, location_id, deltas, available, by in self.store.inventory_history
                if item_id in items]}

    def list_variants(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        """Every variant, its product's status and its availability per location: a whole-store read that
        the GraphQL cost limit would spread over minutes (an audit's)."""
        with self.store.lock:
            return {"variants": [
                {"sku": v.sku, "status": self.store.products.get(v.product_id).status,
                 "available": {location: q["available"] for location, q in self._levels(v).items()}}
                for v in self.store.variants.by_id.values()]}

    def list_orders(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        limit = int(query.get("limit", "50"))
        with self.store.lock:
            latest = list(self.store.orders.by_id.values())[-limit:]
            return {"count": len(self.store.orders), "orders": [_order_summary(o) for o in reversed(latest)]}

    # -- customers -------------------------------------------------------------------------------------

    def register_customer(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        """A shopper registering an account in the shop: the same checks and customers/create as
        customerCreate, the account ENABLED. `{"email"?, "phone"?, "first_name"?, "last_name"?,
        "address"?: {...as for orders}, "tags"?, "note"?}`; 422 with customerCreate's userErrors."""
        spec = customers.CustomerSpec(state="ENABLED")
        for key in ("email", "phone", "first_name", "last_name", "note"):
            if key in body:
                setattr(spec, key, body[key])
        if "tags" in body:
            spec.tags = list(body["tags"] or [])
        if body.get("address"):
            first, last = body.get("first_name") or "", body.get("last_name") or ""
            spec.addresses = [_address(body["address"], first, last)]
        with self.store.transaction():
            customer = customers.create_customer(self.store, spec)
            return {
                "id": gid("Customer", customer.id),
                "email": customer.email,
                "phone": customer.phone,
                "first_name": customer.first_name,
                "last_name": customer.last_name,
                "state": customer.state,
                "created_at": customer.created_at.isoformat(),
            }

    # -- orders ----------------------------------------------------------------------------------------

    def place_order(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        with self.store.transaction():
            lines = [
                orders.LineRequest(
                    self._variants_by_sku(line["sku"])[0].id,
                    int(line["quantity"]),
                    Decimal(str(line["discount"])) if line.get("discount") else None,
                )
                for line in body["lines"]
            ]
            first, last = body.get("first_name", "Test"), body.get("last_name", "Buyer")
            request = orders.OrderRequest(
                email=body.get("email", "buyer@example.com"),
                first_name=first,
                last_name=last,
                # `"shipping_address": null` places an order with none (digital goods); a missing key
                # gives the buyer a default address.
                shipping_address=None if "shipping_address" in body and body["shipping_address"] is None
                else _address(body.get("shipping_address") or {}, first, last),
                billing_address=_address(body["billing_address"], first, last) if body.get("billing_address") else None,
                lines=lines,
                discount_code=body.get("discount_code"),
                discount_percentage=Decimal(str(body["discount_percentage"]))
                if body.get("discount_percentage")
                else None,
                shipping_price=Decimal(str(body.get("shipping_price", "0.00"))),
                tax_rate=Decimal(str(body.get("tax_rate", "0"))),
                note=body.get("note"),
                tags=body.get("tags") or [],
                phone=body.get("phone"),
                tax_lines=_tax_lines(body["tax_lines"]) if body.get("tax_lines") is not None else None,
                taxes_included=bool(body.get("taxes_included", False)),
                shipping_discount=_shipping_discount(body["shipping_discount"])
                if body.get("shipping_discount")
                else None,
            )
            return _order_summary(orders.place_order(self.store, request))

    def _order(self, order_id: str) -> Order:
        order = self.store.orders.get(int(order_id))
        if order is None:
            raise BadRequest(f"no order {order_id}")
        return order

    def cancel_order(self, order_id: str, query: dict[str, str], body: Any) -> dict[str, Any]:
        with self.store.transaction():
            order = self._order(order_id)
            orders.cancel_order(
                self.store, order, body.get("reason", "CUSTOMER"), bool(body.get("restock", True))
            )
            return _order_summary(order)

    def refund_order(self, order_id: str, query: dict[str, str], body: Any) -> dict[str, Any]:
        with self.store.transaction():
            order = self._order(order_id)
            by_sku = {li.sku: li.id for li in order.line_items}
            lines = [
                (
                    by_sku[line["sku"]]
                    if "sku" in line
                    else int(str(line["line_item_id"]).rsplit("/", 1)[-1]),
                    int(line["quantity"]),
                    bool(line.get("restock", True)),
                )
                for line in body.get("lines") or []
            ]
            refund = orders.refund_order(
                self.store, order, lines, bool(body.get("shipping")), body.get("note"),
                transaction_status=str(body.get("transaction", "SUCCESS")).upper(),
            )
            return {**_order_summary(order), "refund_id": gid("Refund", refund.id)}

    def edit_order(self, order_id: str, query: dict[str, str], body: Any) -> dict[str, Any]:
        """An order edit in one go (orderEditBegin, the staged changes, orderEditCommit): body
        ``{"add": [{"variant_id" | "sku", "quantity", "location_id"?, "allow_duplicates"?}],
        "set": [{"line_item_id", "quantity", "restock"?}], "notify_customer"?, "staff_note"?}``."""
        with self.store.transaction():
            self._order(order_id)
            request = edits.EditRequest(
                additions=[
                    (
                        self._variants_by_sku(entry["sku"])[0].id if "sku" in entry
                        else _numeric(entry["variant_id"]),
                        int(entry["quantity"]),
                        _numeric(entry["location_id"]) if entry.get("location_id") is not None else None,
                        bool(entry.get("allow_duplicates", False)),
                    )
                    for entry in body.get("add") or []
                ],
                quantities=[
                    (
                        _numeric(entry["line_item_id"]),
                        int(entry["quantity"]),
                        bool(entry.get("restock", True)),
                    )
                    for entry in body.get("set") or []
                ],
                notify_customer=bool(body.get("notify_customer", False)),
                staff_note=body.get("staff_note"),
            )
            order, agreement, added = edits.edit_order(self.store, int(order_id), request)
            return {
                **_order_summary(order),
                "agreement_id": gid("SalesAgreement", agreement.id) if agreement else None,
                "line_item_ids": [gid("LineItem", line_id) for line_id in added],
            }

    def return_order(self, order_id: str, query: dict[str, str], body: Any) -> dict[str, Any]:
        """A return in one go (returnCreate, returnProcess, reverseFulfillmentOrderDispose, returnClose):
        body ``{"lines": [{"line_item_id", "quantity"}], "exchange": [{"sku" | "variant_id", "quantity"}],
        "refund": true, "dispose": "RESTOCKED" | "NOT_RESTOCKED" | "MISSING" | "PROCESSING_REQUIRED" | null,
        "location_id": null, "close": true}``."""
        with self.store.transaction():
            self._order(order_id)
            if not isinstance(body.get("lines"), list) or not body["lines"]:
                raise BadRequest("lines must be a non-empty list of {\"line_item_id\", \"quantity\"}")
            if not isinstance(body.get("exchange") or [], list):
                raise BadRequest("exchange must be a list of {\"sku\" or \"variant_id\", \"quantity\"}")
            for entry in body.get("exchange") or []:
                if "sku" not in entry and "variant_id" not in entry:
                    raise BadRequest("each exchange item needs \"sku\" or \"variant_id\"")
            dispose = body.get("dispose", "RESTOCKED")
            if dispose is not None and dispose not in returns.DISPOSITION_TYPES:
                raise BadRequest(f"dispose must be one of {', '.join(returns.DISPOSITION_TYPES)} or null")
            request = returns.ReturnRequest(
                lines=[(_numeric(e["line_item_id"]), int(e["quantity"])) for e in body["lines"]],
                exchanges=[
                    (
                        self._variants_by_sku(e["sku"])[0].id if "sku" in e else _numeric(e["variant_id"]),
                        int(e.get("quantity", 1)),
                    )
                    for e in body.get("exchange") or []
                ],
                refund=bool(body.get("refund", True)),
                dispose=dispose,
                location_id=_numeric(body["location_id"]) if body.get("location_id") is not None else None,
                close=bool(body.get("close", True)),
            )
            outcome = returns.return_order(self.store, int(order_id), request)
            return {
                **_order_summary(outcome.order),
                "return_id": gid("Return", outcome.return_.id),
                "return_number": outcome.return_.id,
                "return_name": outcome.return_.name,
                "return_status": outcome.return_.status,
                "return_status_of_order": returns.order_return_status(outcome.order),
                "agreement_id": gid("SalesAgreement", outcome.agreement.id),
                "refund_id": gid("Refund", outcome.refund.id) if outcome.refund else None,
                "line_item_ids": [gid("LineItem", line_id) for line_id in outcome.line_item_ids],
            }

    def settle_refund(
        self, order_id: str, refund_id: str, query: dict[str, str], body: Any
    ) -> dict[str, Any]:
        """The gateway answers a refund's pending transaction: body ``{"status": "SUCCESS" | "FAILURE"}``."""
        with self.store.transaction():
            order = self._order(order_id)
            orders.settle_refund(self.store, order, int(refund_id), str(body.get("status", "")).upper())
            return _order_summary(order)

    # -- configuration ---------------------------------------------------------------------------------

    def set_plan(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        plan = Plan.named(body["plan"], body.get("restore_rate"))
        self.app.set_plan(plan)
        return {"plan": plan.name, "restore_rate": plan.restore_rate, "bucket_size": plan.bucket_size}

    def get_faults(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        return self.app.faults.describe()

    def set_faults(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        self.app.faults.configure(body)
        return self.app.faults.describe()

    def clear_faults(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        self.app.faults.configure({})
        return self.app.faults.describe()

    def install_app(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        """Another app's access token: same store, its own cost bucket (a monitor that must not draw from
        the integration's)."""
        return {"access_token": self.app.install_app()}

    # -- webhooks --------------------------------------------------------------------------------------

    def webhooks(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        """The subscriptions and the latest deliveries (`limit`, default 100), newest first."""
        with self.store.lock:
            ordered = sorted(self.store.webhook_subscriptions.by_id.values(), key=lambda s: s.id)
            subscriptions = [_subscription_summary(s) for s in ordered]
        return {"subscriptions": subscriptions, **self.app.webhooks.describe(int(query.get("limit", "100")))}

    def flush_webhooks(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        """Wait (up to `timeout` seconds, default 30) until no delivery is queued, held or in flight."""
        flushed = self.app.webhooks.flush(float(body.get("timeout", 30)))
        return {"flushed": flushed, **self.app.webhooks.describe(0)}

    def start_shopper(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        self.app.shopper.start(ShopperConfig(**body))
        return self.app.shopper.status()

    def stop_shopper(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        self.app.shopper.stop()
        return self.app.shopper.status()

    def step_shopper(self, query: dict[str, str], body: Any) -> dict[str, Any]:
        """Run `steps` shopper actions now, synchronously (deterministic, for tests)."""
        shopper = Shopper(self.store, ShopperConfig(**{k: v for k, v in body.items() if k != "steps"}))
        return {"actions": [shopper.step() for _ in range(int(body.get("steps", 1)))], "stats": shopper.stats}
