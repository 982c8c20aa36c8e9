"""Vendure's order modifications read as the order's edits, against a real, stock Vendure server: a merchant
lowers a line and adds one, raises the new line, then lowers it again (refunded), each a modification of
its own; the figures are worked out here from the catalog's prices and a 10% tax rate."""

from __future__ import annotations

from dataclasses import asdict
from decimal import Decimal

import pytest

from erpsync.common.window import Window
from erpsync.sync.orders import edit_plan
from sandbox.vendure.seed import TAX_CATEGORY, ZONE, configure_store, seed_catalog
from sandbox.vendure.shopper import cancel_order, guest_checkout, modify_order
from tests.integration.vendure.test_vendure_store import CATALOG, GUEST, _by_sku, store  # noqa: F401 - fixtures
from tests.sandbox.conftest_vendure import *  # noqa: F403 - the `vendure` fixture
from tests.support.clock import next_second
from tests.integration.vendure.test_vendure_orders import _second

pytestmark = pytest.mark.vendure

SHIPPING = Decimal("5.99")  # flat, 0% tax (sandbox/vendure/seed.py)
SHOE_40, SHOE_41 = Decimal("89.90"), Decimal("91.50")  # CATALOG's prices, without tax
TAX_40, TAX_41 = Decimal("8.99"), Decimal("9.15")  # 10% of each, per unit


@pytest.fixture(scope="module")
def seeded(vendure):
    """This module's server, its tax rate 10% (the sandbox's is 0%) so that edits move taxes."""
    admin = vendure.admin()
    configure_store(admin)
    rates = admin.data("{ taxRates(options: {take: 100}) { items { id name } } }")["taxRates"]["items"]
    (rate,) = [r["id"] for r in rates if r["name"] == f"{TAX_CATEGORY} {ZONE}"]
    admin.data("mutation($input: UpdateTaxRateInput!) { updateTaxRate(input: $input) { id value } }",
               {"input": {"id": rate, "value": 10}})
    seed_catalog(admin, CATALOG)
    return vendure


def _order(store, order_id: str, window: Window):
    found = [o for page in store.iter_orders(window) for o in page if o.order_id == order_id]
    assert len(found) == 1, found
    return found[0]


def _lines(edit) -> dict[str, tuple[int, bool, Decimal, Decimal]]:
    return {line.line_id: (line.quantity, line.added, line.discount, line.tax) for line in edit.lines}


def test_each_modification_is_one_edit_with_its_lines_units_and_taxes(seeded, store):
    shoe = _by_sku(store)
    admin = seeded.admin()
    placed = guest_checkout(seeded.shop(), [(shoe["SHOE-40"].variant_id, 2)], GUEST)
    (line_40,) = [line["id"] for line in placed["lines"]]
    assert placed["totalWithTax"] == int((2 * (SHOE_40 + TAX_40) + SHIPPING) * 100), "10% tax on the goods"

    # 1: one SHOE-40 fewer, two SHOE-41 on a new line (the price rises: paid by a manual payment).
    before = next_second()
    first = modify_order(admin, placed["id"], adjust={line_40: 1}, add=[(shoe["SHOE-41"].variant_id, 2)])
    order = _order(store, placed["id"], Window(before, next_second()))
    assert first["priceChange"] == int((-(SHOE_40 + TAX_40) + 2 * (SHOE_41 + TAX_41)) * 100)
    (line_41,) = [line.line_id for line in order.lines if line.sku == "SHOE-41"]
    (edit,) = order.edits
    assert edit.edit_id == first["id"]
    assert _lines(edit) == {line_40: (-1, False, Decimal(0), -TAX_40), line_41: (2, True, Decimal(0), 2 * TAX_41)}
    assert order.refunds == () and order.financial_status == "PAID"

    # 2: the new line raised by one.
    before = next_second()
    second = modify_order(admin, placed["id"], adjust={line_41: 3})
    order = _order(store, placed["id"], Window(before, next_second()))
    assert [e.edit_id for e in order.edits] == [first["id"], second["id"]] and first["id"] != second["id"]
    assert _lines(order.edits[1]) == {line_41: (1, False, Decimal(0), TAX_41)}

    # 3: the new line lowered by two (the price falls: refunded with the modification).
    before = next_second()
    third = modify_order(admin, placed["id"], adjust={line_41: 1})
    order = _order(store, placed["id"], Window(before, next_second()))
    assert third["refund"] is not None and third["priceChange"] == -int(2 * (SHOE_41 + TAX_41) * 100)
    assert [e.edit_id for e in order.edits] == [first["id"], second["id"], third["id"]]
    assert _lines(order.edits[2]) == {line_41: (-2, False, Decimal(0), -2 * TAX_41)}
    # The refund paid back what the edit took off: it is no refund of its own, but money went back.
    assert order.refunds == () and order.refunded_total == 2 * (SHOE_41 + TAX_41)

    # Every unit ever ordered, as Shopify counts a line; the current ones; the order's figures now.
    lines = {line.line_id: (line.sku, line.quantity, line.current_quantity) for line in order.lines}
    assert lines == {line_40: ("SHOE-40", 2, 1), line_41: ("SHOE-41", 3, 1)}
    assert order.tax_total == TAX_40 + TAX_41 and order.discount_total == 0
    assert order.total == SHOE_40 + SHOE_41 + TAX_40 + TAX_41 + SHIPPING
    # What the generic edit machinery makes of it: placed with two SHOE-40 and no SHOE-41, and the taxes
    # the order was placed with.
    edits = [asdict(e) for e in order.edits]
    staged = [{"store_line_id": line.line_id, "quantity": line.quantity} for line in order.lines]
    assert edit_plan.placed_quantities(staged, edits) == {line_40: 2, line_41: 0}
    assert edit_plan.homes(edits) == {line_41: first["id"]}
    assert edit_plan.placed_money({"edits": edits, "discount_total": order.discount_total,
                                   "tax_total": order.tax_total}) == (Decimal(0), 2 * TAX_40)

    # Cancelled later: its cancellation is the order's, not the one the third modification wrote (Vendure
    # records lowering a line as a cancellation of those units); its figures stay as placed and edited.
    before = next_second()
    cancel_order(admin, placed["id"], reason="Edited, then cancelled")
    after = next_second()
    cancelled = _order(store, placed["id"], Window(before, after))
    assert _second(before) <= cancelled.cancelled_at < after and cancelled.cancel_reason == "Edited, then cancelled"
    assert len(cancelled.edits) == 3 and cancelled.total == order.total
