"""DAG integrity: every DAG imports cleanly and fast, touches nothing external at parse time, and
follows the house policies (owner, tags, retries, runbook, pools)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

DAGS_FOLDER = REPO / "dags"
KNOWN_TAGS = {"catalog", "orders", "fulfillment", "reconciliation", "monitoring", "maintenance", "erp:tryton"}
MAX_PARSE_S = 0.5
# Tasks that must not hold their DAG's next run with retries: the run log's closing task (a failed step
# stays failed) and the watch (it runs again within a minute).
NO_RETRIES = {"finish_run", "check_sync_health"}


# Two stores, as a deployment with a second channel has them: every per-store DAG is parsed and checked.
STORES = "store_default, store_outlet"


@pytest.fixture(scope="module", autouse=True)
def two_stores():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW__ERPSYNC__STORES", STORES)
        yield


@pytest.fixture(scope="module")
def dagbag():
    from airflow.models import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


def dag_files() -> list[Path]:
    return sorted(p for p in DAGS_FOLDER.glob("*.py") if not p.name.startswith("_"))


def test_there_are_dags_and_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert dagbag.dags, "no DAG found"
    assert len(dagbag.dags) >= len(dag_files())


def test_a_sale_on_its_way_to_the_other_stores_gets_a_free_executor_slot_first(dagbag):
    """Executor priorities, as the scheduler orders waiting tasks (absolute weights, so a task's place in its
    DAG does not change them): every task between a sale in one store and the other stores' availability
    (order intake up to the announcement, the catalog flow, every further store's publishing) outranks
    every other task, and reconciliation and housekeeping come last."""
    intake = {"start_run", "extract_orders", "stage_orders", "announce_shared_orders"}
    tiers: dict[str, set[tuple[str, str]]] = {"availability": set(), "flow": set(), "background": set()}
    for dag in dagbag.dags.values():
        for t in dag.tasks:
            assert str(t.weight_rule).lower().endswith("absolute"), (dag.dag_id, t.task_id, t.weight_rule)
            if dag.dag_id.startswith(("catalog_sync", "catalog_publish")) or (
                    dag.dag_id.startswith("orders_sync") and t.task_id in intake):
                tier = "availability"
            elif dag.dag_id.startswith(("reconcile", "housekeeping")):
                tier = "background"
            else:
                tier = "flow"
            tiers[tier].add((dag.dag_id, t.task_id))
    assert ("orders_sync__store_outlet", "announce_shared_orders") in tiers["availability"]
    assert ("orders_sync", "ingest_orders") in tiers["flow"]
    assert all(tiers.values()), tiers
    weight = {(d.dag_id, t.task_id): t.priority_weight for d in dagbag.dags.values() for t in d.tasks}
    lowest_availability = min(weight[key] for key in tiers["availability"])
    highest_flow = max(weight[key] for key in tiers["flow"])
    lowest_flow = min(weight[key] for key in tiers["flow"])
    highest_background = max(weight[key] for key in tiers["background"])
    assert lowest_availability > highest_flow, (lowest_availability, highest_flow)
    assert lowest_flow > highest_background, (lowest_flow, highest_background)


def test_each_store_has_its_own_flows_pools_and_tags(dagbag):
    """The first store keeps the plain DAG ids; the second gets its own DAGs, and every task that talks to
    a store uses that store's Connection and pool, never the other's."""
    expected = {
        "orders_sync": ("store_default", "store_api"),
        "reconcile": ("store_default", "store_api_background"),
        "catalog_sync": ("store_default", "store_api"),
        "orders_sync__store_outlet": ("store_outlet", "store_api__store_outlet"),
        "reconcile__store_outlet": ("store_outlet", "store_api_background__store_outlet"),
        "catalog_publish__store_outlet": ("store_outlet", "store_api__store_outlet"),
    }
    assert "catalog_publish__store_default" not in dagbag.dags  # catalog_sync publishes to the first store
    for dag_id, (conn_id, pool) in expected.items():
        dag = dagbag.dags[dag_id]
        assert f"store:{conn_id}" in dag.tags, (dag_id, dag.tags)
        store_tasks = [t for t in dag.tasks if "store_conn" in (t.op_kwargs or {})]
        assert store_tasks, dag_id
        assert {t.op_kwargs["store_conn"] for t in store_tasks} == {conn_id}, dag_id
        store_pools = {t.pool for t in dag.tasks if t.pool.startswith("store_api")}
        assert store_pools == {pool}, (dag_id, store_pools)
    publish = dagbag.dags["catalog_publish__store_outlet"]
    assert {t.task_id for t in publish.tasks} == {"start_run", "publish_content", "publish_prices",
                                                   "publish_inventory", "finish_run"}


def test_a_stores_staged_orders_start_the_other_stores_publishing_at_once(dagbag):
    """Each order flow announces its shared orders on an asset of its own; each publishing DAG runs on its
    interval or on the other stores' assets (never on its own store's)."""
    announced = {}
    for dag_id in ("orders_sync", "orders_sync__store_outlet"):
        (task,) = [t for t in dagbag.dags[dag_id].tasks if t.task_id == "announce_shared_orders"]
        (asset,) = task.outlets
        announced[dag_id] = asset.name
    assert announced == {"orders_sync": "erpsync_orders_shared__store_default",
                         "orders_sync__store_outlet": "erpsync_orders_shared__store_outlet"}
    for dag_id, other in (("catalog_sync", "store_outlet"), ("catalog_publish__store_outlet", "store_default")):
        timetable = dagbag.dags[dag_id].timetable
        assert type(timetable).__name__ == "AssetOrTimeSchedule", (dag_id, timetable)
        assert [a.name for a in timetable.asset_condition.objects] == [
            f"erpsync_orders_shared__{other}"], dag_id


@pytest.mark.parametrize("seconds", ["0", "-1", "1.5"])
def test_the_erp_change_watcher_is_wired_when_on_and_absent_when_off(monkeypatch, seconds):
    """``[erpsync] erp_watch_seconds`` > 0: catalog_sync also runs on the asset the watcher updates (its
    trigger in the installed package, serializable as the scheduler stores it), and the further stores'
    publishing on catalog_sync's staging; 0 or less: polling alone, as before. Either way the DAGs parse
    and touch nothing external."""
    from airflow.models import DagBag
    from airflow.sdk import BaseHook
    from airflow.serialization.serialized_objects import DagSerialization

    monkeypatch.setenv("AIRFLOW__ERPSYNC__ERP_WATCH_SECONDS", seconds)
    monkeypatch.setattr(BaseHook, "get_connection",
                        classmethod(lambda *a, **k: pytest.fail("a Connection read")))
    monkeypatch.setattr(socket.socket, "connect", lambda *a, **k: pytest.fail("network at parse time"))
    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert bag.import_errors == {}
    catalog, publish = bag.dags["catalog_sync"], bag.dags["catalog_publish__store_outlet"]
    for dag in (catalog, publish):
        assert type(dag.timetable).__name__ == "AssetOrTimeSchedule", "the interval stays the safety net"
        DagSerialization.to_dict(dag)
    watched = {a.name: a for a in catalog.timetable.asset_condition.objects}
    staged_by = [t.outlets for t in catalog.tasks if t.task_id == "stage_catalog"]
    publish_on = [a.name for a in publish.timetable.asset_condition.objects]
    if float(seconds) <= 0:
        assert list(watched) == ["erpsync_orders_shared__store_outlet"]
        assert staged_by == [[]] and publish_on == ["erpsync_orders_shared__store_default"]
        return
    (watcher,) = watched["erpsync_erp_changes"].watchers
    classpath, kwargs = watcher.trigger.serialize()
    assert classpath == "erpsync.events.erp_watch.ErpChangeTrigger" and kwargs["poll_seconds"] == 1.5
    assert [[a.name for a in outlets] for outlets in staged_by] == [["erpsync_catalog_staged"]]
    assert publish_on == ["erpsync_orders_shared__store_default", "erpsync_catalog_staged"]


PARSE_PROBE = """
import sys
import airflow.sdk, airflow.models  # the DAG processor has Airflow loaded before it parses a file
from airflow.models import DagBag
(stat,) = DagBag(dag_folder=sys.argv[1]).dagbag_stats
print(stat.duration.total_seconds())
"""


@pytest.mark.parametrize("path", dag_files(), ids=lambda p: p.name)
def test_each_file_parses_well_under_a_second(path):
    # A fresh interpreter, as the DAG processor has: the file pays for its own imports.
    result = subprocess.run(
        [sys.executable, "-c", PARSE_PROBE, str(path)], capture_output=True, text=True, check=True,
        env=os.environ,
    )
    seconds = float(result.stdout.strip().splitlines()[-1])
    assert seconds < MAX_PARSE_S, f"{path.name} took {seconds:.3f}s to parse"


def test_parsing_touches_no_connection_variable_or_network(monkeypatch):
    from airflow.models import DagBag
    from airflow.sdk import BaseHook, Connection, Variable

    touched: list[str] = []

    def forbid(what):
        def refuse(*args, **kwargs):
            touched.append(what)
            raise RuntimeError(f"{what} at DAG parse time")
        return refuse

    monkeypatch.setattr(BaseHook, "get_connection", classmethod(forbid("BaseHook.get_connection")))
    monkeypatch.setattr(Connection, "get", classmethod(forbid("Connection.get")))
    monkeypatch.setattr(Variable, "get", staticmethod(forbid("Variable.get")))
    monkeypatch.setattr(socket.socket, "connect", forbid("socket.connect"))
    monkeypatch.setattr(socket, "getaddrinfo", forbid("socket.getaddrinfo"))

    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert bag.import_errors == {}
    assert touched == []


def test_scheduled_dags_have_real_data_intervals(dagbag):
    """A backfill reads its runs' intervals: a schedule must have intervals, not trigger points. Only the
    review of held work runs on events: it reads no window, it asks about what waits now."""
    for dag_id, dag in dagbag.dags.items():
        kind = type(dag.timetable).__name__
        if dag_id == "review_held":
            assert kind == "AssetTriggeredTimetable", kind
            continue
        assert "Trigger" not in kind, f"{dag_id}: {kind} gives runs point intervals"


def test_dags_follow_the_house_policies(dagbag):
    from erpsync.tasks.pools import pools
    from erpsync.tasks.stores import configured_stores

    known_tags = KNOWN_TAGS | {slot.tag for slot in configured_stores()}
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags and set(dag.tags) <= known_tags, f"{dag_id}: tags {dag.tags} not in {known_tags}"
        assert dag.doc_md and "When it fails" in dag.doc_md, f"{dag_id}: doc_md must be a runbook"
        assert dag.is_paused_upon_creation, f"{dag_id}: create paused (unpause once Airflow is healthy)"
        assert dag.max_active_runs == 1 or dag_id.endswith("_backfill"), f"{dag_id}: overlapping runs"
        for task in dag.tasks:
            where = f"{dag_id}.{task.task_id}"
            assert task.owner not in ("", "airflow"), f"{where}: needs a real owner"
            assert task.retries >= 1 or task.task_id in NO_RETRIES, f"{where}: needs retries"
            assert any(type(cb).__name__ == "TaskFailureNotifier" for cb in task.on_failure_callback or []), (
                f"{where}: a task failing for good must alert (DEFAULT_ARGS' on_failure_callback)")
            assert task.pool in pools() or task.pool == "default_pool", f"{where}: unknown pool {task.pool}"


def test_retried_tasks_back_off_for_minutes_and_a_lost_one_runs_again_within_a_minute(dagbag):
    """Airflow's own retry schedule (TaskInstance.next_retry_datetime), asked for every retried task: the
    first retry within 20 s, so that a task lost with its worker (noticed after the 20 s heartbeat
    timeout) runs again within a minute; all of them together at least 2 minutes, an ERP restart's time.
    (``retry_exponential_backoff=True`` is a multiplier of 1 in Airflow 3.3: a constant delay.)"""
    import datetime as dt
    from types import SimpleNamespace

    from airflow.models.taskinstance import TaskInstance

    ended = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    for dag_id, dag in dagbag.dags.items():
        for task in dag.tasks:
            if task.retries < 1:
                continue
            delays = []
            for try_number in range(1, task.retries + 1):
                ti = SimpleNamespace(task=task, dag_id=dag_id, task_id=task.task_id, try_number=try_number,
                                     end_date=ended, logical_date=ended, retry_delay_override=None)
                delays.append((TaskInstance.next_retry_datetime(ti) - ended).total_seconds())
            where = f"{dag_id}.{task.task_id}: retry delays {delays}"
            assert delays[0] <= 20, where
            assert sum(delays) >= 120, where
            assert delays == sorted(delays) and delays[-1] >= 2 * delays[0], f"{where}: no backoff"
