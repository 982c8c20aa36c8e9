"""Which held rows wait for a person, and which held values a person let through: decided once per value."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from erpsync.sync.state.reviews import APPROVED, REJECTED, Decision, Item, approved_keys, awaiting, held_subject

SKUS = st.sampled_from([f"SKU-{n}" for n in range(8)])
PRICES = st.sampled_from(["10.00", "25.00", "30.00"])
DECISIONS = st.dictionaries(SKUS, st.tuples(PRICES, st.sampled_from([APPROVED, REJECTED])))


def item(sku: str, subject: str) -> Item:
    return Item("catalog", "variant", "publish_prices", sku, subject, "held", 1, {"to": subject})


@given(st.dictionaries(SKUS, PRICES), DECISIONS)
def test_a_row_waits_unless_someone_decided_on_its_very_value(held, decided):
    items = [item(sku, price) for sku, price in held.items()]
    decisions = {i.key: Decision(*decided[i.record_key]) for i in items if i.record_key in decided}
    waiting = {i.record_key for i in awaiting(items, decisions)}
    # Worked out here: a row is settled only by a decision (either way) on the price it holds now.
    assert waiting == {sku for sku, price in held.items() if sku not in decided or decided[sku][0] != price}


@given(st.dictionaries(SKUS, PRICES), DECISIONS)
def test_only_an_approval_of_that_very_value_lets_it_through(wanted, decided):
    decisions = {sku: Decision(*d) for sku, d in decided.items()}
    through = approved_keys(wanted, decisions)
    assert through == {sku for sku, price in wanted.items() if decided.get(sku) == (price, APPROVED)}
    assert through <= set(wanted)


def test_the_subject_of_a_held_row_is_the_value_it_holds_back():
    assert held_subject({"from": "10.00", "to": "30.00", "move": "200%"}) == "30.00"
    assert held_subject({"change": "unpublish", "product": "JKT-0001"}) == "unpublish"
    assert held_subject(None) == "hold"  # held before values were recorded: one question for all such rows
