"""Reconciliation of the store with the ERP. Wiring only: the steps live in ``erpsync.tasks.reconcile``."""

from airflow.sdk import DAG, Param

from erpsync.tasks import customers, reconcile, runlog
from erpsync.tasks.defaults import PRIORITY_BACKGROUND, TAGS_ERP, dag_defaults, schedule_for
from erpsync.tasks.stores import StoreSlot, configured_stores

DOC = """
### Reconciliation (store <-> ERP)

One DAG per store of `[erpsync] stores`: `reconcile` for the first, `reconcile__<connection id>` for
each other (its tag `store:<connection id>`).

**What it does.** On its own schedule (every 15 minutes by default), independently of the live flows:
1. *Orders*: reads the stamps (id, number, cancelled: ~1 point of the store's rate limit each) of the
   store's orders changed over the last `orders_days` (3), compares them with the ERP's sales (by the
   external key web shop + store order id) and with the ledger. Orders the ERP lacks that the order flow
   is on its way to book (changed after its cursor, or staged and not booked yet) are left to it for
   `in_flight_minutes` (30) after their last change: counted `in_flight`, neither booked here nor alerted
   on, so that a backlog (a sale's burst) is not booked twice over on a busy ERP. The other orders missing
   in the ERP are read whole, staged and booked through the normal exactly-once ingest (so this also
   heals an outage the order flow did not see, or a flow stuck for longer than that); a ledger row
   claiming a sale the ERP no longer has is reopened and booked; ERP sales carrying a store order's
   number without its key are reported as *duplicates* (booked by hand as well: cancel one in the ERP).
2. *Catalog*: reads every variant, price, status and inventory level of the store and compares them with
   what the ERP asks for (the desired state) and with what we published. What differs from the desired
   state and is not on its way (marked due for a publish step, or in the row error queue: `in_flight`)
   is *drift* when the store also differs from what we published (an edit in the store's admin, a
   product deleted there, a lost write) and *behind* when it has what we published but that is no longer
   what the ERP asks for (`price_behind`, `inventory_behind`, `status_behind`, `outside_assortment`: a
   product the store sells that the web shop no longer lists). Both are repaired through the normal
   publish path: deleted products are created
   again, prices and status put back, availability written with compare-and-swap (a sale is never
   overwritten; recent orders are staged first, so sold stock is never given back). SKUs the store sells
   that the ERP does not know are reported (`unmanaged_in_store`), never deleted.
3. *Webhooks* (`subscribe_webhooks`, beside the two): when `[erpsync] webhook_base_url` is set (the
   address at which the store reaches Airflow's API server) and the store Connection has a
   `webhook_secret`, makes sure the store delivers its order events (created, updated, cancelled,
   refunded) to `<webhook_base_url>/erpsync-webhooks/<connection id>`, creating what is missing (a store
   drops a subscription whose deliveries keep failing). Otherwise it says why it did nothing.
4. *Customers* (`sync_customers`, beside the others; **off by default**): with `[erpsync]
   store_customers` (or `store_customers__<connection id>`) set to `both`, `to_store` or `to_erp`, new or
   changed ERP parties with an e-mail or phone become customer accounts of the store, and new store
   accounts become ERP parties (found first by the orders' matching rule: e-mail, phone, or name and
   address), each pair linked once in `customer_link`. An account is never made twice: the store is
   asked for one with the party's e-mail (or phone) first, so a lost answer or a killed run is linked by
   the next run. A refused account (invalid phone, say) or two parties sharing an e-mail wait in
   `row_error` (flow `customers`) with the reason, and are retried. The first run looks one day back
   (new customers, not the ERP's whole history): `customers_full_refresh` reads everything.

Figures (drift per kind, gaps, what was repaired) are in the run log (`sync_run`, flow `reconcile`) and
on the *Sync health* page.

**Alerts.** *DRIFT catalog* when more than `max_catalog_drift` (10) differences were found, *DRIFT orders*
when an order is missing in the ERP after the repair or a duplicate exists (`max_order_gaps`, 0); both in
Variable `erpsync_alerts`. Drift that comes back run after run means something else writes to the store
(an app, a person) or a live flow is not running: check the *STALE* alerts and the store's admin log.

**When it fails.** *subscribe_webhooks*: the store refused a subscription (the message says which and
why, e.g. an address it cannot reach); the order flow keeps polling meanwhile. *reconcile_orders*: as for
`orders_sync` (ERP or store unreachable, a country or
service product missing in the ERP); the orders it could not book wait in `row_error` and are booked by
the order flow or the next reconciliation. *reconcile_catalog*: as for `catalog_sync`'s publish steps
(store unreachable, a location of the mapping missing). Clearing either task is safe.

**Params.** `orders_days`: how many days of orders to compare. `in_flight_minutes`: see 1 (0: book
every missing order now, e.g. with the order flow paused). `repair`: false = report only.
`customers_full_refresh`: see 4.

**Safe to rerun and to backfill.** It only ever brings the store to the desired state and books missing
orders exactly once; a backfill compares each interval's orders again (the catalog part always looks at
the store as it is now).

**Configuration.** Connections: the store's (`store_default` for the first), `erp_default`,
`warehouse_default`; pool `store_api_background` (`store_api_background__<connection id>` for the other
stores; its reads leave half of the store's cost bucket to the flows, and never hold
`store_api` while orders wait), `erp_api`; Variables `erpsync_catalog`, `erpsync_orders`, `erpsync_alerts`. Schedule:
`[erpsync] reconcile_interval_seconds` (900).
"""



def reconcile_dag(slot: StoreSlot) -> DAG:
    with DAG(
        dag_id=slot.dag_id("reconcile"),
        description="Store vs ERP: repair catalog drift, book missing orders, report",
        doc_md=DOC,
        schedule=schedule_for("reconcile", default_seconds=900),
        tags=["reconciliation", slot.tag, TAGS_ERP],
        params={
            "orders_days": Param(3, type="number", minimum=0.01, description="Days of store orders to compare."),
            "in_flight_minutes": Param(30, type="number", minimum=0, description=(
                "How long an order the ERP lacks is left to the order flow while it is on its way to it (not "
                "yet read, or staged and not yet booked): 0 books every missing order now.")),
            "repair": Param(True, type="boolean", description="Repair the catalog drift (false: report only)."),
            "customers_full_refresh": Param(False, type="boolean", description=(
                "Customers (when [erpsync] store_customers is on): read every ERP party and store account, "
                "not only those changed since the last run.")),
        },
        **dag_defaults(PRIORITY_BACKGROUND),
    ) as dag:
        store = {"store_conn": slot.conn_id}
        started = runlog.start_run(flow=reconcile.FLOW, **store)
        subscribed = reconcile.subscribe_webhooks.override(pool=slot.background_pool)(**store)
        orders = reconcile.reconcile_orders.override(pool=slot.background_pool)(**store)
        catalog = reconcile.reconcile_catalog.override(pool=slot.background_pool)(**store)
        linked = customers.sync_customers.override(pool=slot.background_pool)(**store)
        finished = runlog.finish_run(flow=reconcile.FLOW, steps=[*reconcile.STEPS, customers.STEP])
        # The subscriptions and the customers are independent of the rest: a refusal there holds back no
        # repair.
        started >> [subscribed, orders, linked]
        orders >> catalog >> finished
        [subscribed, linked] >> finished
    return dag


# One DAG per store (registered by their ``with DAG`` blocks), by DAG id.
DAGS = {slot.dag_id("reconcile"): reconcile_dag(slot) for slot in configured_stores()}
