"""How Shopify writes what the store module and the customers module read and send: its timestamps, its
mailing addresses, the values and windows of its search syntax (``query:`` arguments)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from erpsync.common.window import Window
from erpsync.store.records import StoreAddress


def window_query(window: Window) -> str:
    """The search for what changed in ``window``. Shopify stamps and compares at second precision: the
    start is rounded down and the end up to whole seconds (what the window's last second stamped is read
    now, not one run later; the next window reads it again, deduplicated downstream)."""
    query = f"updated_at:<'{_second(window.end, up=True)}'"
    if window.start is not None:
        query = f"updated_at:>='{_second(window.start)}' AND {query}"
    return query


def _second(moment: dt.datetime, *, up: bool = False) -> str:
    moment = moment.astimezone(dt.UTC)
    if up and moment.microsecond:
        moment = moment.replace(microsecond=0) + dt.timedelta(seconds=1)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def quoted(value: str) -> str:
    """A search value as one term, whatever it holds (spaces, colons, ``OR``)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def when(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def address(data: dict[str, Any] | None) -> StoreAddress | None:
    """A ``MailingAddress`` read with the fields of the ``Address`` fragments."""
    if not data:
        return None
    return StoreAddress(data.get("firstName"), data.get("lastName"), data.get("company"),
                        data.get("address1"), data.get("address2"), data.get("city"), data.get("zip"),
                        data.get("provinceCode"), data.get("countryCodeV2"), data.get("phone"))
