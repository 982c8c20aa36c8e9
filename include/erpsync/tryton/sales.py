"""ERP operations the order flow needs beyond creating sales: customers and their addresses, the
products orders book, shipments, and undoing a confirmed sale. Set-based: one call per kind of record
per batch of orders, never one round trip per order."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from erpsync.tryton.client import TrytonClient
from erpsync.tryton.errors import ErpError


@dataclass(frozen=True, slots=True)
class NewParty:
    name: str
    email: str | None
    phone: str | None = None
    address: AddressSpec | None = None  # created with the party, in the same call (its party_id unused)


@dataclass(frozen=True, slots=True)
class PartyAddress:
    """An address of a party as the ERP has it (to match a customer by name and address)."""

    party_id: int
    party_name: str | None
    street: str | None
    postal_code: str | None
    country_code: str | None


@dataclass(frozen=True, slots=True)
class AddressSpec:
    """An address as the store gives it; ``key`` is how we recognise it among a party's addresses."""

    party_id: int
    party_name: str | None
    street: str
    postal_code: str | None
    city: str | None
    country_code: str | None
    subdivision_code: str | None

    @property
    def key(self) -> tuple:
        return (self.party_id, _norm(self.street), _norm(self.postal_code), _norm(self.city),
                (self.country_code or "").upper())


@dataclass(frozen=True, slots=True)
class ShipmentInfo:
    shipment_id: int
    state: str
    number: str | None
    reference: str | None  # the carrier's tracking number, as the warehouse records it


@dataclass(frozen=True, slots=True)
class ShipmentMove:
    sku: str | None  # the product's code
    quantity: float
    state: str  # draft | assigned | done | cancelled ...


@dataclass(frozen=True, slots=True)
class SaleShipping:
    sale_id: int
    sale_state: str
    shipment_state: str  # none | waiting | partially shipped | sent | exception
    shipments: tuple[ShipmentInfo, ...]


def _norm(value: str | None) -> str:
    return " ".join((value or "").lower().split())


class TrytonSales:
    def __init__(self, client: TrytonClient):
        self.client = client
        self._countries: dict[str, int] | None = None

    # -- customers ----------------------------------------------------------------------------------

    def parties_by_email(self, emails: Iterable[str]) -> dict[str, int]:
        """The party of each e-mail address (the oldest when several share it), by lower-cased e-mail."""
        wanted = sorted({e.strip().lower() for e in emails if e})
        found: dict[str, int] = {}
        for start in range(0, len(wanted), self.client.page_size):
            rows = self.client.model(
                "party.contact_mechanism", "search_read",
                [("type", "=", "email"), ("value", "in", wanted[start:start + self.client.page_size])],
                0, None, [("party", "ASC")], ["value", "party"],
            )
            for row in rows:
                found.setdefault(row["value"].strip().lower(), row["party"])
        return found

    def parties_by_phone(self, phones: Iterable[str]) -> dict[str, int]:
        """The party of each phone number (the oldest when several share it), as the ERP records it."""
        wanted = sorted({p for p in phones if p})
        found: dict[str, int] = {}
        size = self.client.page_size
        for start in range(0, len(wanted), size):
            for row in self.client.model(
                "party.contact_mechanism", "search_read",
                [("type", "in", ["phone", "mobile"]), ("value", "in", wanted[start:start + size])],
                0, None, [("party", "ASC")], ["value", "party"],
            ):
                found.setdefault(row["value"], row["party"])
        return found

    def addresses_at(self, postal_codes: Iterable[str]) -> list[PartyAddress]:
        """The parties' addresses with one of these postal codes, oldest first."""
        wanted = sorted({p for p in postal_codes if p})
        found: list[PartyAddress] = []
        size = self.client.page_size
        for start in range(0, len(wanted), size):
            found.extend(
                PartyAddress(row["party"], (row.get("party.") or {}).get("name"), row["street_unstructured"],
                             row["postal_code"], (row.get("country.") or {}).get("code"))
                for row in self.client.model(
                    "party.address", "search_read", [("postal_code", "in", wanted[start:start + size])],
                    0, None, [("id", "ASC")], ["party", "party.name", "street_unstructured", "postal_code",
                                               "country.code"])
            )
        return found

    def create_parties(self, parties: Sequence[NewParty]) -> list[int]:
        """Each party with what identifies it (e-mail, phone, address), in one call: all or none."""
        if not parties:
            return []
        countries = self.country_ids() if any(p.address for p in parties) else {}
        return self.client.model("party.party", "create", [
            {"name": p.name,
             "contact_mechanisms": [("create", mechanisms)] if (mechanisms := [
                 {"type": kind, "value": value}
                 for kind, value in (("email", p.email), ("phone", p.phone)) if value
             ]) else [],
             **({"addresses": [("create", [_address_values(p.address, countries)])]} if p.address else {})}
            for p in parties
        ])

    def addresses(self, specs: Sequence[AddressSpec]) -> dict[tuple, int]:
        """The address id for each spec: an existing address of the party when it matches, else a new one."""
        if not specs:
            return {}
        countries = self.country_ids()
        found: dict[tuple, int] = {}
        party_ids = sorted({s.party_id for s in specs})
        for start in range(0, len(party_ids), self.client.page_size):
            for row in self.client.model(
                "party.address", "search_read", [("party", "in", party_ids[start:start + self.client.page_size])],
                0, None, [("id", "ASC")], ["party", "street_unstructured", "postal_code", "city", "country.code"],
            ):
                key = (row["party"], _norm(row["street_unstructured"]), _norm(row["postal_code"]), _norm(row["city"]),
                       ((row.get("country.") or {}).get("code") or "").upper())
                found.setdefault(key, row["id"])
        missing = list({s.key: s for s in specs if s.key not in found}.values())
        if missing:
            unknown = sorted({s.country_code for s in missing if s.country_code and s.country_code.upper() not in countries})
            if unknown:
                raise ErpError(f"countries {unknown} are not in the ERP: add them (Tryton: Countries) and the "
                               "orders are booked on the next run")
            ids = self.client.model("party.address", "create", [
                {"party": s.party_id, **_address_values(s, countries)} for s in missing
            ])
            found.update((s.key, address_id) for s, address_id in zip(missing, ids, strict=True))
        return {s.key: found[s.key] for s in specs}

    def first_addresses(self, party_ids: Iterable[int]) -> dict[int, int]:
        """Each party's first address in the ERP (its oldest), for parties that have one."""
        ids = sorted(set(party_ids))
        found: dict[int, int] = {}
        for start in range(0, len(ids), self.client.page_size):
            for row in self.client.model("party.address", "search_read",
                                         [("party", "in", ids[start:start + self.client.page_size])],
                                         0, None, [("id", "ASC")], ["party"]):
                found.setdefault(row["party"], row["id"])
        return found

    def country_ids(self) -> dict[str, int]:
        if self._countries is None:
            rows = self.client.model("country.country", "search_read", [], 0, None, None, ["code"])
            self._countries = {row["code"].upper(): row["id"] for row in rows if row.get("code")}
        return self._countries

    # -- products -----------------------------------------------------------------------------------

    def units(self, product_ids: Iterable[int]) -> dict[int, int]:
        """The sale unit of each product (a raw sale line must name it)."""
        ids = sorted(set(product_ids))
        units: dict[int, int] = {}
        for start in range(0, len(ids), self.client.page_size):
            units.update((row["id"], row["default_uom"]) for row in self.client.model(
                "product.product", "read", ids[start:start + self.client.page_size], ["default_uom"],
                context={"active_test": False}))
        return units

    def products_by_code(self, codes: Iterable[str]) -> dict[str, int]:
        wanted = sorted(set(codes))
        rows = self.client.model("product.product", "search_read", [("code", "in", wanted)], 0, None, None,
                                 ["code"], context={"active_test": False})
        return {row["code"]: row["id"] for row in rows}

    # -- shipments and cancellations ----------------------------------------------------------------

    def shipping(self, sale_ids: Sequence[int]) -> list[SaleShipping]:
        rows = []
        for start in range(0, len(sale_ids), self.client.page_size):
            rows.extend(self.client.model(
                "sale.sale", "read", list(sale_ids[start:start + self.client.page_size]),
                ["state", "shipment_state", "shipments.state", "shipments.number", "shipments.reference"]))
        return [
            SaleShipping(row["id"], row["state"], row["shipment_state"], tuple(
                ShipmentInfo(s["id"], s["state"], s.get("number"), s.get("reference"))
                for s in row.get("shipments.") or ()))
            for row in rows
        ]

    def shipment_moves(self, shipment_ids: Sequence[int]) -> dict[int, tuple[ShipmentMove, ...]]:
        """The goods each customer shipment carries to the customer (its outgoing moves), by SKU."""
        found: dict[int, tuple[ShipmentMove, ...]] = {}
        for start in range(0, len(shipment_ids), self.client.page_size):
            for row in self.client.model(
                    "stock.shipment.out", "read", list(shipment_ids[start:start + self.client.page_size]),
                    ["outgoing_moves.quantity", "outgoing_moves.state", "outgoing_moves.product.code"]):
                found[row["id"]] = tuple(
                    ShipmentMove((move.get("product.") or {}).get("code"), move["quantity"], move["state"])
                    for move in row.get("outgoing_moves.") or ())
        return found

    def service_skus(self, sale_ids: Sequence[int]) -> dict[int, set[str]]:
        """The codes of the services (products the ERP never ships) each sale sold, by sale."""
        found: dict[int, set[str]] = {}
        for start in range(0, len(sale_ids), self.client.page_size):
            for row in self.client.model(
                    "sale.line", "search_read", [("sale", "in", list(sale_ids[start:start + self.client.page_size])),
                                                 ("product.type", "=", "service")],
                    0, None, None, ["sale", "product.code"]):
                if code := (row.get("product.") or {}).get("code"):
                    found.setdefault(row["sale"], set()).add(code)
        return found

    def undo_sale(self, sale_id: int) -> tuple[bool, str]:
        """Cancel a sale whatever its state, if nothing left the warehouse; return (done, why not).

        A draft or quoted sale is cancelled. A confirmed one cannot be (Tryton's rule): its shipments and
        invoices are cancelled instead, which releases the stock it reserved; the sale stays, marked
        with exceptions, for the ERP's users to close.
        """
        (shipping,) = self.shipping([sale_id])
        if shipping.sale_state in ("draft", "quotation"):
            self.client.cancel_sales([sale_id])
            return True, "cancelled"
        if shipping.sale_state == "cancelled":
            return True, "already cancelled"
        shipped = [s for s in shipping.shipments if s.state == "done"]
        if shipped:
            return False, f"already shipped (shipment {', '.join(s.number or str(s.shipment_id) for s in shipped)})"
        open_shipments = [s.shipment_id for s in shipping.shipments if s.state not in ("cancelled",)]
        if open_shipments:
            self.client.model("stock.shipment.out", "cancel", open_shipments)
        (sale,) = self.client.model("sale.sale", "read", [sale_id], ["invoices.state"])
        invoices = [i["id"] for i in sale.get("invoices.") or () if i["state"] in ("draft", "validated")]
        if invoices:
            self.client.model("account.invoice", "cancel", invoices)
        return True, "shipments and invoices cancelled"


def _address_values(spec: AddressSpec, countries: dict[str, int]) -> dict:
    return {"party_name": spec.party_name, "street_unstructured": spec.street,
            "postal_code": spec.postal_code, "city": spec.city,
            "country": countries.get((spec.country_code or "").upper())}


def address_text(address1: str | None, address2: str | None) -> str:
    return "\n".join(part for part in (address1, address2) if part)
