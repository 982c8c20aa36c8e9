"""Customer accounts of a Shopify store (the optional customers flow): read by change window, found by
e-mail or phone, created. :class:`~erpsync.shopify.store.ShopifyStore` delegates to it."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from erpsync.common.window import Window
from erpsync.shopify import operations
from erpsync.shopify.client import ShopifyClient
from erpsync.shopify.values import address, quoted, when, window_query
from erpsync.store.records import CustomerAccount, CustomerDraft, CustomerOutcome, StoreAddress

CUSTOMER_PAGE = 200  # 4 points a customer (itself, e-mail, phone, address): ~800, under the 1,000 cap
CONTACTS_PER_QUERY = 50  # e-mails and phones per search: keeps the search string short
_NOT_PHONE = re.compile(r"[^\d+]")


class ShopifyCustomers:
    def __init__(self, client: ShopifyClient):
        self.client = client

    def iter_customers(self, window: Window) -> Iterator[list[CustomerAccount]]:
        """The accounts created or changed in ``window`` (whole seconds: see :func:`window_query`), oldest
        change first, a page at a time."""
        for nodes in self._search(window_query(window)):
            if nodes:
                yield [account(node) for node in nodes]

    def customers_by_contact(self, emails: Sequence[str], phones: Sequence[str]) -> list[CustomerAccount]:
        """The accounts with any of ``emails`` (compared case-insensitively) or ``phones`` (``+`` and
        digits), whatever their state, each once."""
        wanted_emails = {_email_key(e) for e in emails if _email_key(e)}
        wanted_phones = {_phone_key(p) for p in phones if _phone_key(p)}
        terms = [f"email:{quoted(e)}" for e in sorted(wanted_emails)]
        terms += [f"phone:{quoted(p)}" for p in sorted(wanted_phones)]
        found: dict[str, CustomerAccount] = {}
        for start in range(0, len(terms), CONTACTS_PER_QUERY):
            for nodes in self._search(" OR ".join(terms[start:start + CONTACTS_PER_QUERY])):
                for node in nodes:
                    customer = account(node)
                    # Shopify ignores a search term it cannot use (with a warning) and would then list every
                    # account: only the ones that really have a contact asked for are answered.
                    if (_email_key(customer.email) in wanted_emails
                            or _phone_key(customer.phone) in wanted_phones):
                        found[customer.customer_id] = customer
        return list(found.values())

    def create_customer(self, draft: CustomerDraft) -> CustomerOutcome:
        """Create one account; Shopify's refusal (e-mail or phone taken or invalid, nothing to name the
        customer by) is the outcome's error, in its words. Not repeated once it may have been applied: the
        caller finds the account by contact (:meth:`customers_by_contact`)."""
        data = self.client.execute(operations.load("CreateCustomer"), {"input": customer_input(draft)},
                                   idempotent=False)
        payload = data["customerCreate"]
        if payload["userErrors"]:
            return CustomerOutcome(None, error="; ".join(e["message"] for e in payload["userErrors"]))
        return CustomerOutcome(payload["customer"]["id"])

    def _search(self, query: str) -> Iterator[list[dict[str, Any]]]:
        return self.client.paginate(operations.load("Customers"), {"first": CUSTOMER_PAGE, "query": query},
                                    "customers")


def account(node: dict[str, Any]) -> CustomerAccount:
    """A ``Customer`` read by ``Customers.graphql``."""
    return CustomerAccount(
        customer_id=node["id"],
        email=(node.get("defaultEmailAddress") or {}).get("emailAddress"),
        phone=(node.get("defaultPhoneNumber") or {}).get("phoneNumber"),
        first_name=node.get("firstName"),
        last_name=node.get("lastName"),
        address=address(node.get("defaultAddress")),
        updated_at=when(node["updatedAt"]),
    )


def customer_input(draft: CustomerDraft) -> dict[str, Any]:
    """The ``CustomerInput`` of a draft; what the draft does not have is left out, not sent as null."""
    data = _present({"email": draft.email, "phone": draft.phone, "firstName": draft.first_name,
                     "lastName": draft.last_name, "note": draft.note})
    if draft.address is not None:
        data["addresses"] = [_address_input(draft.address)]
    return data


def _address_input(given: StoreAddress) -> dict[str, Any]:
    return _present({"firstName": given.first_name, "lastName": given.last_name, "company": given.company,
                     "address1": given.address1, "address2": given.address2, "city": given.city,
                     "zip": given.zip, "provinceCode": given.province_code, "countryCode": given.country_code,
                     "phone": given.phone})


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def _email_key(email: str | None) -> str:
    return (email or "").strip().lower()


def _phone_key(phone: str | None) -> str:
    return _NOT_PHONE.sub("", phone or "")
