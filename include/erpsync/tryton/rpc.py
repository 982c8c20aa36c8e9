"""Tryton JSON-RPC transport: sessions, encoding, timeouts and retries, nothing about the business.

Protocol (trytond 8.2): ``POST /<database>/rpc/`` with ``{"id", "method", "params"}``. Login is
``common.db.login(login, {"password": ..})`` -> ``[user_id, session, ...]``; later calls carry
``Authorization: Session base64("login:user_id:session")``. An unknown or expired session answers HTTP
401: we log in again once and repeat the call. Business errors come back as HTTP 200 with
``{"error": ["UserError", [message, description, domain]]}``.

Retries are for transport failures only. A request that never reached the server (connection refused)
is always retried; one that may have been executed (read timeout, connection reset after sending) is
retried only when the call is read-only, because repeating a write could apply it twice. Callers of
writes reconcile instead (see ``TrytonClient.create_sales``).
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import logging
import threading
from typing import Any

import requests

from erpsync.common.http import never_sent, retry_after_s, server_time
from erpsync.common.retry import Backoff, Retry, call_with_retries
from erpsync.tryton import codec
from erpsync.tryton.errors import ErpAuthError, ErpServerError, ErpTransportError, ErpUserError

log = logging.getLogger(__name__)

READ_METHODS = frozenset({"read", "search", "search_read", "search_count", "fields_get", "get_preferences"})


class _SessionExpired(Exception):
    pass


class TrytonRpc:
    """One authenticated JSON-RPC channel to one Tryton database.

    Thread-safe: a ``requests.Session`` per instance and a lock around (re)login.
    """

    def __init__(
        self,
        base_url: str,
        database: str,
        login: str,
        password: str,
        *,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 120.0,
        backoff: Backoff = Backoff(),
        http: requests.Session | None = None,
    ):
        self.url = f"{base_url.rstrip('/')}/{database}/rpc/"
        self.database = database
        self.login_name = login
        self._password = password
        self._timeout = (connect_timeout_s, read_timeout_s)
        self._backoff = backoff
        self._http = http or requests.Session()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._authorization: str | None = None
        self.user_id: int | None = None
        self.logins = 0  # how many sessions this channel opened (visible to tests and logs)
        self._answered = threading.local()

    @property
    def server_time(self) -> dt.datetime | None:
        """The ERP server's clock when it answered this thread's last call (whole seconds, rounded down)."""
        return getattr(self._answered, "at", None)

    def __repr__(self) -> str:  # never show the password
        return f"TrytonRpc({self.url!r}, login={self.login_name!r})"

    # -- public -------------------------------------------------------------------------------------

    def call(self, method: str, *params: Any, readonly: bool | None = None) -> Any:
        """Call ``method`` (e.g. ``model.product.product.search_read``) and return its result."""
        if readonly is None:
            readonly = method.rsplit(".", 1)[-1] in READ_METHODS
        if self._authorization is None:
            self.authenticate()
        try:
            return self._call_with_retries(method, params, readonly)
        except _SessionExpired:
            log.info("ERP session expired; logging in again")
            self.authenticate(force=True)
            try:
                return self._call_with_retries(method, params, readonly)
            except _SessionExpired as error:
                raise ErpAuthError(
                    f"the ERP refused a fresh session for {self.login_name!r} on {method}: check the user's"
                    " access rights and that it is active"
                ) from error

    def authenticate(self, *, force: bool = False) -> None:
        with self._lock:
            if self._authorization is not None and not force:
                return
            try:
                result = self._call_with_retries(
                    "common.db.login",
                    (self.login_name, {"password": self._password}, "en"),
                    readonly=False,  # a login may count against Tryton's rate limit: never repeat it blindly
                    authorized=False,
                )
            except _SessionExpired as error:
                raise ErpAuthError(
                    f"the ERP refused the login {self.login_name!r} on database {self.database!r}:"
                    " check the login and password of the `erp_default` Connection"
                ) from error
            user_id, session = result[0], result[1]
            token = base64.b64encode(f"{self.login_name}:{user_id}:{session}".encode()).decode("ascii")
            self._authorization = f"Session {token}"
            self.user_id = user_id
            self.logins += 1

    def logout(self) -> None:
        if self._authorization is not None:
            try:
                self.call("common.db.logout", readonly=False)
            finally:
                self._authorization = None

    # -- internals ----------------------------------------------------------------------------------

    def _call_with_retries(
        self, method: str, params: tuple[Any, ...], readonly: bool, authorized: bool = True
    ) -> Any:
        def classify(error: Exception) -> Retry | None:
            if isinstance(error, requests.ConnectionError) and never_sent(error):
                return Retry(f"not reached: {type(error).__name__}")
            if isinstance(error, requests.ConnectionError | requests.Timeout) and readonly:
                return Retry(type(error).__name__)
            if isinstance(error, _ServiceUnavailable) and (error.nothing_executed or readonly):
                return Retry(str(error), wait_s=error.retry_after_s)
            return None

        try:
            return call_with_retries(
                lambda: self._post(method, params, authorized),
                classify,
                self._backoff,
                what=f"ERP {method}",
            )
        except (requests.ConnectionError, requests.Timeout, _ServiceUnavailable) as error:
            raise ErpTransportError(
                f"ERP {method} at {self.url} failed: {type(error).__name__}: {error}"
                + ("" if readonly else " (a write: not retried after it may have reached the server)")
            ) from error

    def _post(self, method: str, params: tuple[Any, ...], authorized: bool) -> Any:
        headers = {"Content-Type": "application/json"}
        if authorized:
            headers["Authorization"] = self._authorization or ""
        body = codec.dumps({"id": next(self._ids), "method": method, "params": list(params)})
        response = self._http.post(self.url, data=body, headers=headers, timeout=self._timeout)
        if response.status_code == 401:
            raise _SessionExpired(method)
        if response.status_code in (429, 502, 503, 504):
            raise _ServiceUnavailable(response)
        if response.status_code == 403:
            raise ErpUserError("method not allowed over RPC or access denied", method=method)
        if response.status_code == 404:
            raise ErpAuthError(f"database {self.database!r} not found at {self.url}")
        if response.status_code >= 400:
            raise ErpServerError(f"ERP {method} answered HTTP {response.status_code}: {response.text[:300]}")
        payload = codec.loads(response.content)
        if "error" in payload and payload["error"] is not None:
            raise _error_from_payload(method, payload["error"])
        self._answered.at = server_time(response)
        return payload.get("result")


class _ServiceUnavailable(Exception):
    """HTTP 429/502/503/504: the server or a proxy asked us to come back later.

    429 and 503 are refusals (nothing was executed); a 504 from Tryton rolls its transaction back, but a
    502/504 from a proxy in front of it may hide an executed write, so only reads repeat those.
    """

    def __init__(self, response: requests.Response):
        super().__init__(f"HTTP {response.status_code}")
        self.nothing_executed = response.status_code in (429, 503)
        self.retry_after_s = retry_after_s(response)


def _error_from_payload(method: str, error: Any) -> Exception:
    if isinstance(error, list) and len(error) == 2 and error[0] == "UserError":
        message, description = (list(error[1]) + ["", ""])[:2]
        return ErpUserError(str(message), str(description or ""), method)
    if isinstance(error, list) and len(error) == 2 and error[0] == "UserWarning":
        name, message, description = (list(error[1]) + ["", "", ""])[:3]
        return ErpUserError(str(message), str(description or ""), method, warning=str(name))
    if isinstance(error, list) and len(error) == 2 and error[0] == "ConcurrencyException":
        return ErpUserError(str(error[1]), method=method)
    if isinstance(error, list) and error and error[0] == "LoginException":
        return ErpAuthError(f"{method}: the ERP asks for more login parameters: {error[1]}")
    # Unexpected exception: [str(exception), traceback]; keep the message, the traceback is in the ERP log.
    message = error[0] if isinstance(error, list) and error else error
    return ErpServerError(f"ERP {method} failed on the server: {message}")
