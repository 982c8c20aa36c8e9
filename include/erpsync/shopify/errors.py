"""Shopify's failures, as the store-agnostic errors of :mod:`erpsync.store.errors`."""

from erpsync.store.errors import StoreAuthError, StoreError, StoreRequestError, StoreTransportError

__all__ = ["StoreAuthError", "StoreError", "StoreGraphQLError", "StoreTransportError"]


class StoreGraphQLError(StoreRequestError):
    """Shopify refused the GraphQL document (invalid, cost over the cap)."""

    def __init__(self, operation: str, errors: list[dict]):
        codes = sorted({(e.get("extensions") or {}).get("code", "?") for e in errors})
        messages = "; ".join(e.get("message", "") for e in errors[:3])
        super().__init__(f"{operation}: {', '.join(codes)}: {messages}")
        self.operation = operation
        self.errors = errors
        self.codes = codes
