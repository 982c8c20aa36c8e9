"""The ERP party of each customer by the matching rule (:mod:`erpsync.sync.orders.customers`): found by
e-mail, phone, or name and address, else created (once per identity in the batch) with what identifies it,
in the same call. For orders, and for store customer accounts (:mod:`erpsync.sync.customers`), given in
the shape of a staged order: ``store_order_id`` (the record's key), ``order_name``, ``customer``,
``shipping_address``, ``billing_address``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from erpsync.sync.orders import customers
from erpsync.sync.state.row_errors import RowFailure
from erpsync.tryton.errors import ErpUserError
from erpsync.tryton.sales import AddressSpec, NewParty, TrytonSales, address_text


def parties_of(sales: TrytonSales, records: list[dict[str, Any]]) -> dict[str, tuple[int, bool]]:
    """Each record's party, by its key, and whether this call created it."""
    who = {r["store_order_id"]: customers.identity(r) for r in records}
    known = _known_parties(sales, records, who)
    new: dict[customers.Identity, NewParty] = {}
    for record in records:
        found = who[record["store_order_id"]]
        if found not in known and found not in new:
            new[found] = _new_party(record, found)
    created = dict(zip(new, sales.create_parties(list(new.values())), strict=True))
    return {key: (known[found], False) if found in known else (created[found], True)
            for key, found in who.items()}


def parties_or_refusals(sales: TrytonSales, records: list[dict[str, Any]],
                        refused: Callable[[dict[str, Any], ErpUserError], RowFailure],
                        ) -> tuple[dict[str, tuple[int, bool]], list[RowFailure]]:
    """As :func:`parties_of`, one bad record never stopping the others: the ERP creates a batch's new parties
    all or none, so a batch it refuses is done again one record at a time, and each record it still refuses
    is a failure (``refused`` names the record and the fix) instead of the whole batch's error."""
    if not records:
        return {}, []
    try:
        return parties_of(sales, records), []
    except ErpUserError as error:
        if len(records) == 1:
            return {}, [refused(records[0], error)]
    found: dict[str, tuple[int, bool]] = {}
    failures = []
    for record in records:
        try:
            found.update(parties_of(sales, [record]))
        except ErpUserError as error:
            failures.append(refused(record, error))
    return found, failures


def _known_parties(sales: TrytonSales, records: list[dict[str, Any]], who: dict[str, customers.Identity]
                   ) -> dict[customers.Identity, int]:
    by_kind: dict[str, set[str]] = {}
    for found in who.values():
        by_kind.setdefault(found.kind, set()).add(found.value)
    known = {customers.Identity(customers.EMAIL, email): party
             for email, party in sales.parties_by_email(by_kind.get(customers.EMAIL, ())).items()}
    phones = sales.parties_by_phone(by_kind.get(customers.PHONE, ()))
    known.update((customers.Identity(customers.PHONE, phone), party) for phone, party in phones.items())
    if wanted := by_kind.get(customers.ADDRESS):
        postal_codes = {(customers.identifying_address(r) or {}).get("zip") for r in records
                        if who[r["store_order_id"]].kind == customers.ADDRESS}
        for address in sales.addresses_at(p for p in postal_codes if p):
            key = customers.address_key(address.party_name, address.street, address.postal_code,
                                        address.country_code)
            if key in wanted:
                known.setdefault(customers.Identity(customers.ADDRESS, key), address.party_id)
    return known


def _new_party(record: dict[str, Any], found: customers.Identity) -> NewParty:
    name = customer_name(record)
    if found.kind == customers.EMAIL:
        return NewParty(name, found.value)
    if found.kind == customers.PHONE:
        return NewParty(name, None, phone=found.value)
    if found.kind == customers.ADDRESS:
        return NewParty(name, None, address=address_spec(0, record, customers.identifying_address(record)))
    return NewParty(name, None)


def customer_name(record: dict[str, Any]) -> str:
    """The party's name: the customer's, else the e-mail, else one naming the order."""
    return (customers.customer_name(record) or (record["customer"] or {}).get("email")
            or f"Store customer ({record['order_name']})")


def address_spec(party_id: int, record: dict[str, Any], address: dict[str, Any] | None
                 ) -> AddressSpec | None:
    if not address:
        return None
    name = " ".join(p for p in (address.get("first_name"), address.get("last_name")) if p) or None
    return AddressSpec(party_id=party_id, party_name=name,
                       street=address_text(address.get("address1"), address.get("address2")),
                       postal_code=address.get("zip"), city=address.get("city"),
                       country_code=address.get("country_code"), subdivision_code=address.get("province_code"))
