"""Store-agnostic records that cross the store boundary (ids are the store's own, opaque strings)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class StoreCapabilities:
    """What a store kind can do, in the flows' terms (the flows ask, they never test the kind)."""

    kind: str  # the Connection type that made it: "shopify", ...
    currency: str  # the store's currency (ISO 4217), of its prices and its orders
    compare_and_swap: bool  # set_inventory refuses a change whose ``expected`` the store no longer holds
    inventory_batch: int  # most changes per set_inventory call
    cost_model: str  # how the store meters us: "query_cost" (points per query), "requests" (calls per second)
    # announces its order changes by webhooks (``subscribe_webhooks``); else polled only
    webhooks: bool = False
    # has customer accounts the optional customers flow can read and create (iter_customers, ...)
    customers: bool = False
    # a customer account must have an e-mail address (Vendure); else an e-mail or a phone will do (Shopify)
    customer_needs_email: bool = False


@dataclass(frozen=True, slots=True)
class StoreLocation:
    id: str
    name: str
    active: bool


@dataclass(frozen=True, slots=True)
class StoreVariant:
    """A sellable variant as the store has it."""

    sku: str
    variant_id: str
    product_id: str
    inventory_item_id: str
    price: Decimal
    compare_at_price: Decimal | None
    product_status: str  # ACTIVE | ARCHIVED | DRAFT
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class InventoryLevel:
    inventory_item_id: str
    location_id: str
    available: int


@dataclass(frozen=True, slots=True)
class InventoryChange:
    """Set ``available`` of an item at a location to ``quantity``, if it still is ``expected``.

    ``expected`` is the compare-and-swap guard: the quantity we last saw. When the store holds another
    value (a sale happened since), the change is refused as stale and nothing is overwritten.
    """

    inventory_item_id: str
    location_id: str
    quantity: int
    expected: int | None


@dataclass(frozen=True, slots=True)
class InventoryOutcome:
    change: InventoryChange
    applied: bool
    stale: bool = False  # refused by the compare-and-swap: re-read and recompute
    error: str | None = None
    confirmed_at: dt.datetime | None = None  # applied: when, by the store's clock (None: it did not say)


@dataclass(frozen=True, slots=True)
class PriceChange:
    variant_id: str
    price: Decimal
    compare_at_price: Decimal | None  # None clears it


@dataclass(frozen=True, slots=True)
class PriceOutcome:
    change: PriceChange
    applied: bool
    error: str | None = None


@dataclass(frozen=True, slots=True)
class VariantDraft:
    sku: str
    option: str
    price: Decimal
    compare_at_price: Decimal | None
    variant_id: str | None = None  # known to the store: update it; None: create it
    inventory: tuple[tuple[str, int], ...] = ()  # (location id, available) for a variant being created


@dataclass(frozen=True, slots=True)
class ProductDraft:
    """A product as it must be in the store. ``variants`` is the complete list (variants the store has
    and the list does not name are removed); None leaves the variants alone (e.g. archiving)."""

    product_id: str | None  # None: create the product
    title: str
    description_html: str
    status: str  # ACTIVE | ARCHIVED | DRAFT
    image_urls: tuple[str, ...]
    option_name: str
    variants: tuple[VariantDraft, ...] | None


@dataclass(frozen=True, slots=True)
class StoredVariant:
    sku: str
    variant_id: str
    inventory_item_id: str


@dataclass(frozen=True, slots=True)
class ProductOutcome:
    draft: ProductDraft
    product_id: str | None
    variants: tuple[StoredVariant, ...] = ()
    error: str | None = None
    confirmed_at: dt.datetime | None = None  # applied: when, by the store's clock (stock set with it too)

    @property
    def applied(self) -> bool:
        return self.error is None and self.product_id is not None


@dataclass(frozen=True, slots=True)
class StoreAddress:
    first_name: str | None
    last_name: str | None
    company: str | None
    address1: str | None
    address2: str | None
    city: str | None
    zip: str | None
    province_code: str | None
    country_code: str | None
    phone: str | None


@dataclass(frozen=True, slots=True)
class StoreCustomer:
    customer_id: str | None  # None for a guest checkout
    email: str | None
    first_name: str | None
    last_name: str | None


@dataclass(frozen=True, slots=True)
class StoreOrderLine:
    line_id: str
    sku: str | None
    title: str | None
    quantity: int  # as ordered
    current_quantity: int  # after refunds and removals
    unit_price: Decimal  # before discounts
    discount_total: Decimal  # discounts allocated to this line
    requires_shipping: bool


@dataclass(frozen=True, slots=True)
class StoreRefundLine:
    line_id: str
    quantity: int
    restock: bool  # the goods go back to stock
    subtotal: Decimal  # what the line's refund gives back, before taxes


# Whether a refund's money moved: the store's payment gateway gave it back (or there was none to give),
# has not answered yet, or refused. Only a settled refund is booked in the ERP.
REFUND_SETTLED, REFUND_PENDING, REFUND_FAILED = "settled", "pending", "failed"


@dataclass(frozen=True, slots=True)
class StoreRefund:
    refund_id: str
    created_at: dt.datetime
    total: Decimal  # everything refunded: lines, taxes, shipping
    lines: tuple[StoreRefundLine, ...]
    money: str = REFUND_SETTLED  # REFUND_SETTLED | REFUND_PENDING | REFUND_FAILED
    # The return whose processing gave this money back (Shopify's Refund.return): its goods are booked with
    # the return (``StoreReturn``), the refund only for what it gives back beyond them.
    return_id: str | None = None


@dataclass(frozen=True, slots=True)
class StoreEditLine:
    line_id: str
    quantity: int  # units added (> 0) or removed (< 0) by the edit
    added: bool  # the edit put this line on the order (it was on none of the order's earlier versions)
    # What the change adds to the order's discounts and taxes (negative for units removed): the ERP's
    # discount and tax lines follow, so that its total stays the store's.
    discount: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class StoreOrderEdit:
    """A change of the order's lines after it was placed (the store's order editing), as one agreement."""

    edit_id: str
    happened_at: dt.datetime
    lines: tuple[StoreEditLine, ...]


@dataclass(frozen=True, slots=True)
class StoreReturnLine:
    """Units of an order line the customer sent back, as the return's processing took them off the order."""

    line_id: str
    quantity: int  # units returned (> 0)
    # What taking them back moves of the order's discounts and taxes (negative: the discount and tax they
    # carried come off), as with an edit's removed units.
    discount: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)
    # Where the store put them back on its shelves: (location name, units); units not listed were not
    # restocked (damaged, missing, kept for inspection).
    restocked: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class StoreExchangeLine:
    """An item the customer got in exchange: a new line of the order, added when the return was processed."""

    line_id: str
    quantity: int
    discount: Decimal = Decimal(0)  # what it adds to the order's discounts
    tax: Decimal = Decimal(0)  # and to its taxes


@dataclass(frozen=True, slots=True)
class StoreReturn:
    """A return of goods from a fulfilled order, with the items given in exchange (Shopify's Returns API).

    Booked once it is ``settled``: every unit processed (taken off the order, or exchanged) and every
    returned unit disposed of (restocked or not), or the return closed; until then it may still change."""

    return_id: str
    happened_at: dt.datetime  # when its last processing happened, by the store's clock
    returned: tuple[StoreReturnLine, ...]
    exchanged: tuple[StoreExchangeLine, ...] = ()
    settled: bool = True


@dataclass(frozen=True, slots=True)
class StoreOrder:
    order_id: str
    name: str
    created_at: dt.datetime
    updated_at: dt.datetime  # moves on every change: the extract's cursor
    cancelled_at: dt.datetime | None
    cancel_reason: str | None
    currency: str
    financial_status: str | None
    fulfillment_status: str | None
    customer: StoreCustomer
    shipping_address: StoreAddress | None
    billing_address: StoreAddress | None
    subtotal: Decimal  # lines after discounts
    discount_total: Decimal
    shipping_total: Decimal
    tax_total: Decimal
    total: Decimal
    refunded_total: Decimal
    lines: tuple[StoreOrderLine, ...]
    refunds: tuple[StoreRefund, ...]
    # The store locations the goods are taken from (names, as the catalog maps them to ERP warehouses),
    # first the one of the order's first fulfillment order; empty when the store does not say.
    locations: tuple[str, ...] = ()
    edits: tuple[StoreOrderEdit, ...] = ()  # oldest first; empty where the store has no order editing
    returns: tuple[StoreReturn, ...] = ()  # processed returns; empty where the store has no returns
    # Prices include the tax (a tax-inclusive shop or channel): line, discount and shipping amounts hold
    # it, ``tax_total`` is the part of them that is tax, and ``total`` adds nothing for it.
    taxes_included: bool = False
    # What of the order the flows act on, in one comparable string (cancelled, edited, refunded, returned,
    # current total and units), as the store's cheap version read (:meth:`Store.order_versions`) says it
    # too; None where the store has no such read. Our own fulfillment leaves it as it was.
    version: str | None = None

    @property
    def requires_shipping(self) -> bool:
        return any(line.requires_shipping for line in self.lines)


@dataclass(frozen=True, slots=True)
class OrderStamp:
    """What a cheap read of an order tells: which, when it last changed, its number, whether cancelled
    (and, from :meth:`Store.order_versions`, its ``version``: see :attr:`StoreOrder.version`)."""

    order_id: str
    updated_at: dt.datetime
    name: str
    cancelled: bool
    version: str | None = None


@dataclass(frozen=True, slots=True)
class CreatedFulfillment:
    """A fulfillment the store made for us, with the order's last change as the store's answer said it:
    that change is ours (None: the store does not say)."""

    fulfillment_id: str
    order_updated_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class FulfillmentOrder:
    fulfillment_order_id: str
    status: str  # OPEN, IN_PROGRESS, CLOSED, CANCELLED, ...
    fulfillment_ids: tuple[str, ...] = ()
    location_id: str | None = None  # where it ships from: one fulfillment per location
    # (fulfillment order line item id, quantity still to fulfil): what was refunded, cancelled or already
    # shipped is not in it, and a store refuses a fulfillment that asks for more.
    remaining: tuple[tuple[str, int], ...] = ()
    # (fulfillment order line item id, SKU) and (line item id, units of it fulfilled already): to tell the
    # store exactly what the ERP shipped, a part at a time.
    skus: tuple[tuple[str, str | None], ...] = ()
    fulfilled: tuple[tuple[str, int], ...] = ()

    @property
    def fulfillable(self) -> tuple[tuple[str, int], ...]:
        return tuple((line_id, quantity) for line_id, quantity in self.remaining if quantity > 0)


@dataclass(frozen=True, slots=True)
class WebhookSubscriptions:
    """What making sure of a store's webhook subscriptions found and did, per topic."""

    kept: tuple[str, ...] = ()
    created: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()  # (topic, why)


# -- customer accounts (the optional customers flow, erpsync.sync.customers) -----------------------------

@dataclass(frozen=True, slots=True)
class CustomerAccount:
    """A customer account as the store has it (not an order's customer: the account itself)."""

    customer_id: str
    email: str | None  # as the store has it (the flows compare it trimmed and lower-cased)
    phone: str | None  # as the store has it (the flows compare it in E.164-like form)
    first_name: str | None
    last_name: str | None
    address: StoreAddress | None  # the default address, if any
    updated_at: dt.datetime  # the store's clock


@dataclass(frozen=True, slots=True)
class CustomerDraft:
    """A customer account to create in a store (from an ERP party)."""

    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    address: StoreAddress | None
    note: str | None = None  # what made it, e.g. "ERP party 42"


@dataclass(frozen=True, slots=True)
class CustomerOutcome:
    """What the store did with one draft: its new customer's id, or why it refused (its own words)."""

    customer_id: str | None
    error: str | None = None
