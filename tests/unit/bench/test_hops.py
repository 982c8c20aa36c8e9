"""The hot path's breakdown from Airflow's records: waits and work worked out by hand from the stamps."""

import datetime as dt

from bench import hops

T0 = dt.datetime(2026, 12, 5, 7, 0, 0, tzinfo=dt.UTC)


def at(seconds: float) -> str:
    return (T0 + dt.timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def ti(task_id: str, start: float | None, end: float | None) -> dict:
    return {"task_id": task_id, "start_date": None if start is None else at(start),
            "end_date": None if end is None else at(end)}


UPSTREAM = {"stage_orders": ["extract_orders"], "ingest_orders": ["stage_orders"],
            "finish_run": ["start_run", "ingest_orders"]}


def test_each_task_waits_from_its_upstream_s_end_and_a_first_task_from_the_run_s_creation():
    run = {"queued_at": at(0)}
    instances = [ti("start_run", 0.5, 0.75), ti("extract_orders", 0.5, 1.0), ti("stage_orders", 1.75, 2.25),
                 ti("ingest_orders", 3.0, 4.5), ti("finish_run", 5.0, 5.25), ti("push_fulfillments", None, None)]
    found = hops.task_hops(run, instances, UPSTREAM)
    assert found["extract_orders"] == {"wait": 0.5, "work": 0.5}
    assert found["stage_orders"] == {"wait": 0.75, "work": 0.5}
    assert found["ingest_orders"] == {"wait": 0.75, "work": 1.5}
    assert found["finish_run"] == {"wait": 0.5, "work": 0.25}  # after the later of its two upstreams
    assert "push_fulfillments" not in found


def test_a_commit_is_followed_by_the_first_run_created_at_or_after_it():
    runs = [{"queued_at": at(10)}, {"queued_at": at(2)}]
    commits = [T0, T0 + dt.timedelta(seconds=2), T0 + dt.timedelta(seconds=3), T0 + dt.timedelta(seconds=11)]
    assert hops.first_run_after(commits, runs) == [2.0, 0.0, 7.0]  # the last had no run after it


def test_the_breakdown_is_the_hot_path_s_medians_in_order():
    runs = [({"queued_at": at(base)}, [ti("extract_orders", base + 1, base + 2),
                                      ti("stage_orders", base + 2 + wait, base + 3 + wait),
                                      ti("ingest_orders", base + 4 + wait, base + 4 + wait + work)])
            for base, wait, work in ((0, 0.5, 1.0), (100, 1.5, 2.0), (200, 1.0, 3.0))]
    commits = [T0 - dt.timedelta(seconds=1), T0 + dt.timedelta(seconds=97)]
    assert hops.breakdown("orders_sync", runs, UPSTREAM, commits) == [
        ("event_to_run", 2.0),  # medians of 1 and 3
        ("extract_orders wait", 1.0), ("extract_orders work", 1.0),
        ("stage_orders wait", 1.0), ("stage_orders work", 1.0),
        ("ingest_orders wait", 1.0), ("ingest_orders work", 2.0),
    ]


def test_parallel_tasks_count_as_the_slower_of_them():
    run = {"queued_at": at(0)}
    instances = [ti("extract_products", 1, 2), ti("extract_stock", 1.5, 4), ti("stage_catalog", 5, 6)]
    upstream = {"stage_catalog": ["extract_products", "extract_stock"]}
    path = dict(hops.breakdown("catalog_sync", [(run, instances)], upstream, []))
    assert path["extract_products+extract_stock wait"] == 1.5
    assert path["extract_products+extract_stock work"] == 2.5
    assert path["stage_catalog wait"] == 1.0
