"""Which ERP party an order belongs to: the matching rule (pure: no I/O).

A store order names its customer in different ways: a registered customer or a guest with an e-mail, a
guest who gave a phone number only, or one who gave neither. The rule, first that applies:

1. **E-mail**: the customer's e-mail, trimmed and lower-cased; the party with that e-mail.
2. **Phone**: no e-mail; the phone of the shipping address, else of the billing address, as ``+`` and its
   digits (``00`` read as ``+``; spaces, dashes, dots and brackets dropped; fewer than 7 digits is no
   phone); the party with that phone (as we record it: in this form).
3. **Name and address**: neither; the customer's name with the shipping (else billing) address's street,
   postal code and country, each compared without case, spaces or punctuation; the party of that name
   with that address.
4. **The order alone**: none of these (a guest with no contact and nothing shipped): a party of its own.

A party created for an order carries what identifies it (its e-mail, phone or address), written in the
same call, so the customer's next order, and a retry of this one, find it instead of creating another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from erpsync.tryton.sales import address_text

EMAIL, PHONE, ADDRESS, ORDER = "email", "phone", "address", "order"
MIN_PHONE_DIGITS = 7


@dataclass(frozen=True, slots=True)
class Identity:
    kind: str  # EMAIL | PHONE | ADDRESS | ORDER
    value: str


def identity(order: dict[str, Any]) -> Identity:
    """The identity an order's customer is matched by (a staged order: ``customer``, ``shipping_address``,
    ``billing_address`` as the store gave them)."""
    customer = order.get("customer") or {}
    if email := (customer.get("email") or "").strip().lower():
        return Identity(EMAIL, email)
    addresses = [a for a in (order.get("shipping_address"), order.get("billing_address")) if a]
    for address in addresses:
        if phone := normal_phone(address.get("phone")):
            return Identity(PHONE, phone)
    name = customer_name(order)
    if name and (address := identifying_address(order)):
        street = address_text(address.get("address1"), address.get("address2"))
        return Identity(ADDRESS, address_key(name, street, address.get("zip"), address.get("country_code")))
    return Identity(ORDER, order["store_order_id"])


def identifying_address(order: dict[str, Any]) -> dict[str, Any] | None:
    """The address a customer without e-mail or phone is known by: the shipping one, else the billing one,
    whichever has a street and a postal code or city (the one the party is created with and found by)."""
    for address in (order.get("shipping_address"), order.get("billing_address")):
        if address and address.get("address1") and (address.get("zip") or address.get("city")):
            return address
    return None


def normal_phone(raw: str | None) -> str | None:
    """``raw`` as ``+`` and its digits, or None when it holds fewer than 7 digits."""
    text = (raw or "").strip()
    digits = re.sub(r"\D", "", text)
    if text.startswith("00"):
        digits, text = digits[2:], "+" + text[2:]
    if len(digits) < MIN_PHONE_DIGITS:
        return None
    return ("+" if text.startswith("+") else "") + digits


def address_key(name: str | None, street: str | None, postal_code: str | None,
                country_code: str | None) -> str:
    """A name with an address, compared without case, spaces or punctuation."""
    return "|".join(_bare(part) for part in (name, street, postal_code, country_code))


def customer_name(order: dict[str, Any]) -> str:
    """The customer's name as the order gives it (the customer's, else the address's); may be empty."""
    customer = order.get("customer") or {}
    address = order.get("shipping_address") or order.get("billing_address") or {}
    first = customer.get("first_name") or address.get("first_name") or ""
    last = customer.get("last_name") or address.get("last_name") or ""
    return f"{first} {last}".strip()


def _bare(value: str | None) -> str:
    return re.sub(r"[\W_]+", "", (value or "").casefold())
