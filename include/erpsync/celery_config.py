"""The Celery app's configuration on the CeleryExecutor (``[celery] celery_config_options``, set in
``docker/airflow-celery.env``): Airflow's own, unchanged, plus warm task processes on the workers.

A Celery worker runs each Airflow task in a process forked from one of its pool's processes, themselves
forked from the worker's main process. When the worker starts (Celery's ``worker_init``, in the main process
before the pool forks) it imports what the tasks need (``erpsync.tasks.warm``): no task imports Great
Expectations itself (5-7 s per task on two busy cores). ``[erpsync] warm_task_processes`` turns it off.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import worker_init

from erpsync.tasks import warm

CELERY_CONFIG: dict[str, Any] = DEFAULT_CELERY_CONFIG


@worker_init.connect(weak=False)
def _warm_worker(**_kwargs: Any) -> None:
    warm.on_celery_worker_init()
