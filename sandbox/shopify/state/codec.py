"""JSON encoding of records (nested dataclasses, Decimals, datetimes) for the SQLite write-through."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.shopify.state import records

_CLASSES = {
    cls.__name__: cls
    for cls in vars(records).values()
    if isinstance(cls, type) and dataclasses.is_dataclass(cls)
}
_FIELDS = {name: tuple(f.name for f in dataclasses.fields(cls)) for name, cls in _CLASSES.items()}


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return {"$d": str(value)}
    if isinstance(value, datetime):
        return {"$t": value.isoformat()}
    name = type(value).__name__
    if name in _FIELDS:
        body = {f: getattr(value, f) for f in _FIELDS[name]}
        body["$c"] = name
        return body
    raise TypeError(f"cannot encode {type(value).__name__}")


def _hook(obj: dict[str, Any]) -> Any:
    if "$d" in obj:
        return Decimal(obj["$d"])
    if "$t" in obj:
        return datetime.fromisoformat(obj["$t"])
    if "$c" in obj:
        cls = _CLASSES[obj.pop("$c")]
        return cls(**obj)
    return obj


# One encoder and decoder for the process: json.dumps/loads with options build a new one per call, which
# costs more than encoding a small record.
_ENCODER = json.JSONEncoder(default=_default, separators=(",", ":"))
_DECODER = json.JSONDecoder(object_hook=_hook)


def encode(record: Any) -> str:
    return _ENCODER.encode(record)


def decode(text: str) -> Any:
    return _DECODER.decode(text)
