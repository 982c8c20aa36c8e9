"""End-to-end freshness in the polling-only set-up (no webhooks, no ERP watcher: the flows on their 30 s
schedules), which stays available by configuration: ``bench.freshness`` with the events off."""

from __future__ import annotations

from bench import freshness


def run(quick: bool = False) -> dict:
    return freshness.run(quick, events=False)
