"""What every HTTP client of the product needs to decide about a failed request."""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime

import requests

from erpsync.common.retry import Retry


def never_sent(error: requests.ConnectionError) -> bool:
    """True when the connection failed before the request could reach the server (safe to repeat)."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    text = repr(error.args[0] if error.args else error)
    return any(marker in text for marker in ("Connection refused", "NewConnectionError", "Name or service"))


def retry_after_s(response: requests.Response) -> float | None:
    """The server's Retry-After in seconds (the delta-seconds form), or None."""
    try:
        return max(0.0, float(response.headers.get("Retry-After", "")))
    except ValueError:
        return None


def server_time(response: requests.Response) -> dt.datetime | None:
    """The server's clock when it answered (its Date header: whole seconds, rounded down), or None."""
    try:
        return parsedate_to_datetime(response.headers["Date"]).astimezone(dt.UTC)
    except (KeyError, TypeError, ValueError):
        return None


def require(conn_id: str, fields: dict[str, object]) -> None:
    """Fail with the names of the Connection fields that are empty (the message says what to fix)."""
    missing = [name for name, value in fields.items() if not value]
    if missing:
        raise ValueError(f"Connection {conn_id!r} lacks {', '.join(missing)}")


def connection_url(host: str, port: int | None, *, default_scheme: str) -> str:
    """A Connection's Host (a bare host or a URL) and Port as a base URL."""
    url = host if "://" in host else f"{default_scheme}://{host}"
    return f"{url.rstrip('/')}:{port}" if port else url.rstrip("/")


class HttpRetryable(Exception):
    """An HTTP answer that asks to be repeated (429) or that a repeat may cure (5xx)."""

    def __init__(self, status: int, retry_after: float | None):
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after_s = retry_after


def transport_retry(error: Exception, *, idempotent: bool) -> Retry | None:
    """Whether a transport failure is worth another attempt: a 429 always (nothing ran), a request that
    never reached the server always, and one that may have been applied (5xx, timeout, dropped
    connection) only when repeating it is harmless (``idempotent``)."""
    if isinstance(error, HttpRetryable) and (error.status == 429 or idempotent):
        return Retry(str(error), wait_s=error.retry_after_s)
    if isinstance(error, requests.ConnectionError) and never_sent(error):
        return Retry(f"not reached: {type(error).__name__}")
    if isinstance(error, requests.ConnectionError | requests.Timeout) and idempotent:
        return Retry(type(error).__name__)
    return None
