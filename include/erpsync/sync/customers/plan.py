"""What the customers flow does with each party and each account (pure: no I/O).

**ERP -> store.** A party already linked to an account of the store is left alone. Otherwise the store's
account with the party's e-mail (without one, its phone) *is* the party's: it is linked, never made twice
(this is also how a creation whose answer was lost is found again). Without such an account one is
created from the party. A party with neither e-mail nor phone is skipped: nothing would tell its account
from another's, nor find it again after a lost answer; so is one without an e-mail when the store's
accounts need one (Vendure). Two parties sharing an e-mail or phone, or an
account already linked to another party, are skipped with that reason: which one is the customer is for a
person to say (merge the parties in the ERP).

**Store -> ERP.** An account already linked is left alone; the others go through the orders' matching rule
(:mod:`erpsync.sync.orders.customers`): found by e-mail, phone, or name and address, else created. An
account with none of these is skipped for the same reason as above.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from erpsync.store.records import CustomerAccount, CustomerDraft, StoreAddress
from erpsync.sync.orders import customers
from erpsync.tryton.parties import ErpParty

NO_CONTACT = "has neither e-mail nor phone: add one in the ERP to create its store account"
NO_EMAIL = "has no e-mail, which the store's accounts need: add one in the ERP to create its account"
NOTHING_TO_MATCH = (NO_CONTACT, NO_EMAIL)  # skipped, counted: not errors (a person adds a contact or not)
NO_IDENTITY = "has no e-mail, phone, or name with an address: nothing tells its ERP party"


@dataclass
class ToStore:
    link: list[tuple[int, str]] = field(default_factory=list)  # (party, account) found in the store
    create: list[tuple[int, CustomerDraft]] = field(default_factory=list)
    skip: list[tuple[int, str]] = field(default_factory=list)  # (party, reason)
    linked_already: int = 0


def contact(party: ErpParty) -> tuple[str | None, str | None]:
    """The party's e-mail and phone as the stores compare them (lower-cased; ``+`` and digits)."""
    return ((party.email or "").strip().lower() or None), customers.normal_phone(party.phone)


def to_store(parties: Sequence[ErpParty], linked: set[int], accounts: Sequence[CustomerAccount],
             account_party: Mapping[str, int], *, needs_email: bool = False) -> ToStore:
    """What to do with each of ``parties`` (``linked``: those with an account already; ``accounts``: the
    store's accounts with their e-mails or phones; ``account_party``: the party each of those accounts is
    linked to, if any; ``needs_email``: the store makes no account without one)."""
    by_email: dict[str, list[CustomerAccount]] = {}
    by_phone: dict[str, list[CustomerAccount]] = {}
    for account in accounts:
        if email := (account.email or "").strip().lower():
            by_email.setdefault(email, []).append(account)
        if phone := customers.normal_phone(account.phone):
            by_phone.setdefault(phone, []).append(account)
    plan = ToStore()
    claimed: dict[str, int] = {}  # e-mail or phone -> the party of this batch that has it
    for party in sorted(parties, key=lambda p: p.party_id):
        if party.party_id in linked:
            plan.linked_already += 1
            continue
        email, phone = contact(party)
        key = email or phone
        if key is None or (needs_email and email is None):
            plan.skip.append((party.party_id, NO_CONTACT if key is None else NO_EMAIL))
            continue
        if (other := claimed.get(key)) is not None:
            plan.skip.append((party.party_id, f"shares its e-mail or phone with party {other}: merge them in "
                                              "the ERP"))
            continue
        claimed[key] = party.party_id
        found = by_email.get(email, []) if email else by_phone.get(phone, [])
        if not found:
            plan.create.append((party.party_id, draft(party, email, phone)))
            continue
        account = min(found, key=lambda a: a.customer_id)
        owner = account_party.get(account.customer_id)
        if owner is not None and owner != party.party_id:
            plan.skip.append((party.party_id, f"its e-mail or phone is the store account of party {owner}: "
                                              "merge them in the ERP"))
        else:
            plan.link.append((party.party_id, account.customer_id))
    return plan


def draft(party: ErpParty, email: str | None, phone: str | None) -> CustomerDraft:
    """The account a party becomes: its name split at the last space (the ERP has one name field)."""
    first, _, last = party.name.strip().rpartition(" ")
    first, last = first.strip() or None, last.strip() or None
    address = party.address
    store_address = None
    if address is not None and address.street:
        lines = address.street.splitlines()
        store_address = StoreAddress(first, last, None, lines[0], " ".join(lines[1:]) or None, address.city,
                                     address.postal_code, _province(address.subdivision_code),
                                     address.country_code, phone)
    return CustomerDraft(email, phone, first, last, store_address, note=f"ERP party {party.party_id}")


def _province(subdivision_code: str | None) -> str | None:
    """A store's province code from an ISO 3166-2 code (US-TX -> TX)."""
    return subdivision_code.split("-", 1)[-1] if subdivision_code else None


def as_record(account: CustomerAccount) -> dict[str, Any] | None:
    """An account in the shape the matching rule reads (a staged order's), or None when it has nothing the
    rule matches by."""
    address = account.address
    shipping = None if address is None else {
        "first_name": address.first_name, "last_name": address.last_name, "address1": address.address1,
        "address2": address.address2, "city": address.city, "zip": address.zip,
        "province_code": address.province_code, "country_code": address.country_code, "phone": address.phone}
    if shipping is not None and not shipping["phone"] and account.phone:
        shipping["phone"] = account.phone
    elif shipping is None and account.phone:
        shipping = {"phone": account.phone}
    record = {"store_order_id": account.customer_id, "order_name": f"customer {account.customer_id}",
              "customer": {"email": account.email, "first_name": account.first_name,
                           "last_name": account.last_name},
              "shipping_address": shipping, "billing_address": None}
    return None if customers.identity(record).kind == customers.ORDER else record


def to_erp(accounts: Sequence[CustomerAccount], linked: Mapping[str, int]
           ) -> tuple[list[dict[str, Any]], list[tuple[str, str]], int]:
    """The accounts to find or create a party for (as records), those skipped with why, and how many are
    linked already."""
    records, skipped, already = [], [], 0
    for account in accounts:
        if account.customer_id in linked:
            already += 1
        elif (record := as_record(account)) is None:
            skipped.append((account.customer_id, NO_IDENTITY))
        else:
            records.append(record)
    return records, skipped, already
