"""The shopper simulator: places realistic orders at a configured rate and sometimes cancels or refunds
one, through the same domain operations as everything else, so inventory moves as it does in Shopify
(available -> committed on order; back to available on cancellation with restock). A share of the
refunds (``pending_refund_rate``) waits for the payment gateway: it answers ``settle_after_steps`` steps
later, refusing ``refund_failure_rate`` of them. A share of new shoppers (``phone_only_rate``) check out
as guests with a phone number and no e-mail. A share of the steps (``edit_rate``) edits an open,
unfulfilled order as staff would with Shopify's order editing: adds a variant or takes a unit off a line. A
share (``return_rate``) returns one fulfilled unit with Shopify's Returns API, half the time exchanging it
for another sellable variant: refunded, restocked where it was fulfilled from, and closed."""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from sandbox.shopify.errors import UserErrors
from sandbox.shopify.state import edits, orders, returns
from sandbox.shopify.state.orders import LineRequest, OrderRequest
from sandbox.shopify.state.records import Address
from sandbox.shopify.state.store import Store

FIRST_NAMES = (
    "Ava",
    "Liam",
    "Mia",
    "Noah",
    "Emma",
    "Lucas",
    "Sofia",
    "Oliver",
    "Chloe",
    "Elias",
    "Zoe",
    "Omar",
)
LAST_NAMES = (
    "Martin",
    "Nguyen",
    "Schmidt",
    "Garcia",
    "Rossi",
    "Dubois",
    "Smith",
    "Kowalski",
    "Jensen",
    "Silva",
)
# (city, zip, province, country, tax rate): tax rates are illustrative, consistent within an order.
PLACES = (
    ("Portland", "97205", "OR", "US", Decimal("0")),
    ("Austin", "73301", "TX", "US", Decimal("0.0825")),
    ("Brooklyn", "11201", "NY", "US", Decimal("0.08875")),
    ("Toronto", "M5V 2T6", "ON", "CA", Decimal("0.13")),
    ("London", "SW1A 1AA", None, "GB", Decimal("0.20")),
    ("Berlin", "10115", None, "DE", Decimal("0.19")),
)
STREETS = ("Main St", "High Street", "Oak Avenue", "Market Street", "Elm Road", "Harbour Way")
DISCOUNT_CODES = (("WELCOME10", Decimal("10")), ("SPRING15", Decimal("15")))
CANCEL_REASONS = ("CUSTOMER", "INVENTORY", "FRAUD", "DECLINED", "OTHER")


@dataclass(slots=True)
class ShopperConfig:
    rate: float = 1.0  # actions per second
    seed: int = 1
    max_lines: int = 5
    returning_rate: float = 0.4
    discount_code_rate: float = 0.2
    line_discount_rate: float = 0.1
    cancel_rate: float = 0.05
    refund_rate: float = 0.05
    pending_refund_rate: float = 0.0  # of the refunds: their transaction pending until the gateway answers
    settle_after_steps: int = 10
    refund_failure_rate: float = 0.2  # of the pending ones: refused by the gateway
    phone_only_rate: float = 0.0  # of new shoppers: guests who give a phone number and no e-mail
    edit_rate: float = 0.0  # of the steps: an order edit (add a variant, or one unit less of a line)
    return_rate: float = 0.0  # of the steps: a return of one fulfilled unit (half of them exchanged)


class Shopper:
    def __init__(self, store: Store, config: ShopperConfig) -> None:
        self.store = store
        self.config = config
        self.rng = random.Random(config.seed)
        self.stats = {"orders": 0, "cancelled": 0, "refunded": 0, "skipped": 0, "refunds_settled": 0,
                      "refunds_refused": 0, "edited": 0, "returned": 0, "exchanged": 0}
        self.steps = 0
        self.pending: list[tuple[int, int, int]] = []  # (step made, order id, refund id), oldest first

    def step(self) -> dict[str, Any]:
        """One action of a shopper (or of staff on a recent order); returns what happened."""
        with self.store.transaction():
            self.steps += 1
            if self.pending and self.steps - self.pending[0][0] >= self.config.settle_after_steps:
                return self._settle(*self.pending.pop(0)[1:])
            roll = self.rng.random()
            recent = list(self.store.orders.by_id.values())[-20:]
            if recent and roll < self.config.cancel_rate:
                return self._cancel(self.rng.choice(recent))
            if recent and roll < self.config.cancel_rate + self.config.refund_rate:
                return self._refund(self.rng.choice(recent))
            if recent and roll < self.config.cancel_rate + self.config.refund_rate + self.config.edit_rate:
                return self._edit(recent)
            if recent and roll < (self.config.cancel_rate + self.config.refund_rate + self.config.edit_rate
                                  + self.config.return_rate):
                return self._return()
            request = self.random_order()
            if request is None:
                self.stats["skipped"] += 1
                return {"action": "skipped", "reason": "nothing in stock"}
            try:
                order = orders.place_order(self.store, request)
            except UserErrors:
                self.stats["skipped"] += 1
                return {"action": "skipped", "reason": "stock changed"}
            self.stats["orders"] += 1
            return {"action": "order", "order_id": order.id}

    def _cancel(self, order: Any) -> dict[str, Any]:
        try:
            orders.cancel_order(self.store, order, self.rng.choice(CANCEL_REASONS), restock=True)
        except UserErrors:
            return {"action": "skipped", "reason": "not cancellable"}
        self.stats["cancelled"] += 1
        return {"action": "cancel", "order_id": order.id}

    def _refund(self, order: Any) -> dict[str, Any]:
        lines = [line for line in order.line_items if line.current_quantity > 0]
        if order.cancelled_at is not None or not lines:
            return {"action": "skipped", "reason": "nothing to refund"}
        line = self.rng.choice(lines)
        pending = self.config.pending_refund_rate > 0 and self.rng.random() < self.config.pending_refund_rate
        refund = orders.refund_order(self.store, order, [(line.id, 1, True)], note="Customer return",
                                     transaction_status="PENDING" if pending else "SUCCESS")
        if pending and refund.transactions:
            self.pending.append((self.steps, order.id, refund.id))
        self.stats["refunded"] += 1
        return {"action": "refund", "order_id": order.id, "pending": pending}

    def _edit(self, recent: list[Any]) -> dict[str, Any]:
        """Edit an open order with nothing fulfilled: add a sellable variant (1-2 units) or take one unit
        off a line (restocked), through the same code as orderEdit* mutations."""
        editable = [
            o for o in recent
            if o.cancelled_at is None and o.closed_at is None
            and not any(line.fulfilled_quantity for line in o.line_items)
        ]
        if not editable:
            return {"action": "skipped", "reason": "nothing to edit"}
        order = self.rng.choice(editable)
        lowerable = [line for line in order.line_items if line.current_quantity > 0]
        request = edits.EditRequest(staff_note="Customer asked for a change")
        if self.rng.random() < 0.5 or not lowerable:
            on_order = {line.variant_id for line in order.line_items if line.current_quantity > 0}
            sellable = self._sellable(list(self.store.variants.by_id))
            candidates = [(v, units) for v, units in sellable if v.id not in on_order]
            if candidates:
                variant, units = candidates[0]
                request.additions.append((variant.id, self.rng.randint(1, min(2, units)), None, False))
        if not request.additions:
            if not lowerable:
                return {"action": "skipped", "reason": "nothing to edit"}
            line = self.rng.choice(lowerable)
            request.quantities.append((line.id, line.current_quantity - 1, True))
        try:
            edits.edit_order(self.store, order.id, request)
        except UserErrors:
            return {"action": "skipped", "reason": "edit refused"}
        self.stats["edited"] += 1
        return {"action": "edit", "order_id": order.id,
                "change": "added" if request.additions else "lowered"}

    def _return(self) -> dict[str, Any]:
        """Return one fulfilled unit of a recent order (the latest 200), half the time for another
        sellable variant: refunded, restocked at the location it was fulfilled from, closed."""
        candidates = []
        for order in list(self.store.orders.by_id.values())[-200:]:
            if order.cancelled_at is not None:
                continue
            for fulfillment in order.fulfillments:
                for index, (line_id, _units) in enumerate(fulfillment.line_items):
                    if returns.returnable_quantity(order, fulfillment, index) > 0:
                        candidates.append((order, line_id))
        if not candidates:
            return {"action": "skipped", "reason": "nothing to return"}
        order, line_id = self.rng.choice(candidates)
        request = returns.ReturnRequest([(line_id, 1)])
        if self.rng.random() < 0.5:
            variant_id = next(li.variant_id for li in order.line_items if li.id == line_id)
            others = [(v, units) for v, units in self._sellable(list(self.store.variants.by_id))
                      if v.id != variant_id]
            if others:
                request.exchanges.append((others[0][0].id, 1))
        try:
            outcome = returns.return_order(self.store, order.id, request)
        except UserErrors:
            return {"action": "skipped", "reason": "return refused"}
        self.stats["returned"] += 1
        self.stats["exchanged"] += bool(request.exchanges)
        return {"action": "return", "order_id": order.id, "return_id": outcome.return_.id,
                "exchanged": bool(request.exchanges)}

    def _settle(self, order_id: int, refund_id: int) -> dict[str, Any]:
        """The gateway's answer to a pending refund (skipped when someone answered it already)."""
        refused = self.rng.random() < self.config.refund_failure_rate
        try:
            orders.settle_refund(
                self.store, self.store.orders.get(order_id), refund_id, "FAILURE" if refused else "SUCCESS"
            )
        except UserErrors:
            return {"action": "skipped", "reason": "refund answered already"}
        self.stats["refunds_refused" if refused else "refunds_settled"] += 1
        return {"action": "refund_refused" if refused else "refund_settled", "order_id": order_id}

    def _sellable(self, variant_ids: list[int]) -> list[tuple[Any, int]]:
        """(variant, units the shopper may take) for a sample of variants that can be sold."""
        picks = []
        for variant_id in self.rng.sample(variant_ids, min(len(variant_ids), 25)):
            variant = self.store.variants.get(variant_id)
            product = self.store.products.get(variant.product_id)
            if product is None or product.status != "ACTIVE":
                continue
            item = self.store.items.get(variant.inventory_item_id)
            best = max(
                (
                    self.store.levels[(item.id, loc)].quantity("available")
                    for loc in self.store.levels_by_item.get(item.id, [])
                ),
                default=0,
            )
            if variant.inventory_policy == "CONTINUE" or not item.tracked:
                best = max(best, 3)
            if best > 0:
                picks.append((variant, best))
        return picks

    def random_order(self) -> OrderRequest | None:
        variant_ids = list(self.store.variants.by_id)
        if not variant_ids:
            return None
        sellable = self._sellable(variant_ids)
        if not sellable:
            return None
        rng, config = self.rng, self.config
        chosen = sellable[: rng.randint(1, min(config.max_lines, len(sellable)))]
        lines = [LineRequest(variant.id, rng.randint(1, min(3, units))) for variant, units in chosen]
        if rng.random() < config.line_discount_rate:
            lines[0].discount = Decimal(rng.choice(("2.00", "5.00")))
        # A returning shopper is a customer with an address to ship to (one the merchant made without
        # any, by customerCreate, does not come back by itself).
        customers = [c for c in self.store.customers.by_id.values() if c.default_address is not None]
        phone = None
        if customers and rng.random() < config.returning_rate:
            customer = rng.choice(customers)
            first, last, email = customer.first_name or "", customer.last_name or "", customer.email
            address, phone = customer.default_address, customer.phone
        else:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            email = f"{first}.{last}.{rng.randint(1, 99999)}@example.com".lower()
            city, zip_code, province, country, _rate = rng.choice(PLACES)
            address = Address(
                first, last, f"{rng.randint(1, 999)} {rng.choice(STREETS)}", city, zip_code, country, province
            )
            if config.phone_only_rate > 0 and rng.random() < config.phone_only_rate:
                email, address.phone = None, f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
        tax_rate = next((p[4] for p in PLACES if p[0] == address.city), Decimal("0"))
        subtotal = sum(
            (v.price * line.quantity for (v, _u), line in zip(chosen, lines, strict=True)), Decimal(0)
        )
        express = rng.random() < 0.2
        shipping = Decimal("14.99") if express else (Decimal("0.00") if subtotal >= 100 else Decimal("5.99"))
        code = rng.choice(DISCOUNT_CODES) if rng.random() < config.discount_code_rate else None
        return OrderRequest(
            email=email,
            phone=(phone or address.phone) if email is None else None,
            first_name=first,
            last_name=last,
            shipping_address=address,
            lines=lines,
            discount_code=code[0] if code else None,
            discount_percentage=code[1] if code else None,
            shipping_title="Express" if express else "Standard",
            shipping_price=shipping,
            tax_rate=tax_rate,
            tax_title="VAT" if address.country_code in ("GB", "DE") else "Sales Tax",
        )


class ShopperRunner:
    """Runs a Shopper in a background thread at its configured rate, until stopped."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._shopper: Shopper | None = None

    def start(self, config: ShopperConfig) -> None:
        self.stop()
        self._shopper = Shopper(self._store, config)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shopper", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        interval = 1.0 / max(self._shopper.config.rate, 0.001)
        while not self._stop.wait(interval):
            self._shopper.step()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def status(self) -> dict[str, Any]:
        running = self._thread is not None and self._thread.is_alive()
        shopper = self._shopper
        return {
            "running": running,
            "config": asdict(shopper.config) if shopper else None,
            "stats": dict(shopper.stats) if shopper else None,
        }
