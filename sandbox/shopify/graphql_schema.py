"""Shopify's published Admin schema, built once, with Shopify's serialization of its custom scalars."""

from __future__ import annotations

import gzip
import json
import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from graphql import GraphQLSchema, build_client_schema, value_from_ast_untyped

from sandbox.shopify.settings import SCHEMA_FILE

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _decimal(value: Any, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise ValueError(f"invalid {what} {value!r}")
    text = str(value).strip()
    if not _NUMBER.match(text):
        raise ValueError(f"invalid {what} '{value}'")
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"invalid {what} '{value}'") from exc


def serialize_money(value: Any) -> str:
    # Money values (ProductVariant.price, ...) come back with two decimals: "100.57", "12.00".
    return f"{Decimal(value).quantize(Decimal('0.01')):f}"


def serialize_decimal(value: Any) -> str:
    # Decimal values (MoneyV2.amount, ...) come back without trailing zeros but with one decimal
    # place at least: "29.99", "30.0".
    text = f"{Decimal(value).normalize():f}"
    return text if "." in text else f"{text}.0"


def serialize_datetime(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"invalid date-time {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"invalid date-time '{value}'") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def parse_url(value: Any) -> str:
    parts = urlsplit(str(value))
    if not isinstance(value, str) or not parts.scheme or not (parts.netloc or parts.path):
        raise ValueError(f"'{value}' is not a valid URL")
    return value


def parse_unsigned_int64(value: Any) -> int:
    text = str(value)
    if isinstance(value, bool) or not text.isdigit() or int(text) >= 2**64:
        raise ValueError(f"invalid unsigned 64-bit integer '{value}'")
    return int(text)


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


# name -> (serialize, parse_value); literals are parsed through parse_value.
_SCALARS: dict[str, tuple[Any, Any]] = {
    "Money": (serialize_money, lambda v: _decimal(v, "money")),
    "Decimal": (serialize_decimal, lambda v: _decimal(v, "decimal")),
    "DateTime": (serialize_datetime, parse_datetime),
    "URL": (str, parse_url),
    "HTML": (str, _string),
    "FormattedString": (str, _string),
    "Color": (str, _string),
    "UtcOffset": (str, _string),
    "Date": (str, _string),
    "StorefrontID": (str, _string),
    "ARN": (str, _string),
    "UnsignedInt64": (str, parse_unsigned_int64),
    "BigInt": (str, parse_unsigned_int64),
    "JSON": (lambda v: v, lambda v: v),
}


def _literal_parser(parse_value: Any):
    def parse_literal(node: Any, variables: Any = None) -> Any:
        return parse_value(value_from_ast_untyped(node, variables))

    return parse_literal


def load_introspection() -> dict[str, Any]:
    with gzip.open(SCHEMA_FILE, "rt", encoding="utf-8") as handle:
        return json.load(handle)["data"]


@cache
def admin_schema() -> GraphQLSchema:
    """The 2026-10 Admin schema with scalars wired and the emulator's resolvers attached.

    Built once per process: the schema is immutable afterwards and shared by every emulator instance.
    """
    from sandbox.shopify.resolvers import attach_resolvers

    schema = build_client_schema(load_introspection())
    for name, (serialize, parse_value) in _SCALARS.items():
        scalar = schema.get_type(name)
        scalar.serialize = serialize
        scalar.parse_value = parse_value
        scalar.parse_literal = _literal_parser(parse_value)
    attach_resolvers(schema)
    return schema
