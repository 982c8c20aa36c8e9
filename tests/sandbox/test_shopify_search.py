"""The emulator's search plan: a query's index lookups only narrow what its predicate is applied to, so a
search answers the same records as a scan of the whole collection, and an OR of whole SKUs (how a client
asks for many records by key) reads only their records."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox.shopify.resolvers.base import Searchable, _plan
from sandbox.shopify.search import SearchField
from sandbox.shopify.state.indexes import Collection
from tests.sandbox.conftest_shopify import *  # noqa: F403 (fixtures)
from tests.sandbox.conftest_shopify import Shop


@dataclass
class Row:
    id: int
    sku: str | None
    title: str


def _searchable() -> Searchable:
    return Searchable(
        collection=lambda _store: None,  # the test passes its collection itself
        fields={"sku": SearchField(lambda r: r.sku, "exact"), "title": SearchField(lambda r: r.title, "text"),
                "id": SearchField(lambda r: r.id, "id", "Row")},
        default_text=lambda r: r.title,
        sort_keys={"ID": (None, lambda r: r.id)},
        candidates={"sku": lambda store, value: store.equal["sku"].get(value),
                    "id": lambda _s, value: {value}},
    )


def _collection(rows: list[Row]) -> Collection:
    collection: Collection = Collection(equality={"sku": lambda r: r.sku.lower() if r.sku else None})
    for row in rows:
        collection.put(row)
    return collection


def _searched(collection: Collection, query: str) -> tuple[list[int], int]:
    """The ids the search answers, in order, and how many records its plan read."""
    spec = _searchable()
    compiled = spec.compile(collection, query)
    keys = _plan(collection, collection, spec, compiled, None, lambda r: r.id, "ID")
    return [i for _, i in keys if compiled.predicate(collection.by_id[i])], len(keys)


SKUS = ["A-1", "a-2", "B-1", "B-10", "C", "c"]
TERMS = st.one_of(
    st.builds(lambda s: f"sku:{s}", st.sampled_from([*SKUS, "A-*", "b-1", "NONE", '"A-1"'])),
    st.builds(lambda w: f"title:{w}", st.sampled_from(["red", "Blue", "gr*"])),
    st.builds(lambda i: f"id:{i}", st.integers(1, 8)),
    st.sampled_from(["red", "-sku:C"]),
)


def _or(terms: list[str]) -> str:
    return " OR ".join(terms)


QUERIES = st.recursive(
    TERMS,
    lambda inner: st.one_of(st.lists(inner, min_size=1, max_size=4).map(lambda t: f"({_or(t)})"),
                            st.lists(inner, min_size=1, max_size=3).map(" ".join)),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(st.tuples(st.sampled_from([*SKUS, None]), st.sampled_from(["red hat", "Blue", "green"])),
                  max_size=8),
    query=st.one_of(QUERIES, st.lists(TERMS, min_size=1, max_size=5).map(_or)),
)
def test_a_search_answers_what_a_scan_of_every_record_answers(rows, query) -> None:
    collection = _collection([Row(i + 1, sku, title) for i, (sku, title) in enumerate(rows)])
    compiled = _searchable().compile(collection, query)
    scanned = sorted(r.id for r in collection.by_id.values() if compiled.predicate(r))
    assert _searched(collection, query)[0] == scanned, query


def test_an_or_of_whole_skus_reads_only_their_records() -> None:
    collection = _collection([Row(i, f"SKU-{i}", "red") for i in range(1, 1001)])
    assert _searched(collection, "sku:SKU-7 OR sku:sku-500 OR sku:NONE") == ([7, 500], 2)
    assert _searched(collection, "(sku:SKU-7 OR sku:SKU-8) title:red") == ([7, 8], 2)
    # Not one field's whole values: every record is read, and the predicate decides.
    assert _searched(collection, "sku:SKU-7 OR title:blue") == ([7], 1000)
    assert _searched(collection, "sku:SKU-7 OR sku:SKU-99*") == ([7], 1000)  # an exact field: no prefix


def test_the_variants_of_an_or_of_skus_through_graphql(shop: Shop) -> None:
    query = """query($q: String!) { productVariants(first: 10, query: $q) { nodes { sku } } }"""

    def skus(q: str) -> list[str]:
        return [n["sku"] for n in shop.data(query, {"q": q})["productVariants"]["nodes"]]

    assert skus("sku:SHOE-40 OR sku:hat-1 OR sku:NOPE") == ["SHOE-40", "HAT-1"]
    assert skus('sku:"SHOE-41" OR sku:POSTER-1') == ["SHOE-41", "POSTER-1"]
    products = """query($q: String!) { products(first: 10, query: $q) { nodes { title } } }"""
    found = shop.data(products, {"q": "sku:SHOE-41 OR sku:HAT-1"})["products"]["nodes"]
    assert [n["title"] for n in found] == ["Trail Shoe", "Wool Hat"]
