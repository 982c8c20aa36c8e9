"""Which units a store's refunds, order edits and returns put back on (or took off) its shelves (pure).

A refund with restock puts the units back at once in the store. The ERP counts them only when it
receives the return (a shipped line) or at once (an unshipped line: its sale holds back fewer), so the
catalog flow must look at such a level again even where the ERP's figure has not moved. The refunds are
those staged with the order (``stg_order.refunds``): ``refund_id``, ``created_at`` (ISO 8601, the
store's clock), ``lines`` of ``line_id``, ``quantity``, ``restock``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from erpsync.warehouse import db


def restocked_lines(refunds: Iterable[Mapping[str, Any]] | None,
                    since: dt.datetime | None = None) -> set[str]:
    """The ids of the order lines whose units a refund restocked (one created at or after ``since``, by the
    store's clock; any when ``since`` is None). A refund stamped in the same whole second as ``since`` may
    have come before or after it, so it counts."""
    lines: set[str] = set()
    for refund in _since(refunds, "created_at", since):
        lines.update(item["line_id"] for item in refund.get("lines") or () if item.get("restock")
                     and int(item.get("quantity") or 0) > 0)
    return lines


def edited_lines(edits: Iterable[Mapping[str, Any]] | None, since: dt.datetime | None = None) -> set[str]:
    """The ids of the order lines an order edit (one made at or after ``since``, by the store's clock; any
    when ``since`` is None) added units to or removed units from: the store moved their levels at once
    (committed the added units, put removed ones back), the ERP when it follows the edit, or never (goods
    it already shipped). The edits are those staged with the order (``stg_order.edits``)."""
    lines: set[str] = set()
    for edit in _since(edits, "happened_at", since):
        lines.update(line["line_id"] for line in edit.get("lines") or () if int(line.get("quantity") or 0))
    return lines


def returned_lines(returns: Iterable[Mapping[str, Any]] | None, since: dt.datetime | None = None) -> set[str]:
    """The ids of the order lines a return (one processed at or after ``since``, by the store's clock; any
    when ``since`` is None) restocked units of, or gave in exchange: the store moved their levels at once,
    the ERP when it books the return. The returns are those staged with the order (``stg_order.returns``)."""
    lines: set[str] = set()
    for ret in _since(returns, "happened_at", since):
        lines.update(line["line_id"] for line in ret.get("returned") or () if line.get("restocked"))
        lines.update(line["line_id"] for line in ret.get("exchanged") or ())
    return lines


def _since(changes: Iterable[Mapping[str, Any]] | None, stamp: str,
           since: dt.datetime | None) -> Iterator[Mapping[str, Any]]:
    """The staged changes stamped (``stamp``: an ISO 8601 time by the store's clock) at or after ``since``
    (all of them when it is None; an unstamped one counts)."""
    for change in changes or ():
        when = change.get(stamp)
        if since is None or when is None or db.as_utc(dt.datetime.fromisoformat(when)) >= db.as_utc(since):
            yield change


def later_commitments(edits: Iterable[Mapping[str, Any]] | None,
                      returns: Iterable[Mapping[str, Any]] | None) -> list[tuple[tuple[str, str], str, int]]:
    """The units the store committed to (or took off) an order's lines after it was placed, each with the
    key of the change that did (``order_adjustment``'s kind and store ref): ``(("edit", edit id), line id,
    units)`` for each line an edit added units to (positive) or removed units from (negative), and
    ``(("exchange", return id), line id, units)`` for each item a return gave in exchange. The store commits
    them at once; the ERP counts them when it books that change (the edit's sale or amendment, the
    exchange's sale), or never (an edit of goods already shipped)."""
    found: list[tuple[tuple[str, str], str, int]] = []
    for edit in edits or ():
        found.extend((("edit", edit["edit_id"]), line["line_id"], int(line["quantity"]))
                     for line in edit.get("lines") or () if int(line.get("quantity") or 0))
    for ret in returns or ():
        found.extend((("exchange", ret["return_id"]), item["line_id"], int(item["quantity"]))
                     for item in ret.get("exchanged") or () if int(item.get("quantity") or 0) > 0)
    return found


def committed_since(edits: Iterable[Mapping[str, Any]] | None, returns: Iterable[Mapping[str, Any]] | None,
                    line_id: str, since: dt.datetime) -> list[tuple[dt.datetime, int]]:
    """(when, units) the store committed to ``line_id`` at or after ``since`` (its own clock): units an edit
    added to the line, items a return gave in exchange on it. An unstamped change is in doubt: at
    ``since``."""
    found: list[tuple[dt.datetime, int]] = []
    for changes, items in ((edits, "lines"), (returns, "exchanged")):
        for change in _since(changes, "happened_at", since):
            when = db.as_utc(dt.datetime.fromisoformat(change["happened_at"])) if change.get("happened_at") \
                else db.as_utc(since)
            found.extend((when, int(item["quantity"])) for item in change.get(items) or ()
                         if item["line_id"] == line_id and int(item.get("quantity") or 0) > 0)
    return found
