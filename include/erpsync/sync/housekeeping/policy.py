"""What housekeeping keeps, and for how long: pure decisions, no I/O.

Deployments set the Airflow Variable ``erpsync_retention`` (JSON), read at run time; every field has a
default, so an empty or missing Variable works. Every cut-off is counted back from the run's data interval
end (never the wall clock), so a rerun of an old day deletes what that day would have deleted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from erpsync.sync.catalog.config import parse_variable

VARIABLE = "erpsync_retention"

# The fields of an order payload (``StoreOrder``, its customer and addresses, as landed, quarantined and
# staged) that say who bought and where they live. Blanked (None) once the payload is older than the period.
PERSONAL_FIELDS = frozenset({"email", "phone", "first_name", "last_name", "company", "address1", "address2",
                             "city", "zip"})


class RetentionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Raw rows (``raw_record``, what each extract landed) are kept this long: staging reads a batch
    # minutes after it landed; the rest is for looking into a bad day.
    raw_days: float = Field(default=14, gt=0)
    # The run log (``sync_run``) and the webhook inbox (``store_event``): the health page and the
    # freshness alerts read the last runs only; an event's row only has to outlive its redeliveries.
    run_log_days: float = Field(default=90, gt=0)
    # Rows of the error queue that were resolved, and quarantine rows that were released or superseded,
    # this long after they were closed. Open ones (still waiting, still retried) are never deleted.
    closed_days: float = Field(default=30, gt=0)
    # Personal data (names, e-mails, addresses, phones) in the orders kept: raw rows this long after they
    # landed, closed quarantine rows this long after they were closed, staged orders whose booking is
    # done this long after their last change. An open quarantined order, or one not booked yet, keeps
    # it: it is booked with it.
    personal_data_days: float = Field(default=30, gt=0)
    # Rows per delete or update statement, each its own transaction: no long lock on a busy table.
    batch_rows: int = Field(default=2000, ge=1, le=50_000)

    @classmethod
    def parse(cls, raw: str | dict[str, Any] | None) -> RetentionConfig:
        return parse_variable(cls, VARIABLE, raw)

    @classmethod
    def load(cls) -> RetentionConfig:
        from airflow.sdk import Variable

        return cls.parse(Variable.get(VARIABLE, default=None))


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """Rows older than these (strictly) go: each is the run's ``as_of`` minus a period."""

    raw: dt.datetime
    run_log: dt.datetime
    closed: dt.datetime
    personal_data: dt.datetime


def cutoffs(config: RetentionConfig, as_of: dt.datetime) -> Cutoffs:
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (the run's data interval end)")

    def back(days: float) -> dt.datetime:
        return as_of - dt.timedelta(days=days)

    return Cutoffs(raw=back(config.raw_days), run_log=back(config.run_log_days), closed=back(config.closed_days),
                   personal_data=back(config.personal_data_days))


def without_personal_data(value: Any) -> tuple[Any, int]:
    """``value`` (a JSON document) with every personal field blanked, at any depth, and how many fields
    held something. Everything else (ids, SKUs, quantities, amounts, country) is kept as it was."""
    if isinstance(value, dict):
        blanked = 0
        out = {}
        for key, item in value.items():
            if key in PERSONAL_FIELDS and not isinstance(item, dict | list):
                out[key] = None
                blanked += item not in (None, "")
            else:
                out[key], inner = without_personal_data(item)
                blanked += inner
        return out, blanked
    if isinstance(value, list):
        pairs = [without_personal_data(item) for item in value]
        return [item for item, _ in pairs], sum(n for _, n in pairs)
    return value, 0
