"""The shopper: guests buying through the Shop API at a configured rate, and now and then staff cancelling
or refunding a recent order through the Admin API, as on a real Vendure store.

Each guest is a new Shop API session (its bearer token keeps its cart): addItemToOrder,
setCustomerForOrder, setOrderShippingAddress, setOrderShippingMethod, transitionOrderToState
ArrangingPayment, addPaymentToOrder with the dummy payment method (settled at once). Vendure refuses to
sell beyond saleable stock (InsufficientStockError): that is a rejected attempt, counted, not a failure.

`Shopper.step()` is one action (what tests call); `ShopperRunner` repeats it in a background thread at
`rate` actions per second until stopped.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from sandbox.vendure.client import VendureApi
from sandbox.vendure.errors import ErrorResult
from sandbox.vendure.seed import PAYMENT_METHOD

FIRST_NAMES = ("Ava", "Liam", "Mia", "Noah", "Emma", "Lucas", "Sofia", "Oliver", "Chloe", "Omar")
LAST_NAMES = ("Martin", "Nguyen", "Schmidt", "Garcia", "Rossi", "Dubois", "Smith", "Jensen", "Silva")
PLACES = (
    ("Portland", "97205", "OR", "US"),
    ("Austin", "73301", "TX", "US"),
    ("Toronto", "M5V 2T6", "ON", "CA"),
    ("London", "SW1A 1AA", None, "GB"),
    ("Berlin", "10115", None, "DE"),
)
STREETS = ("Main St", "High Street", "Oak Avenue", "Market Street", "Harbour Way")
VARIANT_PAGE = 100  # variants a guest looks at; one random page of the catalog

ORDER_FIELDS = (
    "id code state active totalWithTax shippingWithTax lines { id quantity productVariant { id sku } }"
)
ERROR_FIELDS = "... on ErrorResult { errorCode message }"
ADD_ITEM = f"""mutation($variant: ID!, $quantity: Int!) {{ addItemToOrder(productVariantId: $variant,
  quantity: $quantity) {{ ... on Order {{ {ORDER_FIELDS} }} {ERROR_FIELDS}
  ... on InsufficientStockError {{ quantityAvailable }} }} }}"""
SET_CUSTOMER = f"""mutation($input: CreateCustomerInput!) {{ setCustomerForOrder(input: $input) {{
  ... on Order {{ id }} {ERROR_FIELDS} }} }}"""
SET_ADDRESS = f"""mutation($input: CreateAddressInput!) {{ setOrderShippingAddress(input: $input) {{
  ... on Order {{ id }} {ERROR_FIELDS} }} }}"""
SET_SHIPPING = f"""mutation($ids: [ID!]!) {{ setOrderShippingMethod(shippingMethodId: $ids) {{
  ... on Order {{ id }} {ERROR_FIELDS} }} }}"""
TRANSITION = f"""mutation($state: String!) {{ transitionOrderToState(state: $state) {{
  ... on Order {{ id state }} {ERROR_FIELDS} ... on OrderStateTransitionError {{ transitionError }} }} }}"""
ADD_PAYMENT = f"""mutation($input: PaymentInput!) {{ addPaymentToOrder(input: $input) {{
  ... on Order {{ {ORDER_FIELDS} }} {ERROR_FIELDS} }} }}"""
CANCEL = f"""mutation($input: CancelOrderInput!) {{ cancelOrder(input: $input) {{
  ... on Order {{ id state }} {ERROR_FIELDS} }} }}"""
REFUND = f"""mutation($input: RefundOrderInput!) {{ refundOrder(input: $input) {{
  ... on Refund {{ id state total }} {ERROR_FIELDS} }} }}"""
SETTLE_REFUND = f"""mutation($input: SettleRefundInput!) {{ settleRefund(input: $input) {{
  ... on Refund {{ id state total }} {ERROR_FIELDS} }} }}"""
ORDER = """query($id: ID!) { order(id: $id) { id code state totalWithTax
  payments { id state amount refunds { id state total } } lines { id quantity unitPriceWithTax } } }"""


@dataclass(frozen=True, slots=True)
class Guest:
    first_name: str
    last_name: str
    email: str
    street: str
    city: str
    postal_code: str
    province: str | None
    country_code: str


def guest_checkout(shop: VendureApi, lines: list[tuple[str, int]], guest: Guest) -> dict[str, Any]:
    """Buy `lines` ([(variant id, quantity)]) as a guest in the session `shop`; the settled order.
    ErrorResult when Vendure refuses (InsufficientStockError and the like): the cart is then left as is."""
    for variant, quantity in lines:
        shop.mutate(ADD_ITEM, {"variant": variant, "quantity": quantity})
    shop.mutate(
        SET_CUSTOMER,
        {"input": {"firstName": guest.first_name, "lastName": guest.last_name, "emailAddress": guest.email}},
    )
    shop.mutate(
        SET_ADDRESS,
        {
            "input": {
                "fullName": f"{guest.first_name} {guest.last_name}",
                "streetLine1": guest.street,
                "city": guest.city,
                # Vendure 3.7 takes a null province here, then fails addPaymentToOrder on its NOT NULL column
                # address.province when it saves the guest's address (see README.md): send "" instead.
                "postalCode": guest.postal_code,
                "province": guest.province or "",
                "countryCode": guest.country_code,
            }
        },
    )
    quotes = shop.data("{ eligibleShippingMethods { id price } }")["eligibleShippingMethods"]
    shop.mutate(SET_SHIPPING, {"ids": [quotes[0]["id"]]})
    shop.mutate(TRANSITION, {"state": "ArrangingPayment"})
    return shop.mutate(ADD_PAYMENT, {"input": {"method": PAYMENT_METHOD, "metadata": {}}})


def cancel_order(
    admin: VendureApi, order_id: str, reason: str = "Customer changed their mind"
) -> dict[str, Any]:
    """Cancel every line and the shipping; the order's allocated stock is released."""
    return admin.mutate(CANCEL, {"input": {"orderId": order_id, "cancelShipping": True, "reason": reason}})


def refund_order(
    admin: VendureApi, order_id: str, amount: int, reason: str = "Customer return"
) -> dict[str, Any]:
    """Refund `amount` (minor units) of the order's settled payment, and settle the refund as staff do
    once the money went back (the dummy handler leaves a refund Pending); the Refund."""
    order = admin.data(ORDER, {"id": order_id})["order"]
    payment = next(p for p in order["payments"] if p["state"] == "Settled")
    # shipping and adjustment are deprecated, yet without them Vendure 3.7 fails the refund with a
    # database error (its NOT NULL columns refund.shipping and refund.adjustment; see README.md).
    refund = admin.mutate(
        REFUND,
        {
            "input": {
                "paymentId": payment["id"],
                "amount": amount,
                "reason": reason,
                "shipping": 0,
                "adjustment": 0,
            }
        },
    )
    return admin.mutate(
        SETTLE_REFUND, {"input": {"id": refund["id"], "transactionId": f"refund-{refund['id']}"}}
    )


ADMIN_TRANSITION = f"""mutation($id: ID!, $state: String!) {{
  transitionOrderToState(id: $id, state: $state) {{
  ... on Order {{ id state }} {ERROR_FIELDS} ... on OrderStateTransitionError {{ transitionError }} }} }}"""
MODIFY = f"""mutation($input: ModifyOrderInput!) {{ modifyOrder(input: $input) {{
  ... on Order {{ id state totalWithTax modifications {{ id priceChange isSettled refund {{ id state total }}
  lines {{ orderLineId quantity }} }} }} {ERROR_FIELDS} }} }}"""
MANUAL_PAYMENT = f"""mutation($input: ManualPaymentInput!) {{ addManualPaymentToOrder(input: $input) {{
  ... on Order {{ id state }} {ERROR_FIELDS} }} }}"""


def modify_order(
    admin: VendureApi,
    order_id: str,
    *,
    adjust: dict[str, int] | None = None,
    add: list[tuple[str, int]] | None = None,
    note: str = "Changed at the customer's request",
) -> dict[str, Any]:
    """Modify a placed order as a merchant does in Vendure's admin: move it to Modifying, set the lines
    of `adjust` ({order line id: new quantity}) and add `add` ([(variant id, units)]), then settle the
    difference and move it back to the state it was in. A higher price is paid by a manual payment (the
    order passes through ArrangingAdditionalPayment); a lower one is refunded from the order's settled
    payment in the same call (Vendure refuses a modification that lowers the price without one) and the
    refund is settled as staff do. The modification (id, priceChange, lines, refund)."""
    order = admin.data(ORDER, {"id": order_id})["order"]
    prior = order["state"]
    payment = next(p for p in order["payments"] if p["state"] == "Settled")
    admin.mutate(ADMIN_TRANSITION, {"id": order_id, "state": "Modifying"})
    change: dict[str, Any] = {"orderId": order_id, "note": note}
    if adjust:
        change["adjustOrderLines"] = [{"orderLineId": line, "quantity": q} for line, q in adjust.items()]
    if add:
        change["addItems"] = [{"productVariantId": variant, "quantity": q} for variant, q in add]
    preview = admin.mutate(MODIFY, {"input": {**change, "dryRun": True}})
    delta = preview["totalWithTax"] - order["totalWithTax"]
    if delta < 0:
        change["refund"] = {"paymentId": payment["id"], "amount": -delta, "reason": note}
    modified = admin.mutate(MODIFY, {"input": {**change, "dryRun": False}})
    modification = max(modified["modifications"], key=lambda m: int(m["id"]))
    if modification["priceChange"] > 0:
        admin.mutate(ADMIN_TRANSITION, {"id": order_id, "state": "ArrangingAdditionalPayment"})
        admin.mutate(MANUAL_PAYMENT, {"input": {"orderId": order_id, "method": PAYMENT_METHOD,
                                                "transactionId": f"modification-{modification['id']}",
                                                "metadata": {}}})
    refund = modification.get("refund")
    if refund and refund["state"] != "Settled":
        admin.mutate(SETTLE_REFUND,
                     {"input": {"id": refund["id"], "transactionId": f"refund-{refund['id']}"}})
    current = admin.data(ORDER, {"id": order_id})["order"]["state"]
    if current != prior:
        admin.mutate(ADMIN_TRANSITION, {"id": order_id, "state": prior})
    return modification


@dataclass(slots=True)
class ShopperConfig:
    rate: float = 1.0  # actions per second
    seed: int = 1
    max_lines: int = 3
    max_quantity: int = 3
    cancel_rate: float = 0.05
    refund_rate: float = 0.05


class Shopper:
    def __init__(self, shop_api_url: str, admin: VendureApi, config: ShopperConfig) -> None:
        self.shop_api_url = shop_api_url
        self.admin = admin
        self.config = config
        self.rng = random.Random(config.seed)
        self.orders: list[str] = []  # ids of the orders placed, newest last
        self.stats = {"orders": 0, "rejected": 0, "cancelled": 0, "refunded": 0, "skipped": 0}

    def step(self) -> dict[str, Any]:
        """One action: a guest's purchase, or staff cancelling or refunding a recent order."""
        roll, recent = self.rng.random(), self.orders[-20:]
        if recent and roll < self.config.cancel_rate:
            return self._staff("cancel", cancel_order, self.rng.choice(recent))
        if recent and roll < self.config.cancel_rate + self.config.refund_rate:
            return self._staff("refund", self._refund_one_unit, self.rng.choice(recent))
        lines = self._pick_lines()
        if not lines:
            self.stats["skipped"] += 1
            return {"action": "skipped", "reason": "nothing in stock"}
        try:
            order = guest_checkout(VendureApi(self.shop_api_url), lines, self._guest())
        except ErrorResult as refusal:
            self.stats["rejected"] += 1
            return {"action": "rejected", "reason": refusal.error_code}
        self.orders.append(order["id"])
        self.stats["orders"] += 1
        return {"action": "order", "order_id": order["id"], "state": order["state"]}

    def _staff(self, action: str, run: Any, order_id: str) -> dict[str, Any]:
        try:
            run(self.admin, order_id)
        except ErrorResult as refusal:  # already cancelled, refunded in full, ...
            self.stats["skipped"] += 1
            return {"action": "skipped", "reason": refusal.error_code, "order_id": order_id}
        self.stats[{"cancel": "cancelled", "refund": "refunded"}[action]] += 1
        return {"action": action, "order_id": order_id}

    def _refund_one_unit(self, admin: VendureApi, order_id: str) -> dict[str, Any]:
        order = admin.data(ORDER, {"id": order_id})["order"]
        line = self.rng.choice(order["lines"]) if order["lines"] else None
        return refund_order(admin, order_id, line["unitPriceWithTax"] if line else 1)

    def _pick_lines(self) -> list[tuple[str, int]]:
        """Up to max_lines variants that Vendure says are in stock, with a quantity each; Vendure's own
        stock check decides at checkout (another guest may have bought them meanwhile)."""
        total = self._variants(0, 1)["totalItems"]
        page = self._variants(self.rng.randrange(0, max(1, total - VARIANT_PAGE + 1)), VARIANT_PAGE)
        in_stock = [v["id"] for v in page["items"] if v["stockLevel"] != "OUT_OF_STOCK"]
        count = min(len(in_stock), self.rng.randint(1, self.config.max_lines))
        return [
            (variant, self.rng.randint(1, self.config.max_quantity))
            for variant in self.rng.sample(in_stock, count)
        ]

    def _variants(self, skip: int, take: int) -> dict[str, Any]:
        return self.admin.data(
            "query($skip: Int!, $take: Int!) { productVariants(options: {skip: $skip, take: $take,"
            " filter: {enabled: {eq: true}}}) { totalItems items { id stockLevel } } }",
            {"skip": skip, "take": take},
        )["productVariants"]

    def _guest(self) -> Guest:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        city, postal_code, province, country = rng.choice(PLACES)
        return Guest(
            first,
            last,
            f"{first}.{last}.{rng.randint(1, 99999)}@example.com".lower(),
            f"{rng.randint(1, 999)} {rng.choice(STREETS)}",
            city,
            postal_code,
            province,
            country,
        )


class ShopperRunner:
    """Runs a Shopper in a background thread at its configured rate until stopped."""

    def __init__(self, shop_api_url: str, admin: VendureApi) -> None:
        self.shop_api_url = shop_api_url
        self.admin = admin
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.shopper: Shopper | None = None
        self.errors = 0

    def start(self, config: ShopperConfig) -> None:
        self.stop()
        self.shopper = Shopper(self.shop_api_url, self.admin, config)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vendure-shopper", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self.shopper is not None
        interval = 1.0 / self.shopper.config.rate
        due = time.monotonic() + interval
        # A checkout is 8 requests (~0.2 s here): the rate is kept from start to start, so it is reached
        # up to about 5 actions per second.
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            due += interval
            try:
                self.shopper.step()
            except Exception:  # noqa: BLE001 - a server restart or timeout: count it, keep shopping
                self.errors += 1
            due = max(due, time.monotonic())  # behind schedule: do not burst to catch up

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def status(self) -> dict[str, Any]:
        running = self._thread is not None and self._thread.is_alive()
        shopper = self.shopper
        return {
            "running": running,
            "errors": self.errors,
            "config": asdict(shopper.config) if shopper else None,
            "stats": dict(shopper.stats) if shopper else None,
        }
