"""The review's questions wait for a person for the configured time, then take the safe default; an answer
given by nobody (the timeout's default) is recorded as such, for exactly the rows shown."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from erpsync.sync.state import reviews
from erpsync.tasks import review
from erpsync.warehouse.schema import review_decision
from tests.conftest import REPO, warehouse_connection


def questions() -> dict:
    from airflow.models import DagBag

    dag = DagBag(dag_folder=str(REPO / "dags" / "review_held.py")).dags["review_held"]
    return {t.task_id: t for t in dag.tasks if type(t).__name__ == "HITLOperator"}


def test_unanswered_questions_take_the_safe_default_after_the_configured_time(monkeypatch):
    found = questions()
    held, given_up = found["review_held_changes"], found["review_given_up_rows"]
    assert (held.options, held.defaults) == (["Approve", "Reject"], ["Reject"])
    assert (given_up.options, given_up.defaults) == (["Retry now", "Leave given up"], ["Leave given up"])
    assert held.response_timeout == given_up.response_timeout == dt.timedelta(hours=24)
    monkeypatch.setenv("AIRFLOW__ERPSYNC__REVIEW_TIMEOUT_HOURS", "0.5")
    assert questions()["review_held_changes"].response_timeout == dt.timedelta(minutes=30)


class _TaskInstance:
    """What the apply step reads of its run: the rows collected and the question's answer (XCom)."""

    def __init__(self, xcoms: dict):
        self.xcoms = xcoms

    def xcom_pull(self, task_ids: str):
        return self.xcoms[task_ids]


def test_a_timed_out_question_records_its_default_for_the_rows_shown_by_nobody(warehouse, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_DEFAULT", json.dumps(
        warehouse_connection(warehouse.url.render_as_string(hide_password=False))))
    shown = [reviews.Item("catalog", "variant", "publish_prices", sku, "99.00", "held", 1, {"to": "99.00"})
             for sku in ("A-1", "A-2")]
    ti = _TaskInstance({"collect_held": {"items": [i.as_dict() for i in shown]},
                        "review_held_changes": {"chosen_options": ["Reject"], "params_input": {},
                                                "responded_at": dt.datetime.now(dt.UTC), "responded_by_user": None}})
    result = review.apply_held.function(ti=ti, run_id="asset_triggered__x")
    assert result == {"decision": "rejected", "decided_by": None, "rows": 2, "changed": 2}
    with warehouse.connect() as conn:
        rows = conn.execute(select(review_decision.c.record_key, review_decision.c.decision,
                                   review_decision.c.decided_by, review_decision.c.review_run_id)).all()
    assert sorted(rows) == [("A-1", "rejected", None, "asset_triggered__x"),
                            ("A-2", "rejected", None, "asset_triggered__x")]
