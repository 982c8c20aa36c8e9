"""Customers: the `customers` connection and `customersCount` (search and sort like orders),
`customerCreate` and `customerUpdate`, and the Customer fields that are not about orders (those are with
the orders)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLResolveInfo

from sandbox.shopify.errors import NotModelled, UserError, UserErrors
from sandbox.shopify.resolvers.base import (
    Searchable,
    paginate_list,
    resolver,
    search_roots,
    store_of,
)
from sandbox.shopify.resolvers.common import numeric_id
from sandbox.shopify.search import SearchField
from sandbox.shopify.state import customers as domain
from sandbox.shopify.state.records import Address, Customer
from sandbox.shopify.state.store import epoch


def _name(customer: Customer) -> str:
    return " ".join(p for p in (customer.first_name, customer.last_name) if p)


def addresses_of(customer: Customer) -> list[Address]:
    """The address book; a customer stored before it existed has its default address only."""
    if customer.addresses:
        return customer.addresses
    return [customer.default_address] if customer.default_address else []


CUSTOMER_SEARCH = Searchable(
    collection=lambda store: store.customers,
    fields={
        "id": SearchField(lambda c: c.id, "id", "Customer"),
        "email": SearchField(lambda c: c.email, "exact"),
        "phone": SearchField(lambda c: c.phone, "exact"),
        "first_name": SearchField(lambda c: c.first_name, "text"),
        "last_name": SearchField(lambda c: c.last_name, "text"),
        "state": SearchField(lambda c: c.state, "enum"),
        "tag": SearchField(lambda c: c.tags, "any"),
        "country": SearchField(
            lambda c: [c.default_address.country_code] if c.default_address else [], "any"
        ),
        "updated_at": SearchField(lambda c: c.updated_at, "datetime"),
        "created_at": SearchField(lambda c: c.created_at, "datetime"),
        "customer_date": SearchField(lambda c: c.created_at, "datetime"),
    },
    default_text=lambda c: f"{_name(c)} {c.email or ''} {c.phone or ''}",
    sort_keys={
        "ID": ("ID", lambda c: c.id),
        "RELEVANCE": ("ID", lambda c: c.id),
        "UPDATED_AT": ("UPDATED_AT", lambda c: epoch(c.updated_at)),
        "CREATED_AT": ("CREATED_AT", lambda c: epoch(c.created_at)),
        "NAME": (None, lambda c: (_name(c) or c.email or c.phone or "").lower()),
        "LOCATION": (
            None,
            lambda c: tuple(
                (getattr(c.default_address, part, None) or "") if c.default_address else ""
                for part in ("country_code", "province_code", "city")
            ),
        ),
    },
    range_fields={
        "updated_at": ("UPDATED_AT", epoch),
        "created_at": ("CREATED_AT", epoch),
        "customer_date": ("CREATED_AT", epoch),
        "id": ("ID", int),
    },
    candidates={
        "id": lambda _s, value: {value},
        "email": lambda store, value: set(store.customers.equal["email"].get(value)),
    },
)


search_roots("customers", "customersCount", CUSTOMER_SEARCH)


@resolver("Customer", "addressesV2")
def resolve_addresses_v2(customer: Customer, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    book = addresses_of(customer)
    return paginate_list(info, args, book, key=book.index, ident=book.index)


@resolver("Customer", "addresses")
def resolve_addresses(customer: Customer, _info: GraphQLResolveInfo, first: int | None = None):
    return addresses_of(customer)[:first]


# -- customerCreate / customerUpdate ---------------------------------------------------------------------

# CustomerInput fields the emulator keeps nothing of: refused loudly rather than dropped.
_NOT_MODELLED_INPUT = (
    "metafields", "emailMarketingConsent", "smsMarketingConsent", "whatsAppMarketingConsent",
    "taxExempt", "taxExemptions", "locale", "multipassIdentifier",
)


def _address(data: Mapping[str, Any]) -> Address:
    return Address(
        data.get("firstName"),
        data.get("lastName"),
        data.get("address1"),
        data.get("city"),
        data.get("zip"),
        data.get("countryCode") or data.get("country"),
        data.get("provinceCode") or data.get("province"),
        data.get("phone"),
        data.get("company"),
        data.get("address2"),
    )


def spec_of(info: GraphQLResolveInfo | None, data: Mapping[str, Any]) -> domain.CustomerSpec:
    for name in _NOT_MODELLED_INPUT:
        if data.get(name) is not None:
            raise NotModelled(f"CustomerInput.{name}", info)
    spec = domain.CustomerSpec()
    for key, attribute in (("firstName", "first_name"), ("lastName", "last_name"), ("email", "email"),
                           ("phone", "phone"), ("note", "note")):
        if key in data:
            setattr(spec, attribute, data[key])
    if "tags" in data:
        spec.tags = list(data["tags"] or [])
    if "addresses" in data:
        spec.addresses = [_address(a) for a in data["addresses"] or []]
    return spec


@resolver("Mutation", "customerCreate")
def resolve_customer_create(_root: Any, info: GraphQLResolveInfo, input: Mapping[str, Any]) -> dict[str, Any]:
    try:
        customer = domain.create_customer(store_of(info), spec_of(info, input))
    except UserErrors as failure:
        return {"customer": None, "userErrors": failure.errors}
    return {"customer": customer, "userErrors": []}


@resolver("Mutation", "customerUpdate")
def resolve_customer_update(_root: Any, info: GraphQLResolveInfo, input: Mapping[str, Any]) -> dict[str, Any]:
    store = store_of(info)
    customer = store.customers.get(numeric_id(input.get("id"), "Customer")) if input.get("id") else None
    if customer is None:
        return {"customer": None, "userErrors": [UserError(["id"], "Customer does not exist")]}
    try:
        domain.update_customer(store, customer, spec_of(info, input))
    except UserErrors as failure:
        return {"customer": None, "userErrors": failure.errors}
    return {"customer": customer, "userErrors": []}
