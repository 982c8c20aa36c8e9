"""Warehouse housekeeping. Wiring only: the step lives in ``erpsync.tasks.housekeeping``."""

from airflow.sdk import DAG

from erpsync.tasks import housekeeping
from erpsync.tasks.defaults import PRIORITY_BACKGROUND, cron_schedule, dag_defaults

DOC = """
### Housekeeping (the warehouse's growth, and the personal data it keeps)

**What it does.** Once a day, counted back from the run's data interval end (a rerun of an old day
deletes what that day would have), in batches of `batch_rows` (2000), each its own short transaction:
- deletes `raw_record` rows landed more than `raw_days` (14) ago, `sync_run` rows started more than
  `run_log_days` (90) ago, `row_error` rows *resolved* and `quarantine` rows *released / superseded /
  expired* more than `closed_days` (30) ago. Open and given-up rows are never deleted: they wait for a
  fix or a person.
- blanks the personal data (names, e-mails, addresses, phones) of the orders it keeps: raw order rows
  landed, closed quarantined orders closed, and staged orders whose booking is done (the ledger says so)
  last changed, more than `personal_data_days` (30) ago. Each such row is stamped
  `personal_data_purged_at`. An open quarantined order, or one not booked yet, keeps its data: it is
  booked with it. Cancellations, refunds and shipments of a purged order still follow.
The task's result (XCom) and log give the counts per table; never the data itself.

Never touched: the order ledger and the published state (exactly once and publish-only-what-changed
rest on them), nor anything of a staged order but its customer and addresses. Reruns, clears and
backfills are safe: a second run finds nothing more to do.

**Configuration.** Variable `erpsync_retention` (JSON, optional): `raw_days`, `run_log_days`,
`closed_days`, `personal_data_days`, `batch_rows`. Connection `warehouse_default`. Schedule:
`[erpsync] housekeeping_cron` (`17 3 * * *`, UTC).

**When it fails.** *Airflow Variable 'erpsync_retention' is not a valid configuration*: fix the JSON
(the message names the field). A database error: the warehouse was unreachable or a statement timed out;
what was deleted stays deleted (each batch commits), clear the task to go on.
"""

with DAG(
    dag_id="housekeeping",
    description="Retention of raw rows, run logs and closed errors; personal data purged",
    doc_md=DOC,
    schedule=cron_schedule("housekeeping", "17 3 * * *"),
    tags=["maintenance"],
    **dag_defaults(PRIORITY_BACKGROUND),
) as dag:
    housekeeping.purge_old_data()
