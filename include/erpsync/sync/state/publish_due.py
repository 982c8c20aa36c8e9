"""What each store's publish steps still have to look at: the catalog's dirty set, kept incrementally.

Staging marks every SKU it changed, for every store and every publish step the change concerns, in the
transaction that stages it (a live run, a backfill, a run for a list of SKUs alike). A publish step
reads its store's marks, publishes what differs from the published state, and then settles the marks it
read, each only if it still carries the token it read: a SKU staged again meanwhile keeps its newer mark
for the next run. So:

- a backfill's repairs go out with the next live run, without a full refresh;
- a run that failed or was killed halfway leaves its marks for the next run (the publish diff makes
  repeating harmless);
- a run with nothing staged reads an empty index range: its cost is the changes, not the catalog.

A dry run (and a backfill, whose publish is one) reads marks without settling them. Failures of a row
stay with the row error queue, which retries them on its own schedule; a mark only says "look".
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import Connection, String, any_, bindparam, delete, select
from sqlalchemy.dialects.postgresql import ARRAY

from erpsync.warehouse import db
from erpsync.warehouse.schema import publish_due

CONTENT, PRICES, INVENTORY = "publish_content", "publish_prices", "publish_inventory"
PRODUCT_STEPS = (CONTENT, PRICES, INVENTORY)  # a product change may change all three
STOCK_STEPS = (INVENTORY,)  # a stock change only the availability


def mark(conn: Connection, *, stores: Sequence[str], steps: Sequence[str], skus: Iterable[str],
         now: dt.datetime) -> int:
    """Mark ``skus`` due for ``steps`` of every store in ``stores``; returns the marks written."""
    token = uuid.uuid4().hex
    wanted = sorted(set(skus))
    rows = [{"store": store, "step": step, "sku": sku, "token": token, "marked_at": now}
            for store in stores for step in steps for sku in wanted]
    return db.upsert(conn, publish_due, rows, update=["token", "marked_at"])


def due(conn: Connection, *, store: str, step: str) -> dict[str, str]:
    """SKU -> token of the marks this store's step has not settled."""
    return dict(conn.execute(select(publish_due.c.sku, publish_due.c.token).where(
        publish_due.c.store == store, publish_due.c.step == step)).all())


def settle(conn: Connection, *, store: str, step: str, marks: Mapping[str, str]) -> int:
    """Remove the marks read as ``marks`` (SKU -> token); a mark replaced since stays. Returns how many went."""
    by_token: dict[str, list[str]] = defaultdict(list)
    for sku, token in marks.items():
        by_token[token].append(sku)
    settled = 0
    # On PostgreSQL one statement for all of a token's SKUs: a catalog's first publish settles every SKU's
    # mark, and as 105 chunks of 1,000 each chunk walked all of the step's 104,490 marks (planned on the
    # statistics of the table before the marks came: ~1 s a chunk). SQLite's IN uses the key, a chunk at a
    # time (its limit on variables).
    postgres = conn.dialect.name == "postgresql"
    for token, skus in by_token.items():
        for chunk in [sorted(skus)] if postgres else db.chunks(sorted(skus)):
            matching = (publish_due.c.sku == any_(bindparam("skus", chunk, type_=ARRAY(String))) if postgres
                        else publish_due.c.sku.in_(chunk))
            settled += conn.execute(delete(publish_due).where(
                publish_due.c.store == store, publish_due.c.step == step, publish_due.c.token == token,
                matching)).rowcount
    return settled
