"""The hold a stale compare leaves on a level (``cas.widen``, ``cas.held_back``, ``cas.lifted``), with
worked examples and properties: while the order staging has not read past it, what the orders staged
since it was set do not account for stays off what the ERP allows; a later stale compare only adds what
it found unknown; once the staging has read past it, nothing is held. Expected figures are written out
here, not taken from the code."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from erpsync.sync.catalog.cas import Hold, held_back, lifted, recompute, unknown_sales, widen

T0 = dt.datetime(2026, 12, 8, 1, 0, 0, tzinfo=dt.UTC)
seconds = st.integers(min_value=0, max_value=3_600).map(lambda s: T0 + dt.timedelta(seconds=s))
counts = st.integers(min_value=0, max_value=10_000)
maybe_time = st.one_of(st.none(), seconds)


def at(s: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=s)


def test_worked_examples():
    # Written at 10:00:00; the store read 3 lower at 10:00:30, of which 1 unit is an order staged then.
    assert unknown_sales(expected=10, current=7, known_sales=1) == 2
    hold = widen(None, 0, 2, T0, at(30), explained=1)
    assert hold == Hold(2, T0, at(30), known=1)
    # Nothing more staged (or staged only up to 10:00:10): both held.
    assert held_back(hold, 1, None) == 2
    assert held_back(hold, 1, at(10)) == 2
    # One more order of 2 of that window is staged: the desired level holds it back itself, the hold none.
    assert held_back(hold, 3, None) == 0
    # One of 1: one stays held.
    assert held_back(hold, 2, None) == 1
    # The order known then was cancelled or its units taken off: never more than the hold.
    assert held_back(hold, 0, None) == 2
    # Staged up to the second of the read: not past it (an order of that second may be unread): held.
    assert not lifted(hold, at(30)) and held_back(hold, 1, at(30)) == 2
    # Past it: whatever is unaccounted for was no sale (a count in the store's admin), or one in doubt
    # (the second of our write), which the desired level holds back: nothing held.
    assert lifted(hold, at(31)) and held_back(hold, 1, at(31)) == 0
    # Nothing unknown, nothing held: no hold.
    assert widen(None, 0, 0, T0, at(30), explained=4) is None
    # A second stale compare found 1 more unknown while 2 were still held: 3, over both windows, knowing
    # the 4 units of orders staged in the whole window by then.
    assert widen(hold, 2, 1, at(40), at(50), explained=4) == Hold(3, T0, at(50), known=4)
    # All of it accounted for by then, and nothing new: the hold goes.
    assert widen(hold, 0, 0, at(40), at(50), explained=5) is None


def test_the_unstaged_sale_stays_off_the_next_write():
    """The defect it fixes, in figures: we wrote 10, the store sold 2 (not staged), the ERP allows 11. The
    recompute writes 9 over the store's 8; the next publish compares with 9 (which matches) and must
    write 9 again, not 11; once the order is staged, the desired level (11 - 2) holds it back instead."""
    assert recompute(desired=11, expected=10, current=8, known_sales=0).desired == 9
    hold = widen(None, 0, unknown_sales(10, 8, 0), T0, at(5), explained=0)
    assert 11 - held_back(hold, 0, None) == 9
    assert (11 - 2) - held_back(hold, 2, None) == 9


@given(held=counts, unknown=counts, since=maybe_time, until=seconds, explained=counts)
def test_a_first_hold_is_what_was_unknown_or_none(held, unknown, since, until, explained):
    hold = widen(None, 0, unknown, since, until, explained)
    if unknown > 0:
        assert hold == Hold(unknown, since, until, explained)
    else:
        assert hold is None


@given(units=st.integers(min_value=1, max_value=1_000), since=maybe_time, until=seconds, held=counts,
       unknown=counts, later=seconds, explained=counts)
def test_a_later_compare_adds_what_it_found_and_keeps_the_window(units, since, until, held, unknown, later,
                                                                 explained):
    hold = Hold(units, since, until, 0)
    wider = widen(hold, held, unknown, later, later, explained)
    if held + unknown == 0:
        assert wider is None
    else:
        assert wider == Hold(held + unknown, since, max(until, later), explained)


@given(units=counts, known=counts, explained=st.integers(min_value=-100, max_value=20_000), until=seconds,
       through=maybe_time)
def test_never_more_than_the_hold_never_below_zero_nothing_once_lifted(units, known, explained, until, through):
    hold = Hold(units, T0, until, known)
    kept = held_back(hold, explained, through)
    assert 0 <= kept <= units
    if through is not None and through > until:
        assert kept == 0
    else:
        assert kept == min(units, max(0, units - (max(0, explained) - known)))


@given(units=counts, known=counts, explained=counts, more=counts, through=maybe_time)
def test_more_staged_sales_never_hold_more(units, known, explained, more, through):
    hold = Hold(units, T0, at(30), known)
    assert held_back(hold, explained + more, through) <= held_back(hold, explained, through)


@given(units=counts, known=counts, through=maybe_time)
def test_as_long_as_nothing_more_is_staged_all_of_it_is_held(units, known, through):
    hold = Hold(units, T0, at(30), known)
    if through is None or through <= at(30):
        assert held_back(hold, known, through) == units


@given(explained=counts, through=maybe_time)
def test_no_hold_holds_nothing(explained, through):
    assert held_back(None, explained, through) == 0
