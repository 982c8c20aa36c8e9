"""What every task needs from its Airflow context: the run's identity and its time window."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RunInfo:
    dag_id: str
    run_id: str
    logical_date: dt.datetime | None
    window_end: dt.datetime  # never the wall clock: the data interval's end, or when the run started
    params: dict[str, Any]
    backfill_start: dt.datetime | None = None  # a backfill reads its own interval, whatever the cursor says

    @classmethod
    def from_context(cls, context: dict[str, Any]) -> RunInfo:
        dag_run = context["dag_run"]
        end = context.get("data_interval_end") or _started(dag_run)
        start = context.get("data_interval_start")
        backfill = str(getattr(dag_run, "run_type", "")).lower().endswith("backfill") and start is not None
        return cls(
            dag_id=dag_run.dag_id,
            run_id=dag_run.run_id,
            logical_date=context.get("logical_date"),
            window_end=_as_utc(end),
            params=dict(context.get("params") or {}),
            backfill_start=_as_utc(start) if backfill else None,
        )


def _started(dag_run: Any) -> dt.datetime:
    """The window end of a run without a data interval (started by a store's event or by hand): when
    Airflow started it, as its run records; not when it was asked for (``run_after``). Such a run may wait
    queued behind the running one while further events arrive, which it then reads too: otherwise each of
    those would need a run of its own after it."""
    started = getattr(dag_run, "start_date", None)
    return max(started, dag_run.run_after) if started else dag_run.run_after


def _as_utc(value: dt.datetime) -> dt.datetime:
    # Airflow hands out pendulum datetimes; the warehouse and the clients take plain aware UTC ones.
    utc = value.astimezone(dt.UTC)
    return dt.datetime.combine(utc.date(), utc.time(), tzinfo=dt.UTC)
