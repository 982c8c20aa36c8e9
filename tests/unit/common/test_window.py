import datetime as dt

import pytest

from erpsync.common.window import Window

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
LAG = dt.timedelta(minutes=5)


def test_first_run_reads_from_the_beginning():
    assert Window.after_cursor(None, T0, LAG) == Window(None, T0)


def test_later_runs_overlap_the_previous_window_by_the_lag():
    window = Window.after_cursor(T0, T0 + dt.timedelta(minutes=10), LAG)
    assert window.start == T0 - LAG
    assert window.end == T0 + dt.timedelta(minutes=10)


def test_a_run_ending_before_the_cursor_still_gets_a_non_empty_window():
    # A rerun of an old run after newer ones advanced the cursor: read up to its own end.
    window = Window.after_cursor(T0 + dt.timedelta(hours=1), T0, LAG)
    assert window.start < window.end == T0


def test_naive_or_empty_windows_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        Window(None, dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="empty window"):
        Window(T0, T0)
