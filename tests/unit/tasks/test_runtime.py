"""A run's time window (erpsync.tasks.runtime.RunInfo): from the data interval, else from when Airflow
started the run, never from the worker's clock."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from erpsync.tasks.runtime import RunInfo

T = dt.datetime(2026, 12, 5, 4, 0, tzinfo=dt.UTC)


def context(run_type: str, *, interval_end=None, run_after=T, start_date=None) -> dict:
    run = SimpleNamespace(dag_id="orders_sync", run_id=f"{run_type}__x", run_type=run_type,
                          run_after=run_after, start_date=start_date)
    return {"dag_run": run, "data_interval_start": interval_end and interval_end - dt.timedelta(seconds=30),
            "data_interval_end": interval_end, "logical_date": None, "params": {}}


def test_a_scheduled_run_reads_up_to_its_interval_s_end_whenever_it_started():
    info = RunInfo.from_context(context("scheduled", interval_end=T, start_date=T + dt.timedelta(minutes=5)))
    assert info.window_end == T and info.backfill_start is None


def test_a_run_started_by_an_event_reads_up_to_when_it_started_not_when_it_was_asked_for():
    # Queued behind a running run for 12 s while more events came: it reads what they announced too.
    started = T + dt.timedelta(seconds=12)
    assert RunInfo.from_context(context("asset_triggered", start_date=started)).window_end == started
    assert RunInfo.from_context(context("manual", start_date=started)).window_end == started


def test_without_a_start_the_run_s_due_time_is_the_end():
    assert RunInfo.from_context(context("asset_triggered")).window_end == T


def test_a_backfill_reads_its_own_interval():
    info = RunInfo.from_context(context("backfill", interval_end=T, start_date=T + dt.timedelta(days=3)))
    assert (info.backfill_start, info.window_end) == (T - dt.timedelta(seconds=30), T)
