"""Order flow, store -> ERP. Wiring only: the steps live in ``erpsync.tasks.orders``."""

from airflow.sdk import DAG, Param

from erpsync.tasks import orders, runlog
from erpsync.tasks.defaults import AFTER_STAGED, DAG_DEFAULTS, PRIORITY_AVAILABILITY, TAGS_ERP
from erpsync.tasks.stores import StoreSlot, configured_stores, orders_schedule, orders_shared_asset

DOC = """
### Order sync (store -> ERP)

One DAG per store of `[erpsync] stores`: `orders_sync` for the first, `orders_sync__<connection id>`
for each other (the DAG's tag `store:<connection id>` says which). Its orders become sales of the store's
own ERP web shop (the store Connection's extra `erp_web_shop`). With several stores, staging marks the
SKUs of new or changed orders due for the other stores' inventory publish (availability is shared), and
`announce_shared_orders` then updates the asset `erpsync_orders_shared__<connection id>`, on which their
publishing runs at once (skipped when there is nothing to share).

**What it does.** Every run: reads the store orders changed since the last run (any status: new, paid,
cancelled, refunded) into the raw layer (the last `order_lag_seconds`, 120, of the previous window are
scanned again for orders the store showed late: as stamps, an order read whole only if staging lacks that
version); validates them (known SKUs, positive quantities, totals
consistent with lines, the shop's currency, a shipping address when goods ship): a failing order is held
in `quarantine` with its reasons and validated again every run, so it is booked as soon as the cause is
fixed (e.g. the product is created in the ERP); books every staged order in the ERP exactly once as a
confirmed sale (customers matched by e-mail, addresses by text; discounts, shipping and taxes as lines,
so the ERP total equals the store total); applies cancellations (the sale is cancelled, or its shipment
and invoice when it is confirmed) and refunds (a return sale each), each once; and, when the ERP has
shipped an order, creates its store fulfillment with the tracking number, once.

**Exactly once.** The store order id is the ERP sale's unique external key (web shop + web id) and the
ledger `order_ledger` records each step. Before creating a sale the ERP is asked whether it exists: a
crash, a retried task, a cleared run, two overlapping runs or a backfill never book an order twice.

**Params.** `full_refresh`: read every order the store has (the ledger keeps it exactly once).

**Backfills.** `airflow backfill create --dag-id orders_sync --from-date A --to-date B` re-reads each
interval's orders and books what is missing (after an ERP outage); orders already booked are found, not
created again. The cursor never moves back.

**Alerts** (Slack `alerts_slack`, e-mail `alerts_email`; once per problem, then *RESOLVED*): *FAILED
orders_sync.<task>* (a task failed after its retries), *QUARANTINE store.order* (orders held, with the
checks they failed and sample order ids; never customer data); *STALE orders* and *STUCK orders* come from
`sync_watch`, *DRIFT orders* (an order missing in the ERP, or booked twice by hand) from `reconcile`.

**Configuration.** Connections: the store's (`store_default` for the first), `erp_default`,
`warehouse_default`; pools: the store's (`store_api`, `store_api__<connection id>` for the others),
`erp_api`; Variable `erpsync_orders` (JSON, optional): ERP product codes of the service lines
(`shipping_product` SHIPPING, `tax_product` SALES-TAX, `discount_product` DISCOUNT, `refund_product`
REFUND), `tracking_company`. Schedule: `[erpsync] orders_interval_seconds` (30; 0 = continuous), and at
once when the store's webhooks announce a change (asset `erpsync_store_events__<connection id>`, updated by
the receiver at `/erpsync-webhooks/<connection id>` of the API server; the store Connection's extra
`webhook_secret` turns it on). With webhooks, the interval is the safety net: set it to minutes.

**When it fails.**
- *orders quarantined*: table `quarantine` (source store, entity order) says why per order; fix the cause
  (usually: create the product in the ERP); the next run books it.
- *countries ... are not in the ERP* / *service products ... are not in the ERP*: create them in the ERP
  (or set the codes in `erpsync_orders`); the orders wait in `row_error` and are booked by a later run.
- *cancel_failed* in `order_ledger` (alerted): the store cancelled an order the ERP already shipped; handle
  the return in the ERP.
- *ErpTransportError / StoreTransportError*: the system was unreachable after retries; clear the task.
  Nothing is booked twice: the ledger and the ERP's unique key see to it.
"""



def orders_dag(slot: StoreSlot) -> DAG:
    with DAG(
        dag_id=slot.dag_id("orders_sync"),
        description="Store orders -> ERP sales (exactly once), changes, fulfillments back",
        doc_md=DOC,
        schedule=orders_schedule(slot),
        tags=["orders", slot.tag, TAGS_ERP],
        params={"full_refresh": Param(False, type="boolean", description="Read every order the store has.")},
        **DAG_DEFAULTS,
    ) as dag:
        store = {"store_conn": slot.conn_id}
        # The intake (up to staging and the announcement to the other stores) is on the way of a sale to
        # every other store's availability: it gets a free executor slot before booking and the rest.
        hot = {"priority_weight": PRIORITY_AVAILABILITY}
        started = runlog.start_run.override(**hot)(flow=orders.FLOW, **store)
        extracted = orders.extract_orders.override(pool=slot.pool, **hot)(**store)
        staged = orders.stage_orders.override(**hot)(**store)
        booked = orders.ingest_orders(**store)
        # Booking, then changes, then fulfillments, but a step that failed does not hold back the next one
        # (shipments still reach the store when a booking failed): each runs once the orders are staged.
        changed = orders.apply_order_changes.override(trigger_rule=AFTER_STAGED)(**store)
        fulfilled = orders.push_fulfillments.override(trigger_rule=AFTER_STAGED, pool=slot.pool)(**store)
        finished = runlog.finish_run(flow=orders.FLOW, steps=list(orders.STEPS), datasets=orders.DATASETS)
        # The run's row is opened beside the extract, not before it: one task boundary (~1 s) less between
        # a store's order and its ERP sale.
        started >> finished
        extracted >> staged >> booked >> changed >> fulfilled >> finished
        staged >> [changed, fulfilled]
        if len(configured_stores()) > 1:  # the other stores publish the held-back units at once
            announced = orders.announce_shared_orders.override(
                outlets=[orders_shared_asset(slot.conn_id)], **hot)()
            staged >> announced >> finished
    return dag


# One DAG per store (registered by their ``with DAG`` blocks), by DAG id.
DAGS = {slot.dag_id("orders_sync"): orders_dag(slot) for slot in configured_stores()}
