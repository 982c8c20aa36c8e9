"""The error queue's retry schedule: a time for any count of attempts, doubling, never past the longest wait."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from erpsync.sync.state.row_errors import next_attempt

NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)
FIRST = dt.timedelta(seconds=30)
LONGEST = dt.timedelta(hours=1)


@given(st.integers(min_value=0, max_value=10**6))
def test_any_count_of_attempts_gets_a_time_between_the_first_and_the_longest_wait(attempts):
    wait = next_attempt(attempts, NOW) - NOW
    assert FIRST <= wait <= LONGEST


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=10**6))
def test_more_attempts_never_wait_less(attempts, more):
    assert next_attempt(attempts + more, NOW) >= next_attempt(attempts, NOW)


def test_the_wait_doubles_from_30_seconds_up_to_an_hour():
    waits = [(next_attempt(n, NOW) - NOW).total_seconds() for n in range(1, 10)]
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    # The count at which 2**n used to overflow a timedelta (seen in the demo after ~43 attempts).
    assert next_attempt(43, NOW) - NOW == LONGEST
