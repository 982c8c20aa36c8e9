"""The records the store keeps. Attribute names are the snake_case of Shopify's field names, so that the
default resolver can answer most fields without code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

# Shopify's quantity names; on_hand is the sum of available and the unavailable states below.
UNAVAILABLE_STATES = ("committed", "reserved", "damaged", "quality_control", "safety_stock")
QUANTITY_NAMES = ("available", "on_hand", *UNAVAILABLE_STATES, "incoming")


@dataclass(slots=True)
class Location:
    KIND = "location"
    id: int
    name: str
    created_at: datetime
    updated_at: datetime
    address1: str = ""
    city: str = ""
    zip: str = ""
    country_code: str = "US"
    province_code: str | None = None
    is_active: bool = True

    @property
    def key(self) -> str:
        return str(self.id)


@dataclass(slots=True)
class Product:
    KIND = "product"
    id: int
    title: str
    handle: str
    created_at: datetime
    updated_at: datetime
    description_html: str = ""
    vendor: str = ""
    product_type: str = ""
    status: str = "ACTIVE"
    tags: list[str] = field(default_factory=list)
    # [(option name, [values])]; a product without options has Shopify's ("Title", ["Default Title"]).
    options: list[list[Any]] = field(default_factory=lambda: [["Title", ["Default Title"]]])
    variant_ids: list[int] = field(default_factory=list)
    media_ids: list[int] = field(default_factory=list)

    @property
    def key(self) -> str:
        return str(self.id)


@dataclass(slots=True)
class Media:
    KIND = "media"
    id: int
    product_id: int
    original_source: str
    created_at: datetime
    updated_at: datetime
    alt: str | None = None
    media_content_type: str = "IMAGE"

    @property
    def key(self) -> str:
        return str(self.id)


@dataclass(slots=True)
class Variant:
    KIND = "variant"
    id: int
    product_id: int
    inventory_item_id: int
    created_at: datetime
    updated_at: datetime
    sku: str | None = None
    price: Decimal = Decimal("0.00")
    compare_at_price: Decimal | None = None
    barcode: str | None = None
    position: int = 1
    inventory_policy: str = "DENY"
    taxable: bool = True
    option_values: list[str] = field(default_factory=lambda: ["Default Title"])
    media_ids: list[int] = field(default_factory=list)

    @property
    def key(self) -> str:
        return str(self.id)

    @property
    def title(self) -> str:
        return " / ".join(self.option_values)


@dataclass(slots=True)
class InventoryItem:
    KIND = "inventory_item"
    id: int
    variant_id: int
    created_at: datetime
    updated_at: datetime
    tracked: bool = True
    requires_shipping: bool = True
    unit_cost: Decimal | None = None

    @property
    def key(self) -> str:
        return str(self.id)


@dataclass(slots=True)
class InventoryLevel:
    KIND = "inventory_level"
    item_id: int
    location_id: int
    created_at: datetime
    updated_at: datetime
    quantities: dict[str, int] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.item_id}:{self.location_id}"

    def quantity(self, name: str) -> int:
        if name == "on_hand":
            return self.quantities.get("available", 0) + sum(
                self.quantities.get(s, 0) for s in UNAVAILABLE_STATES
            )
        return self.quantities.get(name, 0)


@dataclass(slots=True)
class InventoryChange:
    name: str
    delta: int
    quantity_after_change: int
    item_id: int
    location_id: int


@dataclass(slots=True)
class AdjustmentGroup:
    KIND = "adjustment_group"
    id: int
    reason: str
    created_at: datetime
    reference_document_uri: str | None
    changes: list[InventoryChange]

    @property
    def key(self) -> str:
        return str(self.id)


@dataclass(slots=True)
class IdempotencyRecord:
    """The outcome of the first request made with an idempotency key."""

    KIND = "idempotency"
    idem_key: str
    fingerprint: str
    created_at: datetime
    succeeded: bool
    result_id: int | None = None

    @property
    def key(self) -> str:
        return self.idem_key


@dataclass(slots=True)
class Address:
    first_name: str
    last_name: str
    address1: str
    city: str
    zip: str
    country_code: str
    province_code: str | None = None
    phone: str | None = None
    company: str | None = None
    address2: str | None = None


@dataclass(slots=True)
class Customer:
    KIND = "customer"
    id: int
    first_name: str | None
    last_name: str | None
    email: str | None  # None: a customer known by phone only
    created_at: datetime
    updated_at: datetime
    phone: str | None = None
    default_address: Address | None = None
    order_ids: list[int] = field(default_factory=list)
    # customerCreate/customerUpdate: the address book (the default address first), the note, the tags and
    # the account state (DISABLED: no account, as for a customer a checkout made; ENABLED: registered).
    addresses: list[Address] = field(default_factory=list)
    note: str | None = None
    tags: list[str] = field(default_factory=list)
    state: str = "DISABLED"

    @property
    def key(self) -> str:
        return str(self.id)


@dataclass(slots=True)
class TaxLine:
    title: str
    rate: float
    price: Decimal


@dataclass(slots=True)
class DiscountApplication:
    index: int
    kind: str  # "code" | "manual" | "automatic"
    title: str  # the code for code discounts
    value_type: str  # "percentage" | "fixed"
    value: Decimal
    allocation_method: str  # ACROSS | EACH
    target_selection: str  # ALL | ENTITLED | EXPLICIT
    target_type: str = "LINE_ITEM"
    description: str | None = None


@dataclass(slots=True)
class LineItem:
    id: int
    variant_id: int | None
    product_id: int | None
    title: str
    variant_title: str | None
    sku: str | None
    quantity: int
    unit_price: Decimal
    taxable: bool
    requires_shipping: bool
    location_id: int
    discount_allocations: list[list[Any]] = field(default_factory=list)  # [[application index, amount]]
    tax_lines: list[TaxLine] = field(default_factory=list)
    refunded_quantity: int = 0
    fulfilled_quantity: int = 0
    removed_quantity: int = 0  # units taken off by order edits (still counted in `quantity`, as in Shopify)
    returned_quantity: int = 0  # units taken back by processed returns (returnProcess)

    @property
    def current_quantity(self) -> int:
        """Shopify's currentQuantity: ordered units less refunded, removed and returned ones."""
        return self.quantity - self.refunded_quantity - self.removed_quantity - self.returned_quantity


@dataclass(slots=True)
class ShippingLine:
    id: int
    title: str
    code: str
    price: Decimal  # before discounts; with its tax when the order's taxes are included
    tax_lines: list[TaxLine] = field(default_factory=list)  # on the discounted price
    discount_allocations: list[list[Any]] = field(default_factory=list)  # [[application index, amount]]


@dataclass(slots=True)
class RefundLineItem:
    id: int
    line_item_id: int
    quantity: int
    restock_type: str  # CANCEL | RETURN | NO_RESTOCK
    location_id: int | None
    subtotal: Decimal
    total_tax: Decimal


@dataclass(slots=True)
class OrderTransaction:
    id: int
    kind: str  # SALE | REFUND | ... (OrderTransactionKind)
    status: str  # SUCCESS | PENDING | FAILURE | ... (OrderTransactionStatus)
    amount: Decimal
    created_at: datetime
    processed_at: datetime | None = None  # when the money moved (or the gateway refused): None while pending


@dataclass(slots=True)
class Refund:
    id: int
    created_at: datetime
    note: str | None
    refund_line_items: list[RefundLineItem]
    shipping: Decimal = Decimal("0")
    shipping_tax: Decimal = Decimal("0")
    # The money given back: one REFUND transaction of the refund's total (none when it gives nothing back).
    transactions: list[OrderTransaction] = field(default_factory=list)
    # A return's refund (returnProcess with issueRefund): its Return, and the money it gives back (the
    # transaction amounts asked for); its lines list the returned units, whose value the return's
    # ReturnAgreement takes off the order (not the refund's lines, which would count them twice).
    return_id: int | None = None
    amount: Decimal | None = None


@dataclass(slots=True)
class FulfillmentOrderLine:
    id: int
    line_item_id: int
    total_quantity: int
    remaining_quantity: int


@dataclass(slots=True)
class FulfillmentOrder:
    id: int
    location_id: int
    status: str  # OPEN | IN_PROGRESS | CLOSED | CANCELLED
    created_at: datetime
    updated_at: datetime
    line_items: list[FulfillmentOrderLine]


@dataclass(slots=True)
class Fulfillment:
    id: int
    name: str
    status: str
    created_at: datetime
    updated_at: datetime
    location_id: int
    fulfillment_order_ids: list[int]
    line_items: list[list[int]]  # [[line item id, quantity]]
    tracking: list[list[str | None]]  # [[company, number, url]]
    # The FulfillmentLineItem ids, one per entry of line_items (empty for fulfillments stored before they
    # were kept: their ids are then derived, see resolvers.orders.fulfillment_line_ids).
    line_item_ids: list[int] = field(default_factory=list)

    def fulfillment_line_item_ids(self) -> list[int]:
        """The ids of its FulfillmentLineItems, in line_items order (derived for old records)."""
        if len(self.line_item_ids) == len(self.line_items):
            return list(self.line_item_ids)
        return [self.id * 1000 + line_id % 1000 for line_id, _quantity in self.line_items]


@dataclass(slots=True)
class Sale:
    """One sale of a sales agreement: a line's units ordered (ORDER) or taken back (RETURN). Amounts are
    signed (negative for RETURN): `subtotal` after discounts and before tax, `discount` before taxes."""

    id: int
    action_type: str  # SaleActionType: ORDER | RETURN
    line_type: str  # SaleLineType: PRODUCT | SHIPPING
    quantity: int | None
    subtotal: Decimal
    tax: Decimal
    discount: Decimal = Decimal("0.00")
    line_item_id: int | None = None
    shipping_line_id: int | None = None
    # The order's prices include its taxes: `subtotal` holds `tax` too (totalAmount is `subtotal` then).
    taxes_included: bool = False


@dataclass(slots=True)
class SalesAgreement:
    """Shopify's record of what an order's placement (ORDER), an edit (ORDER_EDIT) or a refund (REFUND)
    agreed with the customer, itemized as sales."""

    id: int
    order_id: int
    reason: str  # OrderActionType
    happened_at: datetime
    sales: list[Sale]
    refund_id: int | None = None
    return_id: int | None = None  # a ReturnAgreement's Return


@dataclass(slots=True)
class ReturnLine:
    """A ReturnLineItem: units of a fulfillment line item the customer sends back."""

    id: int
    fulfillment_line_item_id: int
    line_item_id: int
    quantity: int
    processed_quantity: int = 0
    return_reason_note: str = ""
    return_reason_definition_id: int | None = None

    @property
    def unprocessed_quantity(self) -> int:
        return self.quantity - self.processed_quantity


@dataclass(slots=True)
class ExchangeLine:
    """An ExchangeLineItem: a variant the customer gets instead; processed units become line items."""

    id: int
    variant_id: int
    product_id: int | None
    title: str | None
    variant_title: str | None
    variant_sku: str | None
    quantity: int
    processed_quantity: int = 0
    line_item_ids: list[int] = field(default_factory=list)

    @property
    def unprocessed_quantity(self) -> int:
        return self.quantity - self.processed_quantity


@dataclass(slots=True)
class Disposition:
    """A ReverseFulfillmentOrderDisposition: what became of returned units (RESTOCKED, ...)."""

    id: int
    created_at: datetime
    quantity: int
    type: str  # ReverseFulfillmentOrderDispositionType
    location_id: int | None


@dataclass(slots=True)
class ReverseFulfillmentOrderLine:
    id: int
    return_line_item_id: int
    fulfillment_line_item_id: int
    line_item_id: int
    total_quantity: int
    dispositions: list[Disposition] = field(default_factory=list)

    @property
    def disposed_quantity(self) -> int:
        return sum(d.quantity for d in self.dispositions)


@dataclass(slots=True)
class ReverseFulfillmentOrder:
    id: int
    status: str  # ReverseFulfillmentOrderStatus: OPEN | CLOSED | CANCELED
    line_items: list[ReverseFulfillmentOrderLine]


@dataclass(slots=True)
class Return:
    """A Return (returnCreate): returned units, exchange items, the reverse fulfillment order that brings the
    units back, and what processing it recorded (refunds, ReturnAgreements)."""

    id: int
    name: str
    status: str  # ReturnStatus: OPEN | CLOSED | CANCELED (REQUESTED, DECLINED not modelled)
    created_at: datetime
    return_line_items: list[ReturnLine]
    exchange_line_items: list[ExchangeLine] = field(default_factory=list)
    reverse_fulfillment_orders: list[ReverseFulfillmentOrder] = field(default_factory=list)
    requested_at: datetime | None = None
    closed_at: datetime | None = None
    refund_ids: list[int] = field(default_factory=list)
    agreement_ids: list[int] = field(default_factory=list)


@dataclass(slots=True)
class StagedAddition:
    """A variant added in an edit session; `id` is its CalculatedLineItem id and, once committed, the
    id of its LineItem."""

    id: int
    variant_id: int
    quantity: int
    location_id: int


@dataclass(slots=True)
class StagedQuantity:
    """orderEditSetQuantity on a line that was on the order when the edit began."""

    line_item_id: int
    quantity: int  # the line's new current quantity
    restock: bool
    location_id: int | None = None


@dataclass(slots=True)
class OrderEditSession:
    """An order edit between orderEditBegin and orderEditCommit; its id is both the CalculatedOrder's and
    the OrderEditSession's."""

    KIND = "order_edit"
    id: int
    order_id: int
    created_at: datetime
    updated_at: datetime
    additions: list[StagedAddition] = field(default_factory=list)
    quantities: list[StagedQuantity] = field(default_factory=list)
    committed_at: datetime | None = None
    agreement_id: int | None = None  # the OrderEditAgreement of the commit (None: nothing changed)
    notify_customer: bool = False
    staff_note: str | None = None

    @property
    def key(self) -> str:
        return str(self.id)


@dataclass(slots=True)
class Order:
    KIND = "order"
    id: int
    number: int
    email: str
    created_at: datetime
    processed_at: datetime
    updated_at: datetime
    currency_code: str
    customer_id: int | None
    shipping_address: Address | None
    billing_address: Address | None
    line_items: list[LineItem]
    shipping_lines: list[ShippingLine]
    discount_applications: list[DiscountApplication]
    discount_codes: list[str]
    financial_status: str = "PAID"
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    closed_at: datetime | None = None
    note: str | None = None
    tags: list[str] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    fulfillment_orders: list[FulfillmentOrder] = field(default_factory=list)
    fulfillments: list[Fulfillment] = field(default_factory=list)
    agreements: list[SalesAgreement] = field(default_factory=list)
    returns: list[Return] = field(default_factory=list)
    # What the customer paid at checkout (orders are paid at creation); None for orders stored before it
    # was kept: their total before any edit.
    paid: Decimal | None = None
    # Shopify's taxesIncluded: line and shipping prices hold the tax, whose tax lines say how much of them
    # is tax (the shop's tax-inclusive pricing, chosen per order here).
    taxes_included: bool = False

    @property
    def key(self) -> str:
        return str(self.id)

    @property
    def name(self) -> str:
        return f"#{self.number}"


@dataclass(slots=True)
class WebhookSubscription:
    """An app's subscription to a webhook topic (topic as Shopify's enum value, e.g. ORDERS_CREATE)."""

    KIND = "webhook_subscription"
    id: int
    topic: str
    uri: str
    created_at: datetime
    updated_at: datetime
    format: str = "JSON"
    include_fields: list[str] = field(default_factory=list)
    name: str | None = None

    @property
    def key(self) -> str:
        return str(self.id)
