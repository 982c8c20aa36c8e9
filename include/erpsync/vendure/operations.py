"""The GraphQL operations the product sends to Vendure's Admin API, kept as ``graphql/<Name>.graphql``
files and validated in a test against a running Vendure server's introspected schema."""

from __future__ import annotations

from pathlib import Path

from erpsync.common.graphql import Operation, Operations

__all__ = ["GRAPHQL_DIR", "Operation", "all_operations", "load"]

GRAPHQL_DIR = Path(__file__).with_name("graphql")
_OPERATIONS = Operations(GRAPHQL_DIR)
load = _OPERATIONS.load
all_operations = _OPERATIONS.all
