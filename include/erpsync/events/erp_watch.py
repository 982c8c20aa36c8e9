"""The ERP change watcher: an Airflow event trigger, run by the triggerer, that asks the ERP every
``poll_seconds`` whether anything changed that the catalog flow has not read, and fires an event (which
updates the asset :func:`erpsync.tasks.stores.erp_changes_asset`, and so starts ``catalog_sync``) when
it did. The decision and its durable state are :mod:`erpsync.sync.catalog.watch`'s; this module only
runs it off the event loop, on a timer, and keeps going whatever happens.

It lives in the installed package: the triggerer cannot import modules from the dags folder.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from erpsync.alerts.redact import redact

CLASSPATH = "erpsync.events.erp_watch.ErpChangeTrigger"


def retry_delay(failures: int, poll_seconds: float, max_seconds: float) -> float:
    """Seconds to wait after the ``failures``-th failure in a row: doubling from the poll period, capped."""
    return min(max_seconds, poll_seconds * 2 ** min(failures, 30))


class ErpChangeTrigger(BaseEventTrigger):
    """Fires ``{"erp_changed_at": <ISO stamp>}`` (the newest ERP modification stamp announced) whenever
    the ERP has changed a product, template, image, price list, web shop assortment or stock move that
    the catalog cursors have not passed and that no earlier event announced.

    It never ends and never raises: an ERP or warehouse that cannot be reached is logged and tried again,
    waiting twice as long each time up to ``max_backoff_seconds``. Connections are read in the triggerer
    through the product's hooks (off the event loop, as every blocking call here)."""

    def __init__(self, *, poll_seconds: float = 2.0, max_backoff_seconds: float = 60.0,
                 erp_conn_id: str = "erp_default", warehouse_conn_id: str = "warehouse_default"):
        super().__init__()
        if poll_seconds <= 0:
            raise ValueError("poll_seconds must be positive")
        self.poll_seconds = float(poll_seconds)
        self.max_backoff_seconds = float(max_backoff_seconds)
        self.erp_conn_id = erp_conn_id
        self.warehouse_conn_id = warehouse_conn_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return CLASSPATH, {"poll_seconds": self.poll_seconds, "max_backoff_seconds": self.max_backoff_seconds,
                           "erp_conn_id": self.erp_conn_id, "warehouse_conn_id": self.warehouse_conn_id}

    def _connect(self):
        """The ERP client (one try per call: this loop is the retry) and the warehouse engine."""
        from dataclasses import replace

        from erpsync.common.retry import Backoff
        from erpsync.tryton.hook import TrytonHook
        from erpsync.warehouse.hook import WarehouseHook

        settings = replace(TrytonHook(self.erp_conn_id).settings, read_timeout_s=10.0)
        return settings.client(backoff=Backoff(attempts=1)), WarehouseHook(self.warehouse_conn_id).get_conn()

    @staticmethod
    def _look(erp, engine) -> dt.datetime | None:
        from erpsync.sync.catalog.watch import announce_changes

        return announce_changes(erp, engine, now=dt.datetime.now(dt.UTC))

    async def run(self) -> AsyncIterator[TriggerEvent]:
        self.log.info("watching the ERP for catalog changes every %.1fs", self.poll_seconds)
        connected = None
        failures = 0
        while True:
            try:
                if connected is None:
                    connected = await asyncio.to_thread(self._connect)
                announced = await asyncio.to_thread(self._look, *connected)
            except Exception as error:  # noqa: BLE001 - the watcher must outlive any outage
                failures += 1
                delay = retry_delay(failures, self.poll_seconds, self.max_backoff_seconds)
                self.log.warning("ERP change watch failed (%d in a row), next try in %.1fs: %s: %s", failures,
                                 delay, type(error).__name__, redact(str(error))[:500])
                if failures >= 3:
                    connected = None  # read the Connections again: they may have been fixed
                await asyncio.sleep(delay)
                continue
            if failures:
                self.log.info("ERP change watch works again after %d failure(s)", failures)
                failures = 0
            if announced is not None:
                self.log.info("the ERP changed the catalog at %s: announcing", announced.isoformat())
                yield TriggerEvent({"erp_changed_at": announced.isoformat()})
            await asyncio.sleep(self.poll_seconds)
