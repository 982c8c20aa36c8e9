"""Customers made or changed by the merchant (customerCreate, customerUpdate) or by a shopper registering,
with the userErrors Shopify answers; checkouts make theirs in `orders` and find these by e-mail or phone."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sandbox.shopify.errors import UserError, UserErrors
from sandbox.shopify.state.records import Address, Customer
from sandbox.shopify.state.store import Store

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_PHONE_SEPARATORS = re.compile(r"[\s\-().]")
_PHONE = re.compile(r"^\+?\d{7,15}$")

# Left out of a CustomerSpec: not given (kept on update). Given as null: cleared.
UNSET: object = object()


@dataclass(slots=True)
class CustomerSpec:
    """CustomerInput, reduced to what is modelled."""

    first_name: str | None | object = UNSET
    last_name: str | None | object = UNSET
    email: str | None | object = UNSET
    phone: str | None | object = UNSET
    note: str | None | object = UNSET
    tags: list[str] | object = UNSET
    addresses: list[Address] | object = UNSET
    state: str = "DISABLED"  # on creation only: ENABLED for a shopper who registered an account


def normalize_phone(phone: str | None) -> str | None:
    return _PHONE_SEPARATORS.sub("", phone) if phone else phone


def _blank(value: object) -> bool:
    return value is UNSET or value is None or not str(value).strip()


def _clean_tags(tags: list[str]) -> list[str]:
    """Trimmed, without blanks or repeats (case-insensitive, the first spelling kept)."""
    seen: dict[str, str] = {}
    for tag in tags:
        tag = tag.strip()
        if tag and tag.lower() not in seen:
            seen[tag.lower()] = tag
    return list(seen.values())


def _check(store: Store, spec: CustomerSpec, customer: Customer | None) -> None:
    errors: list[UserError] = []
    own_id = customer.id if customer else None

    def current(name: str) -> object:
        value = getattr(spec, name)
        return getattr(customer, name, None) if value is UNSET else value

    email = current("email")
    if not _blank(email):
        if not _EMAIL.match(str(email).strip()):
            errors.append(UserError(["email"], "Email is invalid"))
        elif store.customers.equal["email"].get(str(email).strip().lower()) - {own_id}:
            errors.append(UserError(["email"], "Email has already been taken"))
    phone = current("phone")
    if not _blank(phone):
        normalized = normalize_phone(str(phone).strip())
        if not _PHONE.match(normalized):
            errors.append(UserError(["phone"], "Phone is invalid"))
        elif store.customers.equal["phone"].get(normalized) - {own_id}:
            errors.append(UserError(["phone"], "Phone has already been taken"))
    if all(_blank(current(name)) for name in ("first_name", "last_name", "email", "phone")):
        errors.append(UserError(None, "Customer must have a name, phone number or email address"))
    if errors:
        raise UserErrors(errors)


def _apply(customer: Customer, spec: CustomerSpec) -> None:
    for name in ("first_name", "last_name", "note"):
        value = getattr(spec, name)
        if value is not UNSET:
            setattr(customer, name, value)
    if spec.email is not UNSET:
        customer.email = None if _blank(spec.email) else str(spec.email).strip()
    if spec.phone is not UNSET:
        customer.phone = None if _blank(spec.phone) else normalize_phone(str(spec.phone).strip())
    if spec.tags is not UNSET:
        customer.tags = _clean_tags(spec.tags)
    if spec.addresses is not UNSET:
        customer.addresses = list(spec.addresses)
        customer.default_address = customer.addresses[0] if customer.addresses else None


def create_customer(store: Store, spec: CustomerSpec) -> Customer:
    """A new customer (customers/create); UserErrors, nothing saved, when the input is refused."""
    _check(store, spec, None)
    now = store.now()
    customer = Customer(store.next_id("customer"), None, None, None, now, now, state=spec.state)
    _apply(customer, spec)
    store.save(customer)
    store.emit("customers/create", customer.id)
    return customer


def update_customer(store: Store, customer: Customer, spec: CustomerSpec) -> Customer:
    """The fields given replace the customer's (customers/update, `updatedAt` moves)."""
    _check(store, spec, customer)
    _apply(customer, spec)
    customer.updated_at = store.now()
    store.save(customer)
    store.emit("customers/update", customer.id)
    return customer

