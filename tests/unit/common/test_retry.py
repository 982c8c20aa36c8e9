import pytest

from erpsync.common.retry import Backoff, Retry, call_with_retries


class Flaky:
    def __init__(self, failures: list[Exception], result="ok"):
        self.failures = list(failures)
        self.calls = 0
        self.result = result

    def __call__(self):
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return self.result


def retry_value_errors(error):
    return Retry("flaky") if isinstance(error, ValueError) else None


def test_retries_until_success_with_exponential_backoff():
    sleeps = []
    attempt = Flaky([ValueError(), ValueError()])
    backoff = Backoff(attempts=5, base_s=1.0, max_s=30, jitter=0.0)
    assert call_with_retries(attempt, retry_value_errors, backoff, what="x", sleep=sleeps.append) == "ok"
    assert attempt.calls == 3
    assert sleeps == [1.0, 2.0]


def test_never_sleeps_after_the_last_attempt_and_raises_the_original_error():
    sleeps = []
    error = ValueError("still down")
    attempt = Flaky([error] * 3)
    with pytest.raises(ValueError) as raised:
        call_with_retries(attempt, retry_value_errors, Backoff(attempts=3, jitter=0.0), what="x",
                          sleep=sleeps.append)
    assert raised.value is error
    assert attempt.calls == 3
    assert len(sleeps) == 2


def test_a_failure_the_classifier_refuses_propagates_at_once():
    sleeps = []
    attempt = Flaky([KeyError("business error")])
    with pytest.raises(KeyError):
        call_with_retries(attempt, retry_value_errors, Backoff(), what="x", sleep=sleeps.append)
    assert attempt.calls == 1
    assert sleeps == []


def test_retry_after_overrides_the_backoff():
    sleeps = []
    attempt = Flaky([ValueError()])
    call_with_retries(attempt, lambda e: Retry("429", wait_s=7.5), Backoff(jitter=0.0), what="x",
                      sleep=sleeps.append)
    assert sleeps == [7.5]


def test_backoff_is_capped_and_jitter_stays_within_its_share():
    backoff = Backoff(base_s=1.0, max_s=4.0, jitter=0.25)
    assert backoff.delay(10) <= 5.0
    assert all(0.75 <= backoff.delay(1) <= 1.25 for _ in range(200))


def test_a_retry_that_does_not_count_uses_up_no_attempt_and_counted_ones_stay_bounded():
    sleeps = []
    waiting = Flaky([ValueError()] * 5)  # refused for now, five times (another caller holds the limit)

    def not_counted(error):
        return Retry("busy", wait_s=1.0, counts=False) if isinstance(error, ValueError) else None

    assert call_with_retries(waiting, not_counted, Backoff(attempts=2), what="x", sleep=sleeps.append) == "ok"
    assert waiting.calls == 6 and sleeps == [1.0] * 5

    mixed = Flaky([ValueError(), TypeError(), ValueError(), TypeError("second"), ValueError()])

    def classify(error):
        if isinstance(error, ValueError):
            return Retry("busy", wait_s=0.0, counts=False)
        return Retry("down", wait_s=0.0)

    with pytest.raises(TypeError, match="second"):
        call_with_retries(mixed, classify, Backoff(attempts=2), what="x", sleep=sleeps.append)
    assert mixed.calls == 4, "the second counted failure is the last of two attempts"
