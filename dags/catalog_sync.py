"""Catalog flow, ERP -> store. Wiring only: the steps live in ``erpsync.tasks.catalog``."""

from airflow.sdk import DAG, Param

from erpsync.tasks import catalog, runlog
from erpsync.tasks.defaults import AFTER_STAGED, PRIORITY_AVAILABILITY, TAGS_ERP, dag_defaults
from erpsync.tasks.stores import catalog_staged_asset, configured_stores, publish_schedule

DOC = """
### Catalog sync (ERP -> store)

**What it does.** Every run: reads from the Tryton ERP what changed since the last run (products with
their template, prices and images; stock levels per warehouse of the web shop) into the raw layer;
validates every row with Great Expectations (bad rows go to `quarantine` with the checks they failed
and never reach the store); stages the good rows; then publishes to the store only what differs from
what it last published: new products and content (productSet), prices (per product), availability
(250 levels per call, compare-and-swap, idempotency key). Availability = on hand and not promised in the
mapped ERP warehouses, minus store orders not yet in the ERP, minus the safety stock.

**Several stores.** It extracts and stages the ERP's changes once, for every store of `[erpsync] stores`
(marks in `publish_due`), with how each store's own ERP web shop (Connection extra `erp_web_shop`) offers
each variant: listed or not, at its price list's price (table `stg_offer`), and the stock of every web
shop's warehouses; each store sells what its web shop lists. It publishes them to the first; each further store publishes them in its own
DAG `catalog_publish__<connection id>`, so that one store's outage never holds another's publishing. With
several stores it also runs, besides its interval, as soon as another store's order flow has staged
orders whose units this store must hold back (asset `erpsync_orders_shared__<connection id>`).

**One failure stops only itself.** A product the store refuses is held in `row_error` (with the store's
reason) while the others publish; a failed publish step does not skip the steps after it (prices and
inventory of the products the store already has still go out). A step fails only when the store cannot
be reached or refuses our credentials.

**Safe to rerun.** Each extract reads `[cursor - lag, end of the run)`; the cursor moves only when
staging commits. Every publish step diffs against the published state, so clearing any task or the
whole run repeats nothing that already happened.

**Params (manual runs).** `full_refresh`: read and compare the whole catalog. `skus`: re-read only these
SKUs (the cursor is left alone). `dry_run`: compute and count what would be published, change nothing in
the store. `approve_held`: publish what the guardrails held (after checking it is right).

**Backfills.** `airflow backfill create --dag-id catalog_sync --from-date A --to-date B` (or the UI's
Backfill) re-reads each complete interval's ERP changes into the warehouse (raw, staging: a staged row is
never replaced by an older one) and leaves the cursor alone. It never writes to the store: its publish
steps run as dry runs and count what is waiting (`changed`). What it staged is marked due for the
publish steps (table `publish_due`), so the next live run publishes the repairs (and only what differs).

**Alerts** (Slack `alerts_slack`, e-mail `alerts_email`; once per problem, then *RESOLVED*): *FAILED
catalog_sync.<task>* (a task failed after its retries), *QUARANTINE erp.product / erp.stock_level* (rows
held back, with the checks they failed and sample SKUs), *HELD catalog_sync* (a guardrail held a publish);
*STALE catalog* and *STUCK catalog* come from `sync_watch`, *DRIFT catalog* from `reconcile`.

**Configuration.** Connections `erp_default`, the first store's (`store_default`), `warehouse_default`;
pools `erp_api`, `store_api`; Variable `erpsync_catalog` (JSON, optional): `locations` (store location ->
ERP warehouse codes; default: same names), `safety_stock`, `safety_stock_by_sku`, `split_stock_at` (5),
`max_price_change_share` (0.5),
`max_catalog_shrink_share` (0.2), `content_concurrency` (4 productSet calls in flight). Schedule:
`[erpsync] catalog_interval_seconds` (30; 0 = continuous), and, with `[erpsync] erp_watch_seconds` > 0
(default 0: off), as soon as the ERP change watcher (in the triggerer) sees a change the cursors have
not passed (asset `erpsync_erp_changes`; the further stores' publishing then follows each staging,
asset `erpsync_catalog_staged`). The watcher logs in the triggerer's log; when it cannot reach the ERP
or the warehouse it says so there and tries again with backoff, while the interval keeps the flow going.

**When it fails.**
- *ErpAuthError / StoreAuthError*: fix the login or token of `erp_default` / `store_default`.
- *ErpTransportError / StoreTransportError*: the system was unreachable after retries: check it, then
  clear the failed task. Nothing is lost: the cursor did not move, the published state only holds
  what the store confirmed.
- *run status `held`* (sync_run): a guardrail held a publish (a price moving more than the limit, many
  products archived at once). Check the ERP; if the change is right, approve it where Airflow asks
  (*Required actions*, DAG `review_held`: the SKUs, from what to what), or trigger a run with `approve_held`.
- *rows quarantined*: see table `quarantine` (reason and failed checks per row); fix the product in the
  ERP: the next run releases it.
- *store location(s) ... do not exist*: fix `locations` in the Variable `erpsync_catalog`.
- *finish_run: step(s) without a result*: an upstream step failed; its own log says why.
"""

PRIMARY = configured_stores()[0]
STORE = {"store_conn": PRIMARY.conn_id}
STAGED = catalog_staged_asset()  # the further stores' publishing waits on it (with the ERP watcher on)

with DAG(
    dag_id="catalog_sync",
    description="ERP catalog, prices and stock -> store",
    doc_md=DOC,
    schedule=publish_schedule(PRIMARY),
    tags=["catalog", TAGS_ERP, PRIMARY.tag],
    params={
        "full_refresh": Param(False, type="boolean", description="Read and compare the whole catalog."),
        "skus": Param([], type="array", items={"type": "string"}, description="Only these SKUs."),
        "dry_run": Param(False, type="boolean", description="Count what would be published; change nothing."),
        "approve_held": Param(False, type="boolean", description="Publish what the guardrails held."),
    },
    # All of it is on the way of a sale in another store to this one (asset-triggered runs).
    **dag_defaults(PRIORITY_AVAILABILITY),
) as dag:
    started = runlog.start_run(flow=catalog.FLOW)
    extracted = [catalog.extract_products(), catalog.extract_stock()]
    staged = catalog.stage_catalog.override(outlets=[STAGED] if STAGED else [])()
    content = catalog.publish_content.override(pool=PRIMARY.pool)(**STORE)
    # Content, then prices, then inventory (a new product exists before its price and stock are set), but
    # a step that failed does not hold back the next one: each runs once the staged catalog is there.
    prices = catalog.publish_prices.override(trigger_rule=AFTER_STAGED, pool=PRIMARY.pool)(**STORE)
    inventory = catalog.publish_inventory.override(trigger_rule=AFTER_STAGED, pool=PRIMARY.pool)(**STORE)
    finished = runlog.finish_run(flow=catalog.FLOW, steps=list(catalog.STEPS), datasets=catalog.DATASETS)
    # The run's row is opened beside the extracts, not before them: one task boundary (~1 s) less between
    # an ERP change and the store.
    started >> finished
    extracted >> staged >> content >> prices >> inventory >> finished
    staged >> [prices, inventory]
