"""Order edits, property-based: an order placed with some lines, then edited any number of times (lines
added, units added or removed), read back as Shopify's sales agreements. Booking it as placed and then
applying each edit's plan in turn, every line ends in exactly one ERP sale (the order's, or the edit's
that added it) with the units the store has now. Expected values come from the generated history, not
from the product's code."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from collections import defaultdict

from hypothesis import given
from hypothesis import strategies as st

from erpsync.shopify.store import order_edits
from erpsync.sync.orders import edit_plan

EPOCH = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@st.composite
def histories(draw):
    """(placed {line: units}, edits [(edit id, [(line, +/-units, added)])]) with no line below zero."""
    placed = {f"L{n}": draw(st.integers(min_value=1, max_value=4)) for n in range(draw(st.integers(1, 3)))}
    now = dict(placed)
    edits = []
    for e in range(draw(st.integers(min_value=0, max_value=4))):
        changes = []
        for line in sorted(now):
            delta = draw(st.integers(min_value=-now[line], max_value=2))
            if delta:
                changes.append((line, delta, False))
        for _ in range(draw(st.integers(min_value=0, max_value=2))):
            line = f"L{len(now)}"
            now[line] = 0
            changes.append((line, draw(st.integers(min_value=1, max_value=3)), True))
        for line, delta, _added in changes:
            now[line] += delta
        edits.append((f"E{e}", changes))
    return placed, edits, now


def agreements(placed: dict[str, int], edits: list) -> list[dict]:
    """The order's sales agreements as Shopify's API returns them (newest first, to show order does
    not matter): ORDER sales for units ordered, RETURN sales (positive quantities) for units removed."""
    def sale(line: str, units: int) -> dict:
        return {"actionType": "ORDER" if units > 0 else "RETURN", "lineType": "PRODUCT",
                "quantity": abs(units), "lineItem": {"id": line}}
    found = [{"id": "A-order", "happenedAt": EPOCH.isoformat(), "reason": "ORDER",
              "sales": {"nodes": [sale(line, units) for line, units in placed.items()]}}]
    for n, (edit_id, changes) in enumerate(edits, start=1):
        nodes = [sale(line, delta) for line, delta, _added in changes]
        nodes.append({"actionType": "ORDER", "lineType": "SHIPPING", "quantity": None})  # moves no units
        found.append({"id": edit_id, "happenedAt": (EPOCH + dt.timedelta(minutes=n)).isoformat(),
                      "reason": "ORDER_EDIT", "sales": {"nodes": nodes}})
    return list(reversed(found))


def as_staged(edits) -> list[dict]:
    return [{"edit_id": e.edit_id, "happened_at": e.happened_at.isoformat(),
             "lines": [{"line_id": line.line_id, "quantity": line.quantity, "added": line.added}
                       for line in e.lines]}
            for e in edits]


@given(histories())
def test_booked_as_placed_then_each_edit_once_ends_as_the_store_has_it(history):
    placed, edits, now = history
    staged = as_staged(order_edits(agreements(placed, edits)))
    assert [e["edit_id"] for e in staged] == [edit_id for edit_id, _ in edits]
    # Shopify's LineItem.quantity counts every unit ever ordered: placed plus what edits added.
    ordered = defaultdict(int, placed)
    for _edit_id, changes in edits:
        for line, delta, _added in changes:
            ordered[line] += max(delta, 0)
    lines = [{"store_line_id": line, "quantity": units} for line, units in sorted(ordered.items())]
    booked = edit_plan.placed_quantities(lines, staged)
    assert booked == {line: placed.get(line, 0) for line in ordered}

    homes = edit_plan.homes(staged)
    sales: dict[str, dict[str, float]] = {edit_plan.MAIN: {line: n for line, n in booked.items() if n}}
    for edit in staged:
        plan = edit_plan.plan(edit, homes)
        for home, changes in plan.changes.items():
            new, reason = edit_plan.amended(sales[home], changes)
            assert reason is None, reason
            sales[home].update(new)
        sales[edit["edit_id"]] = dict(plan.new_lines)
    where = [(line, home) for home, held in sales.items() for line in held]
    assert sorted(line for line, _ in where) == sorted(set(line for line, _ in where)), "a line in two sales"
    assert {line: units for held in sales.values() for line, units in held.items() if units} == \
        {line: units for line, units in now.items() if units}


def test_an_edit_taking_a_line_below_zero_is_refused_with_the_line_named():
    new, reason = edit_plan.amended({"L1": 1.0}, [("L1", -2)])
    assert new == {} and "L1" in reason and "below zero" in reason
    new, reason = edit_plan.amended({"L1": 3.0}, [("L1", -2), ("L1", 1)])
    assert new == {"L1": 2.0} and reason is None
    assert edit_plan.amended({}, [("L9", 1)])[1] == "line L9 is not on the ERP sale"


def test_a_sale_follows_edits_only_until_goods_are_picked():
    assert edit_plan.why_not("processing", ["waiting"]) is None
    assert edit_plan.why_not("processing", ["draft", "cancelled"]) is None
    assert edit_plan.why_not("processing", []) is None
    for moving in ("assigned", "picked", "packed", "done"):
        assert "already shipped or picked" in edit_plan.why_not("processing", ["waiting", moving])
    assert edit_plan.why_not("done", []) == "the ERP sale is done"
    assert edit_plan.why_not("cancelled", []) == "the ERP sale is cancelled"


def test_an_edit_moves_the_orders_discounts_and_taxes_and_the_sale_is_booked_with_those_it_was_placed_with():
    # Placed: discounts 6.95, taxes 2.18. The edit took a unit off L1 (its 1.50 discount share and 0.68 of
    # tax with it) and added 2 units of L3 (no discount, 1.60 of tax): the store now says 5.45 and 3.10.
    edit = {"edit_id": "E1", "lines": [
        {"line_id": "L1", "quantity": -1, "added": False, "discount": "-1.50", "tax": "-0.68"},
        {"line_id": "L3", "quantity": 2, "added": True, "discount": "0.00", "tax": "1.60"}]}
    order = {"discount_total": "5.45", "tax_total": "3.10", "edits": [edit]}
    assert edit_plan.placed_money(order) == (Decimal("6.95"), Decimal("2.18"))
    plan = edit_plan.plan(edit, edit_plan.homes([edit]))
    assert (plan.discount, plan.tax, plan.own_sale) == (Decimal("-1.50"), Decimal("0.92"), True)
    assert plan.new_lines == (("L3", 2),) and plan.changes == {edit_plan.MAIN: (("L1", -1),)}
    # A unit off a line without discount or tax needs no sale of the edit's own: the amendment is all.
    bare = {"edit_id": "E2", "lines": [{"line_id": "L1", "quantity": -1, "added": False}]}
    assert edit_plan.plan(bare, {}).own_sale is False
    assert edit_plan.placed_money({"discount_total": "0", "tax_total": "0", "edits": [bare]}) == (0, 0)
