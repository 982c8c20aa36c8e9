"""Tryton ERP: JSON-RPC transport (:mod:`.rpc`), the ERP operations the flows use (:mod:`.client`),
typed records (:mod:`.records`), errors (:mod:`.errors`) and the Airflow hook (:mod:`.hook`)."""

from erpsync.tryton.client import TrytonClient
from erpsync.tryton.errors import ErpAuthError, ErpError, ErpServerError, ErpTransportError, ErpUserError
from erpsync.tryton.rpc import TrytonRpc

__all__ = [
    "ErpAuthError",
    "ErpError",
    "ErpServerError",
    "ErpTransportError",
    "ErpUserError",
    "TrytonClient",
    "TrytonRpc",
]
