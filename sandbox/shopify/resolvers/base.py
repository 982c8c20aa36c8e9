"""Resolver plumbing: the registry, the default resolver, the request context and connections."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from graphql import GraphQLResolveInfo, GraphQLSchema, is_abstract_type

from sandbox.shopify.errors import NotModelled, bad_request
from sandbox.shopify.ids import decode_cursor, encode_cursor
from sandbox.shopify.search import Compiled, SearchField, compile_query
from sandbox.shopify.settings import MAX_PAGE_SIZE
from sandbox.shopify.state.indexes import Collection, Key
from sandbox.shopify.state.store import Store

FIELD_RESOLVERS: dict[tuple[str, str], Callable[..., Any]] = {}
TYPE_OF: dict[type, Callable[[Any], str]] = {}

# A key range too wide to be worth materializing and sorting: scan in sort order instead.
CANDIDATE_LIMIT = 5000


@dataclass(slots=True)
class RequestContext:
    store: Store
    plan_name: str = "STANDARD"
    search_warnings: list[dict[str, Any]] = field(default_factory=list)


def resolver(type_name: str, *field_names: str):
    """Register a resolver for fields of a schema type."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        for name in field_names:
            FIELD_RESOLVERS[(type_name, name)] = fn
        return fn

    return register


def graphql_type(python_type: type, name: str | Callable[[Any], str]) -> None:
    """Declare which schema type a record class resolves to where the schema expects an interface."""
    TYPE_OF[python_type] = name if callable(name) else (lambda _value, _name=name: _name)


def _resolve_type(value: Any, _info: GraphQLResolveInfo, _abstract: Any) -> str | None:
    if isinstance(value, Mapping):
        return value.get("__typename")
    namer = TYPE_OF.get(type(value))
    return namer(value) if namer else None


@cache
def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


_MISSING = object()


def default_resolver(source: Any, info: GraphQLResolveInfo, **_args: Any) -> Any:
    """Dict keys by field name, record attributes by snake_case name; anything else is not modelled."""
    name = info.field_name
    value = (
        source.get(name, _MISSING) if isinstance(source, Mapping) else getattr(source, snake(name), _MISSING)
    )
    if value is _MISSING:
        raise NotModelled(f"{info.parent_type.name}.{name}", info)
    return value() if callable(value) else value


def attach(schema: GraphQLSchema) -> None:
    for (type_name, field_name), fn in FIELD_RESOLVERS.items():
        schema.get_type(type_name).fields[field_name].resolve = fn
    for named in schema.type_map.values():
        if is_abstract_type(named):
            named.resolve_type = _resolve_type


def store_of(info: GraphQLResolveInfo) -> Store:
    return info.context.store


# -- connections --------------------------------------------------------------------------------------


@dataclass(slots=True)
class PageArgs:
    first: int | None
    last: int | None
    after: str | None
    before: str | None
    reverse: bool

    @classmethod
    def of(cls, info: GraphQLResolveInfo, args: Mapping[str, Any]) -> PageArgs:
        first, last = args.get("first"), args.get("last")
        if first is None and last is None:
            raise bad_request("you must provide one of first or last", info, info.path.as_list())
        for name, size in (("first", first), ("last", last)):
            if size is not None and not 0 <= size <= MAX_PAGE_SIZE:
                raise bad_request(
                    f"The page size requested for '{name}' must be between 0 and {MAX_PAGE_SIZE}.",
                    info,
                    info.path.as_list(),
                )
        return cls(first, last, args.get("after"), args.get("before"), bool(args.get("reverse")))


def _cursor_key(cursor: str | None, info: GraphQLResolveInfo) -> Key | None:
    if cursor is None:
        return None
    decoded = decode_cursor(cursor)
    if decoded is None:
        raise bad_request("Invalid cursor for current pagination sort.", info, info.path.as_list())
    value, record_id = decoded
    return (tuple(value) if isinstance(value, list) else value, record_id)


def _walk(keys: list[Key], start: Key | None, backwards: bool) -> Iterable[Key]:
    """Keys strictly after `start` in the walking direction."""
    if not backwards:
        position = 0 if start is None else bisect.bisect_right(keys, start)
        return (keys[i] for i in range(position, len(keys)))
    position = len(keys) if start is None else bisect.bisect_left(keys, start)
    return (keys[i] for i in range(position - 1, -1, -1))


def paginate(
    info: GraphQLResolveInfo,
    page: PageArgs,
    keys: list[Key],
    lookup: Callable[[int], Any],
    predicate: Callable[[Any], bool] = lambda _r: True,
) -> dict[str, Any]:
    """A Relay connection over records ordered by `keys` (ascending (sort value, id) pairs)."""
    forward = page.first is not None
    size = page.first if forward else page.last
    # Walking order: ascending unless reversed; `last`/`before` walk the other way from `before`.
    backwards = page.reverse == forward
    start = _cursor_key(page.after if forward else page.before, info)
    found: list[tuple[Key, Any]] = []
    for key in _walk(keys, start, backwards):
        record = lookup(key[1])
        if record is not None and predicate(record):
            found.append((key, record))
            if len(found) > size:
                break
    more = len(found) > size
    found = found[:size]
    if not forward:
        found.reverse()

    def earlier_exists() -> bool:
        # Whether anything matches on the other side of the page start: only computed when asked for.
        if start is None:
            return False
        edge = start if not found else found[0][0] if forward else found[-1][0]
        return any(predicate(r) for k in _walk(keys, edge, not backwards) if (r := lookup(k[1])) is not None)

    cursors = [
        encode_cursor(key[1], list(key[0]) if isinstance(key[0], tuple) else key[0]) for key, _ in found
    ]
    nodes = [record for _key, record in found]
    page_info = {
        "hasNextPage": more if forward else earlier_exists,
        "hasPreviousPage": earlier_exists if forward else more,
        "startCursor": cursors[0] if cursors else None,
        "endCursor": cursors[-1] if cursors else None,
    }
    return {
        "nodes": nodes,
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)],
        "pageInfo": page_info,
    }


def paginate_list(
    info: GraphQLResolveInfo,
    args: Mapping[str, Any],
    records: list[Any],
    key: Callable[[Any], Any] = lambda r: r.id,
    ident: Callable[[Any], int] = lambda r: r.id,
) -> dict[str, Any]:
    """A connection over a small in-memory list (a product's variants, an order's line items, ...)."""
    keyed = sorted(((key(r), ident(r)), r) for r in records)
    by_id = {k[1]: r for k, r in keyed}
    return paginate(info, PageArgs.of(info, args), [k for k, _ in keyed], by_id.get)


@dataclass(slots=True)
class Searchable:
    """How a root connection searches and sorts one collection."""

    collection: Callable[[Store], Collection]
    fields: dict[str, SearchField]
    default_text: Callable[[Any], str]
    sort_keys: dict[str, tuple[str | None, Callable[[Any], Any]]]  # sortKey -> (index, sort value)
    range_fields: dict[str, tuple[str, Callable[[Any], Any]]] = field(
        default_factory=dict
    )  # field -> (index, to key)
    candidates: dict[str, Callable[[Store, Any], set[int]]] = field(
        default_factory=dict
    )  # field -> ids lookup

    def compile(self, store: Store, query: str | None) -> Compiled:
        bound = {
            name: SearchField(lambda record, _get=spec.getter: _get(store, record), spec.kind, spec.type_name)
            if spec.needs_store
            else spec
            for name, spec in self.fields.items()
        }
        return compile_query(query, bound, self.default_text)


def search_connection(
    info: GraphQLResolveInfo,
    args: Mapping[str, Any],
    spec: Searchable,
    default_sort: str = "ID",
    base: Callable[[Any], bool] | None = None,
) -> dict[str, Any]:
    store = store_of(info)
    page = PageArgs.of(info, args)
    compiled = spec.compile(store, args.get("query"))
    if compiled.warnings:
        info.context.search_warnings.append(
            {"path": info.path.as_list(), "query": args.get("query"), "warnings": compiled.warnings}
        )
    predicate = compiled.predicate if base is None else (lambda r: base(r) and compiled.predicate(r))
    collection = spec.collection(store)
    sort_key = args.get("sortKey") or default_sort
    index_name, sort_value = spec.sort_keys.get(sort_key, spec.sort_keys[default_sort])
    keys = _plan(store, collection, spec, compiled, index_name, sort_value, sort_key)
    return paginate(info, page, keys, collection.by_id.get, predicate)


def search_roots(connection: str, counter: str | None, spec: Searchable, default_sort: str = "ID") -> None:
    """Register a QueryRoot connection searched and sorted by `spec`, and its `xxxCount` if any."""
    resolver("QueryRoot", connection)(
        lambda _root, info, **args: search_connection(info, args, spec, default_sort)
    )
    if counter is not None:
        resolver("QueryRoot", counter)(lambda _root, info, **args: count_matching(info, spec, args))


def count_matching(info: GraphQLResolveInfo, spec: Searchable, args: Mapping[str, Any]) -> dict[str, Any]:
    """The `xxxCount(query:, limit:)` root fields: Shopify counts up to `limit` and says AT_LEAST beyond."""
    compiled = spec.compile(store_of(info), args.get("query"))
    matching = sum(1 for r in spec.collection(store_of(info)).by_id.values() if compiled.predicate(r))
    limit = args.get("limit")
    if limit is not None and matching > limit:
        return {"count": limit, "precision": "AT_LEAST"}
    return {"count": matching, "precision": "EXACT"}


def _key_range(keys: list[Key], bounds: list[tuple[str, Any]]) -> tuple[int, int]:
    low, high = 0, len(keys)
    for op, value in bounds:
        if op in (">", ">="):
            position = (
                bisect.bisect_right(keys, (value, float("inf")))
                if op == ">"
                else bisect.bisect_left(keys, (value, float("-inf")))
            )
            low = max(low, position)
        elif op in ("<", "<="):
            position = (
                bisect.bisect_left(keys, (value, float("-inf")))
                if op == "<"
                else bisect.bisect_right(keys, (value, float("inf")))
            )
            high = min(high, position)
        else:
            low = max(low, bisect.bisect_left(keys, (value, float("-inf"))))
            high = min(high, bisect.bisect_right(keys, (value, float("inf"))))
    return low, max(low, high)


def _plan(
    store: Store,
    collection: Collection,
    spec: Searchable,
    compiled: Compiled,
    index_name: str | None,
    sort_value: Callable[[Any], Any],
    sort_key: str,
) -> list[Key]:
    """The ordered keys a page is cut from: an index (or a slice of one), or a small sorted candidate set.
    The predicate is applied on top either way, so this only ever narrows, never decides."""
    candidate_ids: set[int] | None = None
    for name, lookup in spec.candidates.items():
        groups = compiled.alternatives.get(name, [])
        if name in compiled.equalities:
            groups = [[compiled.equalities[name]], *groups]
        for values in groups:  # each group: any of its values (`sku:A OR sku:B`), the groups all at once
            ids = set().union(*(lookup(store, value) for value in values))
            candidate_ids = ids if candidate_ids is None else candidate_ids & ids
    for name, bounds in compiled.ranges.items():
        if name not in spec.range_fields:
            continue
        range_index, to_key = spec.range_fields[name]
        index_keys = collection.sorted[range_index].keys
        low, high = _key_range(index_keys, [(op, to_key(v)) for op, v in bounds])
        if range_index == index_name and candidate_ids is None:
            return index_keys[low:high]
        if high - low <= CANDIDATE_LIMIT:
            ids = {key[1] for key in index_keys[low:high]}
            candidate_ids = ids if candidate_ids is None else candidate_ids & ids
    if candidate_ids is None and index_name is not None:
        return collection.sorted[index_name].keys
    records = (
        (collection.by_id[i] for i in candidate_ids if i in collection.by_id)
        if candidate_ids is not None
        else collection.by_id.values()
    )
    return sorted((sort_value(r), r.id) for r in records)
