"""Vendure Admin GraphQL transport: authentication, our own pacing, retries, pagination.

Authentication, as the server is configured (``authOptions.tokenMethod``): an API key sent in the
``vendure-api-key`` header, or an administrator's login whose session token comes back in the
``vendure-auth-token`` header (bearer) or as a session cookie; a session that expired is renewed by
logging in again, once per call. A channel token (``vendure-token``) addresses a channel other than the
default one.

Retries (:mod:`erpsync.common.retry`) cover HTTP 429 and connections that never reached the server;
a call that may have been applied (a read timeout, a dropped connection, a 5xx) is repeated only when
the caller says it is idempotent: queries, and writes of absolute values.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests

from erpsync.common.http import HttpRetryable, retry_after_s, server_time, transport_retry
from erpsync.common.retry import Backoff, Retry, call_with_retries
from erpsync.vendure.errors import StoreAuthError, StoreTransportError, VendureErrorResult, VendureGraphQLError
from erpsync.vendure.operations import Operation, load
from erpsync.vendure.pacing import RequestPacer

AUTH_TOKEN_HEADER = "vendure-auth-token"
API_KEY_HEADER = "vendure-api-key"
CHANNEL_HEADER = "vendure-token"
ADMIN_API_PATH = "/admin-api"
PAGE = 100  # items per list query (the server's adminListQueryLimit is 1000 by default)


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    logins: int = 0

    def as_dict(self, pacer: RequestPacer) -> dict[str, float]:
        return {"requests": self.requests, "retries": self.retries, "logins": self.logins,
                "rate_wait_s": round(pacer.waited_s, 3)}


class _SessionExpired(Exception):
    pass


class VendureClient:
    def __init__(
        self,
        base_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        api_key: str | None = None,
        channel_token: str | None = None,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 60.0,
        backoff: Backoff = Backoff(attempts=6, base_s=0.5, max_s=20.0),
        pacer: RequestPacer | None = None,
        http: requests.Session | None = None,
    ):
        if not api_key and not (username and password):
            raise ValueError("Vendure needs an API key, or an administrator's username and password")
        self.endpoint = base_url.rstrip("/") + ADMIN_API_PATH
        self._username, self._password, self._api_key = username, password, api_key
        self._channel_token = channel_token
        self._timeout = (connect_timeout_s, read_timeout_s)
        self._backoff = backoff
        self.pacer = pacer or RequestPacer(rate=40.0)
        self._http = http or requests.Session()
        self._environment = self._http.merge_environment_settings(self.endpoint, {}, None, None, None)
        self._http.trust_env = False
        self._token: str | None = None
        self._session = 0  # how many logins made the session in use (0: none yet)
        self._login_lock = threading.Lock()
        self._stats_lock = threading.Lock()
        self._answered = threading.local()
        self.stats = ClientStats()

    def __repr__(self) -> str:  # never show a credential
        return f"VendureClient({self.endpoint!r})"

    @property
    def server_time(self) -> dt.datetime | None:
        """The server's clock when it answered this thread's last call (its Date header, whole seconds)."""
        return getattr(self._answered, "at", None)

    def execute(self, operation: Operation, variables: dict[str, Any] | None = None, *,
                idempotent: bool | None = None) -> dict[str, Any]:
        """Run ``operation`` and return its ``data``; queries are idempotent unless told otherwise."""
        if idempotent is None:
            idempotent = operation.kind == "query"

        def classify(error: Exception) -> Retry | None:
            if isinstance(error, _SessionExpired):
                return Retry("session expired: logged in again", wait_s=0.0)
            return transport_retry(error, idempotent=idempotent)

        def counted(error: Exception) -> Retry | None:
            decision = classify(error)
            if decision is not None:
                with self._stats_lock:
                    self.stats.retries += 1
            return decision

        try:
            return call_with_retries(lambda: self._send(operation, variables or {}), counted, self._backoff,
                                     what=f"store {operation.name}")
        except _SessionExpired as error:
            raise StoreAuthError(f"Vendure kept refusing the session of {self._username!r} ({self.endpoint})") \
                from error
        except (HttpRetryable, requests.ConnectionError, requests.Timeout) as error:
            raise StoreTransportError(
                f"store {operation.name} failed after retries: {error}"
                + ("" if idempotent else " (not idempotent: not repeated once it may have been applied)")
            ) from error

    def mutate(self, operation: Operation, variables: dict[str, Any], *, idempotent: bool = False) -> Any:
        """The one field a mutation returns; :class:`VendureErrorResult` when it is an ``ErrorResult``."""
        ((field, result),) = self.execute(operation, variables, idempotent=idempotent).items()
        if isinstance(result, dict) and "errorCode" in result:
            raise VendureErrorResult(operation.name, result)
        return result

    def paginate(self, operation: Operation, variables: dict[str, Any], connection: str, *, take: int = PAGE,
                 ) -> Iterator[list[dict[str, Any]]]:
        """Yield the ``items`` of the top-level list ``connection`` a page at a time (``skip``/``take``).

        The operation must take an ``$options`` variable (Vendure's ``*ListOptions``; ``variables``'
        ``options`` are kept, with ``skip`` and ``take`` set here) and select ``items`` and ``totalItems``.
        A stable sort belongs in the options (``sort: {id: ASC}``): pages of an unsorted list may overlap.
        """
        options = dict(variables.get("options") or {})
        skip = 0
        while True:
            data = self.execute(operation, {**variables, "options": {**options, "skip": skip, "take": take}})
            page = data[connection]
            items = page["items"]
            if items:
                yield items
            skip += len(items)
            if not items or skip >= page["totalItems"]:
                return

    # -- internals ----------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers[API_KEY_HEADER] = self._api_key
        elif self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        if self._channel_token:
            headers[CHANNEL_HEADER] = self._channel_token
        return headers

    def _send(self, operation: Operation, variables: dict[str, Any]) -> dict[str, Any]:
        session = self._session
        if not self._api_key and session == 0:
            self._log_in(replacing=0)
            session = self._session
        body = self._post(operation, variables)
        errors = body.get("errors")
        if errors:
            if not self._api_key and any(_code(e) == "FORBIDDEN" for e in errors):
                self._log_in(replacing=session)
                raise _SessionExpired(operation.name)
            raise VendureGraphQLError(operation.name, errors)
        return body["data"]

    def _post(self, operation: Operation, variables: dict[str, Any]) -> dict[str, Any]:
        self.pacer.acquire()
        with self._stats_lock:
            self.stats.requests += 1
        response = self._http.post(
            self.endpoint, json={"query": operation.document, "variables": variables,
                                 "operationName": operation.name},
            headers=self._headers(), timeout=self._timeout, **self._environment,
        )
        self._answered.at = server_time(response)
        if AUTH_TOKEN_HEADER in response.headers:
            self._token = response.headers[AUTH_TOKEN_HEADER]
        if response.status_code in (401, 403):
            raise StoreAuthError(f"Vendure refused our credentials ({self.endpoint}, HTTP {response.status_code}): "
                                 "fix the store Connection's login and password or API key")
        if response.status_code == 429 or response.status_code >= 500:
            raise HttpRetryable(response.status_code, retry_after_s(response))
        if response.status_code >= 400 and "json" not in response.headers.get("content-type", ""):
            raise VendureGraphQLError(operation.name, [{"message": f"HTTP {response.status_code}: "
                                                                   f"{response.text[:300]}"}])
        return response.json()

    def _log_in(self, *, replacing: int) -> None:
        """Log in as the integration's administrator, once for all threads: only when session number
        ``replacing`` (0: none yet) is still the one in use, so threads that found it expired together
        make one new session."""
        with self._login_lock:
            if self._session != replacing:
                return
            self._token = None
            self._http.cookies.clear()
            with self._stats_lock:
                self.stats.logins += 1
            body = self._post(load("LogIn"), {"username": self._username, "password": self._password})
            result = (body.get("data") or {}).get("login") or {}
            if body.get("errors") or "errorCode" in result:
                reason = result.get("message") or "; ".join(e.get("message", "") for e in body.get("errors") or [])
                raise StoreAuthError(f"Vendure refused the login of {self._username!r} ({self.endpoint}): "
                                     f"{reason}: fix the store Connection's login and password")
            self._session += 1


def _code(error: dict[str, Any]) -> str | None:
    return (error.get("extensions") or {}).get("code")
