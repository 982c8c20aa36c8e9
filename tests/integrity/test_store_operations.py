"""Every GraphQL operation the product sends validates against Shopify's published 2026-10 schema."""

from __future__ import annotations

import gzip
import importlib
import json

import pytest
from graphql import build_client_schema, parse, validate
from graphql.validation import NoDeprecatedCustomRule

from erpsync.shopify import operations
from erpsync.shopify.client import API_VERSION
from tests.conftest import REPO

SCHEMA_FILE = REPO / "sandbox" / "shopify" / "schema" / f"admin_{API_VERSION}.json.gz"


@pytest.fixture(scope="module")
def schema():
    introspection = json.loads(gzip.decompress(SCHEMA_FILE.read_bytes()))
    return build_client_schema(introspection.get("data", introspection))


@pytest.mark.parametrize("operation", operations.all_operations(), ids=lambda op: op.name)
def test_operation_validates_against_the_real_schema(schema, operation):
    errors = validate(schema, parse(operation.document))
    assert errors == [], [e.message for e in errors]


@pytest.mark.parametrize("operation", operations.all_operations(), ids=lambda op: op.name)
def test_operation_asks_for_nothing_shopify_deprecated(schema, operation):
    """A deprecated field, argument or enum value is what Shopify removes in a later version: each one
    has its replacement named in the schema (e.g. Customer.email: defaultEmailAddress.emailAddress)."""
    errors = validate(schema, parse(operation.document), [NoDeprecatedCustomRule])
    assert errors == [], [e.message for e in errors]


def test_an_invalid_document_is_rejected(schema):
    document = operations.load("ProductVariants").document.replace("compareAtPrice", "compareAtPriceV3")
    errors = validate(schema, parse(document))
    assert any("compareAtPriceV3" in e.message for e in errors)


def test_there_is_one_operation_per_file_named_after_it():
    names = [op.name for op in operations.all_operations()]
    assert len(names) == len(set(names)) >= 6


# The page sizes the product asks for, where an operation takes them as a variable: (module of
# erpsync.shopify, its constant).
PAGES = {"ProductVariants": ("store", "VARIANT_PAGE"), "Orders": ("store", "ORDER_PAGE"),
         "OrderStamps": ("store", "STAMP_PAGE"), "OrderVersions": ("store", "IDS_PER_QUERY"),
         "Customers": ("customers", "CUSTOMER_PAGE")}


@pytest.mark.parametrize("operation", [op for op in operations.all_operations() if op.document.lstrip("# \n")
                                       and "query " in op.document], ids=lambda op: op.name)
def test_every_query_costs_less_than_shopify_refuses(schema, operation):
    """Shopify refuses a query whose requested cost is over 1,000 points (MAX_COST_EXCEEDED), whatever
    the data: worked out with the store emulator's calculator of Shopify's published rules."""
    from graphql import FragmentDefinitionNode, OperationDefinitionNode

    from sandbox.shopify.cost import QueryCost

    document = parse(operation.document)
    (query,) = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    first = 250  # Shopify's largest page
    if operation.name in PAGES:
        module, constant = PAGES[operation.name]
        first = getattr(importlib.import_module(f"erpsync.shopify.{module}"), constant)
    variables = {"first": first}
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    assert QueryCost(schema, fragments, variables).requested(query) <= 1000
