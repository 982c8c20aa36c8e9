"""Shopify's error shapes: top-level GraphQL errors, HTTP-level bodies and userErrors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError

RATE_LIMITS_DOC = "https://shopify.dev/api/usage/rate-limits"
UNAUTHORIZED_BODY = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}


def top_level_error(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code, **extensions}}


def throttled_error() -> dict[str, Any]:
    return top_level_error("Throttled", "THROTTLED", documentation=RATE_LIMITS_DOC)


def max_cost_error(cost: int, max_cost: int) -> dict[str, Any]:
    message = (
        f"Query cost is {cost}, which exceeds the single query max cost limit ({max_cost}).\n\n"
        "See https://shopify.dev/concepts/about-apis/rate-limits for more information on how the\n"
        "cost of a query is calculated.\n\n"
        "To query larger amounts of data with fewer limits, bulk operations should be used instead.\n"
        "See https://shopify.dev/tutorials/perform-bulk-operations-with-admin-api for usage details.\n"
    )
    return top_level_error(
        message, "MAX_COST_EXCEEDED", cost=cost, maxCost=max_cost, documentation=RATE_LIMITS_DOC
    )


def bad_request(message: str, info_or_nodes: Any = None, path: list[Any] | None = None) -> GraphQLError:
    """An execution-time top-level error, raised from a resolver (Shopify's code BAD_REQUEST)."""
    nodes = getattr(info_or_nodes, "field_nodes", info_or_nodes)
    return GraphQLError(message, nodes=nodes, path=path, extensions={"code": "BAD_REQUEST"})


class NotModelled(GraphQLError):
    """A schema field the emulator does not implement: refused loudly rather than answered wrongly."""

    def __init__(self, what: str, info: Any = None) -> None:
        super().__init__(
            f"{what} is valid in Shopify's schema but not modelled by the emulator "
            "(see sandbox/shopify/README.md)",
            nodes=getattr(info, "field_nodes", None),
            extensions={"code": "NOT_MODELLED_BY_EMULATOR"},
        )


@dataclass(slots=True)
class UserError:
    """One entry of a mutation payload's userErrors list."""

    field: list[str] | None
    message: str
    code: str | None = None


@dataclass(slots=True)
class UserErrors(Exception):
    """Raised by domain operations when the input is invalid; nothing has been changed."""

    errors: list[UserError] = field(default_factory=list)

    @classmethod
    def one(cls, path: list[Any] | None, message: str, code: str | None = None) -> UserErrors:
        return cls([UserError(None if path is None else [str(p) for p in path], message, code)])
