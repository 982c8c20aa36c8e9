"""When an edit's (or an exchange's) ERP sale counts as shipped for telling the store that all of an order
left. Tryton's states, written out here: a confirmed sale has no shipment until the ERP processes it (right
after the confirmation, in a transaction of its own, or never when that failed), so its shipment state is
``none`` then, as it is for a processed sale that has nothing to ship."""

from __future__ import annotations

import pytest

from erpsync.sync.orders.fulfill import _sale_shipped
from erpsync.tryton.sales import SaleShipping

CASES = [
    # (sale state, shipment state, shipped?)
    ("processing", "sent", True),
    ("done", "sent", True),
    ("processing", "none", True),  # processed, nothing to ship (a later edit removed its lines again)
    ("done", "none", True),
    ("cancelled", "none", True),
    ("cancelled", "waiting", True),
    ("confirmed", "none", False),  # not processed yet: its shipment is still to come
    ("quotation", "none", False),
    ("draft", "none", False),
    ("processing", "waiting", False),
    ("processing", "partially shipped", False),
    ("processing", "exception", False),
]


@pytest.mark.parametrize(("sale_state", "shipment_state", "shipped"), CASES)
def test_a_sale_counts_as_shipped_only_once_the_erp_has_shipped_or_needs_not_ship_it(
        sale_state, shipment_state, shipped):
    assert _sale_shipped(SaleShipping(7, sale_state, shipment_state, ())) is shipped
