"""Held work decided by a person in Airflow (DAG ``review_held``): the changes a guardrail held and the rows
that gave up retrying become "Required actions" in Airflow's UI, each with what it is about; what the person
chose (or the safe default when nobody answers in time) is recorded in the warehouse, where the flows read it.

- ``collect_*``: what waits for a person, and nobody decided on yet; nothing: the review is skipped.
- ``review_*`` (HITL operators, built here): the question, with the rows in a table.
- ``apply_*``: the decision, recorded for exactly the rows shown. An approved price or unpublishing goes out
  with the next catalog run; rejected, the store stays as it is and the row stays held, not asked again
  until the ERP asks for another value. A retried row is released for the next run of its flow.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from airflow.sdk import Asset, task

log = logging.getLogger(__name__)

# Announced by sync_watch when work waits for a person; DAG review_held runs on it (bursts coalesce).
HELD_WORK = Asset("erpsync_held_work")

APPROVE, REJECT = "Approve", "Reject"  # held changes: the default on timeout is REJECT (the store unchanged)
RETRY, LEAVE = "Retry now", "Leave given up"  # given-up rows: the default on timeout is LEAVE
SHOWN = 50  # rows listed in a question's table; the decision covers all rows collected (the body says so)


def review_timeout() -> dt.timedelta:
    """How long a question waits for a person (``[erpsync] review_timeout_hours``, 24) before its default."""
    from airflow.configuration import conf

    return dt.timedelta(hours=conf.getfloat("erpsync", "review_timeout_hours", fallback=24))


@task
def announce_held_work() -> dict[str, int]:
    """(sync_watch) Succeeds, and so records an event of its outlet HELD_WORK, only when something waits for
    a person's decision; skipped (no event, no review run) when nothing does."""
    from airflow.sdk.exceptions import AirflowSkipException

    from erpsync.sync.state import reviews
    from erpsync.warehouse.hook import WarehouseHook

    with WarehouseHook().get_conn().connect() as conn:
        held, given_up = reviews.held_awaiting(conn), reviews.given_up_awaiting(conn)
    if not held and not given_up:
        raise AirflowSkipException("nothing waits for a person")
    log.info("waiting for a person: %d held change(s), %d given-up row(s)", len(held), len(given_up))
    return {"held": len(held), "given_up": len(given_up)}


@task.short_circuit
def collect_held() -> dict[str, Any] | bool:
    """The changes a guardrail held that nobody decided on; False (the question is skipped) when none."""
    from erpsync.sync.state import reviews
    from erpsync.warehouse.hook import WarehouseHook

    with WarehouseHook().get_conn().connect() as conn:
        items = reviews.held_awaiting(conn)
    return {"items": [i.as_dict() for i in items], "body": held_body(items)} if items else False


@task.short_circuit
def collect_given_up() -> dict[str, Any] | bool:
    """The rows that gave up retrying and that nobody decided on since; False when none."""
    from erpsync.sync.state import reviews
    from erpsync.warehouse.hook import WarehouseHook

    with WarehouseHook().get_conn().connect() as conn:
        items = reviews.given_up_awaiting(conn)
    return {"items": [i.as_dict() for i in items], "body": given_up_body(items)} if items else False


def held_body(items: list) -> str:
    reasons = sorted({i.reason for i in items})
    lines = [f"**{len(items)} change(s) held** by a guardrail, not published. Approve publishes exactly these "
             "values with the next catalog run; Reject leaves the store as it is (the rows stay held, and are "
             "asked about again only when the ERP asks for another value). Without an answer: Reject.", "",
             *(f"> {reason}" for reason in reasons), "",
             "| store | SKU | step | published | held back | move |", "|---|---|---|---|---|---|"]
    for i in items[:SHOWN]:
        d = i.detail
        lines.append(f"| {i.store} | {i.record_key} | {i.operation} | {d.get('from', 'published')} | "
                     f"{d.get('to', d.get('change', '?'))} | {d.get('move', d.get('product', ''))} |")
    if len(items) > SHOWN:
        lines.append(f"\n... and {len(items) - SHOWN} more (table `row_error`, kind HeldByGuardrail): the "
                     "decision covers all of them.")
    return "\n".join(lines)


def given_up_body(items: list) -> str:
    lines = [f"**{len(items)} row(s) gave up retrying** and wait for a person. Retry now releases them for one "
             "more attempt by the next run of their flow (fix the cause first: the reason is below); Leave keeps "
             "them given up. Without an answer: Leave.", "",
             "| store | flow | step | record | attempts | last error |", "|---|---|---|---|---|---|"]
    for i in items[:SHOWN]:
        reason = i.reason.replace("|", "/").replace("\n", " ")[:200]
        lines.append(f"| {i.store} | {i.flow} | {i.operation} | {i.record_key} | {i.attempts} | {reason} |")
    if len(items) > SHOWN:
        lines.append(f"\n... and {len(items) - SHOWN} more (table `row_error`, status given_up): the decision "
                     "covers all of them.")
    return "\n".join(lines)


def held_question(**kwargs: Any):
    """The question on held changes, as a HITL operator (a "Required action" in Airflow's UI)."""
    from airflow.providers.standard.operators.hitl import HITLOperator

    return HITLOperator(
        task_id="review_held_changes", subject="Publish the changes the guardrails held?",
        body="{{ ti.xcom_pull(task_ids='collect_held')['body'] }}", options=[APPROVE, REJECT], defaults=REJECT,
        response_timeout=review_timeout(), **kwargs)


def given_up_question(**kwargs: Any):
    """The question on given-up rows, as a HITL operator."""
    from airflow.providers.standard.operators.hitl import HITLOperator

    return HITLOperator(
        task_id="review_given_up_rows", subject="Retry the rows that gave up?",
        body="{{ ti.xcom_pull(task_ids='collect_given_up')['body'] }}", options=[RETRY, LEAVE], defaults=LEAVE,
        response_timeout=review_timeout(), **kwargs)


@task
def apply_held(**context: Any) -> dict[str, Any]:
    """Record the decision on the held changes shown: approved ones go out with the next catalog run."""
    from erpsync.sync.state import reviews

    decision = {APPROVE: reviews.APPROVED, REJECT: reviews.REJECTED}
    return _apply(context, "collect_held", "review_held_changes", decision)


@task
def apply_given_up(**context: Any) -> dict[str, Any]:
    """Record the decision on the given-up rows shown; Retry releases them for their flow's next run."""
    from erpsync.sync.state import reviews

    return _apply(context, "collect_given_up", "review_given_up_rows", {RETRY: reviews.RETRY, LEAVE: reviews.LEAVE})


def _apply(context: dict[str, Any], collected: str, question: str, decisions: dict[str, str]) -> dict[str, Any]:
    from erpsync.sync.state import reviews
    from erpsync.warehouse.hook import WarehouseHook

    ti = context["ti"]
    items = [reviews.Item.from_dict(i) for i in ti.xcom_pull(task_ids=collected)["items"]]
    answer = ti.xcom_pull(task_ids=question)
    (chosen,) = answer["chosen_options"]
    user = answer.get("responded_by_user") or {}
    decided_by = user.get("name") or user.get("id")  # none: nobody answered in time, the default applied
    with WarehouseHook().get_conn().begin() as conn:
        changed = reviews.record(conn, items, decision=decisions[chosen], decided_by=decided_by,
                                 review_run_id=context["run_id"], now=dt.datetime.now(dt.UTC))
    log.info("%s by %s: %d row(s), %d changed", decisions[chosen], decided_by or "nobody (the wait timed out: its default)",
             len(items), changed)
    return {"decision": decisions[chosen], "decided_by": decided_by, "rows": len(items), "changed": changed}
