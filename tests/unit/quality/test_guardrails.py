"""The price guardrail says, per SKU, from what to what it holds a price, in money a person reads."""

from __future__ import annotations

from decimal import Decimal

from erpsync.quality.guardrails import money, price_swings


def test_a_held_price_says_from_what_to_what_per_sku():
    hold = price_swings([("A", Decimal("19.5000"), Decimal("58.5000")), ("B", Decimal("10"), Decimal("11")),
                         ("C", Decimal("10.00"), Decimal("4.999"))], max_share=0.5)
    assert hold.keys == ("A", "C")
    assert hold.details == {"A": {"from": "19.50", "to": "58.50", "move": "200%"},
                            "C": {"from": "10.00", "to": "4.999", "move": "50%"}}


def test_money_keeps_every_digit_that_is_not_zero():
    assert [money(Decimal(v)) for v in ("58.5000", "60", "4.999", "0.0100")] == ["58.50", "60.00", "4.999", "0.01"]
