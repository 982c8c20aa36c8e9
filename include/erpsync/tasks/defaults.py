"""Settings every DAG of the product shares."""

from __future__ import annotations

import datetime as dt

DEFAULT_ARGS = {
    "owner": "data-team",
    # Task retries are for whole-task failures (a worker lost, the ERP restarting); API calls retry
    # inside the clients.
    "retries": 2,
    "retry_delay": dt.timedelta(seconds=30),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(minutes=5),
}

TAGS_ERP = "erp:tryton"

