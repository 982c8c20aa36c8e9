"""Errors of the sandbox Vendure server and of its GraphQL APIs."""

from __future__ import annotations

from typing import Any


class VendureSandboxError(RuntimeError):
    """The server could not be installed, started or stopped; the message says what to do."""


class GraphQLError(RuntimeError):
    """The response had top-level `errors`: a query Vendure could not validate (HTTP 400,
    GRAPHQL_VALIDATION_FAILED), a missing permission (FORBIDDEN), a bad argument (USER_INPUT_ERROR), or an
    internal error (a database constraint's message, no code). Each carries `extensions.code`."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__("; ".join(e.get("message", str(e)) for e in errors))

    @property
    def codes(self) -> list[str]:
        return [e.get("extensions", {}).get("code", "") for e in self.errors]


class ErrorResult(RuntimeError):
    """A mutation answered with one of its ErrorResult union members (`errorCode` and `message`),
    which Vendure returns as data, not as a GraphQL error."""

    def __init__(self, operation: str, result: dict[str, Any]) -> None:
        self.operation = operation
        self.result = result
        self.error_code = result.get("errorCode", "")
        super().__init__(f"{operation}: {self.error_code}: {result.get('message', '')}")
