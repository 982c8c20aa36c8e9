"""The store factory: a store Connection's type says which kind of store it is, and so which hook serves
it. No task names a store kind; adding one is a hook class and a line in :mod:`erpsync.provider`."""

from __future__ import annotations

from importlib import import_module

from erpsync.store.interface import StoreHook

DEFAULT_CONN_ID = "store_default"


class StoreConnectionError(ValueError):
    """A store Connection whose type is not a store kind this product knows."""


def store_kinds() -> dict[str, str]:
    """Connection type -> the hook class serving it, for every store kind (from the provider's own list,
    which is also what the Connection form in the UI offers)."""
    from erpsync.provider import STORE_CONNECTION_TYPES, get_provider_info

    return {entry["connection-type"]: entry["hook-class-name"] for entry in get_provider_info()["connection-types"]
            if entry["connection-type"] in STORE_CONNECTION_TYPES}


def hook_class(conn_type: str | None, *, conn_id: str) -> type:
    """The hook class of a store Connection's type."""
    kinds = store_kinds()
    if conn_type not in kinds:
        raise StoreConnectionError(
            f"Connection {conn_id!r} has type {conn_type!r}, which is not a store: give it one of the store "
            f"types {', '.join(sorted(kinds))} (Admin -> Connections)")
    module, _, name = kinds[conn_type].rpartition(".")
    return getattr(import_module(module), name)


def store_hook(conn_id: str = DEFAULT_CONN_ID) -> StoreHook:
    """The hook of the store behind Connection ``conn_id``, of the kind its type says."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    return hook_class(conn.conn_type, conn_id=conn_id)(store_conn_id=conn_id)


def erp_web_shop(conn_id: str = DEFAULT_CONN_ID) -> str | None:
    """The ERP web shop whose sales the store's orders become: the store Connection's extra
    ``erp_web_shop``; None: the ``erp_default`` Connection's own ``web_shop``. Each store needs its own
    web shop when several are served (the ERP's external order key is unique per web shop only)."""
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id).extra_dejson.get("erp_web_shop") or None


def erp_hook(conn_id: str = DEFAULT_CONN_ID):
    """The ERP hook working in the web shop of the store behind Connection ``conn_id``."""
    from erpsync.tryton.hook import TrytonHook

    return TrytonHook(web_shop=erp_web_shop(conn_id))
