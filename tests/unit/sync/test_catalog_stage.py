import datetime as dt
import hashlib
import json
from decimal import Decimal

from erpsync.sync.catalog import stage as catalog_stage
from erpsync.sync.catalog.stage import content_hash, product_rows


def test_the_content_hash_is_the_digest_of_the_sorted_json_of_the_parts():
    # Stored and compared with what was published: the same parts must always give the same digest.
    for parts in [("Tee", None, "", True), ("Thé «vert»", "Ligne 1\nLigne 2", "3@2026-11-01", False),
                  ("Tee", "d", "v", "ACTIVE", [("SKU-1", "M"), ("SKU-2", "L")]),
                  (Decimal("1.5"), {"b": 1, "a": 2})]:
        expected = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
        assert content_hash(*parts) == expected


def test_staged_rows_are_built_when_read(monkeypatch):
    built = []
    build = catalog_stage._product_row

    def counted(payload, *rest):
        built.append(payload["sku"])
        return build(payload, *rest)

    monkeypatch.setattr(catalog_stage, "_product_row", counted)
    payload = {
        "erp_product_id": 7, "sku": "TEE-0001-M", "template_id": 3, "template_code": "TEE-0001",
        "title": "Tee", "description": None, "active": True, "salable": True, "list_price": "18.00",
        "sale_price": "15.30", "currency": "USD", "unit": "u", "updated_at": "2026-11-01T12:00:00+00:00",
        "categories": ["Apparel"], "image_urls": [], "image_version": "",
    }
    now = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    rows = product_rows([payload] * 3, batch_id="b1", now=now)
    assert len(rows) == 3 and not built
    (row,) = rows[1:2]
    assert built == ["TEE-0001-M"]
    assert row["sku"] == "TEE-0001-M" and row["list_price"] == Decimal("18.00")
    assert row["source_updated_at"] == dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)
    assert row["content_hash"] == content_hash("Tee", None, "", True)
    assert [r["staged_at"] for r in rows] == [now] * 3
