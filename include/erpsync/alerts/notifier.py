"""The notifier every task of the product carries (``on_failure_callback``, set once in the DAGs'
defaults): a task that failed after its retries is an alert, sent once per ongoing problem through the
alert channels, and announced as resolved when a later run of the flow succeeds."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace
from typing import Any

from airflow.sdk import BaseNotifier

log = logging.getLogger(__name__)

MESSAGE_CHARS = 400


class TaskFailureNotifier(BaseNotifier):
    """``on_failure_callback``: called by Airflow when a task has failed for good (retries exhausted)."""

    def notify(self, context: dict[str, Any]) -> None:
        from erpsync.alerts import channels
        from erpsync.alerts.book import Alert, AlertBook
        from erpsync.alerts.config import AlertConfig
        from erpsync.alerts.rules import failure_key, run_url
        from erpsync.tasks.runlog import StepsFailed

        ti = context["ti"]
        dag_id, run_id = ti.dag_id, ti.run_id
        error = context.get("exception")
        if isinstance(error, StepsFailed):
            return  # the run's closing task: the step that failed has sent its own alert
        what = f"{type(error).__name__}: {_first_line(error)}" if error is not None else "no exception recorded"
        alert = Alert(
            failure_key(dag_id, ti.task_id), "failure", f"FAILED {dag_id}.{ti.task_id} (after {ti.try_number} tries)",
            [what, "Its log in the Airflow UI says more; the DAG's documentation (runbook) says what to do. "
             "Clearing the task is safe: nothing is applied twice."],
            dag_id, run_id, run_url(dag_id, run_id),
        )
        now = dt.datetime.now(dt.UTC)
        try:
            from erpsync.sync.state import step_log
            from erpsync.warehouse.hook import WarehouseHook

            engine = WarehouseHook().get_conn()
            with engine.begin() as conn:  # the step's own last error, for the health page and the freshness alert
                store = step_log.record_error(conn, dag_id=dag_id, run_id=run_id, step=ti.task_id, error=what,
                                              try_number=ti.try_number, now=now)
            if store:  # a failure of a store's run is that store's problem
                alert = replace(alert, key=failure_key(dag_id, ti.task_id, store), store=store)
            book = AlertBook(engine, channels.send,
                             renotify_after=dt.timedelta(hours=AlertConfig.load().renotify_hours))
            book.fire(alert, now)
            book.raise_undelivered()
        except channels.AlertDeliveryError:
            raise  # a broken channel: the others have the alert, the error names the Connection to fix
        except Exception:  # noqa: BLE001 - the warehouse itself may be what failed: alert without it
            log.exception("alert book unavailable: sending %s without duplicate suppression", alert.key)
            channels.send(f"[erpsync] {alert.title}", "\n".join([*alert.details, alert.run_url or ""]))


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + "..."
