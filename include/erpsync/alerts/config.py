"""Alert thresholds: data, not code. Deployments set the Airflow Variable ``erpsync_alerts`` (JSON), read
at run time; every field has a default, so an empty or missing Variable works."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from erpsync.sync.catalog.config import parse_variable

VARIABLE = "erpsync_alerts"


class AlertConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Data is stale when a flow has had no successful run for this long (minutes, per flow).
    freshness_minutes: dict[str, float] = Field(default_factory=lambda: {"catalog": 15, "orders": 10})
    # A store's webhooks are silent when its orders changed this much later than its last event arrived.
    webhook_silence_minutes: float = Field(default=15, gt=0)
    # A row in the error queue is stuck once it has failed this many times.
    stuck_after_attempts: int = Field(default=5, ge=1)
    # Reconciliation: alert when more than this many levels, prices or products drift (after repair
    # attempts, drift is what the live flows should have prevented), or any order is missing in the ERP.
    max_catalog_drift: int = Field(default=10, ge=0)
    max_order_gaps: int = Field(default=0, ge=0)
    # Order changes the ERP could not follow (goods already left) are alerted for this many hours.
    not_applied_hours: float = Field(default=24, gt=0)
    # A return processed in the store but not settled (goods not disposed of, return not closed) for this
    # many hours is alerted: the ERP books it only once it is settled.
    returns_waiting_hours: float = Field(default=72, gt=0)
    # A problem still going on is sent again after this many hours.
    renotify_hours: float = Field(default=6, gt=0)
    # The channels the team relies on ("slack", "email"): one whose Connection is missing or cannot be read
    # is an error (the task that alerts fails, naming it), not a channel that is off.
    channels: list[Literal["slack", "email"]] = Field(default_factory=list)

    @classmethod
    def parse(cls, raw: str | dict[str, Any] | None) -> AlertConfig:
        return parse_variable(cls, VARIABLE, raw)

    @classmethod
    def load(cls) -> AlertConfig:
        from airflow.sdk import Variable

        return cls.parse(Variable.get(VARIABLE, default=None))
