"""Tryton's JSON-RPC wire format for the types JSON lacks (datetime, date, Decimal, bytes, timedelta).

The server tags them as ``{"__class__": "datetime", "year": ..}``; we decode them into Python objects
and encode ours the same way, so amounts stay Decimal end to end and never pass through float.
Tryton's datetimes are naive UTC: we hand out aware UTC datetimes and send naive UTC ones.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from decimal import Decimal
from typing import Any


def _decode_object(obj: dict[str, Any]) -> Any:
    kind = obj.get("__class__")
    if kind is None:
        return obj
    if kind == "datetime":
        return dt.datetime(
            obj["year"], obj["month"], obj["day"], obj["hour"], obj["minute"], obj["second"],
            obj.get("microsecond", 0), tzinfo=dt.UTC,
        )
    if kind == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if kind == "time":
        return dt.time(obj["hour"], obj["minute"], obj["second"], obj.get("microsecond", 0))
    if kind == "timedelta":
        return dt.timedelta(seconds=obj["seconds"])
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "bytes":
        return base64.b64decode(obj["base64"])
    return obj


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return {
            "__class__": "datetime", "year": value.year, "month": value.month, "day": value.day,
            "hour": value.hour, "minute": value.minute, "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, bytes | bytearray):
        return {"__class__": "bytes", "base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dt.timedelta):
        return {"__class__": "timedelta", "seconds": value.total_seconds()}
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError(f"cannot send {type(value).__name__} to Tryton")


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, default=_encode, separators=(",", ":")).encode("utf-8")


def loads(body: bytes | str) -> Any:
    return json.loads(body, object_hook=_decode_object)
