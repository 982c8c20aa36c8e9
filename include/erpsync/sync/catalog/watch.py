"""Whether the ERP changed anything the catalog flow has not read yet: what the ERP change watcher
(:mod:`erpsync.events.erp_watch`) asks every second or two to start the flow within seconds.

The ERP has no webhooks, so the watcher reads state, never messages: the catalog cursors (where each
extract has read up to), the newest ERP modification stamp of every kind of record the extracts look
at, and its own durable *announced* stamp (a row of ``sync_cursor``, entity :data:`ANNOUNCED`): the
newest ERP stamp it has already announced. A change is announced when it is at or after its extract's
cursor (not read yet: windows are half-open) and after the announced stamp (not announced yet). The
stamp moves before the announcement leaves, so a change is announced once even though the cursor moves
only when the run it started has staged it; a later change is after the stamp and is announced again.
Order comes from the ERP's own stamps, never from this machine's clock.

An announcement is a hint to read: the catalog flow reads its window ``[cursor - lag, run end)`` as it
always does. What the watcher cannot see (a row committed late with a stamp older than one already
announced or than the cursor) the next run reads anyway through the lag; polling stays the safety net.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from sqlalchemy import Engine

from erpsync.sync.catalog.extract import SOURCE
from erpsync.tryton.client import TrytonClient
from erpsync.warehouse import db

ANNOUNCED = "changes_announced"  # the watcher's row in sync_cursor (source 'erp'): newest ERP stamp announced

# What each catalog extract reads, by its cursor's entity: the ERP models whose changes it picks up.
WATCHED: Mapping[str, tuple[str, ...]] = {
    # variants, templates (names, list prices), images, price lists and their lines, web shops (assortment)
    "product": ("product.product", "product.template", "product.image", "product.price_list",
                "product.price_list.line", "web.shop"),
    "stock_level": ("stock.move",),  # moves are the change log of stock (they never touch the product)
}

Change = tuple[str, dt.datetime]  # (the cursor entity it belongs to, its ERP modification stamp)


def to_announce(changes: Iterable[Change], cursors: Mapping[str, dt.datetime | None],
                announced: dt.datetime | None) -> dt.datetime | None:
    """The newest stamp of ``changes`` that is unread (at or after its entity's cursor; no cursor: unread)
    and unannounced (after ``announced``), or None: nothing to announce."""
    fresh = [at for entity, at in changes
             if (cursors.get(entity) is None or at >= cursors[entity])
             and (announced is None or at > announced)]
    return max(fresh, default=None)


def newest_changes(erp: TrytonClient, cursors: Mapping[str, dt.datetime | None],
                   announced: dt.datetime | None) -> list[Change]:
    """The newest unread and unannounced change of each watched model (one one-row search each)."""
    found = []
    for entity, models in WATCHED.items():
        for model in models:
            stamp = erp.newest_change(model, since=cursors.get(entity), after=announced)
            if stamp is not None:
                found.append((entity, stamp))
    return found


def announce_changes(erp: TrytonClient, engine: Engine, *, now: dt.datetime) -> dt.datetime | None:
    """Look once: return the ERP stamp to announce (recorded as announced before this returns), or None.

    ``now`` only stamps the row's ``updated_at`` (audit); the decision uses the ERP's stamps alone."""
    with engine.connect() as conn:
        cursors = {entity: db.get_cursor(conn, SOURCE, entity) for entity in WATCHED}
        announced = db.get_cursor(conn, SOURCE, ANNOUNCED)
    newest = to_announce(newest_changes(erp, cursors, announced), cursors, announced)
    if newest is not None:
        with engine.begin() as conn:
            # Forward only: a second watcher racing this one can never move it back.
            db.advance_cursor(conn, SOURCE, ANNOUNCED, newest, run_id=None, now=now)
    return newest
