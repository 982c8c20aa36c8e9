"""Every GraphQL operation the product sends validates against Shopify's published 2026-10 schema."""

from __future__ import annotations

import gzip
import json

import pytest
from graphql import build_client_schema, parse, validate

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


def test_an_invalid_document_is_rejected(schema):
    document = operations.load("ProductVariants").document.replace("compareAtPrice", "compareAtPriceV3")
    errors = validate(schema, parse(document))
    assert any("compareAtPriceV3" in e.message for e in errors)


def test_there_is_one_operation_per_file_named_after_it():
    names = [op.name for op in operations.all_operations()]
    assert len(names) == len(set(names)) >= 6
