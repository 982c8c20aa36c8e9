"""What can go wrong talking to the store, as exceptions a flow can act on."""


class StoreError(Exception):
    """Base of every store failure."""


class StoreAuthError(StoreError):
    """The store refused the access token: fix the password of the `store_default` Connection."""


class StoreTransportError(StoreError):
    """The store could not be reached, or kept failing (5xx, timeouts, throttling) after the retries."""


class StoreGraphQLError(StoreError):
    """The store refused the request itself (invalid document, cost over the cap): a bug to fix, not
    something a retry changes."""

    def __init__(self, operation: str, errors: list[dict]):
        codes = sorted({(e.get("extensions") or {}).get("code", "?") for e in errors})
        messages = "; ".join(e.get("message", "") for e in errors[:3])
        super().__init__(f"{operation}: {', '.join(codes)}: {messages}")
        self.operation = operation
        self.errors = errors
        self.codes = codes
