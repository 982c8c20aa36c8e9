"""Row-level validation with Great Expectations: rejections map back to the rows, whatever else the
frame holds (only the columns the checks read are handed to Great Expectations)."""

import pandas as pd

from erpsync.quality.suites import product_checks
from erpsync.quality.validate import validate_frame


def test_rejections_name_the_positional_rows_and_their_checks():
    good = {"sku": "TEE-0001-M", "title": "Tee", "description": "Soft.", "list_price": 18.0,
            "sale_price": 15.3, "currency": "USD", "sold": True, "offer_price_min": None, "categories": ["Apparel"],
            "unread": "x" * 1000}
    rows = [dict(good, sku=f"TEE-{i:04d}-M") for i in range(8)]
    rows[1]["sku"] = "TEE 0001"  # a blank
    rows[3]["sku"] = rows[2]["sku"]  # a duplicate: both rows
    rows[5].update(list_price=-1.0, currency="EUR")
    rows[6]["offer_price_min"] = 0.0  # another store's web shop sells it for nothing
    frame = pd.DataFrame(rows, index=range(100, 108))  # an index other than the positions

    result = validate_frame(frame, product_checks("USD"), dataset="test.product")

    assert {row: sorted(rejection.checks) for row, rejection in result.rejected.items()} == {
        1: ["sku_format"], 2: ["sku_unique"], 3: ["sku_unique"],
        5: ["compare_at_above_price", "currency", "list_price_positive"], 6: ["offer_price_positive"],
    }
    assert result.good_rows == [0, 4, 7]
    assert list(frame.columns)[-1] == "unread", "the caller's frame is left as it was"


def test_a_product_the_store_will_not_sell_needs_only_its_identity_right():
    """A quarantined product that is then archived (or taken off the web shop, or made not salable) is
    staged, so its store product is archived and its quarantine released; its SKU must still be sound."""
    from erpsync.sync.catalog.stage import product_frame

    bad = {"title": None, "description": "x\x00", "list_price": -1, "sale_price": -2, "currency": "EUR"}
    rows = [
        {"sku": "A-1", "active": True, "salable": True, "in_web_shop": True, **bad},  # sold: every check
        {"sku": "A-2", "active": False, "salable": True, "in_web_shop": True, **bad},  # archived
        {"sku": "A-3", "active": True, "salable": False, "in_web_shop": True, **bad},  # not salable
        {"sku": "A-4", "active": True, "salable": True, "in_web_shop": False, **bad},  # off the web shop
        {"sku": "A 5", "active": False, "salable": True, "in_web_shop": True, **bad},  # archived, bad SKU
    ]

    result = validate_frame(product_frame(rows), product_checks("USD"), dataset="test.product")

    assert sorted(result.rejected) == [0, 4]
    assert sorted(result.rejected[0].checks) == sorted(
        ["title_present", "description_text", "list_price_positive", "sale_price_positive", "currency"])
    assert result.rejected[4].checks == ["sku_format"]
