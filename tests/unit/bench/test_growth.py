"""The month's projection of the warehouse's size, worked out by hand."""

from __future__ import annotations

from bench.growth import TableGrowth, markdown, project, report


def test_a_table_deleted_by_age_keeps_its_retention_a_kept_one_everything_a_catalog_one_its_size():
    tables = [
        # 100 rows/h of 500 bytes, kept 14 days: 100 x 24 x 14 x 500 = 16,800,000 bytes after 30 days.
        TableGrowth("raw_record", rows=1_000, bytes=500_000, rows_per_hour=100, kept_days=14),
        # 10 rows/h of 2,000 bytes, kept for good: 10 x 24 x 30 x 2,000 = 14,400,000.
        TableGrowth("stg_order", rows=50, bytes=100_000, rows_per_hour=10, kept_days=None),
        # Kept 90 days, the month is shorter: 2 x 24 x 30 x 1,000 = 1,440,000.
        TableGrowth("sync_run", rows=10, bytes=10_000, rows_per_hour=2, kept_days=90),
        # Sized by the catalog: as it is.
        TableGrowth("stg_product", rows=540, bytes=1_600_000, rows_per_hour=0, kept_days=0),
    ]
    assert project(tables, days=30) == {"raw_record": 16_800_000, "stg_order": 14_400_000,
                                        "sync_run": 1_440_000, "stg_product": 1_600_000}
    assert project(tables, days=7)["raw_record"] == 100 * 24 * 7 * 500  # less than its retention: all of it

    figures = report(tables, {"from": "a", "to": "b", "hours": 1.0}, days=30)
    assert figures["projected_mb"] == 34.2 and figures["now_mb"] == 2.2
    assert [t["table"] for t in figures["tables"]] == ["raw_record", "stg_order", "stg_product", "sync_run"]
    assert "| raw_record | 100 | 500 | 14 | 16.8 |" in markdown(figures)


def test_an_empty_table_costs_nothing_per_row():
    assert project([TableGrowth("row_error", rows=0, bytes=16_384, rows_per_hour=0, kept_days=30)], 30) == {
        "row_error": 16_384}
