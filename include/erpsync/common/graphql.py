"""GraphQL operations kept as ``<Name>.graphql`` files, one directory per API.

Keeping them as files lets a test validate every one against the API's schema (Shopify's published one,
a running Vendure server's introspection), so an invalid field fails in CI instead of in a customer's
store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_NAME = re.compile(r"^\s*(query|mutation)\s+(\w+)", re.MULTILINE)


@dataclass(frozen=True)
class Operation:
    name: str
    kind: str  # query | mutation
    document: str


class Operations:
    """The operations of one directory, loaded once each."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.load = cache(self._load)

    def _load(self, name: str) -> Operation:
        path = self.directory / f"{name}.graphql"
        document = path.read_text()
        match = _NAME.search(document)
        if not match or match.group(2) != name:
            raise ValueError(f"{path} must define one operation named {name}")
        return Operation(name=name, kind=match.group(1), document=document)

    def all(self) -> list[Operation]:
        return [self.load(path.stem) for path in sorted(self.directory.glob("*.graphql"))]
