"""The GraphQL operations the product sends, kept as ``graphql/<Name>.graphql`` files.

Keeping them as files lets a test validate every one against Shopify's published schema, so an invalid
field fails in CI instead of in a customer's store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

GRAPHQL_DIR = Path(__file__).with_name("graphql")
_NAME = re.compile(r"^\s*(query|mutation)\s+(\w+)", re.MULTILINE)


@dataclass(frozen=True)
class Operation:
    name: str
    kind: str  # query | mutation
    document: str


@cache
def load(name: str) -> Operation:
    path = GRAPHQL_DIR / f"{name}.graphql"
    document = path.read_text()
    match = _NAME.search(document)
    if not match or match.group(2) != name:
        raise ValueError(f"{path} must define one operation named {name}")
    return Operation(name=name, kind=match.group(1), document=document)


def all_operations() -> list[Operation]:
    return [load(path.stem) for path in sorted(GRAPHQL_DIR.glob("*.graphql"))]
