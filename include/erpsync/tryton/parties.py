"""ERP parties as customers (the optional customers flow, :mod:`erpsync.sync.customers`): the parties
created or changed in a window, or named by id, each with its first e-mail, phone and address.

A party's e-mail, phone or address are records of their own: adding one touches only that record, so a
window looks at all three. Parties of the ERP's companies are never customers and are left out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from erpsync.common.window import Window
from erpsync.tryton.client import TrytonClient, changed_in


@dataclass(frozen=True, slots=True)
class ErpPartyAddress:
    street: str | None
    postal_code: str | None
    city: str | None
    country_code: str | None
    subdivision_code: str | None  # ISO 3166-2, e.g. US-TX


@dataclass(frozen=True, slots=True)
class ErpParty:
    party_id: int
    name: str
    email: str | None  # its first e-mail (oldest), trimmed and lower-cased
    phone: str | None  # its first phone or mobile number, as the ERP records it
    address: ErpPartyAddress | None  # its first address
    changed_at: dt.datetime  # the ERP's clock: the latest change of the party, its contacts or addresses


class TrytonParties:
    def __init__(self, client: TrytonClient):
        self.client = client

    @cached_property
    def company_parties(self) -> frozenset[int]:
        return frozenset(row["party"] for row in self.client.model(
            "company.company", "search_read", [], 0, None, None, ["party"]))

    def iter_changed(self, window: Window) -> Iterator[list[ErpParty]]:
        """The parties created or changed in ``window``, or whose e-mail, phone or address was, a page at a
        time (by id)."""
        domain = [["OR", changed_in("last_modified_at", window),
                   changed_in("contact_mechanisms.last_modified_at", window),
                   changed_in("addresses.last_modified_at", window)]]
        for rows in self.client.iter_search_read("party.party", domain, ["name", "last_modified_at"],
                                                 context={"active_test": False}):
            yield self._parties(rows)

    def by_ids(self, party_ids: Iterable[int]) -> list[ErpParty]:
        """These parties (those that still exist), by id."""
        ids = sorted(set(party_ids))
        found: list[ErpParty] = []
        for start in range(0, len(ids), self.client.page_size):
            chunk = ids[start:start + self.client.page_size]
            rows = self.client.model("party.party", "search_read", [("id", "in", chunk)], 0, None, [("id", "ASC")],
                                     ["name", "last_modified_at"])
            found.extend(self._parties(rows))
        return found

    def _parties(self, rows: Sequence[dict[str, Any]]) -> list[ErpParty]:
        rows = [row for row in rows if row["id"] not in self.company_parties]
        ids = [row["id"] for row in rows]
        if not ids:
            return []
        emails: dict[int, str] = {}
        phones: dict[int, str] = {}
        changed = {row["id"]: row["last_modified_at"] for row in rows}
        for row in self.client.model(
                "party.contact_mechanism", "search_read",
                [("party", "in", ids), ("type", "in", ["email", "phone", "mobile"])],
                0, None, [("id", "ASC")], ["party", "type", "value", "last_modified_at"]):
            party, value = row["party"], (row["value"] or "").strip()
            changed[party] = max(changed[party], row["last_modified_at"])
            if value and row["type"] == "email":
                emails.setdefault(party, value.lower())
            elif value:
                phones.setdefault(party, value)
        addresses: dict[int, ErpPartyAddress] = {}
        for row in self.client.model(
                "party.address", "search_read", [("party", "in", ids)], 0, None, [("id", "ASC")],
                ["party", "street_unstructured", "postal_code", "city", "country.code", "subdivision.code",
                 "last_modified_at"]):
            party = row["party"]
            changed[party] = max(changed[party], row["last_modified_at"])
            addresses.setdefault(party, ErpPartyAddress(
                row["street_unstructured"], row["postal_code"], row["city"],
                (row.get("country.") or {}).get("code"), (row.get("subdivision.") or {}).get("code")))
        return [ErpParty(row["id"], row["name"] or "", emails.get(row["id"]), phones.get(row["id"]),
                         addresses.get(row["id"]), changed[row["id"]]) for row in rows]
