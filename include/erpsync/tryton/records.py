"""Typed records that cross the ERP boundary, in the product's own snake_case vocabulary.

Amounts and quantities are Decimal (Tryton sends Decimals; float would lose cents). Timestamps are
aware UTC datetimes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class ErpWarehouse:
    id: int
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class ErpWebShop:
    """The ERP's record of our store: its company, currency, price list and warehouses."""

    id: int
    name: str
    company_id: int
    currency_id: int
    currency_code: str  # what the store sells in
    price_currency_code: str  # what the ERP's prices are in (the company's currency)
    sale_price_list_id: int | None
    warehouses: tuple[ErpWarehouse, ...]


@dataclass(frozen=True, slots=True)
class ErpOffer:
    """How another web shop of the ERP offers a variant: whether it lists it, and at its price list's price."""

    web_shop: str  # the web shop's name
    listed: bool
    sale_price: Decimal | None  # from that web shop's sale price list (the list price without one)
    currency: str  # of the price


@dataclass(frozen=True, slots=True)
class ErpProduct:
    """One sellable variant (Tryton ``product.product``) with what the store needs of its template."""

    erp_product_id: int
    sku: str
    template_id: int
    template_code: str | None
    title: str
    description: str | None
    active: bool  # False when the variant or its template is archived
    salable: bool
    list_price: Decimal | None
    sale_price: Decimal | None  # from the web shop's sale price list (equals list_price without one)
    currency: str  # of both prices
    unit: str | None
    updated_at: dt.datetime  # latest modification of the variant or its template
    categories: tuple[str, ...] = ()
    image_urls: tuple[str, ...] = ()  # absolute, full size; the template's images
    image_version: str = ""  # changes when an image is added, replaced or edited (URLs alone do not tell)
    in_web_shop: bool = True  # the web shop lists it (its assortment): only then may the store sell it
    offers: tuple[ErpOffer, ...] = ()  # in the other web shops asked for (the other stores' own)


@dataclass(frozen=True, slots=True)
class ErpStockLevel:
    erp_product_id: int
    sku: str
    warehouse_id: int
    warehouse_code: str
    quantity: Decimal  # on hand now
    forecast_quantity: Decimal  # on hand minus what is already promised (confirmed sales, ...)
    read_at: dt.datetime | None = None  # by the ERP's clock, no later than the read (see stock_levels)


@dataclass(frozen=True, slots=True)
class SaleLineDraft:
    product_id: int
    quantity: Decimal
    unit_price: Decimal
    unit_id: int
    description: str | None = None


@dataclass(frozen=True, slots=True)
class SaleDraft:
    """A sale to create from a store order; ``web_id`` is the store order id (the unique external key)."""

    web_id: str
    party_id: int
    invoice_address_id: int
    shipment_address_id: int
    sale_date: dt.date
    lines: tuple[SaleLineDraft, ...]
    reference: str | None = None  # the store's order name, for people; not unique
    warehouse_id: int | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class ErpSale:
    id: int
    number: str | None
    web_id: str
    state: str
    total_amount: Decimal | None
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class SaleCreateResult:
    """The outcome of asking for one sale: created by this call, found already there, or refused.

    ``created`` is False when the sale existed before (an earlier attempt, another run): the caller must
    treat both the same way and record ``sale_id``. ``error`` names why the ERP refused a draft.
    """

    web_id: str
    sale_id: int | None
    created: bool
    error: str | None = None
