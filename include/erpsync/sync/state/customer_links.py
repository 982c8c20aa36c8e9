"""Which store customer account is which ERP party (table ``customer_link``; the optional customers
flow). A link is written once (the first wins: two runs linking one account at once agree, or the later
one is ignored) and never moved: an account is one party for good."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, select

from erpsync.warehouse import db
from erpsync.warehouse.schema import customer_link

ERP, STORE, MATCHED = "erp", "store", "matched"  # which side made which (see the table's ``origin``)


@dataclass(frozen=True, slots=True)
class Link:
    customer_id: str
    party_id: int
    origin: str  # ERP | STORE | MATCHED


def linked_accounts(conn: Connection, store: str, customer_ids: Iterable[str]) -> dict[str, int]:
    """The party of each of these accounts that is linked."""
    ids = sorted(set(customer_ids))
    found: dict[str, int] = {}
    for chunk in db.chunks(ids):
        found.update(conn.execute(select(customer_link.c.customer_id, customer_link.c.party_id).where(
            customer_link.c.store == store, customer_link.c.customer_id.in_(chunk))).all())
    return found


def linked_parties(conn: Connection, store: str, party_ids: Iterable[int]) -> set[int]:
    """Those of these parties that have an account in ``store``."""
    ids = sorted(set(party_ids))
    found: set[int] = set()
    for chunk in db.chunks(ids):
        found.update(conn.execute(select(customer_link.c.party_id).where(
            customer_link.c.store == store, customer_link.c.party_id.in_(chunk))).scalars())
    return found


def link(conn: Connection, store: str, links: Sequence[Link], now: dt.datetime) -> int:
    """Record ``links`` (an account already linked keeps its party); returns how many are new."""
    return sum(db.insert_absent(conn, customer_link, {
        "store": store, "customer_id": new.customer_id, "party_id": new.party_id, "origin": new.origin,
        "linked_at": now}, key=["store", "customer_id"]) for new in links)
