"""The ERP change watcher's decision (announce or not) and its backoff: pure, property-tested."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from erpsync.events.erp_watch import retry_delay
from erpsync.sync.catalog.watch import WATCHED, newest_changes, to_announce

T0 = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
MODELS = [(entity, model) for entity, models in WATCHED.items() for model in models]

# Stamps on a coarse grid, so that equal stamps (one transaction, or one tick of the ERP's clock) are common.
stamps = st.integers(0, 40).map(lambda n: T0 + dt.timedelta(milliseconds=250 * n))
changes_by_model = st.lists(st.tuples(st.sampled_from(MODELS), stamps), max_size=30)
cursors = st.fixed_dictionaries({entity: st.none() | stamps for entity in WATCHED})
maybe_stamp = st.none() | stamps


class FakeErp:
    """The ERP's records as (model, stamp) pairs, answering the watcher's one-row query."""

    def __init__(self, changes):
        self.changes = changes

    def newest_change(self, model, *, since, after):
        found = [at for (_, m), at in self.changes if m == model
                 and (since is None or at >= since) and (after is None or at > after)]
        return max(found, default=None)


def as_changes(changes):
    return [(entity, at) for (entity, _), at in changes]


@given(changes_by_model, cursors, maybe_stamp)
def test_asking_each_model_for_its_newest_change_decides_as_reading_every_change(changes, cursor, announced):
    """The watcher reads one row per model, not the changes: it must decide exactly as if it had read them."""
    assert to_announce(newest_changes(FakeErp(changes), cursor, announced), cursor, announced) == \
        to_announce(as_changes(changes), cursor, announced)


@given(changes_by_model, cursors, maybe_stamp)
def test_what_is_announced_is_an_unread_unannounced_change_and_the_newest_such(changes, cursor, announced):
    newest = to_announce(as_changes(changes), cursor, announced)
    unread = [at for entity, at in as_changes(changes)
              if (cursor[entity] is None or at >= cursor[entity]) and (announced is None or at > announced)]
    assert newest == (max(unread) if unread else None)


@given(changes_by_model, cursors, maybe_stamp)
def test_a_change_is_announced_once_while_the_cursors_stay(changes, cursor, announced):
    first = to_announce(as_changes(changes), cursor, announced)
    if first is not None:
        assert to_announce(as_changes(changes), cursor, first) is None


@given(changes_by_model, cursors, stamps, st.sampled_from(MODELS), st.integers(1, 10_000))
def test_a_change_after_the_announced_one_is_announced_again(changes, cursor, announced, where, after_ms):
    entity, _ = where
    newest_bound = max([announced, *(c for c in cursor.values() if c is not None)])
    later = newest_bound + dt.timedelta(milliseconds=after_ms)
    assert to_announce([*as_changes(changes), (entity, later)], cursor, announced) >= later


@given(changes_by_model, cursors, maybe_stamp, st.integers(0, 10_000))
def test_the_cursors_moving_past_every_change_leave_nothing_to_announce(changes, cursor, announced, past_ms):
    newest = max((at for _, at in changes), default=T0) + dt.timedelta(microseconds=1 + past_ms)
    assert to_announce(as_changes(changes), dict.fromkeys(cursor, newest), announced) is None


@given(st.integers(1, 1000), st.floats(0.1, 10), st.floats(1, 600))
def test_retries_back_off_from_the_poll_period_up_to_the_cap(failures, poll_s, cap_s):
    delay = retry_delay(failures, poll_s, cap_s)
    assert min(poll_s, cap_s) <= delay <= cap_s
    assert retry_delay(failures + 1, poll_s, cap_s) >= delay
