"""Catalog publishing to each further store (all but the first of ``[erpsync] stores``). Wiring only:
the steps live in ``erpsync.tasks.catalog``."""

from airflow.sdk import DAG, Param

from erpsync.tasks import catalog, runlog
from erpsync.tasks.defaults import PRIORITY_AVAILABILITY, TAGS_ERP, dag_defaults
from erpsync.tasks.stores import StoreSlot, configured_stores, publish_schedule

DOC = """
### Catalog publish to one store (warehouse -> store)

**What it does.** Publishes to this store (the tag `store:<connection id>` says which) what `catalog_sync`
extracted from the ERP and staged: new products and content, prices, availability. The same steps as
`catalog_sync`'s, in their own DAG, so that this store being down or slow never holds the ERP extract or
another store's publishing. Each step reads this store's marks in `publish_due` (set by `catalog_sync`'s
staging, and by every *other* store's order flow for the SKUs its new orders hold back: availability is
shared) and publishes only what differs from what this store was last told. It sells what its own ERP
web shop lists, at that web shop's price list's prices (as `catalog_sync` staged them, `stg_offer`).

**Params, backfills, alerts, failures**: as `catalog_sync`'s publish steps (`full_refresh` compares the
whole catalog; `dry_run`; `approve_held`). A backfill only counts what it would publish.

**Configuration.** The store Connection (its type says the kind, its extra `erp_web_shop` its ERP web
shop), `erp_default`, `warehouse_default`; pool `store_api__<connection id>`; Variable `erpsync_catalog`.
Schedule: `[erpsync] catalog_interval_seconds` (30); with the ERP change watcher on
(`[erpsync] erp_watch_seconds` > 0), also right after each `catalog_sync` staging (asset
`erpsync_catalog_staged`).

**When it fails.**
- *StoreAuthError*: fix the login or token of this store's Connection.
- *StoreTransportError*: this store was unreachable after retries; the other stores go on. Nothing is
  lost: the marks stay due and the published state holds only what this store confirmed; the next run
  (or clearing the task) publishes what waits.
- *no web shop named ...*: the store Connection's extra `erp_web_shop` must name an ERP web shop.
- *store location(s) ... do not exist*: fix `locations` in the Variable `erpsync_catalog` (one mapping
  for all stores: give this store's locations the same names).
- *finish_run: step(s) without a result*: a step failed; its own log says why.
"""


def publish_dag(slot: StoreSlot) -> DAG:
    with DAG(
        dag_id=slot.dag_id("catalog_publish"),
        description="Staged ERP catalog, prices and stock -> one further store",
        doc_md=DOC,
        schedule=publish_schedule(slot),
        tags=["catalog", slot.tag, TAGS_ERP],
        params={
            "full_refresh": Param(False, type="boolean", description="Compare the whole catalog."),
            "dry_run": Param(False, type="boolean",
                             description="Count what would be published; change nothing."),
            "approve_held": Param(False, type="boolean", description="Publish what the guardrails held."),
        },
        # All of it is on the way of a sale in another store to this one (asset-triggered runs).
        **dag_defaults(PRIORITY_AVAILABILITY),
    ) as dag:
        store = {"store_conn": slot.conn_id}
        started = runlog.start_run(flow=catalog.FLOW, **store)
        # Content, then prices, then inventory; a failed step does not hold back the next ones (they only
        # need what catalog_sync staged, which is there).
        content = catalog.publish_content.override(pool=slot.pool)(**store)
        prices = catalog.publish_prices.override(pool=slot.pool, trigger_rule="all_done")(**store)
        inventory = catalog.publish_inventory.override(pool=slot.pool, trigger_rule="all_done")(**store)
        finished = runlog.finish_run(flow=catalog.FLOW, steps=list(catalog.PUBLISH_STEPS))
        started >> content >> prices >> inventory >> finished
    return dag


# One DAG per store (registered by their ``with DAG`` blocks), by DAG id.
DAGS = {slot.dag_id("catalog_publish"): publish_dag(slot) for slot in configured_stores()[1:]}
