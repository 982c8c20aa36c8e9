"""When the executor may give back the slot of a try it still counts as running (erpsync.celery_executor)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from erpsync.celery_executor import ENDED, InstanceNow, try_is_over

T0 = dt.datetime(2026, 12, 7, 11, 45, tzinfo=dt.UTC)
GRACE = dt.timedelta(seconds=30)
# Every state a task instance can be in (Airflow 3.3's TaskInstanceState, and None for "no status").
STATES = [None, "removed", "scheduled", "queued", "running", "success", "restarting", "failed", "up_for_retry",
          "up_for_reschedule", "upstream_failed", "skipped", "deferred", "awaiting_input"]
# Those of a try not ended: about to run, running, or paused (deferred, awaiting a person's input).
NOT_ENDED = {None, "scheduled", "queued", "running", "restarting", "deferred", "awaiting_input"}

instances = st.builds(
    InstanceNow, try_number=st.integers(1, 6), state=st.sampled_from(STATES),
    end_date=st.none() | st.integers(-3600, 3600).map(lambda s: T0 + dt.timedelta(seconds=s)))
nows = st.integers(-3600, 7200).map(lambda s: T0 + dt.timedelta(seconds=s))


def test_the_states_that_end_a_try_are_exactly_those_a_running_try_never_has():
    from airflow.utils.state import TaskInstanceState

    assert set(STATES) == {state.value for state in TaskInstanceState} | {None}, "Airflow has a new state"
    assert set(STATES) - ENDED == NOT_ENDED


@given(st.integers(1, 6), instances, nows)
def test_a_try_is_over_exactly_when_a_later_one_exists_or_it_ended_at_least_the_grace_ago(counted, inst, now):
    if inst.try_number > counted:
        expected = True
    elif inst.try_number < counted:
        expected = False
    else:
        expected = (inst.state not in NOT_ENDED and inst.end_date is not None
                    and (now - inst.end_date).total_seconds() >= 30)
    assert try_is_over(counted, inst, now=now, grace=GRACE) is expected


@given(st.integers(1, 6), instances, nows, st.integers(0, 3600))
def test_once_over_a_try_stays_over(counted, inst, now, later_s):
    if try_is_over(counted, inst, now=now, grace=GRACE):
        assert try_is_over(counted, inst, now=now + dt.timedelta(seconds=later_s), grace=GRACE)


@given(st.integers(1, 6), nows)
def test_an_instance_the_database_no_longer_has_is_left_to_airflow(counted, now):
    assert not try_is_over(counted, None, now=now, grace=GRACE)


def test_a_success_is_left_counted_for_the_grace_then_given_back():
    ended = InstanceNow(try_number=2, state="success", end_date=T0)
    assert not try_is_over(2, ended, now=T0 + dt.timedelta(seconds=29), grace=GRACE)
    assert try_is_over(2, ended, now=T0 + dt.timedelta(seconds=30), grace=GRACE)
    # Still running in its try, however long ago an earlier try ended: never.
    assert not try_is_over(2, InstanceNow(2, "running", T0), now=T0 + dt.timedelta(hours=1), grace=GRACE)
