"""Calculated query cost, requested (before execution) and actual (from the response).

Rules, from shopify.dev "GraphQL Admin API rate limits" and Shopify Engineering's "Rate limiting GraphQL
APIs by calculating query complexity":
- a field returning a scalar or an enum costs 0, an object 1 plus its selections;
- an interface or union costs the maximum over the types its selections can resolve to;
- a connection costs 2 plus, per requested item (its `first` or `last`; 0 when neither is given), the item:
  1 plus the node's selections; `pageInfo` is an object (1);
- a mutation costs 10, plus its payload's selections (the payload object itself is not charged);
  productSet, productCreate, productUpdate and productVariantsBulkCreate/Update use the dynamic
  complexity of Shopify's changelog of 2025-10-01 (base 10, per variant 0.2, per variant file/media 0.6,
  per metafield 0.4, per product file/media 1.9; the fraction is dropped, as the changelog's
  "1 variant: 10 points" example shows).
The actual cost applies the same rules to what was returned: null objects cost nothing and connections
cost per returned item. A list of objects that is not a connection is charged as one object.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
    is_leaf_type,
)
from graphql.execution.values import get_argument_values

MUTATION_COST = 10


def _count(items: Any) -> int:
    return len(items) if isinstance(items, list) else 0


def _variants_complexity(variants: list[dict[str, Any]], file_key: str) -> float:
    files = (
        sum(1 for v in variants if v.get(file_key))
        if file_key == "file"
        else sum(_count(v.get("mediaSrc")) + (1 if v.get("mediaId") else 0) for v in variants)
    )
    metafields = sum(_count(v.get("metafields")) for v in variants)
    return 0.2 * len(variants) + 0.6 * files + 0.4 * metafields


def _product_set(args: Mapping[str, Any]) -> float:
    product = args.get("input") or {}
    return (
        _variants_complexity(product.get("variants") or [], "file")
        + 0.4 * _count(product.get("metafields"))
        + 1.9 * _count(product.get("files"))
    )


def _product_write(args: Mapping[str, Any]) -> float:
    product = args.get("product") or args.get("input") or {}
    return 0.4 * _count(product.get("metafields")) + 1.9 * _count(args.get("media"))


def _variants_bulk(args: Mapping[str, Any]) -> float:
    return _variants_complexity(args.get("variants") or [], "media") + 1.9 * _count(args.get("media"))


DYNAMIC_MUTATION_COSTS: dict[str, Callable[[Mapping[str, Any]], float]] = {
    "productSet": _product_set,
    "productCreate": _product_write,
    "productUpdate": _product_write,
    "productVariantsBulkCreate": _variants_bulk,
    "productVariantsBulkUpdate": _variants_bulk,
}


def mutation_cost(field_name: str, args: Mapping[str, Any]) -> int:
    extra = DYNAMIC_MUTATION_COSTS.get(field_name)
    return math.floor(MUTATION_COST + (extra(args) if extra else 0))


def _is_connection(type_: Any) -> bool:
    return (
        isinstance(type_, GraphQLObjectType)
        and type_.name.endswith("Connection")
        and "pageInfo" in type_.fields
    )


class QueryCost:
    """Cost of one operation of a validated document, with coerced variables."""

    def __init__(
        self, schema: GraphQLSchema, fragments: dict[str, FragmentDefinitionNode], variables: dict[str, Any]
    ) -> None:
        self._schema = schema
        self._fragments = fragments
        self._variables = variables
        # The actual cost walks the same selections once per returned object: memoize the flattening.
        self._collected: dict[tuple[int, int, int], dict[str, tuple[Any, list[FieldNode]]]] = {}
        self._merges: dict[tuple[int, ...], SelectionSetNode | None] = {}

    # -- flattening fragments -------------------------------------------------------------------------

    def _applies(self, condition: Any, concrete: GraphQLObjectType | None) -> bool:
        if condition is None or concrete is None:
            return True
        cond_type = self._schema.get_type(condition.name.value)
        if concrete is _NoType:
            return is_abstract_type(cond_type)
        if cond_type is concrete:
            return True
        return is_abstract_type(cond_type) and self._schema.is_sub_type(cond_type, concrete)

    def _collect(
        self, selection_set: SelectionSetNode, parent: Any, concrete: GraphQLObjectType | None
    ) -> dict[str, tuple[Any, list[FieldNode]]]:
        """Fields by response key, with the type that declares them; fragments not applying to
        `concrete` are left out (all are kept when `concrete` is None)."""
        key = (id(selection_set), id(parent), id(concrete))
        found = self._collected.get(key)
        if found is None:
            found = self._collected[key] = self._collect_uncached(selection_set, parent, concrete)
        return found

    def _collect_uncached(
        self, selection_set: SelectionSetNode, parent: Any, concrete: GraphQLObjectType | None
    ) -> dict[str, tuple[Any, list[FieldNode]]]:
        fields: dict[str, tuple[Any, list[FieldNode]]] = {}
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                fields.setdefault(key, (parent, []))[1].append(selection)
                continue
            if isinstance(selection, InlineFragmentNode):
                condition, sub = selection.type_condition, selection.selection_set
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self._fragments[selection.name.value]
                condition, sub = fragment.type_condition, fragment.selection_set
            else:  # pragma: no cover - the grammar has no other selection kinds
                continue
            if not self._applies(condition, concrete):
                continue
            inner_parent = self._schema.get_type(condition.name.value) if condition else parent
            for key, (declaring, nodes) in self._collect(sub, inner_parent, concrete).items():
                fields.setdefault(key, (declaring, []))[1].extend(nodes)
        return fields

    def _merged(self, nodes: list[FieldNode]) -> SelectionSetNode | None:
        key = tuple(id(node) for node in nodes)
        if key not in self._merges:
            if len(nodes) == 1:
                self._merges[key] = nodes[0].selection_set
            else:
                selections = [
                    s for node in nodes if node.selection_set for s in node.selection_set.selections
                ]
                self._merges[key] = SelectionSetNode(selections=tuple(selections)) if selections else None
        return self._merges[key]

    def _field_def(self, declaring: Any, name: str) -> GraphQLField | None:
        return getattr(declaring, "fields", {}).get(name)

    def _args(self, field_def: GraphQLField, node: FieldNode) -> dict[str, Any]:
        return get_argument_values(field_def, node, self._variables)

    # -- requested ------------------------------------------------------------------------------------

    def requested(self, operation: OperationDefinitionNode) -> int:
        root = self._schema.get_root_type(operation.operation)
        mutation = operation.operation == OperationType.MUTATION
        total = 0.0
        for declaring, nodes in self._collect(operation.selection_set, root, root).values():
            field_def = self._field_def(declaring, nodes[0].name.value)
            if field_def is None:
                continue
            if mutation:
                total += mutation_cost(nodes[0].name.value, self._args(field_def, nodes[0]))
                total += self._requested_selection(self._merged(nodes), get_named_type(field_def.type))
            else:
                total += self._requested_field(field_def, nodes)
        return math.floor(total)

    def _requested_selection(self, selection_set: SelectionSetNode | None, parent: Any) -> float:
        if selection_set is None:
            return 0.0
        if not is_abstract_type(parent):
            return self._requested_fields(self._collect(selection_set, parent, parent))
        # An interface or union costs the most expensive of the shapes it can take; only the concrete
        # types named by fragments can add fields, so they are the only candidates worth pricing.
        candidates = {None}
        for selection in selection_set.selections:
            condition = getattr(selection, "type_condition", None)
            if isinstance(selection, FragmentSpreadNode):
                condition = self._fragments[selection.name.value].type_condition
            named = self._schema.get_type(condition.name.value) if condition else None
            if isinstance(named, GraphQLObjectType):
                candidates.add(named)
        return max(
            self._requested_fields(self._collect(selection_set, parent, concrete or _NoType))
            for concrete in candidates
        )

    def _requested_fields(self, fields: dict[str, tuple[Any, list[FieldNode]]]) -> float:
        total = 0.0
        for declaring, nodes in fields.values():
            field_def = self._field_def(declaring, nodes[0].name.value)
            if field_def is not None:
                total += self._requested_field(field_def, nodes)
        return total

    def _requested_field(self, field_def: GraphQLField, nodes: list[FieldNode]) -> float:
        named = get_named_type(field_def.type)
        if is_leaf_type(named):
            return 0.0
        selection = self._merged(nodes)
        if _is_connection(named):
            args = self._args(field_def, nodes[0])
            size = args.get("first") or args.get("last") or 0
            return 2 + self._requested_connection(selection, named, size)
        return 1 + self._requested_selection(selection, named)

    def _requested_connection(self, selection: SelectionSetNode | None, connection: Any, size: int) -> float:
        if selection is None:
            return 0.0
        total = 0.0
        for declaring, nodes in self._collect(selection, connection, connection).values():
            name = nodes[0].name.value
            field_def = self._field_def(declaring, name)
            if field_def is None:
                continue
            if name == "edges":
                edge_type = get_named_type(field_def.type)
                edge_fields = self._collect(self._merged(nodes), edge_type, edge_type)
                item = sum(
                    self._requested_field(self._field_def(d, n[0].name.value), n)
                    for d, n in edge_fields.values()
                    if n[0].name.value == "node"
                )
                total += size * max(item, 1)
            elif name == "nodes":
                total += size * (
                    1 + self._requested_selection(self._merged(nodes), get_named_type(field_def.type))
                )
            else:
                total += self._requested_field(field_def, nodes)
        return total

    # -- actual ---------------------------------------------------------------------------------------

    def actual(self, operation: OperationDefinitionNode, data: Mapping[str, Any] | None) -> int:
        if not data:
            return 0
        root = self._schema.get_root_type(operation.operation)
        mutation = operation.operation == OperationType.MUTATION
        total = 0.0
        for key, (declaring, nodes) in self._collect(operation.selection_set, root, None).items():
            field_def = self._field_def(declaring, nodes[0].name.value)
            if field_def is None or key not in data:
                continue
            if mutation:
                total += mutation_cost(nodes[0].name.value, self._args(field_def, nodes[0]))
                total += self._actual_selection(
                    self._merged(nodes), get_named_type(field_def.type), data[key]
                )
            else:
                total += self._actual_field(field_def, nodes, data[key])
        return math.floor(total)

    def _actual_selection(self, selection: SelectionSetNode | None, parent: Any, value: Any) -> float:
        if selection is None or not isinstance(value, Mapping):
            return 0.0
        total = 0.0
        for key, (declaring, nodes) in self._collect(selection, parent, None).items():
            field_def = self._field_def(declaring, nodes[0].name.value)
            if field_def is not None and key in value:
                total += self._actual_field(field_def, nodes, value[key])
        return total

    def _actual_field(self, field_def: GraphQLField, nodes: list[FieldNode], value: Any) -> float:
        named = get_named_type(field_def.type)
        if is_leaf_type(named) or value is None:
            return 0.0
        selection = self._merged(nodes)
        if _is_connection(named):
            return 2 + self._actual_connection(selection, named, value)
        first = value[0] if isinstance(value, list) and value else value
        return 1 + self._actual_selection(selection, named, first if isinstance(first, Mapping) else None)

    def _actual_connection(
        self, selection: SelectionSetNode | None, connection: Any, value: Mapping
    ) -> float:
        if selection is None:
            return 0.0
        total = 0.0
        for key, (declaring, nodes) in self._collect(selection, connection, None).items():
            name = nodes[0].name.value
            field_def = self._field_def(declaring, name)
            if field_def is None or key not in value or value[key] is None:
                continue
            if name in ("edges", "nodes"):
                item_type = get_named_type(field_def.type)
                for item in value[key]:
                    total += (
                        1 + self._actual_selection(self._merged(nodes), item_type, item)
                        if name == "nodes"
                        else self._actual_edge(self._merged(nodes), item_type, item)
                    )
            else:
                total += self._actual_field(field_def, nodes, value[key])
        return total

    def _actual_edge(self, selection: SelectionSetNode | None, edge_type: Any, edge: Any) -> float:
        cost = 0.0
        for key, (declaring, nodes) in self._collect(selection, edge_type, None).items():
            if nodes[0].name.value == "node" and isinstance(edge, Mapping) and edge.get(key) is not None:
                node_type = get_named_type(self._field_def(declaring, "node").type)
                cost += 1 + self._actual_selection(self._merged(nodes), node_type, edge[key])
        return max(cost, 1.0)


class _NoTypeMarker:
    """Stands for "a type named by no fragment": only fragments on interfaces apply to it."""


_NoType: Any = _NoTypeMarker()
