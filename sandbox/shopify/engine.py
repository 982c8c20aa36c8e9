"""One GraphQL request, end to end: parse and validate, coerce variables, check input sizes, price the
query, take the cost from the bucket, execute against the store, give back the difference."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
)
from graphql.execution.execute import ExecutionContext, default_type_resolver
from graphql.execution.values import get_argument_values, get_variable_values

from sandbox.shopify.bucket import Buckets
from sandbox.shopify.cost import QueryCost
from sandbox.shopify.errors import max_cost_error, throttled_error, top_level_error
from sandbox.shopify.graphql_schema import admin_schema
from sandbox.shopify.resolvers.base import RequestContext, default_resolver
from sandbox.shopify.settings import MAX_INPUT_ARRAY, SINGLE_QUERY_MAX_COST
from sandbox.shopify.state.store import Store
from sandbox.shopify.validation import DocumentCache, translate_variable_error

# Input arrays documented as accepting more than the general limit of 250 (argument path, no indexes).
ARRAY_LIMITS = {
    ("productVariantsBulkUpdate", "variants"): 2048,
    ("productVariantsBulkCreate", "variants"): 2048,
    ("productVariantsBulkDelete", "variantsIds"): 2048,
    ("productSet", "input", "variants"): 2048,
    ("fulfillmentCreate", "fulfillment", "lineItemsByFulfillmentOrder", "fulfillmentOrderLineItems"): 512,
}


@dataclass(slots=True)
class GraphQLResult:
    status: int
    body: dict[str, Any]
    is_mutation: bool = False


def _oversized(value: Any, path: list[Any], root: str) -> tuple[list[Any], int, int] | None:
    if isinstance(value, list):
        limit = ARRAY_LIMITS.get((root, *(p for p in path if isinstance(p, str))), MAX_INPUT_ARRAY)
        if len(value) > limit:
            return path, len(value), limit
        items = enumerate(value)
    elif isinstance(value, Mapping):
        items = value.items()
    else:
        return None
    for key, item in items:
        found = _oversized(item, [*path, key], root)
        if found:
            return found
    return None


class Engine:
    def __init__(self, store: Store, buckets: Buckets) -> None:
        self.store = store
        self.buckets = buckets
        self.schema = admin_schema()
        self.documents = DocumentCache(self.schema)

    def _cost(self, requested: int, actual: int | None, token: str) -> dict[str, Any]:
        return {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": actual,
                "throttleStatus": self.buckets.for_token(token).status(),
            }
        }

    def _errors(
        self, errors: list[dict[str, Any]], token: str, requested: int = 0, actual: int | None = 0
    ) -> GraphQLResult:
        return GraphQLResult(200, {"errors": errors, "extensions": self._cost(requested, actual, token)})

    def run(self, token: str, payload: Any) -> GraphQLResult:
        if not isinstance(payload, Mapping) or not isinstance(payload.get("query"), str):
            return GraphQLResult(400, {"errors": {"query": "Required parameter missing or invalid"}})
        raw_variables = payload.get("variables") or {}
        if not isinstance(raw_variables, Mapping):
            return GraphQLResult(400, {"errors": {"variables": "Required parameter missing or invalid"}})
        checked = self.documents.check(payload["query"])
        if checked.errors:
            return self._errors(checked.errors, token)
        document = checked.document
        operation = get_operation_ast(document, payload.get("operationName"))
        if operation is None:
            name = payload.get("operationName")
            message = f'No operation named "{name}"' if name else "An operation name is required"
            return self._errors([{"message": message}], token)
        coerced = get_variable_values(self.schema, operation.variable_definitions or (), dict(raw_variables))
        if isinstance(coerced, list):
            return self._errors([translate_variable_error(e, dict(raw_variables)) for e in coerced], token)
        too_big = self._input_size_errors(operation, coerced)
        if too_big:
            return self._errors(too_big, token)

        fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
        pricing = QueryCost(self.schema, fragments, coerced)
        requested = pricing.requested(operation)
        if requested > SINGLE_QUERY_MAX_COST:
            return self._errors([max_cost_error(requested, SINGLE_QUERY_MAX_COST)], token, requested, None)
        bucket = self.buckets.for_token(token)
        if not bucket.try_take(requested):
            return self._errors([throttled_error()], token, requested, None)

        context = RequestContext(self.store, self.buckets.plan.name)
        with self.store.transaction():
            result = self._execute(operation, fragments, coerced, context)
        actual = min(requested, pricing.actual(operation, result.data))
        bucket.refund(requested - actual)
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [error.formatted for error in result.errors]
        body["data"] = result.data
        body["extensions"] = self._cost(requested, actual, token)
        if context.search_warnings:
            body["extensions"]["search"] = context.search_warnings
        return GraphQLResult(200, body, operation.operation == OperationType.MUTATION)

    def _execute(
        self,
        operation: OperationDefinitionNode,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
        context: RequestContext,
    ) -> Any:
        # graphql-core's execute() would coerce the variables a second time; they are coerced already.
        execution = ExecutionContext(
            self.schema,
            fragments,
            None,
            context,
            operation,
            variables,
            default_resolver,
            default_type_resolver,
            default_resolver,
            [],
            None,
            lambda _value: False,
        )
        try:
            data = execution.execute_operation(operation, None)
        except GraphQLError as error:  # a non-null root field failed: the whole data is null
            execution.errors.append(error)
            data = None
        return execution.build_response(data, execution.errors)

    def _input_size_errors(
        self, operation: OperationDefinitionNode, variables: dict[str, Any]
    ) -> list[dict[str, Any]]:
        root = self.schema.get_root_type(operation.operation)
        errors = []
        for selection in operation.selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.name.value not in root.fields:
                continue
            name = selection.name.value
            args = get_argument_values(root.fields[name], selection, variables)
            found = _oversized(args, [], name)
            if found:
                path, size, limit = found
                error = top_level_error(
                    f"The input array size of {size} is greater than the maximum allowed of {limit}.",
                    "MAX_INPUT_SIZE_EXCEEDED",
                )
                error["locations"] = [
                    {
                        "line": selection.loc.source.get_location(selection.loc.start).line,
                        "column": selection.loc.source.get_location(selection.loc.start).column,
                    }
                ]
                error["path"] = [name, *(str(p) if isinstance(p, int) else p for p in path)]
                errors.append(error)
        return errors
