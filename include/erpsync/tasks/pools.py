"""Airflow pools: they bound the concurrency towards each external system across all DAGs and runs.

``python -m erpsync.tasks.pools`` creates or resizes them in Airflow's metadata database (the demo and
docker-compose's init run it); a deployment may also manage them in Admin > Pools.
"""

from __future__ import annotations

POOLS: dict[str, tuple[int, str]] = {
    "erp_api": (2, "Concurrent calls to the ERP (Tryton serves few workers; sales batches lock tables)"),
    # One writer per store token: the client paces itself below the store's cost bucket, which only
    # works when it is the only one drawing from it.
    "store_api": (1, "Concurrent calls to the store's Admin API"),
    # Reconciliation reads the whole store (minutes on a large catalog): in its own pool, with a client
    # that leaves half of the bucket to the flows, it never holds store_api while orders wait.
    "store_api_background": (1, "Background reads of the store's Admin API (reconciliation)"),
}


def ensure_pools() -> None:
    from airflow.models import Pool
    from airflow.utils.session import create_session

    with create_session() as session:
        for name, (slots, description) in POOLS.items():
            Pool.create_or_update_pool(name, slots, description, include_deferred=False, session=session)


if __name__ == "__main__":
    ensure_pools()
    print(f"pools: {', '.join(f'{name}={slots}' for name, (slots, _) in POOLS.items())}")
