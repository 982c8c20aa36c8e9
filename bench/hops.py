"""Where the seconds of the hot path go, from Airflow's own records of the runs the events started, and
what the event-driven set-up costs while nothing happens.

A change's way to the other side: the event reaches Airflow and a run is created (``event_to_run``); the
scheduler queues its first task and the executor starts it (``run_to_first_task``); then, per task of the
hot path, the wait between its upstream tasks' end and its own start (``wait``: the scheduler's loop,
the executor, the task process starting) and its own time (``work``: what the task does, its imports
included). Medians over the runs, so that the sum approximates a typical change's way.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Iterable, Sequence

# The tasks between a change and its write on the other side, in order (the catalog's price changes are
# written by publish_prices, its stock by publish_inventory, after it).
HOT_PATHS = {
    "orders_sync": ("extract_orders", "stage_orders", "ingest_orders"),
    "catalog_sync": (("extract_products", "extract_stock"), "stage_catalog", "publish_content",
                     "publish_prices", "publish_inventory"),
}


def _at(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def task_hops(run: dict, instances: Sequence[dict],
              upstream: dict[str, list[str]]) -> dict[str, dict[str, float]]:
    """Per task of one run: ``wait`` (from its upstream tasks' last end, or the run's creation for a first
    task, to its start) and ``work`` (start to end), in seconds; tasks that did not run are left out."""
    by_task = {ti["task_id"]: ti for ti in instances}
    created = _at(run["queued_at"])
    hops = {}
    for task_id, ti in by_task.items():
        started, ended = _at(ti.get("start_date")), _at(ti.get("end_date"))
        if started is None or ended is None:
            continue
        ends = [_at(by_task[u].get("end_date")) for u in upstream.get(task_id, []) if u in by_task]
        ready = max([e for e in ends if e is not None], default=created)
        hops[task_id] = {"wait": (started - ready).total_seconds(), "work": (ended - started).total_seconds()}
    return hops


def first_run_after(commits: Iterable[dt.datetime], runs: Sequence[dict]) -> list[float]:
    """For each commit, the seconds until the first of ``runs`` created at or after it (a commit no run
    followed is left out)."""
    created = sorted(_at(run["queued_at"]) for run in runs)
    delays = []
    for commit in commits:
        following = [c for c in created if c >= commit]
        if following:
            delays.append((following[0] - commit).total_seconds())
    return delays


def breakdown(dag_id: str, runs: Sequence[tuple[dict, Sequence[dict]]], upstream: dict[str, list[str]],
              commits: Sequence[dt.datetime]) -> list[tuple[str, float]]:
    """The hot path of ``dag_id`` as (hop, median seconds), in order."""
    per_run = [task_hops(run, instances, upstream) for run, instances in runs]
    hops: list[tuple[str, float]] = []
    to_run = first_run_after(commits, [run for run, _ in runs])
    if to_run:
        hops.append(("event_to_run", statistics.median(to_run)))
    for step in HOT_PATHS[dag_id]:
        group = step if isinstance(step, tuple) else (step,)
        label = "+".join(group)
        # Parallel tasks count as their slowest (the next step waits for both).
        waits = [max(r[t]["wait"] for t in group if t in r) for r in per_run if any(t in r for t in group)]
        works = [max(r[t]["work"] for t in group if t in r) for r in per_run if any(t in r for t in group)]
        if waits:
            hops.append((f"{label} wait", statistics.median(waits)))
            hops.append((f"{label} work", statistics.median(works)))
    return [(name, round(seconds, 2)) for name, seconds in hops]


def fetch_runs(http, url: str, dag_id: str, since: dt.datetime, run_type: str = "asset_triggered"):
    """The runs of ``dag_id`` created since ``since`` of ``run_type``, each with its task instances, and
    the DAG's upstream task ids per task."""
    runs = []
    while True:
        response = http.get(f"{url}/api/v2/dags/{dag_id}/dagRuns", timeout=30, params={
            "run_after_gte": since.isoformat(), "limit": 100, "offset": len(runs), "order_by": "run_after"})
        response.raise_for_status()
        page = response.json()["dag_runs"]
        runs += page
        if len(page) < 100:
            break
    runs = [r for r in runs if r["run_type"] == run_type and r.get("queued_at")]
    tasks = http.get(f"{url}/api/v2/dags/{dag_id}/tasks", timeout=30)
    tasks.raise_for_status()
    upstream: dict[str, list[str]] = {}
    for task in tasks.json()["tasks"]:
        for down in task.get("downstream_task_ids", []):
            upstream.setdefault(down, []).append(task["task_id"])
    with_instances = []
    for run in runs:
        path = f"{url}/api/v2/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances"
        response = http.get(path, timeout=30)
        response.raise_for_status()
        with_instances.append((run, response.json()["task_instances"]))
    return with_instances, upstream


def idle_cpu(roles: dict[str, list[int]], seconds: float = 30.0) -> dict[str, float]:
    """Share of one core each role's processes (and their children) used over ``seconds``."""
    import psutil

    def cpu(pids: list[int]) -> float:
        total = 0.0
        for pid in pids:
            try:
                process = psutil.Process(pid)
                for p in [process, *process.children(recursive=True)]:
                    times = p.cpu_times()
                    total += times.user + times.system
            except psutil.Error:
                continue
        return total

    before = {role: cpu(pids) for role, pids in roles.items()}
    time.sleep(seconds)
    return {role: round((cpu(pids) - before[role]) / seconds, 3) for role, pids in roles.items()}


def airflow_roles(pids: Iterable[int]) -> dict[str, list[int]]:
    """Airflow's processes by component (``airflow scheduler`` ...), from their command lines; each
    component's children are counted with it, so only the top process of each is kept."""
    import psutil

    roles: dict[str, list[int]] = {}
    for pid in pids:
        try:
            command = " ".join(psutil.Process(pid).cmdline())
        except psutil.Error:
            continue
        for role in ("scheduler", "triggerer", "dag-processor", "api-server"):
            if f"airflow {role}" in command:
                roles.setdefault(role, []).append(pid)
    children = set()
    for pid in [p for pids in roles.values() for p in pids]:
        try:
            children |= {c.pid for c in psutil.Process(pid).children(recursive=True)}
        except psutil.Error:
            continue
    return {role: [p for p in pids if p not in children] for role, pids in roles.items()}
