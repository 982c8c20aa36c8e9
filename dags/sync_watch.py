"""Watch over the flows: stale data, stuck rows. Wiring only: the check lives in ``erpsync.tasks.watch``."""

from airflow.sdk import DAG

from erpsync.tasks import review, watch
from erpsync.tasks.defaults import DAG_DEFAULTS, schedule_for

DOC = """
### Sync watch

**What it does.** Every minute, reads the warehouse's run log and error queue and alerts (Slack
`alerts_slack`, e-mail `alerts_email`) when:
- *STALE orders: shipments sent to the store (push_fulfillments) not done for 40 min*: one step of a
  flow has not succeeded for longer than the flow's freshness window (Variable `erpsync_alerts`,
  `freshness_minutes`, default catalog 15, orders 10), each step on its own: a run fails when one step
  does, and the others may be fresh (the alert lists them). It carries the error the step raised last
  and a link to that try's log. A flow none of whose runs has finished yet is *STALE* as a whole. Look
  at the flow's DAG: paused? that step failing (its own *FAILED* alert says why)? the scheduler down?
- *STUCK catalog / orders*: rows in `row_error` failed `stuck_after_attempts` (5) times or more. The
  message lists the errors and a few keys; `row_error.error_message` has the whole error per row. They keep
  being retried with backoff and resolve themselves once the cause is fixed (a product the store refuses:
  fix it in the ERP; a store location missing: fix the mapping).

- *STALE webhooks of <store>*: the store's webhooks arrived before, but its orders kept changing for more
  than `webhook_silence_minutes` (15) after the last event: the order flow runs on its slow safety-net
  poll meanwhile. Check the store's subscriptions (DAG `reconcile`, task `subscribe_webhooks`), that the
  store reaches `[erpsync] webhook_base_url`, and, if deliveries are refused, the Connection's
  `webhook_secret`. Table `store_event` has every delivery and what it caused.
- *Held work*: changes a guardrail held or rows that gave up retrying, that nobody decided on yet, start
  DAG `review_held`, which asks a person in Airflow's *Required actions* (task `announce_held_work`;
  skipped when nothing waits).

**When it fails.** The watch only reads the warehouse: a failure means `warehouse_default` is
unreachable (its own *FAILED sync_watch* alert says so); the flows cannot record their runs either.

Each problem is sent once (again after `renotify_hours`, 6), and a *RESOLVED* message follows when it
clears. Rerunning or clearing this DAG is always safe: it only reads and alerts.

**Configuration.** Connection `warehouse_default`; Variable `erpsync_alerts`; schedule:
`[erpsync] watch_interval_seconds` (60).
"""

with DAG(
    dag_id="sync_watch",
    description="Alerts on stale data and stuck rows",
    doc_md=DOC,
    schedule=schedule_for("watch", default_seconds=60),
    tags=["monitoring"],
    **DAG_DEFAULTS,
) as dag:
    watch.check_sync_health()
    # Work waiting for a person (held changes, given-up rows) starts DAG review_held: its questions appear
    # in Airflow's Required actions. Skipped (no event) when nothing waits.
    review.announce_held_work.override(outlets=[review.HELD_WORK])()
