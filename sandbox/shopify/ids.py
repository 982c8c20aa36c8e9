"""Shopify global IDs and opaque pagination cursors."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

_GID = re.compile(r"^gid://shopify/(?P<type>[A-Za-z]+)/(?P<id>\d+)(?:\?.*)?$")


def gid(type_name: str, numeric_id: int) -> str:
    return f"gid://shopify/{type_name}/{numeric_id}"


def parse_gid(value: Any, type_name: str | None = None) -> int | None:
    """The numeric id of a gid of the given type, or None when it is not one."""
    match = _GID.match(str(value))
    if not match or (type_name is not None and match["type"] != type_name):
        return None
    return int(match["id"])


def gid_type(value: Any) -> str | None:
    match = _GID.match(str(value))
    return match["type"] if match else None


def inventory_level_gid(location_id: int, item_id: int) -> str:
    # Shopify's InventoryLevel ids carry the location id and the item as a query parameter.
    return f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item_id}"


def parse_inventory_level_gid(value: Any) -> tuple[int, int] | None:
    match = re.match(r"^gid://shopify/InventoryLevel/(\d+)\?inventory_item_id=(\d+)$", str(value))
    return (int(match[1]), int(match[2])) if match else None


def encode_cursor(record_id: int, sort_value: Any) -> str:
    # Shopify's cursors are base64 JSON of the last id and the last sort value; clients must treat
    # them as opaque, and so must tests.
    raw = json.dumps({"last_id": record_id, "last_value": sort_value}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[Any, int] | None:
    """(sort value, id) of a cursor, or None if it is not one of ours."""
    try:
        data = json.loads(base64.b64decode(cursor.encode(), validate=True))
        return data["last_value"], int(data["last_id"])
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
