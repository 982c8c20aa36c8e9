"""Small shapes shared by several domains: money, counts, ids, user errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from graphql import GraphQLResolveInfo

from sandbox.shopify.ids import gid, parse_gid
from sandbox.shopify.settings import SHOP_CURRENCY


def money(amount: Decimal | None) -> dict[str, Any] | None:
    return None if amount is None else {"amount": amount, "currencyCode": SHOP_CURRENCY}


def money_bag(amount: Decimal) -> dict[str, Any]:
    # Presentment currency is the shop currency: the emulator has no multi-currency checkout.
    return {"shopMoney": money(amount), "presentmentMoney": money(amount)}


def count(value: int) -> dict[str, Any]:
    return {"count": value, "precision": "EXACT"}


def id_resolver(type_name: str):
    def resolve(record: Any, _info: GraphQLResolveInfo) -> str:
        return gid(type_name, record.id)

    return resolve


def legacy_id(record: Any, _info: GraphQLResolveInfo) -> int:
    return record.id


def numeric_id(value: Any, *type_names: str) -> int | None:
    for type_name in type_names:
        parsed = parse_gid(value, type_name)
        if parsed is not None:
            return parsed
    return None
