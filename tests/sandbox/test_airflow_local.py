"""The local Airflow the demo and the end-to-end tests run (sandbox/airflow_local.py), started for real."""

from __future__ import annotations

import os
import signal

import pytest

from sandbox.airflow_local import AirflowLocal, wait_for
from tests.conftest import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def test_a_start_after_airflows_parent_crashed_replaces_what_it_left_running(tmp_path):
    """The Airflow supervisor killed (as the OOM killer would pick it) leaves its api-server, scheduler and
    the rest running as orphans: they hold the ports and answer from a deployment without its parent.
    The next start stops every one of them and starts a whole new Airflow, instead of taking the
    orphans' answers for a healthy start."""
    airflow = AirflowLocal(home=tmp_path / "airflow", port=free_port(),
                           extra_env={"AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True"})
    airflow.migrate()
    airflow.start()
    try:
        crashed = int(airflow.pid_file.read_text())
        os.kill(crashed, signal.SIGKILL)
        # A SIGKILL is delivered, and the process reaped, a moment later (longer on a busy machine).
        wait_for(lambda: airflow.pid() is None, timeout_s=30, interval_s=0.1, what="the parent to be gone")
        assert group_members(crashed), "the parent is gone, its children live on"

        airflow.start()
        restarted = int(airflow.pid_file.read_text())
        assert restarted != crashed and airflow.healthy()
        assert group_members(crashed) == [], "nothing of the crashed deployment is left"
    finally:
        airflow.stop()
    assert group_members(restarted) == [] and airflow.processes() == []


def group_members(pgid: int) -> list[str]:
    """Live processes of a process group, read from /proc (not from the code under test)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                state, _ppid, group = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[:3]
            except OSError:
                continue
            if int(group) == pgid and state != "Z":
                found.append(entry)
    return found


def test_a_component_that_dies_is_started_again_and_the_flows_go_on(tmp_path):
    """The scheduler killed (as a crash on the SQLite metadata database's lock ends it) is started again by
    the supervisor: Airflow is healthy again with another scheduler process, and a DAG triggered after
    the death runs to success. ``airflow standalone`` left it dead: the API kept answering, nothing ran."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "probe.py").write_text(PROBE_DAG)
    airflow = AirflowLocal(home=tmp_path / "airflow", port=free_port(), dags_folder=dags,
                           extra_env={"AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True"})
    airflow.migrate()
    airflow.start()
    try:
        supervisor = int(airflow.pid_file.read_text())
        [scheduler] = children(supervisor, b"scheduler")
        left_behind = children(scheduler, b"")  # its LocalExecutor workers and log server
        assert left_behind
        os.kill(scheduler, signal.SIGKILL)
        wait_for(lambda: children(supervisor, b"scheduler") not in ([], [scheduler]), timeout_s=60,
                 what="a new scheduler process")
        [again] = children(supervisor, b"scheduler")
        assert again != scheduler
        wait_for(airflow.healthy, timeout_s=120, what="Airflow healthy with its new scheduler", interval_s=2)
        log = airflow.log_file.read_text(errors="replace")
        assert "scheduler exited with code -9" in log and "(restart 1)" in log, "the restart is logged"
        alive = set(left_behind) & set(map(int, group_members(supervisor)))
        assert not alive, f"what the dead scheduler left running goes with it: {alive}"

        http = airflow.session()
        airflow.wait_for_dag(http, "supervisor_probe")
        airflow.unpause(http, "supervisor_probe")
        run_id = airflow.trigger(http, "supervisor_probe")
        assert airflow.wait_for_run(http, "supervisor_probe", run_id, timeout_s=300) == "success", (
            "the new scheduler runs what is triggered")
    finally:
        airflow.stop()
    assert group_members(supervisor) == [] and airflow.processes() == []
    log = airflow.log_file.read_text(errors="replace")
    assert "supervisor | stopped in" in log and "did not stop within" not in log, (
        "each component stopped on its one SIGTERM, the API server last")


PROBE_DAG = """
import pendulum
from airflow.sdk import dag, task

@dag(dag_id="supervisor_probe", schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False)
def probe():
    @task
    def ran():
        return "ok"

    ran()

probe()
"""


def children(parent: int, marker: bytes) -> list[int]:
    """Live child processes of ``parent`` whose command line holds ``marker``, read from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                state, ppid = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[:2]
                cmdline = open(f"/proc/{entry}/cmdline", "rb").read()
            except OSError:
                continue
            if int(ppid) == parent and state != "Z" and marker in cmdline:
                found.append(int(entry))
    return found
