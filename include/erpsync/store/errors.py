"""What can go wrong talking to a store, whatever its kind, as exceptions a flow can act on."""


class StoreError(Exception):
    """Base of every store failure."""


class StoreAuthError(StoreError):
    """The store refused our credentials: fix the `store_default` Connection."""


class StoreTransportError(StoreError):
    """The store could not be reached, or kept failing (5xx, timeouts, throttling) after the retries."""


class StoreRequestError(StoreError):
    """The store refused the request itself (a malformed request, over a limit): a bug to fix, not
    something a retry changes."""
