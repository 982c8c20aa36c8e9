"""Vendure's customer accounts behind the store interface: the changed ones of a window, those of given
e-mails or phones, and creating one with its address.

What this relies on, measured on Vendure 3.7.3 (SQLite, the sandbox's database) and read in its source:

- **E-mail addresses** are kept trimmed and lower-cased: ``createCustomer`` and a guest checkout normalise an
  e-mail-like address before saving it (``normalizeEmailAddress``; an identifier that does not look like an
  e-mail keeps its case). The list filter's ``eq`` and ``in`` compare exactly (``Mixed@Example.COM`` finds
  nothing), so the e-mails asked for are trimmed and lower-cased here first.
- **An e-mail is all Vendure requires**, and it even takes an empty one (a customer with ``""`` is made);
  a draft with no e-mail, or only blanks, is refused here without a call. ``createCustomer`` with an e-mail
  a customer of the channel already has, whatever its case, answers ``EmailAddressConflictError``.
- **Guest checkouts make customers too**: a customer with no user, found by the Admin API's ``customers``
  like any other. Creating an account for a guest's e-mail is refused as a conflict; the flow finds the
  guest's customer by its e-mail instead (:meth:`VendureCustomers.by_contact`).
- **Phone numbers** are kept as typed (``+1 555 0100``). They are looked for by a ``regex`` filter of their
  digits with anything but digits between them, so ``+15550100`` finds ``+1 555 0100``; Vendure refuses a
  pattern longer than 100 characters, which the 15 digits of an E.164 number stay well within.
- **Date filter bounds** on SQLite: stamps are stored as text in whole seconds (``2026-12-06 16:22:31``,
  rounded down) and compared as text with the bound Vendure writes with milliseconds (``...31.000``): so
  ``before: T`` also takes the customers stamped in the second T, and ``between: {start: T, ...}`` leaves
  out those stamped in the second T (on PostgreSQL ``between`` takes both ends, ``before``/``after`` neither).
  A window's customers are read over a second more on each side and kept when their stamp, as Vendure
  answers it, is in ``[start, end)``. A change is stamped with its second rounded down, so a window that
  starts inside a second leaves that second's changes to the window before it (the flows' lag re-reads it).
- **Sorting**: with several sort keys Vendure orders by them in its schema's order (``id`` before
  ``updatedAt``), not the order asked. A window's (id, stamp) pairs are read in id order (pages that do not
  overlap) and sorted by stamp here; then the customers are read whole by id, a page at a time.
- **Addresses**: ``createCustomerAddress`` needs a street line and a country code Vendure knows
  (``The countryCode "ZZ" was not recognized`` otherwise); a first address is not made default on its own,
  so it is created as the default shipping and billing address.

**Creating a customer** is two calls: the customer, then its address. When the customer was made but the
address call failed or its answer was lost, the outcome carries both the new customer's id and an
``error`` saying so: the address is noted as missing, not retried (a retry could make it twice). When the
answer of the customer call itself is lost, the transport error is raised; the flow finds the customer
again by its e-mail (:meth:`VendureCustomers.by_contact`) and does not create it again.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from typing import Any

from erpsync.common.window import Window
from erpsync.store.errors import StoreRequestError, StoreTransportError
from erpsync.store.records import CustomerAccount, CustomerDraft, CustomerOutcome, StoreAddress
from erpsync.vendure.client import VendureClient
from erpsync.vendure.operations import load
from erpsync.vendure.orders import store_address, vendure_iso, vendure_time

CUSTOMER_PAGE = 100  # customers per request, and per page of iter_customers
EMAILS_PER_QUERY = 50
PHONES_PER_QUERY = 10  # one regex each (see the module)
E164_DIGITS = 15
BOUND_SLACK = dt.timedelta(seconds=1)  # a window is read this much wider on each side (see the module)


class VendureCustomers:
    def __init__(self, client: VendureClient):
        self.client = client

    def changed(self, window: Window) -> Iterator[list[CustomerAccount]]:
        """The customers whose ``updatedAt`` falls in ``window``, oldest change first, a page at a time."""
        stamps = self._stamps(window)
        for start in range(0, len(stamps), CUSTOMER_PAGE):
            chunk = [customer_id for _, customer_id in stamps[start:start + CUSTOMER_PAGE]]
            nodes = self._whole(chunk)
            page = [_account(nodes[customer_id]) for customer_id in chunk if customer_id in nodes]
            if page:
                yield page

    def _stamps(self, window: Window) -> list[tuple[dt.datetime, str]]:
        end = vendure_iso(window.end + BOUND_SLACK)
        updated = ({"before": end} if window.start is None
                   else {"between": {"start": vendure_iso(window.start - BOUND_SLACK), "end": end}})
        options = {"filter": {"updatedAt": updated}, "sort": {"id": "ASC"}}
        found: dict[str, dt.datetime] = {}
        for page in self.client.paginate(load("CustomerStamps"), {"options": options}, "customers",
                                         take=CUSTOMER_PAGE):
            for node in page:
                moment = vendure_time(node["updatedAt"])
                if (window.start is None or window.start <= moment) and moment < window.end:
                    found[node["id"]] = moment
        return sorted(((moment, customer_id) for customer_id, moment in found.items()),
                      key=lambda stamp: (stamp[0], _id_order(stamp[1])))

    def _whole(self, customer_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return self._read({"id": {"in": list(customer_ids)}})

    def _read(self, customer_filter: dict[str, Any]) -> dict[str, dict[str, Any]]:
        options = {"filter": customer_filter, "sort": {"id": "ASC"}}
        return {node["id"]: node
                for page in self.client.paginate(load("Customers"), {"options": options}, "customers",
                                                 take=CUSTOMER_PAGE)
                for node in page}

    def by_contact(self, emails: Sequence[str], phones: Sequence[str]) -> list[CustomerAccount]:
        """The customers (registered or made by a guest checkout) with any of ``emails`` (any case) or
        ``phones`` (any formatting of the same digits), in id order."""
        wanted_emails = sorted({email.strip().lower() for email in emails if email and email.strip()})
        patterns = sorted({pattern for pattern in map(_phone_pattern, phones) if pattern})
        filters = [{"emailAddress": {"in": wanted_emails[start:start + EMAILS_PER_QUERY]}}
                   for start in range(0, len(wanted_emails), EMAILS_PER_QUERY)]
        filters += [{"_or": [{"phoneNumber": {"regex": pattern}}
                             for pattern in patterns[start:start + PHONES_PER_QUERY]]}
                    for start in range(0, len(patterns), PHONES_PER_QUERY)]
        found: dict[str, dict[str, Any]] = {}
        for customer_filter in filters:
            found.update(self._read(customer_filter))
        return [_account(found[customer_id]) for customer_id in sorted(found, key=_id_order)]

    def create(self, draft: CustomerDraft) -> CustomerOutcome:
        """Create the customer, then its address (see the module for when the second call fails)."""
        email = (draft.email or "").strip()
        if not email:
            return CustomerOutcome(
                None, error=f"Vendure needs an e-mail address for a customer: {_who(draft)} has none")
        fields = {"emailAddress": email, "firstName": draft.first_name or "",
                  "lastName": draft.last_name or "", "phoneNumber": draft.phone}
        try:
            customer_id = self.client.mutate(load("CreateCustomer"), {"input": _without_none(fields)})["id"]
        except StoreRequestError as refused:  # EmailAddressConflictError, or an input Vendure refused
            return CustomerOutcome(None, error=f"Vendure refused the customer of {_who(draft)}: {refused}")
        if draft.address is None:
            return CustomerOutcome(customer_id)
        return CustomerOutcome(customer_id, error=self._add_address(customer_id, draft.address))

    def _add_address(self, customer_id: str, address: StoreAddress) -> str | None:
        """Why the new customer has no address, or None once it has it."""
        if not (address.address1 and address.country_code):
            return (f"customer {customer_id} was made without its address: Vendure needs a street line and a "
                    "country code")
        full_name = " ".join(name for name in (address.first_name, address.last_name) if name)
        fields = {"fullName": full_name or None, "company": address.company,
                  "streetLine1": address.address1, "streetLine2": address.address2, "city": address.city,
                  "province": address.province_code, "postalCode": address.zip,
                  "countryCode": address.country_code, "phoneNumber": address.phone,
                  "defaultShippingAddress": True, "defaultBillingAddress": True}
        try:
            self.client.mutate(load("CreateCustomerAddress"),
                               {"customerId": customer_id, "input": _without_none(fields)})
        except (StoreRequestError, StoreTransportError) as failed:
            return (f"customer {customer_id} was made; its address was not confirmed, and is not retried: "
                    f"{failed}")
        return None


def _account(node: dict[str, Any]) -> CustomerAccount:
    addresses = sorted(node.get("addresses") or (), key=lambda address: _id_order(address["id"]))
    default = next((address for address in addresses if address["defaultShippingAddress"]),
                   addresses[0] if addresses else None)
    return CustomerAccount(customer_id=node["id"], email=node["emailAddress"] or None,
                           phone=node["phoneNumber"] or None, first_name=node["firstName"] or None,
                           last_name=node["lastName"] or None, address=_address(default),
                           updated_at=vendure_time(node["updatedAt"]))


def _address(address: dict[str, Any] | None) -> StoreAddress | None:
    if address is None:
        return None
    fields = ("fullName", "company", "streetLine1", "streetLine2", "city", "province", "postalCode",
              "phoneNumber")
    return store_address({**{field: address.get(field) for field in fields},
                          "countryCode": (address.get("country") or {}).get("code")})


def _phone_pattern(phone: str | None) -> str | None:
    """A regex for ``phone``'s digits however they are spaced or punctuated; None for no phone number."""
    digits = re.sub(r"\D", "", phone or "")
    if not 0 < len(digits) <= E164_DIGITS:
        return None
    return r"^\D*" + r"\D*".join(digits) + r"\D*$"


def _id_order(entity_id: str) -> tuple[int, str]:
    """Numeric ids in number order (Vendure's default ids are integers, sent as strings)."""
    return len(entity_id), entity_id


def _without_none(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _who(draft: CustomerDraft) -> str:
    """The draft in an error text: its note (e.g. "ERP party 42"), never its name or contacts (error texts
    reach the error queue, logs and alerts, which carry no customer data)."""
    return draft.note or "a draft without a note"
