"""How often the local Airflow's supervisor starts a dying component again (sandbox/airflow_supervisor.py)."""

from __future__ import annotations

import json
import subprocess
import sys

from sandbox.airflow_supervisor import (
    FIRST_DELAY_S,
    HEALTHY_AFTER_S,
    MAX_DELAY_S,
    Component,
    planned_components,
)


def died(component: Component, *, after_s: float, now: float) -> float:
    """Let ``component`` exit (a real process ending with code 3) ``after_s`` seconds after its start at
    ``now - after_s``; return the delay the supervisor plans before starting it again."""
    component.process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    component.process.wait()
    component.started_at = now - after_s
    component.plan_restart(now)
    return component.next_start_at - now


def test_a_component_dying_young_waits_longer_each_time_up_to_a_minute_and_is_never_given_up(capsys):
    component = Component("scheduler", "airflow")
    delays = [died(component, after_s=1, now=1000.0 * i) for i in range(1, 9)]
    assert delays == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert FIRST_DELAY_S == 2.0 and MAX_DELAY_S == 60.0
    assert component.restarts == 8 and component.process is None
    out = capsys.readouterr().out
    assert "supervisor | scheduler exited with code 3 after 1 s; starting it again in 2 s (restart 1)" in out


def test_a_component_that_ran_a_good_while_is_started_again_soon():
    component = Component("triggerer", "airflow")
    for i in range(1, 5):
        died(component, after_s=1, now=100.0 * i)
    assert died(component, after_s=HEALTHY_AFTER_S, now=1000.0) == FIRST_DELAY_S
    assert died(component, after_s=1, now=2000.0) == 2 * FIRST_DELAY_S


def test_without_a_plan_it_runs_airflows_four_components_by_their_names():
    planned = planned_components("airflow", None)
    assert [(c.name, c.args, c.env) for c in planned] == [
        ("scheduler", (), {}), ("dag-processor", (), {}), ("api-server", (), {}), ("triggerer", (), {})]


def test_a_planned_component_runs_its_own_arguments_with_its_own_environment(tmp_path):
    # A real process: the arguments reach `airflow` (here a script) and the extra variable its environment.
    fake = tmp_path / "airflow"
    script = "import os, sys\nprint(' '.join(sys.argv[1:]), os.environ['WORKER_MARK'])\n"
    fake.write_text(f"#!{sys.executable}\n{script}")
    fake.chmod(0o755)
    spec = json.dumps([{"name": "worker-2", "args": ["celery", "worker", "--celery-hostname", "worker-2@%h"],
                        "env": {"WORKER_MARK": "second"}}])
    [component] = planned_components(str(fake), spec)
    lines = []
    component._relay = lambda process: lines.extend(process.stdout.read().decode().splitlines())
    component.start()
    component.reader.join(timeout=30)
    assert component.process.wait(timeout=30) == 0
    assert lines == ["celery worker --celery-hostname worker-2@%h second"]
