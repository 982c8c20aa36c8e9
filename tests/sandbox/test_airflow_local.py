"""The local Airflow the demo and the end-to-end tests run (sandbox/airflow_local.py), started for real."""

from __future__ import annotations

import os
import signal

import pytest

from sandbox.airflow_local import AirflowLocal
from tests.conftest import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def test_a_start_after_airflows_parent_crashed_replaces_what_it_left_running(tmp_path):
    """`airflow standalone` killed (as the OOM killer would pick it) leaves its api-server, scheduler and
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
        assert airflow.pid() is None and group_members(crashed), "the parent is gone, its children live on"

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
