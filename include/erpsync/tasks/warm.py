"""Warm task processes: the scheduler imports the modules every task of the product needs (pandas,
SQLAlchemy, Great Expectations, the product's task modules) once when it starts, so that the task
processes the LocalExecutor forks from it start with them imported.

Each Airflow task is a process forked from the executor's worker, itself forked from the scheduler.
Without this, every task that validates imports Great Expectations itself: 2-3 s on an idle machine,
6-11 s on a busy one, on the way of every order and every ERP change. Importing is all it does (no
context, connection or thread is created before the fork). ``[erpsync] warm_task_processes`` (default
True) turns it off. With no LocalExecutor the scheduler imports nothing ahead: on the CeleryExecutor each
Celery worker does it as it starts, before its pool forks (``erpsync.celery_config``).
"""

from __future__ import annotations

import importlib
import logging
import sys
import time
from collections.abc import Sequence

log = logging.getLogger(__name__)

# What the tasks import, heaviest first; the product's own task modules pull in the rest of it.
WARM_MODULES = (
    "pandas",
    "sqlalchemy",
    "great_expectations",
    "great_expectations.expectations",
    "erpsync.quality.validate",
    "erpsync.tasks.catalog",
    "erpsync.tasks.orders",
    "erpsync.tasks.runlog",
)


def is_scheduler(argv: Sequence[str]) -> bool:
    """Whether ``argv`` is that of ``airflow scheduler`` (the process the LocalExecutor forks from)."""
    commands = [arg for arg in argv[1:] if not arg.startswith("-")]
    return bool(commands) and commands[0] == "scheduler"


def runs_local_executor(executors: str) -> bool:
    """Whether ``[core] executor`` (one class or a comma-separated list, names or import paths) has the
    LocalExecutor, whose task processes are forked from the scheduler."""
    return any(name.strip().rsplit(".", 1)[-1] == "LocalExecutor" for name in executors.split(","))


def wanted() -> bool:
    """``[erpsync] warm_task_processes``, on unless set to False."""
    from airflow.configuration import conf

    return conf.getboolean("erpsync", "warm_task_processes", fallback=True)


def enabled() -> bool:
    """Whether the scheduler warms: wanted, and its executor forks the task processes from it."""
    from airflow.configuration import conf

    return wanted() and runs_local_executor(conf.get("core", "executor", fallback=""))


def preimport(modules: Sequence[str] = WARM_MODULES) -> dict[str, str]:
    """Import ``modules``; returns those that failed with why (a module that cannot be imported here is
    imported, and fails with its real error, in the task that needs it)."""
    started = time.monotonic()
    # Great Expectations logs dozens of INFO lines while it imports: keep the scheduler's log readable.
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    failed = {}
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as error:  # noqa: BLE001 - reported, and the scheduler starts anyway
            failed[name] = f"{type(error).__name__}: {error}"
    log.info("Warm task processes: imported %d modules in %.1f s%s", len(modules) - len(failed),
             time.monotonic() - started, f"; not imported: {failed}" if failed else "")
    return failed


def on_starting(component) -> None:
    """Airflow listener hook, called as each Airflow job (scheduler, triggerer, ...) is created, and as
    each task process starts (forked from the scheduler, it keeps the scheduler's ``argv``: only a job,
    which has a ``job_type``, warms)."""
    if hasattr(component, "job_type") and is_scheduler(sys.argv) and enabled():
        preimport()


def on_celery_worker_init() -> None:
    """Celery's ``worker_init``, in a Celery worker's main process before its pool forks (every task process
    descends from it)."""
    if wanted():
        preimport()
