"""What a finished run alerts about: guardrails that held a publish, rows in quarantine."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, func, select

from erpsync.alerts.book import Alert, AlertBook
from erpsync.warehouse.schema import quarantine

GUARDRAILS = ("price_swing", "catalog_shrink")
QUARANTINE_SAMPLE = 5


def run_url(dag_id: str, run_id: str) -> str:
    from urllib.parse import quote

    from airflow.configuration import conf

    base = conf.get("api", "base_url", fallback="http://127.0.0.1:8080").rstrip("/")
    return f"{base}/dags/{quote(dag_id)}/runs/{quote(run_id)}"


def after_run(book: AlertBook, *, dag_id: str, run_id: str, counts: dict[str, Any], datasets: list[tuple[str, str]],
              now: dt.datetime) -> None:
    """Fire or clear the alerts a run's outcome calls for; ``datasets`` are the (source, entity) it stages."""
    url = run_url(dag_id, run_id)
    publishes = {step: c for step, c in counts.items() if step.startswith("publish_")}
    if publishes and not any(c.get("dry_run") for c in publishes.values()):
        held = {hold["guardrail"]: hold for c in publishes.values() for hold in c.get("held") or ()}
        for guardrail in GUARDRAILS:
            key = f"{dag_id}/guardrail/{guardrail}"
            if guardrail in held:
                hold = held[guardrail]
                book.fire(Alert(key, "guardrail", f"HELD {dag_id}: the {guardrail} guardrail held a publish", [
                    hold["reason"], f"{hold['count']} held, e.g. {', '.join(hold['sample'])}", _summary(counts),
                ], dag_id, run_id, url), now)
            else:
                book.clear(key, now, run_url=url)
    for source, entity in datasets:
        key = f"{dag_id}/quarantine/{source}.{entity}"
        open_rows, by_check, sample = _open_quarantine(book.engine, source, entity)
        if open_rows:
            checks = ", ".join(f"{check}: {n}" for check, n in sorted(by_check.items()))
            book.fire(Alert(key, "quarantine", f"QUARANTINE {source}.{entity}: {open_rows} row(s) held back", [
                f"Failed checks: {checks}",
                f"Keys, e.g.: {', '.join(sample)}",
                "They do not reach the other system; fixing them at the source releases them on the next run. "
                "Details (reason per row) in the warehouse table quarantine.",
            ], dag_id, run_id, url), now)
        else:
            book.clear(key, now, run_url=url)


def _open_quarantine(engine: Engine, source: str, entity: str) -> tuple[int, dict[str, int], list[str]]:
    where = (quarantine.c.source == source, quarantine.c.entity == entity, quarantine.c.status == "open")
    with engine.connect() as conn:
        rows = conn.execute(select(quarantine.c.record_key, quarantine.c.failed_expectations).where(*where)
                            .order_by(quarantine.c.id)).all()
        total = conn.execute(select(func.count()).select_from(quarantine).where(*where)).scalar_one()
    by_check: dict[str, int] = {}
    for _, checks in rows:
        for check in checks:
            by_check[check] = by_check.get(check, 0) + 1
    return total, by_check, [key for key, _ in rows[:QUARANTINE_SAMPLE]]


def _summary(counts: dict[str, Any]) -> str:
    parts = []
    for step, c in counts.items():
        figures = {k: c[k] for k in ("rows", "staged", "quarantined", "changed", "applied", "failed") if k in c}
        if figures:
            parts.append(f"{step} " + " ".join(f"{k}={v}" for k, v in figures.items()))
    return "Run counts: " + "; ".join(parts)
