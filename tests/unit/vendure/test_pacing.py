"""Our own pacing for Vendure (erpsync.vendure.pacing): a token bucket, on a fake clock."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from erpsync.vendure.pacing import RequestPacer
from tests.support.clock import FakeTime


def test_a_burst_goes_at_once_then_one_request_per_interval():
    time = FakeTime()
    pacer = RequestPacer(rate=10.0, burst=3.0, clock=time.clock, sleep=time.sleep)
    for _ in range(6):
        pacer.acquire()
    assert [round(s, 6) for s in time.slept] == [0.1, 0.1, 0.1]
    assert round(pacer.waited_s, 6) == 0.3


def test_no_rate_means_no_wait():
    time = FakeTime()
    pacer = RequestPacer(rate=0.0, clock=time.clock, sleep=time.sleep)
    for _ in range(100):
        pacer.acquire()
    assert time.slept == []


@given(rate=st.floats(min_value=0.5, max_value=200), burst=st.integers(min_value=1, max_value=20),
       calls=st.integers(min_value=1, max_value=300), idle=st.lists(st.floats(min_value=0, max_value=2), max_size=300))
def test_never_more_than_the_burst_plus_the_rate_over_any_run(rate, burst, calls, idle):
    time = FakeTime()
    pacer = RequestPacer(rate=rate, burst=float(burst), clock=time.clock, sleep=time.sleep)
    sent_at = []
    start = time.now
    for number in range(calls):
        if number < len(idle):
            time.now += idle[number]  # the caller's own work between requests
        pacer.acquire()
        sent_at.append(time.now)
    # Over the whole run: at most the burst plus what the rate allows in the time it took.
    assert calls <= burst + rate * (sent_at[-1] - start) + 1e-6
