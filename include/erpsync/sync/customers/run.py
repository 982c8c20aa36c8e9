"""The customers flow, both ways (optional, off by default: ``[erpsync] store_customers``): ERP parties
become customer accounts of the store, the store's accounts become ERP parties, each pair linked once in
``customer_link`` (:mod:`erpsync.sync.state.customer_links`). What is done with each record is decided in
:mod:`erpsync.sync.customers.plan`.

Each side is read incrementally from its own cursor (``sync_cursor``: source ``erp`` or ``store``, entity
``customer``, of this store), over a window that ends at the run's data interval end and starts
``lag`` before the cursor (a record committed late is read again: linking is idempotent). The first run
reads the last ``FIRST_LOOKBACK`` only: turning the flow on makes accounts for *new* customers, not for
every party the ERP ever had; ``full_refresh`` reads everything.

**Exactly once.** Every account is created only after the store was asked for one with the party's e-mail
(or phone): a creation whose answer was lost, or a run killed before its link was written, is found and
linked by the next run. A party is created only through the orders' matching rule, which finds it by
e-mail, phone or address first: the same holds the other way. A link is written right after each
creation, in its own transaction.

**One record never stops another.** A store that refuses an account (an invalid phone, say), or a party
that shares its e-mail with another, is recorded in ``row_error`` (flow ``customers``) with the store's
words or the reason, retried with backoff and alerted when it gives up; the others go on. A store or ERP
that cannot be reached fails the task (nothing is half-linked: the next run picks up where it was).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from erpsync.common.window import Window
from erpsync.store.interface import Store
from erpsync.sync.customers import plan
from erpsync.sync.orders import parties as order_parties
from erpsync.sync.state import customer_links
from erpsync.sync.state.customer_links import Link
from erpsync.sync.state.row_errors import RowFailure, due_keys, record_failures, resolve
from erpsync.tryton.client import TrytonClient
from erpsync.tryton.errors import ErpUserError
from erpsync.tryton.parties import ErpParty, TrytonParties
from erpsync.tryton.sales import TrytonSales
from erpsync.warehouse import db

log = logging.getLogger(__name__)

FLOW, ENTITY = "customers", "customer"
TO_STORE, TO_ERP = "create_account", "create_party"  # the row_error operations of each direction
OFF, BOTH, ONLY_TO_STORE, ONLY_TO_ERP = "off", "both", "to_store", "to_erp"
DIRECTIONS = (OFF, BOTH, ONLY_TO_STORE, ONLY_TO_ERP)
FIRST_LOOKBACK = dt.timedelta(days=1)
# The row errors of a record's own data (a shared e-mail, a phone the store has on another account): no
# retry mends them until a person corrects the record, and no outage causes them.
AMBIGUOUS, STORE_REFUSED, ERP_REFUSED = "AmbiguousCustomer", "StoreRefused", "ErpRefused"
DATA_REFUSALS = (AMBIGUOUS, STORE_REFUSED, ERP_REFUSED)


@dataclass
class Side:
    read: int = 0
    linked_already: int = 0
    matched: int = 0  # linked to a record the other side had already
    created: int = 0
    skipped: int = 0  # nothing to match by (no e-mail, phone, address): counted, not an error
    failed: int = 0
    failures: list[str] = field(default_factory=list)  # record keys and reasons (ids only)


@dataclass
class CustomersResult:
    direction: str
    to_store: Side = field(default_factory=Side)
    to_erp: Side = field(default_factory=Side)

    def as_counts(self) -> dict[str, Any]:
        counts: dict[str, Any] = {"direction": self.direction}
        for name, side in (("to_store", self.to_store), ("to_erp", self.to_erp)):
            counts.update({f"{name}_{k}": v for k, v in side.__dict__.items() if k != "failures"})
            counts[f"{name}_failures"] = side.failures[:20]
        return counts


def window_for(cursor: dt.datetime | None, end: dt.datetime, lag: dt.timedelta, full_refresh: bool) -> Window:
    if full_refresh:
        return Window(None, end)
    return Window.after_cursor(cursor if cursor is not None else end - FIRST_LOOKBACK, end, lag)


def sync_customers(erp: TrytonClient, store: Store, engine: Engine, *, direction: str,
                   window_end: dt.datetime, run_id: str | None, now: dt.datetime, lag: dt.timedelta,
                   full_refresh: bool = False) -> CustomersResult:
    if direction not in DIRECTIONS:
        raise ValueError(f"[erpsync] store_customers is {direction!r}: use one of {', '.join(DIRECTIONS)}")
    result = CustomersResult(direction)
    if direction == OFF:
        return result
    if not store.capabilities().customers:
        raise ValueError(f"store {store.name} has no customer accounts the flow can use: set "
                         f"[erpsync] store_customers to off for it")
    flow = _Flow(erp, store, engine, run_id, now)
    if direction in (BOTH, ONLY_TO_STORE):
        flow.to_store(window_end, lag, full_refresh, result.to_store)
    if direction in (BOTH, ONLY_TO_ERP):
        flow.to_erp(window_end, lag, full_refresh, result.to_erp)
    return result


class _Flow:
    def __init__(self, erp: TrytonClient, store: Store, engine: Engine, run_id: str | None, now: dt.datetime):
        self.parties = TrytonParties(erp)
        self.sales = TrytonSales(erp)
        self.store = store
        self.engine = engine
        self.run_id = run_id
        self.now = now

    # -- ERP -> store ------------------------------------------------------------------------------------

    def to_store(self, window_end: dt.datetime, lag: dt.timedelta, full_refresh: bool, side: Side) -> None:
        with self.engine.connect() as conn:
            cursor = db.get_cursor(conn, "erp", ENTITY, store=self.store.name)
            due = due_keys(conn, **self._step(TO_STORE), now=self.now)
        window = window_for(cursor, window_end, lag, full_refresh)
        log.info("customers ERP -> %s: parties changed in %s, and %d to retry", self.store.name, window,
                 len(due))
        seen: set[int] = set()  # a party to retry may have changed too: it is looked at once
        pages = [self.parties.by_ids(int(key) for key in due)] if due else []
        for page in itertools.chain(pages, self.parties.iter_changed(window)):
            page = [p for p in page if p.party_id not in seen]
            seen.update(p.party_id for p in page)
            self._parties_to_store(page, side)
        with self.engine.begin() as conn:
            db.advance_cursor(conn, "erp", ENTITY, window.end, run_id=self.run_id, now=self.now,
                              store=self.store.name)

    def _parties_to_store(self, parties: list[ErpParty], side: Side) -> None:
        side.read += len(parties)
        with self.engine.connect() as conn:
            linked = customer_links.linked_parties(conn, self.store.name, (p.party_id for p in parties))
        open_ = [p for p in parties if p.party_id not in linked]
        contacts = [plan.contact(p) for p in open_]
        accounts = self.store.customers_by_contact(sorted({e for e, _ in contacts if e}),
                                                   sorted({p for e, p in contacts if p and not e}))
        with self.engine.connect() as conn:
            owners = customer_links.linked_accounts(conn, self.store.name, (a.customer_id for a in accounts))
        decided = plan.to_store(parties, linked, accounts, owners,
                                needs_email=self.store.capabilities().customer_needs_email)
        side.linked_already += decided.linked_already
        side.skipped += sum(1 for _, reason in decided.skip if reason in plan.NOTHING_TO_MATCH)
        self._link([Link(account, party, customer_links.MATCHED) for party, account in decided.link])
        side.matched += len(decided.link)
        failures = [RowFailure(str(party), AMBIGUOUS, f"ERP party {party} {reason}")
                    for party, reason in decided.skip if reason not in plan.NOTHING_TO_MATCH]
        for party, draft in decided.create:
            outcome = self.store.create_customer(draft)
            if outcome.customer_id is None:
                failures.append(RowFailure(str(party), STORE_REFUSED, (
                    f"store {self.store.name} refused an account for ERP party {party}: {outcome.error} "
                    "(correct the party's e-mail or phone in the ERP)")))
                continue
            self._link([Link(outcome.customer_id, party, customer_links.ERP)])
            if outcome.error:  # made, with something left undone (Vendure: its address): not retried
                log.warning("store %s made the account of ERP party %s, but: %s", self.store.name, party,
                            outcome.error)
            side.created += 1
        # Every party of the page that did not fail is done (linked now or before, or nothing to match by).
        self._failed(failures, [str(p.party_id) for p in parties], TO_STORE, side)

    # -- store -> ERP ------------------------------------------------------------------------------------

    def to_erp(self, window_end: dt.datetime, lag: dt.timedelta, full_refresh: bool, side: Side) -> None:
        with self.engine.connect() as conn:
            cursor = db.get_cursor(conn, "store", ENTITY, store=self.store.name)
        window = window_for(cursor, window_end, lag, full_refresh)
        log.info("customers %s -> ERP: accounts changed in %s", self.store.name, window)
        for page in self.store.iter_customers(window):
            side.read += len(page)
            with self.engine.connect() as conn:
                linked = customer_links.linked_accounts(conn, self.store.name, (a.customer_id for a in page))
            records, skipped, already = plan.to_erp(page, linked)
            side.linked_already += already
            side.skipped += len(skipped)
            found, failures = self._find_or_create(records)
            self._link([Link(key, party, customer_links.STORE if created else customer_links.MATCHED)
                        for key, (party, created) in found.items()])
            side.created += sum(1 for _, created in found.values() if created)
            side.matched += sum(1 for _, created in found.values() if not created)
            self._failed(failures, [a.customer_id for a in page], TO_ERP, side)
        with self.engine.begin() as conn:
            db.advance_cursor(conn, "store", ENTITY, window.end, run_id=self.run_id, now=self.now,
                              store=self.store.name)

    def _find_or_create(self, records: list[dict[str, Any]]
                        ) -> tuple[dict[str, tuple[int, bool]], list[RowFailure]]:
        """Each record's party, and a failure for each one the ERP refuses."""
        def refused(record: dict[str, Any], error: ErpUserError) -> RowFailure:
            return RowFailure(record["store_order_id"], ERP_REFUSED, (
                f"the ERP refused a party for store customer {record['store_order_id']}: "
                f"{getattr(error, 'message', None) or error} (correct the account in the store)"))

        return order_parties.parties_or_refusals(self.sales, records, refused)

    # -- bookkeeping ---------------------------------------------------------------------------------------

    def _step(self, operation: str) -> dict[str, str]:
        return {"store": self.store.name, "flow": FLOW, "entity": ENTITY, "operation": operation}

    def _link(self, links: list[Link]) -> None:
        if links:
            with self.engine.begin() as conn:
                customer_links.link(conn, self.store.name, links, self.now)

    def _failed(self, failures: list[RowFailure], looked_at: Iterable[str], operation: str,
                side: Side) -> None:
        """Record the failures; every other record looked at resolves its earlier error, if any."""
        failed = {f.key for f in failures}
        with self.engine.begin() as conn:
            resolve(conn, **self._step(operation), keys=[k for k in looked_at if k not in failed],
                    now=self.now)
            record_failures(conn, **self._step(operation), failures=failures, run_id=self.run_id,
                            now=self.now)
        side.failed += len(failures)
        side.failures.extend(f"{f.key}: {f.kind}" for f in failures)
