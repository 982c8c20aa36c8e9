"""When `make chaos` restarts Airflow (sandbox/chaos.py ``restart_plan``)."""

from __future__ import annotations

import pytest

from sandbox.chaos import CRASH, RESTART, restart_plan


@pytest.mark.parametrize("restarts", [0, 1, 3, 5])
def test_every_restart_and_one_crash_are_spread_inside_the_run(restarts):
    plan = restart_plan(480, restarts)
    kinds = [kind for _, kind in plan]
    assert kinds.count(RESTART) == restarts and kinds.count(CRASH) == 1
    times = [at for at, _ in plan]
    assert 0 < times[0] and times[-1] < 480 and times == sorted(times)
    gaps = {round(b - a, 6) for a, b in zip([0.0, *times], [*times, 480.0])}
    assert len(gaps) == 1, "evenly spread, with the same gap before the first and after the last"


def test_the_crash_comes_in_the_middle_so_that_restarts_follow_it():
    assert [kind for _, kind in restart_plan(480, 3)] == [RESTART, RESTART, CRASH, RESTART]
    assert [kind for _, kind in restart_plan(480, 1)] == [RESTART, CRASH]
