"""Held work decided by a person. Wiring only: the steps live in ``erpsync.tasks.review``."""

from airflow.sdk import DAG

from erpsync.tasks import review
from erpsync.tasks.defaults import DAG_DEFAULTS

DOC = """
### Review held work (a person decides, in Airflow's "Required actions")

**What it does.** Runs when `sync_watch` finds work that waits for a person (asset `erpsync_held_work`),
and asks, as Airflow *Required actions* (the bell in the UI's navigation, or *Browse > Required Actions*):
- **Publish the changes the guardrails held?** Every change held and not decided yet, in a table: SKU,
  step, the published value and the one held back (a price moving more than `max_price_change_share`,
  products unpublished en masse). *Approve*: the next `catalog_sync` run publishes exactly those values
  (a later, different value is held and asked about again). *Reject*: the store stays as it is; the rows
  stay held (visible on the sync-health page) and are not asked about again until the ERP asks for
  another value: fix the ERP.
- **Retry the rows that gave up?** Rows of `row_error` that failed their whole retry budget, with their
  last error. *Retry now*: released for one more attempt by the next run of their flow (fix the cause
  first); *Leave given up*: asked again only if they fail again after a retry.

**Timeouts.** A question unanswered for `[erpsync] review_timeout_hours` (24) takes its safe default:
*Reject* (the store unchanged), *Leave given up*. The decision, who took it and when are in table
`review_decision`, and in this run's `apply_*` task.

**Who may answer.** Whoever Airflow's auth manager lets act on this DAG's task instances (with FAB: a role
with *can edit* on *DAG:review_held*, e.g. *User* or *Op*; viewers see the question but cannot answer).

**When it fails.** It reads and writes only the warehouse: a failed `collect_*` or `apply_*` means
`warehouse_default` is unreachable (its *FAILED review_held* alert says so); clear the task once it is
back. A question that times out is not a failure: its default is applied.

**Safe to rerun.** A run asks only about rows without a decision on their current value; clearing an
`apply_*` task records the same decision again.
"""

with DAG(
    dag_id="review_held",
    description="A person decides on held changes and given-up rows (Airflow Required actions)",
    doc_md=DOC,
    schedule=[review.HELD_WORK],
    tags=["monitoring"],
    **DAG_DEFAULTS,
) as dag:
    held = review.collect_held()
    held >> review.held_question() >> review.apply_held()
    given_up = review.collect_given_up()
    given_up >> review.given_up_question() >> review.apply_given_up()
