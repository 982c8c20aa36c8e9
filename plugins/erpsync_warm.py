"""Airflow plugin: warm task processes (``erpsync.tasks.warm``). The scheduler imports what the tasks
need before the LocalExecutor forks its workers, so no task imports Great Expectations itself."""

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin

from erpsync.tasks import warm


class _WarmListener:
    @hookimpl
    def on_starting(self, component) -> None:
        warm.on_starting(component)


class ErpSyncWarmPlugin(AirflowPlugin):
    name = "erpsync_warm"
    listeners = [_WarmListener()]
