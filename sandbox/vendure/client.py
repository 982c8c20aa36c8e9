"""A small client of Vendure's two GraphQL APIs, as a storefront or an admin tool calls them.

Sessions are bearer tokens: Vendure sends a new session's token in the `vendure-auth-token` response
header (the login's, or the anonymous shopper's when its first active order is made), and the client
sends it back as `Authorization: Bearer <token>`. One `VendureApi` is one session, so one cart.
"""

from __future__ import annotations

from typing import Any

import requests

from sandbox.vendure.errors import ErrorResult, GraphQLError
from sandbox.vendure.settings import AUTH_TOKEN_HEADER


class VendureApi:
    def __init__(self, url: str, timeout: float = 60) -> None:
        self.url = url
        self.timeout = timeout
        self.token: str | None = None
        self.http = requests.Session()

    def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The whole response body ({data, errors}); keeps the session token Vendure hands out."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.http.post(
            self.url,
            json={"query": query, "variables": variables or {}},
            headers=headers,
            timeout=self.timeout,
        )
        if AUTH_TOKEN_HEADER in response.headers:
            self.token = response.headers[AUTH_TOKEN_HEADER]
        if response.status_code != 200 and not response.headers.get("content-type", "").startswith(
            "application/json"
        ):
            response.raise_for_status()
        return response.json()

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """`data`, or GraphQLError for top-level errors."""
        body = self.post(query, variables)
        if body.get("errors"):
            raise GraphQLError(body["errors"])
        return body["data"]

    def mutate(self, query: str, variables: dict[str, Any] | None = None) -> Any:
        """The one field a mutation returns, or ErrorResult when it is an ErrorResult union member."""
        ((name, result),) = self.data(query, variables).items()
        if isinstance(result, dict) and "errorCode" in result:
            raise ErrorResult(name, result)
        return result

    def login(self, username: str, password: str) -> None:
        self.mutate(
            "mutation($u: String!, $p: String!) { login(username: $u, password: $p) {"
            " ... on CurrentUser { id } ... on ErrorResult { errorCode message } } }",
            {"u": username, "p": password},
        )
