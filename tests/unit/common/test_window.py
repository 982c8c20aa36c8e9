import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


# -- property: run after run, no row is lost at a window's edge -------------------------------------

SECOND = dt.timedelta(seconds=1)


@given(
    gaps=st.lists(st.integers(min_value=1, max_value=120), min_size=1, max_size=25),
    rows=st.lists(st.tuples(st.integers(min_value=0, max_value=3000), st.integers(min_value=0, max_value=299)),
                  max_size=60),
)
def test_every_row_committed_within_the_lag_is_read_by_some_run(gaps, rows):
    """Runs end one after another (their data intervals); each reads [cursor - lag, end) at its end and
    moves the cursor to its end. A row is stamped ``stamp`` but becomes visible only when its transaction
    commits, up to ``lag`` later (a long ERP transaction stamps with its start). Every row that was
    committed by the last run's read and stamped before its end is read by at least one run."""
    lag = dt.timedelta(seconds=300)
    ends = [T0 + SECOND * sum(gaps[:i + 1]) for i in range(len(gaps))]
    commits = [(T0 + SECOND * stamp, T0 + SECOND * stamp + SECOND * delay) for stamp, delay in rows]
    seen: set[int] = set()
    cursor = None
    for end in ends:  # each run reads at its end
        window = Window.after_cursor(cursor, end, lag)
        seen.update(i for i, (stamp, committed) in enumerate(commits)
                    if committed <= end and (window.start is None or window.start <= stamp) and stamp < end)
        cursor = end
    due = {i for i, (stamp, committed) in enumerate(commits) if stamp < ends[-1] and committed <= ends[-1]}
    assert due <= seen
