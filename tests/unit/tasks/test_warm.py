"""Warm task processes: only the scheduler imports ahead, and a module that cannot be imported is
reported, not raised (the scheduler starts anyway)."""

import sys

import pytest

from erpsync.tasks import warm


@pytest.mark.parametrize(("argv", "expected"), [
    (["/venv/bin/airflow", "scheduler"], True),
    (["airflow", "scheduler", "--num-runs", "3"], True),
    (["airflow", "-v", "scheduler"], True),
    (["airflow", "triggerer"], False),
    (["airflow", "dag-processor"], False),
    (["airflow", "api-server"], False),
    (["airflow", "tasks", "test", "scheduler"], False),  # a DAG called "scheduler" is not the scheduler
    (["airflow"], False),
    (["python", "-m", "pytest"], False),
])
def test_only_the_scheduler_warms(argv, expected):
    assert warm.is_scheduler(argv) is expected


@pytest.mark.parametrize(("executors", "expected"), [
    ("LocalExecutor", True),
    ("airflow.executors.local_executor.LocalExecutor", True),
    ("CeleryExecutor,LocalExecutor", True),
    ("CeleryExecutor", False),
    ("airflow.providers.celery.executors.celery_executor.CeleryExecutor", False),
    ("erpsync.celery_executor.CeleryExecutor", False),
    ("KubernetesExecutor", False),
    ("", False),
])
def test_only_a_local_executor_s_scheduler_warms(executors, expected):
    assert warm.runs_local_executor(executors) is expected


def test_a_module_that_cannot_be_imported_is_reported_and_the_others_are_imported():
    sys.modules.pop("colorsys", None)
    failed = warm.preimport(["erpsync_no_such_module", "colorsys"])
    assert list(failed) == ["erpsync_no_such_module"]
    assert "ModuleNotFoundError" in failed["erpsync_no_such_module"]
    assert "colorsys" in sys.modules


class Job:  # what the scheduler's listener gets (a task process gets a marker without a job type)
    job_type = None


def test_the_listener_imports_nothing_outside_the_scheduler_s_job(monkeypatch):
    imported = []
    monkeypatch.setattr(warm, "preimport", lambda *a, **k: imported.append(True))
    monkeypatch.setattr(sys, "argv", ["airflow", "triggerer"])
    warm.on_starting(Job())
    assert imported == []
    monkeypatch.setattr(sys, "argv", ["airflow", "scheduler"])
    warm.on_starting(object())  # a task process forked from the scheduler
    assert imported == []
    monkeypatch.setenv("AIRFLOW__ERPSYNC__WARM_TASK_PROCESSES", "False")
    warm.on_starting(Job())
    assert imported == []
    monkeypatch.setenv("AIRFLOW__ERPSYNC__WARM_TASK_PROCESSES", "True")
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    warm.on_starting(Job())
    assert imported == []
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
    warm.on_starting(Job())
    assert imported == [True]


def test_every_module_it_warms_exists():
    assert warm.preimport() == {}


def test_a_celery_worker_warms_as_it_starts_unless_turned_off(monkeypatch):
    from celery.signals import worker_init

    from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
    from erpsync import celery_config

    assert celery_config.CELERY_CONFIG is DEFAULT_CELERY_CONFIG  # Airflow's own configuration, unchanged
    imported = []
    monkeypatch.setattr(warm, "preimport", lambda *a, **k: imported.append(True))
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "CeleryExecutor")
    monkeypatch.setenv("AIRFLOW__ERPSYNC__WARM_TASK_PROCESSES", "True")
    worker_init.send(sender=None)  # as Celery's WorkController does in the worker's main process
    assert imported == [True]
    monkeypatch.setenv("AIRFLOW__ERPSYNC__WARM_TASK_PROCESSES", "False")
    worker_init.send(sender=None)
    assert imported == [True]
