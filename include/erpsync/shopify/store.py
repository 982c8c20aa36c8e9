"""The :class:`~erpsync.store.interface.Store` the flows use, implemented over Shopify's Admin GraphQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from erpsync.shopify import operations
from erpsync.shopify.client import ShopifyClient
from erpsync.shopify.customers import ShopifyCustomers
from erpsync.shopify.values import address, quoted, when, window_query
from erpsync.common.window import Window
from erpsync.store.errors import StoreRequestError
from erpsync.store.records import (
    CreatedFulfillment,
    CustomerAccount,
    CustomerDraft,
    CustomerOutcome,
    StoreCapabilities,
    FulfillmentOrder,
    InventoryChange,
    InventoryLevel,
    InventoryOutcome,
    OrderStamp,
    PriceChange,
    PriceOutcome,
    ProductDraft,
    REFUND_FAILED,
    REFUND_PENDING,
    REFUND_SETTLED,
    ProductOutcome,
    StoreCustomer,
    StoreEditLine,
    StoreExchangeLine,
    StoredVariant,
    StoreLocation,
    StoreOrder,
    StoreOrderEdit,
    StoreOrderLine,
    StoreRefund,
    StoreRefundLine,
    StoreReturn,
    StoreReturnLine,
    StoreVariant,
    WebhookSubscriptions,
)

MAX_INVENTORY_CHANGES = 250  # Shopify's limit per inventorySetQuantities call
MAX_VARIANTS_PER_CALL = 2048  # productVariantsBulkUpdate
MAX_VARIANTS_PER_PRODUCT = 100  # what SetProduct.graphql reads back in one page
VARIANT_PAGE = 200  # ~600 points per page: under the 1,000-point cap with room to spare
SKUS_PER_QUERY = 50  # keeps the search string short
ITEMS_PER_LEVEL_QUERY = 100  # at two locations per item; fewer when the store has more
ORDER_PAGE = 3  # an order with its lines and refunds requests ~250 points: 3 stay under the 1,000 cap
STAMP_PAGE = 250  # id and updatedAt: ~1 point per order
IDS_PER_QUERY = 50  # keeps the search string short
ORDERS_PER_FULFILLMENT_QUERY = 3  # 5 fulfillment orders x (50 line items + 5 fulfillments) each: under 1,000 points
_INDEX = re.compile(r"^\d+$")


# The topics on which the order flow has work (an order created, changed, cancelled, refunded): each
# delivery starts the store's order flow (see erpsync.store.events).
WEBHOOK_TOPICS = ("ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_CANCELLED", "REFUNDS_CREATE")


class ShopifyStore:
    def __init__(self, client: ShopifyClient, *, name: str, reference_uri: str = "gid://erpsync/SyncRun/0"):
        self.client = client
        self.name = name
        self.reference_uri = reference_uri
        self._customers = ShopifyCustomers(client)

    def usage(self) -> dict[str, float]:
        return self.client.stats.as_dict(self.client.bucket)

    @functools.cached_property
    def _capabilities(self) -> StoreCapabilities:
        return StoreCapabilities(kind="shopify", currency=self.shop_info()["currencyCode"], compare_and_swap=True,
                                 webhooks=True, customers=True,
                                 inventory_batch=MAX_INVENTORY_CHANGES, cost_model="query_cost")

    def capabilities(self) -> StoreCapabilities:
        """Shopify sets stock with compare-and-swap (``changeFromQuantity``), 250 changes a call, and meters
        by calculated query cost; it has customer accounts; the currency is the shop's (one call, then
        remembered)."""
        return self._capabilities

    def server_clock(self) -> dt.datetime | None:
        """The store's clock when it answered this thread's last call; one cheap call first when this
        thread made none."""
        if self.client.server_time is None:
            self.shop_info()
        return self.client.server_time

    def shop_info(self) -> dict[str, Any]:
        return self.client.execute(operations.load("ShopInfo"))["shop"]

    def locations(self) -> list[StoreLocation]:
        return [
            StoreLocation(id=node["id"], name=node["name"], active=node["isActive"])
            for page in self.client.paginate(operations.load("Locations"), {"first": 250}, "locations")
            for node in page
        ]

    def _location_count(self) -> int:
        if getattr(self, "_locations_seen", None) is None:
            self._locations_seen = len(self.locations())
        return self._locations_seen

    def iter_variants(self, *, skus: Sequence[str] | None = None) -> Iterator[list[StoreVariant]]:
        queries: list[str | None] = [None] if skus is None else [
            " OR ".join(f"sku:{quoted(sku)}" for sku in skus[start:start + SKUS_PER_QUERY])
            for start in range(0, len(skus), SKUS_PER_QUERY)
        ]
        for query in queries:
            for nodes in self.client.paginate(
                operations.load("ProductVariants"), {"first": VARIANT_PAGE, "query": query}, "productVariants"
            ):
                variants = [_variant(node) for node in nodes if node.get("sku")]
                if skus is not None:  # the search matches by prefix and case-insensitively: keep exact SKUs
                    wanted = set(skus)
                    variants = [v for v in variants if v.sku in wanted]
                if variants:
                    yield variants

    def inventory_levels(
        self, inventory_item_ids: Sequence[str], location_ids: Sequence[str]
    ) -> list[InventoryLevel]:
        wanted = set(location_ids)
        levels: list[InventoryLevel] = []
        # An item's levels come in the store's order of locations, whichever are wanted: ask for as many
        # as the store has (asking for len(wanted) returned the first ones only, e.g. not the second
        # location alone), and fewer items per query as locations grow (the query's cost).
        first = max(1, len(wanted), self._location_count())
        per_query = max(1, ITEMS_PER_LEVEL_QUERY * 2 // first)
        for start in range(0, len(inventory_item_ids), per_query):
            data = self.client.execute(operations.load("InventoryLevels"), {
                "ids": list(inventory_item_ids[start:start + per_query]),
                "locations": first,
            })
            for item in data["nodes"]:
                if not item:
                    continue
                for level in item["inventoryLevels"]["nodes"]:
                    if level["location"]["id"] in wanted:
                        available = next(q["quantity"] for q in level["quantities"] if q["name"] == "available")
                        levels.append(InventoryLevel(item["id"], level["location"]["id"], int(available)))
        return levels

    def set_inventory(self, changes: Sequence[InventoryChange], *, idempotency_key: str) -> list[InventoryOutcome]:
        """Set available quantities with compare-and-swap, all or nothing (Shopify's semantics): when one
        change is stale, none is applied; the stale ones are flagged for the caller to re-read."""
        if not changes:
            return []
        if len(changes) > MAX_INVENTORY_CHANGES:
            raise ValueError(f"at most {MAX_INVENTORY_CHANGES} inventory changes per call, got {len(changes)}")
        data = self.client.execute(
            operations.load("SetInventoryQuantities"),
            {
                "idempotencyKey": idempotency_key,
                "input": {
                    "name": "available",
                    "reason": "correction",
                    "referenceDocumentUri": self.reference_uri,
                    "quantities": [
                        {"inventoryItemId": c.inventory_item_id, "locationId": c.location_id,
                         "quantity": c.quantity, "changeFromQuantity": c.expected}
                        for c in changes
                    ],
                },
            },
            idempotent=True,  # the key makes a repeat harmless
        )
        errors = data["inventorySetQuantities"]["userErrors"]
        if not errors:
            group = data["inventorySetQuantities"].get("inventoryAdjustmentGroup") or {}
            confirmed_at = when(group.get("createdAt"))
            return [InventoryOutcome(change, applied=True, confirmed_at=confirmed_at) for change in changes]
        by_index = _errors_by_index(errors, "quantities")
        batch_error = "; ".join(f"{e.get('code')}: {e['message']}" for e in errors)
        return [
            InventoryOutcome(
                change, applied=False,
                stale=any(e.get("code") == "CHANGE_FROM_QUANTITY_STALE" for e in by_index.get(i, [])),
                error="; ".join(e["message"] for e in by_index[i]) if i in by_index
                else f"not applied: the call was refused ({batch_error})",
            )
            for i, change in enumerate(changes)
        ]

    def update_prices(self, product_id: str, changes: Sequence[PriceChange]) -> list[PriceOutcome]:
        """Set price and compare-at of variants of one product; a bad variant does not block the others."""
        if not changes:
            return []
        if len(changes) > MAX_VARIANTS_PER_CALL:
            raise ValueError(f"at most {MAX_VARIANTS_PER_CALL} variants per call, got {len(changes)}")
        data = self.client.execute(
            operations.load("UpdateVariantPrices"),
            {
                "productId": product_id,
                "variants": [
                    {"id": c.variant_id, "price": str(c.price),
                     "compareAtPrice": str(c.compare_at_price) if c.compare_at_price is not None else None}
                    for c in changes
                ],
            },
            idempotent=True,  # absolute values: writing them twice leaves the same state
        )
        errors = data["productVariantsBulkUpdate"]["userErrors"]
        by_index = _errors_by_index(errors, "variants")
        unplaced = [e for e in errors if _index_of(e, "variants") is None]
        return [
            PriceOutcome(
                change,
                applied=i not in by_index and not unplaced,
                error="; ".join(e["message"] for e in by_index.get(i, []) + unplaced) or None,
            )
            for i, change in enumerate(changes)
        ]


    def set_product(self, draft: ProductDraft) -> ProductOutcome:
        """Create or update one product with productSet; the store's ids of its variants come back."""
        if draft.variants is not None and len(draft.variants) > MAX_VARIANTS_PER_PRODUCT:
            return ProductOutcome(draft, None, error=f"{len(draft.variants)} variants: more than this "
                                  f"integration publishes per product ({MAX_VARIANTS_PER_PRODUCT})")
        product_input: dict[str, Any] = {
            "title": draft.title, "descriptionHtml": draft.description_html, "status": draft.status,
            "files": [{"originalSource": url, "contentType": "IMAGE"} for url in draft.image_urls],
        }
        if draft.variants is not None:
            product_input["productOptions"] = [
                {"name": draft.option_name, "values": [{"name": v.option} for v in draft.variants]}
            ]
            product_input["variants"] = [_variant_input(draft.option_name, v) for v in draft.variants]
        data = self.client.execute(
            operations.load("SetProduct"),
            {"identifier": {"id": draft.product_id} if draft.product_id else None, "input": product_input},
            # An update names the product and its variants by id: repeating it sets the same values. A
            # create is not repeated after it may have been applied: the caller finds the product by SKU.
            idempotent=draft.product_id is not None,
        )
        payload = data["productSet"]
        if payload["userErrors"]:
            return ProductOutcome(draft, None, error="; ".join(
                f"{e.get('code')}: {e['message']} ({'.'.join(e.get('field') or [])})" for e in payload["userErrors"]))
        product = payload["product"]
        return ProductOutcome(draft, product["id"], tuple(
            StoredVariant(node["sku"], node["id"], node["inventoryItem"]["id"])
            for node in product["variants"]["nodes"] if node.get("sku")
        ), confirmed_at=when(product.get("updatedAt")))


    def iter_orders(self, window: Window, *, order_ids: Sequence[str] | None = None
                    ) -> Iterator[list[StoreOrder]]:
        """Orders whose last change falls in ``window``, oldest change first, a page at a time; with
        ``order_ids``, those orders instead (``window`` is then ignored).

        Shopify stamps and compares dates at second precision: the start is rounded down and the end up to
        whole seconds, so an order stamped in the window's last second is read now, not one run later
        (the next window reads it again: duplicates at the edges are deduplicated downstream).
        """
        queries = [window_query(window)] if order_ids is None else _id_queries(order_ids)
        for query in queries:
            for nodes in self.client.paginate(operations.load("Orders"), {"first": ORDER_PAGE, "query": query},
                                              "orders"):
                returned = [node["id"] for node in nodes
                            if node.get("returnStatus") not in (None, "NO_RETURN")]
                agreements = self._agreements([node["id"] for node in nodes if node.get("edited")] + returned)
                prices = {node["id"]: ({line["id"]: _money(line["originalUnitPriceSet"])
                                        for line in node["lineItems"]["nodes"]},
                                       bool(node.get("taxesIncluded")))
                          for node in nodes}
                returns = {order_id: order_returns(agreements.get(order_id, []), self._returns(order_id),
                                                   *prices[order_id])
                           for order_id in returned if order_id in agreements}
                yield [dataclasses.replace(order, edits=order_edits(agreements.get(order.order_id, [])),
                                           returns=returns.get(order.order_id, ()))
                       for order in map(_order, nodes)]

    def _returns(self, order_id: str) -> list[dict[str, Any]]:
        """The order's returns: what each still has to process and what became of its goods."""
        found: list[dict[str, Any]] = []
        after = None
        while True:
            order = self.client.execute(operations.load("OrderReturns"),
                                        {"id": order_id, "after": after})["order"]
            if not order:
                return found  # gone since the page was read: the next read of the order says what happened
            found.extend(order["returns"]["nodes"])
            if not order["returns"]["pageInfo"]["hasNextPage"]:
                return found
            after = order["returns"]["pageInfo"]["endCursor"]

    def _agreements(self, order_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """The sales agreements of orders (all their pages): the order's own, its edits', its returns'."""
        found: dict[str, list[dict[str, Any]]] = {}
        for order_id in dict.fromkeys(order_ids):
            agreements: list[dict[str, Any]] = []
            after = None
            while True:
                order = self.client.execute(operations.load("OrderAgreements"),
                                            {"id": order_id, "after": after})["order"]
                if not order:
                    break  # gone since the page was read: the next read of the order says what happened
                agreements.extend(order["agreements"]["nodes"])
                page = order["agreements"]["pageInfo"]
                if not page["hasNextPage"]:
                    found[order_id] = agreements
                    break
                after = page["endCursor"]
        return found

    def order_stamps(self, window: Window) -> Iterator[list[OrderStamp]]:
        for nodes in self.client.paginate(operations.load("OrderStamps"),
                                          {"first": STAMP_PAGE, "query": window_query(window)}, "orders"):
            yield [OrderStamp(node["id"], when(node["updatedAt"]), node["name"], node.get("cancelledAt") is not None)
                   for node in nodes]

    def order_versions(self, order_ids: Sequence[str]) -> list[OrderStamp]:
        found: list[OrderStamp] = []
        for query in _id_queries(order_ids):
            for nodes in self.client.paginate(operations.load("OrderVersions"),
                                              {"first": IDS_PER_QUERY, "query": query}, "orders"):
                found.extend(OrderStamp(node["id"], when(node["updatedAt"]), node["name"],
                                        node.get("cancelledAt") is not None, order_version(node)) for node in nodes)
        return found

    def fulfillment_orders(self, order_ids: Sequence[str]) -> dict[str, list[FulfillmentOrder]]:
        found: dict[str, list[FulfillmentOrder]] = {}
        for start in range(0, len(order_ids), ORDERS_PER_FULFILLMENT_QUERY):
            data = self.client.execute(operations.load("FulfillmentOrders"),
                                       {"ids": list(order_ids[start:start + ORDERS_PER_FULFILLMENT_QUERY])})
            for order in data["nodes"]:
                if order:
                    found[order["id"]] = [
                        FulfillmentOrder(fo["id"], fo["status"], tuple(f["id"] for f in fo["fulfillments"]["nodes"]),
                                         ((fo.get("assignedLocation") or {}).get("location") or {}).get("id"),
                                         tuple((line["id"], line["remainingQuantity"])
                                               for line in fo["lineItems"]["nodes"]),
                                         tuple((line["id"], line["sku"]) for line in fo["lineItems"]["nodes"]),
                                         # A refund or edit takes units off both quantities.
                                         tuple((line["id"], line["totalQuantity"] - line["remainingQuantity"])
                                               for line in fo["lineItems"]["nodes"]))
                        for fo in order["fulfillmentOrders"]["nodes"]
                    ]
        return found

    def subscribe_webhooks(self, uri: str) -> WebhookSubscriptions:
        """Make sure each of :data:`WEBHOOK_TOPICS` is delivered to ``uri`` as JSON: the subscriptions
        there are kept, a missing one is created (Shopify removes a subscription whose deliveries keep
        failing; reconciliation calls this again). Subscriptions of other addresses are left alone."""
        existing = {node["topic"] for page in self.client.paginate(
            operations.load("WebhookSubscriptions"), {"first": 100, "topics": list(WEBHOOK_TOPICS)},
            "webhookSubscriptions") for node in page if node.get("uri") == uri}
        created, failed = [], []
        for topic in WEBHOOK_TOPICS:
            if topic in existing:
                continue
            payload = self.client.execute(operations.load("CreateWebhookSubscription"), {
                "topic": topic, "subscription": {"uri": uri, "format": "JSON"}})["webhookSubscriptionCreate"]
            if payload["userErrors"]:
                failed.append((topic, "; ".join(e["message"] for e in payload["userErrors"])))
            else:
                created.append(topic)
        return WebhookSubscriptions(kept=tuple(t for t in WEBHOOK_TOPICS if t in existing),
                                    created=tuple(created), failed=tuple(failed))

    def create_fulfillment(self, fulfillment_orders: Sequence[FulfillmentOrder], *, tracking_number: str | None,
                           tracking_company: str | None, units: Mapping[str, int] | None = None
                           ) -> CreatedFulfillment:
        """Fulfil fulfillment orders of one order at one location (Shopify's rule for a fulfillment):
        ``units`` of their line items, or all that remains of each; returns the fulfillment's id and the
        order's ``updatedAt`` after it. Not repeated after it may have been applied: the caller reads the
        fulfillment orders again before asking again."""
        tracking = {"number": tracking_number, "company": tracking_company} if tracking_number else None
        wanted = [(fo, list(fo.fulfillable) if units is None else
                   [(line_id, units[line_id]) for line_id, _ in fo.remaining if units.get(line_id, 0) > 0])
                  for fo in fulfillment_orders]
        data = self.client.execute(operations.load("CreateFulfillment"), {"fulfillment": {
            "lineItemsByFulfillmentOrder": [
                {"fulfillmentOrderId": fo.fulfillment_order_id,
                 "fulfillmentOrderLineItems": [{"id": line_id, "quantity": quantity} for line_id, quantity in lines]}
                for fo, lines in wanted if lines],
            "trackingInfo": tracking, "notifyCustomer": False,
        }}, idempotent=False)
        payload = data["fulfillmentCreate"]
        if payload["userErrors"]:
            raise StoreRequestError("fulfillmentCreate: " + "; ".join(e["message"] for e in payload["userErrors"]))
        fulfillment = payload["fulfillment"]
        return CreatedFulfillment(fulfillment["id"], when((fulfillment.get("order") or {}).get("updatedAt")))

    # -- customer accounts (erpsync.shopify.customers) ---------------------------------------------------

    def iter_customers(self, window: Window) -> Iterator[list[CustomerAccount]]:
        return self._customers.iter_customers(window)

    def customers_by_contact(self, emails: Sequence[str], phones: Sequence[str]) -> list[CustomerAccount]:
        return self._customers.customers_by_contact(emails, phones)

    def create_customer(self, draft: CustomerDraft) -> CustomerOutcome:
        return self._customers.create_customer(draft)


def _money(bag: dict[str, Any] | None) -> Decimal:
    return Decimal(bag["shopMoney"]["amount"]) if bag else Decimal(0)


def _id_queries(order_ids: Sequence[str]) -> list[str]:
    """Search strings for these orders, ``IDS_PER_QUERY`` a string."""
    return [" OR ".join(f"id:{order_id.rsplit('/', 1)[-1]}" for order_id in order_ids[start:start + IDS_PER_QUERY])
            for start in range(0, len(order_ids), IDS_PER_QUERY)]


def order_version(node: dict[str, Any]) -> str:
    """An order's version (:attr:`StoreOrder.version`) from the fields Orders and OrderVersions both read."""
    return "|".join(str(part) for part in (
        node.get("cancelledAt") or "", bool(node.get("edited")), node.get("returnStatus") or "",
        node.get("displayFinancialStatus") or "", node.get("currentSubtotalLineItemsQuantity"),
        _money(node.get("totalRefundedSet")), _money(node.get("currentTotalPriceSet"))))


def _order(node: dict[str, Any]) -> StoreOrder:
    customer = node.get("customer") or {}
    email = (customer.get("defaultEmailAddress") or {}).get("emailAddress")  # Customer.email is deprecated
    return StoreOrder(
        order_id=node["id"], name=node["name"], created_at=when(node["createdAt"]),
        updated_at=when(node["updatedAt"]), cancelled_at=when(node.get("cancelledAt")),
        cancel_reason=node.get("cancelReason"), currency=node["currencyCode"],
        financial_status=node.get("displayFinancialStatus"), fulfillment_status=node.get("displayFulfillmentStatus"),
        customer=StoreCustomer(customer.get("id"), email or node.get("email"),
                               customer.get("firstName"), customer.get("lastName")),
        shipping_address=address(node.get("shippingAddress")), billing_address=address(node.get("billingAddress")),
        subtotal=_money(node["subtotalPriceSet"]), discount_total=_money(node["totalDiscountsSet"]),
        shipping_total=_money(node["totalShippingPriceSet"]), tax_total=_money(node["totalTaxSet"]),
        total=_money(node["totalPriceSet"]), refunded_total=_money(node.get("totalRefundedSet")),
        taxes_included=bool(node.get("taxesIncluded")), version=order_version(node),
        lines=tuple(
            StoreOrderLine(line["id"], line.get("sku"), line.get("title"), int(line["quantity"]),
                           int(line["currentQuantity"]), _money(line["originalUnitPriceSet"]),
                           _money(line["totalDiscountSet"]), bool(line.get("requiresShipping", True)))
            for line in node["lineItems"]["nodes"]
        ),
        refunds=tuple(
            StoreRefund(refund["id"], when(refund["createdAt"]), _money(refund["totalRefundedSet"]), tuple(
                StoreRefundLine(item["lineItem"]["id"], int(item["quantity"]), item.get("restockType") != "NO_RESTOCK",
                                _money(item["subtotalSet"]))
                for item in refund["refundLineItems"]["nodes"]
            ), _refund_money(refund), ((refund.get("return") or {}).get("id")))
            for refund in node.get("refunds") or ()
        ),
        locations=tuple(dict.fromkeys(
            name for fo in (node.get("fulfillmentOrders") or {}).get("nodes") or ()
            if (name := (((fo.get("assignedLocation") or {}).get("location")) or {}).get("name"))
        )),
    )


def order_edits(agreements: list[dict[str, Any]]) -> tuple[StoreOrderEdit, ...]:
    """The order's edits from its sales agreements: per edit, the units each line item gained or lost,
    and whether the edit put the line on the order (no earlier agreement sold any of it)."""
    seen: set[str] = set()
    edits = []
    for agreement in sorted(agreements, key=_agreement_order):
        units: dict[str, int] = {}
        money: dict[str, list[Decimal]] = {}
        for sale in agreement["sales"]["nodes"]:
            line_id = (sale.get("lineItem") or {}).get("id")
            moves = sale["lineType"] == "PRODUCT" and sale["actionType"] in {"ORDER", "RETURN"}
            if line_id is None or not moves:
                continue  # shipping, taxes, an UPDATE of a price: no units move
            sign = 1 if sale["actionType"] == "ORDER" else -1
            units[line_id] = units.get(line_id, 0) + sign * int(sale.get("quantity") or 0)
            # A removal's amounts come negative: what it takes off the order's discounts and taxes.
            discount, tax = money.setdefault(line_id, [Decimal(0), Decimal(0)])
            money[line_id] = [discount + _money(sale.get("totalDiscountAmountBeforeTaxes")),
                              tax + _money(sale.get("totalTaxAmount"))]
        if agreement["reason"] == "ORDER_EDIT" and not agreement.get("return"):
            edits.append(StoreOrderEdit(agreement["id"], when(agreement["happenedAt"]), tuple(
                StoreEditLine(line_id, quantity, added=line_id not in seen, discount=money[line_id][0],
                              tax=money[line_id][1])
                for line_id, quantity in units.items() if quantity)))
        seen.update(units)
    return tuple(edits)


def order_returns(agreements: list[dict[str, Any]], returns: list[dict[str, Any]],
                  prices: dict[str, Decimal] | None = None,
                  taxes_included: bool = False) -> tuple[StoreReturn, ...]:
    """The order's processed returns: per return, the units each line gave back and the lines given in
    exchange (from the sales of its ReturnAgreements, with the discount and tax they move), where the
    store restocked the returned units (its reverse fulfillment orders' dispositions), and whether it is
    settled (nothing left to process or dispose of, or closed). A return not processed yet moved nothing.

    The discount a sale moves is what makes its units at the line's unit price (``prices``) come to the
    sale's own amount (``totalAmount``, before its tax unless ``taxes_included``): the store takes that
    amount off (or puts it on) the order, and its discount, rounded on its own, can be a cent away."""
    found = []
    for ret in returns:
        processings = sorted((a for a in agreements if (a.get("return") or {}).get("id") == ret["id"]),
                             key=_agreement_order)
        if not processings or ret["status"] in ("CANCELED", "DECLINED"):
            continue
        moved: dict[str, list] = {}  # line id -> [units, discount, tax], returned (negative) or exchanged
        for agreement in processings:
            for sale in agreement["sales"]["nodes"]:
                line_id = (sale.get("lineItem") or {}).get("id")
                moves = sale["lineType"] == "PRODUCT" and sale["actionType"] in {"ORDER", "RETURN"}
                if line_id is None or not moves:
                    continue
                signed = (1 if sale["actionType"] == "ORDER" else -1) * abs(int(sale.get("quantity") or 0))
                tax_amount = _money(sale.get("totalTaxAmount"))
                if (prices or {}).get(line_id) is not None and sale.get("totalAmount"):
                    before_tax = _money(sale["totalAmount"]) - (Decimal(0) if taxes_included else tax_amount)
                    discount_amount = signed * prices[line_id] - before_tax
                else:
                    discount_amount = _money(sale.get("totalDiscountAmountBeforeTaxes"))
                units, discount, tax = moved.setdefault(line_id, [0, Decimal(0), Decimal(0)])
                moved[line_id] = [units + signed, discount + discount_amount, tax + tax_amount]
        restocked: dict[str, dict[str, int]] = {}
        disposed = True
        for rfo in ret["reverseFulfillmentOrders"]["nodes"]:
            for item in rfo["lineItems"]["nodes"]:
                line_id = ((item.get("fulfillmentLineItem") or {}).get("lineItem") or {}).get("id")
                dispositions = item.get("dispositions") or ()
                disposed &= sum(int(d["quantity"]) for d in dispositions) >= int(item["totalQuantity"])
                for d in dispositions:
                    if d["type"] == "RESTOCKED" and line_id:
                        where = restocked.setdefault(line_id, {})
                        name = (d.get("location") or {}).get("name") or ""
                        where[name] = where.get(name, 0) + int(d["quantity"])
        unprocessed = any(int(item.get("unprocessedQuantity") or 0)
                          for kind in ("returnLineItems", "exchangeLineItems") for item in ret[kind]["nodes"])
        found.append(StoreReturn(
            ret["id"], when(processings[-1]["happenedAt"]),
            returned=tuple(StoreReturnLine(line_id, -units, discount, tax,
                                           _restocked(restocked.get(line_id), -units))
                           for line_id, (units, discount, tax) in moved.items() if units < 0),
            exchanged=tuple(StoreExchangeLine(line_id, units, discount, tax)
                            for line_id, (units, discount, tax) in moved.items() if units > 0),
            settled=ret["status"] == "CLOSED" or (disposed and not unprocessed)))
    return tuple(found)


def _agreement_order(agreement: dict[str, Any]) -> tuple:
    """Agreements in the order they happened: by time (whole seconds), the order's own placement first
    within its second, then by id as a number (as text, "SalesAgreement/10" would sort before ".../9")."""
    number = agreement["id"].rsplit("/", 1)[-1]
    return (when(agreement["happenedAt"]), agreement.get("reason") != "ORDER",
            int(number) if number.isdigit() else 0, agreement["id"])


def _restocked(where: dict[str, int] | None, units: int) -> tuple[tuple[str, int], ...]:
    """Where the store put back ``units`` returned units: most at the first location, at most ``units``."""
    found = []
    for name, count in sorted((where or {}).items(), key=lambda item: (-item[1], item[0])):
        if units <= 0:
            break
        found.append((name, min(count, units)))
        units -= count
    return tuple(found)


def _refund_money(refund: dict[str, Any]) -> str:
    """Whether the refund's money moved, from its transactions: any still waiting for the gateway
    (PENDING, AWAITING_RESPONSE, UNKNOWN) makes it pending; none that succeeded and one refused (FAILURE,
    ERROR) makes it failed; otherwise (all succeeded, or no money to give back) settled."""
    statuses = {t["status"] for t in ((refund.get("transactions") or {}).get("nodes") or ())}
    if statuses & {"PENDING", "AWAITING_RESPONSE", "UNKNOWN"}:
        return REFUND_PENDING
    if statuses and "SUCCESS" not in statuses:
        return REFUND_FAILED
    return REFUND_SETTLED


def _variant_input(option_name: str, variant) -> dict[str, Any]:
    data: dict[str, Any] = {
        "optionValues": [{"optionName": option_name, "name": variant.option}],
        "sku": variant.sku,
        "price": str(variant.price),
        "compareAtPrice": str(variant.compare_at_price) if variant.compare_at_price is not None else None,
        "inventoryPolicy": "DENY",  # never sell what is not there
        "inventoryItem": {"tracked": True},
    }
    if variant.variant_id:
        data["id"] = variant.variant_id
    elif variant.inventory:
        data["inventoryQuantities"] = [
            {"locationId": location, "name": "available", "quantity": quantity}
            for location, quantity in variant.inventory
        ]
    return data


def _variant(node: dict[str, Any]) -> StoreVariant:
    compare_at = node.get("compareAtPrice")
    return StoreVariant(
        sku=node["sku"],
        variant_id=node["id"],
        product_id=node["product"]["id"],
        inventory_item_id=node["inventoryItem"]["id"],
        price=Decimal(node["price"]),
        compare_at_price=Decimal(compare_at) if compare_at is not None else None,
        product_status=node["product"]["status"],
        updated_at=dt.datetime.fromisoformat(node["updatedAt"].replace("Z", "+00:00")),
    )


def _index_of(error: dict[str, Any], collection: str) -> int | None:
    """The list index a userError's ``field`` path points at, e.g. ["input", "quantities", "3", ...]."""
    field = error.get("field") or []
    for name, index in zip(field, field[1:]):
        if name == collection and _INDEX.match(str(index)):
            return int(index)
    return None


def _errors_by_index(errors: list[dict[str, Any]], collection: str) -> dict[int, list[dict[str, Any]]]:
    by_index: dict[int, list[dict[str, Any]]] = {}
    for error in errors:
        index = _index_of(error, collection)
        if index is not None:
            by_index.setdefault(index, []).append(error)
    return by_index
