"""Vendure's failures, as the store-agnostic errors of :mod:`erpsync.store.errors`."""

from __future__ import annotations

from erpsync.store.errors import StoreAuthError, StoreError, StoreRequestError, StoreTransportError

__all__ = ["StoreAuthError", "StoreError", "StoreTransportError", "VendureErrorResult", "VendureGraphQLError"]


class VendureGraphQLError(StoreRequestError):
    """Vendure refused the GraphQL document or the request (invalid field, forbidden, not found)."""

    def __init__(self, operation: str, errors: list[dict]):
        codes = sorted({str((e.get("extensions") or {}).get("code", "?")) for e in errors})
        messages = "; ".join(e.get("message", "") for e in errors[:3])
        super().__init__(f"{operation}: {', '.join(codes)}: {messages}")
        self.operation = operation
        self.errors = errors
        self.codes = codes


class VendureErrorResult(StoreRequestError):
    """A mutation answered with one of Vendure's ``ErrorResult`` types: the server refused this one
    record for a business reason (e.g. ``INSUFFICIENT_STOCK_ERROR``), nothing was applied."""

    def __init__(self, operation: str, result: dict):
        super().__init__(f"{operation}: {result.get('errorCode')}: {result.get('message')}")
        self.operation = operation
        self.error_code = result.get("errorCode")
        self.result = result
