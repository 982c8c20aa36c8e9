"""Airflow pools: they bound the concurrency towards each external system across all DAGs and runs.

``python -m erpsync.tasks.pools`` creates or resizes them in Airflow's metadata database (the demo and
docker-compose's init run it); a deployment may also manage them in Admin > Pools.
"""

from __future__ import annotations

from erpsync.tasks.stores import StoreSlot, configured_stores

ERP_POOLS: dict[str, tuple[int, str]] = {
    "erp_api": (2, "Concurrent calls to the ERP (Tryton serves few workers; sales batches lock tables)"),
}


def store_pools(slot: StoreSlot) -> dict[str, tuple[int, str]]:
    """A store's own pools: one store down or slow never takes another's slots."""
    return {
        # One writer per store token: the client paces itself below the store's cost bucket, which only
        # works when it is the only one drawing from it.
        slot.pool: (1, f"Concurrent calls to the Admin API of store {slot.conn_id}"),
        # Reconciliation reads the whole store (minutes on a large catalog): in its own pool, with a client
        # that leaves most of the store's rate to the flows, it never holds the store's pool while orders wait.
        slot.background_pool: (1, f"Background reads of the Admin API of store {slot.conn_id} (reconciliation)"),
    }


def pools() -> dict[str, tuple[int, str]]:
    """Every pool of this deployment: the ERP's and those of each configured store."""
    found = dict(ERP_POOLS)
    for slot in configured_stores():
        found.update(store_pools(slot))
    return found


def ensure_pools() -> None:
    from airflow.models import Pool
    from airflow.utils.session import create_session

    with create_session() as session:
        for name, (slots, description) in pools().items():
            Pool.create_or_update_pool(name, slots, description, include_deferred=False, session=session)


if __name__ == "__main__":
    ensure_pools()
    print(f"pools: {', '.join(f'{name}={slots}' for name, (slots, _) in pools().items())}")
