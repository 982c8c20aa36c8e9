"""Expectation suites, one builder per dataset, as code.

Each :class:`Check` pairs a Great Expectations expectation with the sentence a person reads in the
quarantine (what is wrong and what to fix in the ERP). Great Expectations is imported only when a suite
is built, inside a task: never at DAG parse time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# SKUs travel into the store's search syntax and URLs: letters, digits and a few separators, no blanks.
SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$"
# Printable text: no control characters other than tab and newlines.
SANE_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
MAX_TITLE = 255
MAX_DESCRIPTION = 20_000


@dataclass(frozen=True)
class Check:
    name: str  # stable: stored in quarantine.failed_expectations
    reason: str  # for people: what is wrong, and where to fix it
    build: Callable[[], Any]  # -> a great_expectations expectation


# A product the store will not sell (archived, not salable, off the web shop) only needs its identity to
# be right: its store product is archived or unpublished whatever its name and prices say. Checking the
# rest of it would keep it in quarantine for ever, and the store selling what the ERP has withdrawn.
def _sold_only() -> dict[str, Any]:
    from great_expectations.expectations.row_conditions import Column

    return {"row_condition": Column("sold") == True}  # noqa: E712 - a GX condition, not a comparison


def product_checks(currency: str) -> list[Check]:
    """Checks on a product row; the frame carries a computed ``sold`` column (active, salable, listed)."""
    import great_expectations.expectations as gxe

    SOLD_ONLY = _sold_only()  # noqa: N806 - a constant of this suite
    return [
        Check("sku_present", "the variant has no code (SKU): give it one in the ERP",
              lambda: gxe.ExpectColumnValuesToNotBeNull(column="sku")),
        Check("sku_unique", "another variant has the same code (SKU): make the codes unique in the ERP",
              lambda: gxe.ExpectColumnValuesToBeUnique(column="sku")),
        Check("sku_format", "the SKU has blanks or unusual characters (allowed: letters, digits, . _ / -)",
              lambda: gxe.ExpectColumnValuesToMatchRegex(column="sku", regex=SKU_PATTERN)),
        Check("title_present", "the product has no name: name its template in the ERP",
              lambda: gxe.ExpectColumnValuesToNotBeNull(column="title", **SOLD_ONLY)),
        Check("title_length", f"the product name is empty or longer than {MAX_TITLE} characters",
              lambda: gxe.ExpectColumnValueLengthsToBeBetween(column="title", min_value=1, max_value=MAX_TITLE,
                                                              **SOLD_ONLY)),
        Check("title_text", "the product name contains control characters",
              lambda: gxe.ExpectColumnValuesToMatchRegex(column="title", regex=SANE_TEXT, **SOLD_ONLY)),
        Check("description_length", f"the description is longer than {MAX_DESCRIPTION} characters",
              lambda: gxe.ExpectColumnValueLengthsToBeBetween(column="description", max_value=MAX_DESCRIPTION,
                                                              **SOLD_ONLY)),
        Check("description_text", "the description contains control characters",
              lambda: gxe.ExpectColumnValuesToMatchRegex(column="description", regex=SANE_TEXT, **SOLD_ONLY)),
        Check("list_price_present", "the variant has no list price in the ERP",
              lambda: gxe.ExpectColumnValuesToNotBeNull(column="list_price", **SOLD_ONLY)),
        Check("list_price_positive", "the list price is zero or negative: fix it in the ERP",
              lambda: gxe.ExpectColumnValuesToBeBetween(column="list_price", min_value=0, strict_min=True,
                                                        **SOLD_ONLY)),
        Check("sale_price_positive", "the web price (price list) is zero or negative: fix the price list",
              lambda: gxe.ExpectColumnValuesToBeBetween(column="sale_price", min_value=0, strict_min=True,
                                                        **SOLD_ONLY)),
        Check("offer_price_positive",
              "another store's web shop lists it at a zero or negative price: fix that web shop's price list",
              lambda: gxe.ExpectColumnValuesToBeBetween(column="offer_price_min", min_value=0, strict_min=True)),
        Check("compare_at_above_price",
              "the web price is above the list price (the compare-at price must be above the price)",
              lambda: gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                  column_A="list_price", column_B="sale_price", or_equal=True, ignore_row_if="either_value_is_missing",
                  **SOLD_ONLY)),
        Check("currency", f"the price is not in the store's currency {currency}",
              lambda: gxe.ExpectColumnValuesToBeInSet(column="currency", value_set=[currency], **SOLD_ONLY)),
    ]


def stock_checks() -> list[Check]:
    import great_expectations.expectations as gxe

    return [
        Check("sku_present", "the stock line has no SKU", lambda: gxe.ExpectColumnValuesToNotBeNull(column="sku")),
        Check("stock_unique", "the same SKU and warehouse appear twice in one extract",
              lambda: gxe.ExpectCompoundColumnsToBeUnique(column_list=["sku", "warehouse_code"])),
        Check("quantity_present", "the stock line has no quantity",
              lambda: gxe.ExpectColumnValuesToNotBeNull(column="quantity")),
        Check("quantity_integral", "the on-hand quantity is not a whole number: check the unit of the product",
              lambda: gxe.ExpectColumnValuesToBeBetween(column="quantity_fraction", min_value=0, max_value=0)),
        Check("forecast_integral", "the forecast quantity is not a whole number: check the unit of the product",
              lambda: gxe.ExpectColumnValuesToBeBetween(column="forecast_fraction", min_value=0, max_value=0)),
    ]


def order_checks(currency: str) -> list[Check]:
    """Checks on an order as a whole; the per-line facts arrive as computed columns (counts of bad lines)."""
    import great_expectations.expectations as gxe

    return [
        Check("order_id_unique", "the same order appears twice in one extract",
              lambda: gxe.ExpectColumnValuesToBeUnique(column="order_id")),
        Check("currency", f"the order is not in the shop's currency {currency}",
              lambda: gxe.ExpectColumnValuesToBeInSet(column="currency", value_set=[currency])),
        Check("has_lines", "the order has no lines", lambda: gxe.ExpectColumnValuesToBeBetween(
            column="line_count", min_value=1)),
        Check("known_skus", "a line's SKU is not a product of the ERP: create the product in the ERP (the order "
              "is booked on the next run) or correct the SKU in the store",
              lambda: gxe.ExpectColumnValuesToBeBetween(column="unknown_skus", min_value=0, max_value=0)),
        Check("positive_quantities", "a line has a zero or negative quantity",
              lambda: gxe.ExpectColumnValuesToBeBetween(column="bad_quantities", min_value=0, max_value=0)),
        Check("totals_consistent", "the order total is not lines - discounts + shipping + taxes",
              lambda: gxe.ExpectColumnValuesToBeBetween(column="total_gap", min_value=-0.005, max_value=0.005)),
        Check("shipping_address", "the order must be shipped but has no complete shipping address",
              lambda: gxe.ExpectColumnValuesToBeBetween(column="missing_address", min_value=0, max_value=0)),
    ]
