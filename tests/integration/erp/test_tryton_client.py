"""The ERP client against the real Tryton server (the sandbox ERP), not a mock."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import uuid
from decimal import Decimal

import pytest

from erpsync.common.window import Window
from erpsync.tryton.client import TrytonClient
from erpsync.tryton.records import SaleDraft, SaleLineDraft
from sandbox.tryton import catalog
from tests.support.erp import receive

pytestmark = pytest.mark.erp

ONE_US = dt.timedelta(microseconds=1)


@pytest.fixture
def erp(erp_settings) -> TrytonClient:
    return erp_settings.client()


@pytest.fixture(scope="module")
def admin(erp_admin) -> TrytonClient:
    return TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)


def active_products(admin: TrytonClient, count: int, offset: int = 0) -> list[dict]:
    return admin.model(
        "product.product", "search_read", [("type", "=", "goods"), ("active", "=", True)], offset, count,
        [("id", "ASC")], ["code", "last_modified_at", "template"],
    )


def touch(admin: TrytonClient, ids: list[int], text: str) -> list[dt.datetime]:
    """Write the variants' description in one call (one transaction: one write timestamp for all)."""
    admin.model("product.product", "write", ids, {"description": text})
    rows = admin.model("product.product", "read", ids, ["last_modified_at"])
    return [row["last_modified_at"] for row in rows]


def changed_skus(erp: TrytonClient, window: Window) -> list[str]:
    return [p.sku for page in erp.iter_changed_products(window) for p in page]


# -- incremental reads ------------------------------------------------------------------------------

def test_records_sharing_one_write_timestamp_across_a_page_boundary_are_read_once_each(erp_settings, admin):
    products = active_products(admin, 7, offset=20)
    stamps = touch(admin, [p["id"] for p in products], f"batch {uuid.uuid4().hex}")
    assert len(set(stamps)) == 1, "one write call stamps every record with the same timestamp"
    window = Window(stamps[0], stamps[0] + ONE_US)

    small_pages = TrytonClient(erp_settings.client().rpc, web_shop=catalog.WEB_SHOP_NAME, page_size=3)
    pages = list(small_pages.iter_changed_products(window))
    skus = [p.sku for page in pages for p in page]

    assert len(pages) >= 3, "7 records at 3 per page must cross page boundaries"
    assert sorted(skus) == sorted(p["code"] for p in products)
    assert len(skus) == len(set(skus)), "no record twice"


def test_windows_are_half_open(erp, admin):
    (product,) = active_products(admin, 1, offset=40)
    (stamp,) = touch(admin, [product["id"]], f"edge {uuid.uuid4().hex}")

    assert product["code"] in changed_skus(erp, Window(stamp, stamp + ONE_US)), "start is included"
    # (a short window before it: the template itself was last written when the demo data was built)
    assert product["code"] not in changed_skus(erp, Window(stamp - dt.timedelta(milliseconds=1), stamp)), \
        "end is excluded"


def test_a_template_change_counts_as_a_change_of_each_of_its_variants(erp, admin):
    (product,) = active_products(admin, 1, offset=60)
    template_id = product["template"]
    variants = admin.model("product.product", "search_read", [("template", "=", template_id)], 0, None,
                           None, ["code"])
    admin.model("product.template", "write", [template_id], {"name": f"Renamed {uuid.uuid4().hex[:6]}"})
    (template,) = admin.model("product.template", "read", [template_id], ["last_modified_at", "name"])
    stamp = template["last_modified_at"]

    changed = [p for page in erp.iter_changed_products(Window(stamp, stamp + ONE_US)) for p in page]
    assert {p.sku for p in changed} >= {v["code"] for v in variants}
    assert {p.title for p in changed if p.template_id == template_id} == {template["name"]}


def test_a_record_changed_while_the_read_pages_is_caught_by_the_next_window(erp_settings, admin):
    products = active_products(admin, 6, offset=80)
    ids = [p["id"] for p in products]
    (stamp,) = set(touch(admin, ids, f"paging {uuid.uuid4().hex}"))
    end = stamp + ONE_US
    reader = TrytonClient(erp_settings.client().rpc, web_shop=catalog.WEB_SHOP_NAME, page_size=2)

    pages = reader.iter_changed_products(Window(stamp, end))
    first = next(pages)
    # The ERP writes a record not read yet: its timestamp moves past this window's end...
    late = next(p for p in products if p["code"] not in {x.sku for x in first})
    (late_stamp,) = touch(admin, [late["id"]], "changed during the read")
    rest = [p for page in pages for p in page]
    seen_now = {p.sku for p in first} | {p.sku for p in rest}
    assert late["code"] not in seen_now

    # ...and the next run's window, which starts at the previous end minus the lag, reads it.
    next_window = Window.after_cursor(end, late_stamp + ONE_US, lag=dt.timedelta(minutes=5))
    assert late["code"] in changed_skus(reader, next_window)
    assert seen_now | {late["code"]} == {p["code"] for p in products}


def test_archived_products_are_read_with_active_false(erp, admin):
    archived = admin.model("product.product", "search_read", [("active", "=", False)], 0, 1, None,
                           ["code"], context={"active_test": False})
    assert archived, "the demo data has archived variants"
    (product,) = [p for page in erp.iter_changed_products(None, skus=[archived[0]["code"]]) for p in page]
    assert product.active is False


def test_products_carry_list_price_and_the_price_list_price(erp):
    products = [p for page in erp.iter_changed_products(None) for p in page if p.active]
    assert len(products) >= 500
    discounted = [p for p in products if p.sale_price < p.list_price]
    full_price = [p for p in products if p.sale_price == p.list_price]
    assert discounted and full_price
    for product in discounted:
        assert product.sale_price == (product.list_price * catalog.DISCOUNT_FACTOR).quantize(
            product.sale_price
        ) or abs(product.sale_price - product.list_price * catalog.DISCOUNT_FACTOR) < Decimal("0.01")
    assert all(p.updated_at.tzinfo is not None for p in products)


# -- stock ------------------------------------------------------------------------------------------

def test_stock_levels_per_warehouse_and_products_whose_stock_moved(erp, admin):
    shop = erp.web_shop
    assert {w.code for w in shop.warehouses} == {"WH", "WH2"}
    (product,) = active_products(admin, 1, offset=100)
    before = {lvl.warehouse_code: lvl for lvl in erp.stock_levels([product["id"]])}
    assert set(before) == {"WH", "WH2"}

    move_stamp = receive(admin, product["id"], shop.warehouses[1].id, Decimal(7))
    after = {lvl.warehouse_code: lvl for lvl in erp.stock_levels([product["id"]])}
    assert after["WH2"].quantity == before["WH2"].quantity + 7
    assert after["WH2"].forecast_quantity == before["WH2"].forecast_quantity + 7
    assert after["WH"].quantity == before["WH"].quantity

    moved = {pid for page in erp.iter_stock_moved_product_ids(Window(move_stamp, move_stamp + ONE_US))
             for pid in page}
    assert product["id"] in moved


# -- sales ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def customer(admin):
    (party,) = admin.model("party.party", "search_read", [("addresses", "!=", None)], 0, 1, None,
                           ["addresses"])
    return party["id"], party["addresses"][0]


def draft(admin, customer, web_id: str, product_offset: int = 120, product_id: int | None = None) -> SaleDraft:
    party_id, address_id = customer
    if product_id is None:
        (product,) = active_products(admin, 1, offset=product_offset)
        product_id = product["id"]
    (unit,) = admin.model("product.product", "read", [product_id], ["default_uom"])
    return SaleDraft(
        web_id=web_id, party_id=party_id, invoice_address_id=address_id, shipment_address_id=address_id,
        sale_date=dt.date(2026, 11, 27), reference=f"#{web_id[-6:]}",
        lines=(SaleLineDraft(product_id=product_id, quantity=Decimal(2), unit_price=Decimal("12.50"),
                             unit_id=unit["default_uom"]),),
    )


def test_a_sale_created_twice_with_the_same_external_id_exists_once(erp, admin, customer):
    sale = draft(admin, customer, f"gid://shopify/Order/{uuid.uuid4().int % 10**12}")

    (first,) = erp.create_sales([sale])
    (second,) = erp.create_sales([sale])

    assert first.created and first.sale_id and first.error is None
    assert not second.created and second.sale_id == first.sale_id
    found = erp.sales_by_web_id([sale.web_id])
    assert list(found) == [sale.web_id]
    assert found[sale.web_id].total_amount == Decimal("25.00")


def test_concurrent_creates_of_the_same_order_make_one_sale(erp_settings, admin, customer):
    sale = draft(admin, customer, f"order-{uuid.uuid4().hex}")
    results = []

    def create():
        results.extend(erp_settings.client().create_sales([sale]))

    threads = [threading.Thread(target=create) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({r.sale_id for r in results}) == 1 and all(r.sale_id for r in results)
    assert sum(r.created for r in results) == 1
    assert len(admin.model("sale.sale", "search", [("web_id", "=", sale.web_id)], 0, None, None)) == 1


def test_one_bad_draft_does_not_hold_back_the_good_ones(erp, admin, customer):
    good = [draft(admin, customer, f"good-{uuid.uuid4().hex}", product_offset=130 + i) for i in range(3)]
    bad = dataclasses.replace(draft(admin, customer, f"bad-{uuid.uuid4().hex}"), party_id=10**9)

    results = {r.web_id: r for r in erp.create_sales([good[0], bad, *good[1:]])}

    assert all(results[d.web_id].sale_id and results[d.web_id].created for d in good)
    assert results[bad.web_id].sale_id is None and results[bad.web_id].error
    assert not erp.sales_by_web_id([bad.web_id])


def test_quote_confirm_and_cancel_are_transitions_that_repeat_safely(erp, admin, customer):
    to_confirm, to_cancel = (draft(admin, customer, f"flow-{uuid.uuid4().hex}") for _ in range(2))
    ids = {r.web_id: r.sale_id for r in erp.create_sales([to_confirm, to_cancel])}

    for _ in range(2):
        erp.quote_sales(list(ids.values()))
        erp.confirm_sales([ids[to_confirm.web_id]])
    assert erp.read_sales([ids[to_confirm.web_id]])[0].state in ("confirmed", "processing")

    for _ in range(2):
        states = erp.cancel_sales([ids[to_cancel.web_id]])
    assert states == {ids[to_cancel.web_id]: "cancelled"}


# -- sessions and the hook --------------------------------------------------------------------------

def test_a_dropped_session_is_renewed(erp):
    assert erp.web_shop.name == catalog.WEB_SHOP_NAME
    logins = erp.rpc.logins
    erp.rpc.call("common.db.logout", readonly=False)  # the server forgets the session; we keep its token

    assert len(erp.sales_by_web_id(["no-such-order"])) == 0
    assert erp.rpc.logins == logins + 1


def test_the_hook_builds_the_client_from_a_connection_and_tests_it(erp_settings, erp_sandbox, monkeypatch):
    import json

    from erpsync.tryton.hook import TrytonHook

    monkeypatch.setenv("AIRFLOW_CONN_ERP_TEST", json.dumps({
        "conn_type": "tryton", "host": "127.0.0.1", "port": erp_sandbox.port, "schema": erp_settings.database,
        "login": erp_settings.login, "password": erp_settings.password,
        "extra": {"web_shop": catalog.WEB_SHOP_NAME},
    }))
    ok, message = TrytonHook("erp_test").test_connection()
    assert ok, message
    assert "2 warehouse(s)" in message and erp_settings.password not in message

    monkeypatch.setenv("AIRFLOW_CONN_ERP_TEST", json.dumps({
        "conn_type": "tryton", "host": "127.0.0.1", "port": erp_sandbox.port, "schema": erp_settings.database,
        "login": erp_settings.login, "password": "wrong", "extra": {"web_shop": catalog.WEB_SHOP_NAME},
    }))
    ok, message = TrytonHook("erp_test").test_connection()
    assert not ok and "ErpAuthError" in message and "wrong" not in message


# -- content and price lists ------------------------------------------------------------------------

def test_images_are_absolute_full_size_urls_and_a_new_image_counts_as_a_change(erp, admin):
    import base64

    import requests

    with_image = [p for page in erp.iter_changed_products(None) for p in page if p.image_urls]
    assert with_image, "the demo data has product images"
    url = with_image[0].image_urls[0]
    assert url.startswith(erp.image_base_url) and "s=64" not in url
    assert requests.get(url, timeout=10).headers["content-type"].startswith("image/")

    (product,) = active_products(admin, 1, offset=150)
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
    (image_id,) = admin.model("product.image", "create", [{"template": product["template"], "image": png}])
    (image,) = admin.model("product.image", "read", [image_id], ["last_modified_at"])
    stamp = image["last_modified_at"]

    changed = {p.sku: p for page in erp.iter_changed_products(Window(stamp, stamp + ONE_US)) for p in page}
    assert product["code"] in changed
    assert str(image_id) in changed[product["code"]].image_version


def test_a_price_list_edit_is_detected(erp, admin):
    shop = erp.web_shop
    (line,) = admin.model("product.price_list.line", "search_read",
                          [("price_list", "=", shop.sale_price_list_id)], 0, 1, None, ["formula"])
    admin.model("product.price_list.line", "write", [line["id"]], {"formula": line["formula"]})
    (after,) = admin.model("product.price_list.line", "read", [line["id"]], ["last_modified_at"])
    stamp = after["last_modified_at"]
    assert erp.price_list_changed(Window(stamp, stamp + ONE_US))
    assert not erp.price_list_changed(Window(stamp + ONE_US, stamp + dt.timedelta(seconds=1)))
