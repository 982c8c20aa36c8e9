"""The units an order's later commitments (edits, exchanges) hold in the store that the ERP does not count
yet: worked out by hand for the cases that matter, and bounded property-based (never below 0, never more
than a line holds now, nothing once the ERP counts every change before the read)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from erpsync.sync.catalog.desired import uncounted_units
from erpsync.sync.orders.restocks import later_commitments

T = dt.datetime(2026, 12, 7, 19, 0, tzinfo=dt.UTC)
EDIT_1, EDIT_2, SWAP = ("edit", "e1"), ("edit", "e2"), ("exchange", "r1")


def at(seconds: int) -> dt.datetime:
    return T + dt.timedelta(seconds=seconds)


def test_the_edit_that_added_units_is_held_until_a_read_at_or_after_the_erp_counts_it():
    lines = {"L1": ("TEE-S", Decimal(1)), "L2": ("TEE-S", Decimal(2))}
    commitments = [(EDIT_1, "L2", 2)]
    # The order's own sale counted at T; the stock read at T + 10.
    assert uncounted_units(commitments, lines, {}, {"TEE-S": at(10)}, T) == {"TEE-S": Decimal(2)}, "no adjustment"
    assert uncounted_units(commitments, lines, {EDIT_1: None}, {"TEE-S": at(10)}, T) == {"TEE-S": 2}, \
        "not possible: the ERP never counts it"
    assert uncounted_units(commitments, lines, {EDIT_1: at(11)}, {"TEE-S": at(10)}, T) == {"TEE-S": 2}, \
        "counted after the read"
    assert uncounted_units(commitments, lines, {EDIT_1: at(10)}, {"TEE-S": at(10)}, T) == {}, "the same second"
    assert uncounted_units(commitments, lines, {EDIT_1: at(3)}, {"TEE-S": at(10)}, T) == {}


def test_an_order_read_before_its_own_sale_counted_is_left_to_the_whole_order_hold_back():
    lines = {"L2": ("TEE-S", Decimal(2))}
    assert uncounted_units([(EDIT_1, "L2", 2)], lines, {}, {"TEE-S": at(10)}, at(11)) == {}
    assert uncounted_units([(EDIT_1, "L2", 2)], lines, {}, {}, T) == {}, "no figures of the SKU at all"


def test_units_are_netted_per_line_and_bounded_by_what_the_line_holds_now():
    lines = {"L1": ("TEE-S", Decimal(1)), "L3": ("CAP-1", Decimal(0))}
    read = {"TEE-S": at(10), "CAP-1": at(10)}
    # +3 then -1 not counted: the store holds 2 more; the line holds 1 now (a refund took one off): 1.
    assert uncounted_units([(EDIT_1, "L1", 3), (EDIT_2, "L1", -1)], lines, {}, read, T) == {"TEE-S": 1}
    # +3 counted, -1 not: the ERP counts more than the store holds, nothing to hold back.
    assert uncounted_units([(EDIT_1, "L1", 3), (EDIT_2, "L1", -1)], lines, {EDIT_1: T}, read, T) == {}
    # An exchange's line all refunded: nothing left to hold.
    assert uncounted_units([(SWAP, "L3", 1)], lines, {}, read, T) == {}


def test_later_commitments_names_each_change_by_its_adjustment_key():
    edits = [{"edit_id": "e1", "happened_at": "2026-12-07T19:00:00Z",
              "lines": [{"line_id": "L1", "quantity": 2, "added": False}, {"line_id": "L2", "quantity": 0, "added": True},
                        {"line_id": "L3", "quantity": -1, "added": False}]}]
    returns = [{"return_id": "r1", "returned": [{"line_id": "L1", "quantity": 1, "restocked": True}],
                "exchanged": [{"line_id": "L9", "quantity": 1}]}]
    assert later_commitments(edits, returns) == [(("edit", "e1"), "L1", 2), (("edit", "e1"), "L3", -1),
                                                 (("exchange", "r1"), "L9", 1)]
    assert later_commitments(None, None) == []


line_ids = st.sampled_from(["L1", "L2", "L3"])
keys = st.sampled_from([EDIT_1, EDIT_2, SWAP])
commitment_lists = st.lists(st.tuples(keys, line_ids, st.integers(min_value=-4, max_value=4)), max_size=8)
currents = st.fixed_dictionaries({line: st.integers(min_value=0, max_value=6) for line in ("L1", "L2", "L3")})
counted_maps = st.dictionaries(keys, st.one_of(st.none(), st.integers(min_value=0, max_value=20).map(at)))
skus_of = st.fixed_dictionaries({line: st.sampled_from(["TEE-S", "CAP-1"]) for line in ("L1", "L2", "L3")})


@given(commitments=commitment_lists, current=currents, counted=counted_maps, sku_of=skus_of,
       read=st.integers(min_value=0, max_value=20))
def test_never_below_zero_nor_more_than_the_lines_of_the_sku_hold(commitments, current, counted, sku_of, read):
    lines = {line: (sku_of[line], Decimal(current[line])) for line in current}
    held = uncounted_units(commitments, lines, counted, {"TEE-S": at(read), "CAP-1": at(read)}, T)
    for sku, units in held.items():
        assert 0 < units <= sum(current[line] for line in current if sku_of[line] == sku)
        added = sum(u for _, line, u in commitments if sku_of[line] == sku and u > 0)
        assert units <= added, "never more than the changes added"


@given(commitments=commitment_lists, current=currents, sku_of=skus_of, read=st.integers(min_value=0, max_value=20),
       counted_at=st.integers(min_value=0, max_value=20))
def test_nothing_is_held_once_every_change_counts_before_the_read(commitments, current, sku_of, read, counted_at):
    lines = {line: (sku_of[line], Decimal(current[line])) for line in current}
    counted = dict.fromkeys([EDIT_1, EDIT_2, SWAP], at(min(counted_at, read)))
    assert uncounted_units(commitments, lines, counted, {"TEE-S": at(read), "CAP-1": at(read)}, T) == {}
