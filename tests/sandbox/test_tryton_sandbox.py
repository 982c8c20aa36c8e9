"""The sandbox ERP (sandbox/tryton): lifecycle commands and the seeded demo data, against a real trytond.

Every test runs on a clone of the default instance's pristine snapshot, in a temporary home on a free port:
the user's own instance (ERP_HOME) is only built if it has no snapshot yet, never started or modified.
The PostgreSQL test builds its own throwaway database and drops it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

from erpsync.tryton.client import TrytonClient
from erpsync.tryton.errors import ErpError as RpcError
from erpsync.tryton.records import SaleDraft, SaleLineDraft
from erpsync.tryton.rpc import TrytonRpc as ProductRpc
from sandbox.tryton import catalog
from sandbox.tryton.control import ErpSandbox
from sandbox.tryton.process import free_port, is_alive, port_in_use, wait_until

pytestmark = pytest.mark.erp

REPO_ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("ERP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/")
SKU = re.compile(r"^[A-Z]{3}-\d{4}-[A-Z0-9]+$")
GOODS = [("type", "=", "goods")]  # the services orders book (shipping, tax...) are not catalog
CLI_TIMEOUT = 120


@pytest.fixture(scope="session")
def clone(tmp_path_factory) -> ErpSandbox:
    source = ErpSandbox.from_env()
    source.build()  # a no-op when the snapshot is up to date (`make test` builds it first)
    instance = source.clone(tmp_path_factory.mktemp("erp-clone"), free_port())
    yield instance
    instance.destroy()


@pytest.fixture
def running(clone: ErpSandbox) -> ErpSandbox:
    clone.start()  # a no-op when already running: tests may stop or restart the server
    return clone


@pytest.fixture
def rpc(running: ErpSandbox) -> TrytonRpc:
    client = _login(running)
    yield client
    client.logout()


class TrytonRpc:
    """Raw model calls over the product's JSON-RPC channel; the context is exactly what each test sends."""

    def __init__(self, rpc: ProductRpc):
        self.rpc = rpc

    def model(self, model: str, method: str, *args, context: dict | None = None):
        return self.rpc.call(f"model.{model}.{method}", *args, context or {})

    def logout(self) -> None:
        try:
            self.rpc.logout()
        except RpcError:
            pass  # the session is already gone (e.g. the database was reset), which is what we wanted


def _login(instance: ErpSandbox) -> TrytonRpc:
    password = instance.integration_password_file.read_text().strip()
    rpc = ProductRpc(instance.url, instance.db_name, catalog.INTEGRATION_LOGIN, password)
    rpc.authenticate()
    return TrytonRpc(rpc)


def _context(client: TrytonRpc, **extra) -> dict:
    # Over raw JSON-RPC the context is what we send: prices, stock and sale rules need the company in it.
    company = client.model("res.user", "get_preferences", True)["company"]
    return {"company": company, **extra}


def _cli(instance: ErpSandbox, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ERP_HOME": str(instance.home), "ERP_PORT": str(instance.port),
           "ERP_DB_NAME": instance.db_name}
    env.pop("ERP_DB_URL", None)
    if instance.db_url:
        env["ERP_DB_URL"] = instance.db_url
    return subprocess.run([sys.executable, "-m", "sandbox.tryton", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=CLI_TIMEOUT)


def _first_customer(client: TrytonRpc, context: dict) -> dict:
    return client.model("party.party", "search_read",
                        [("name", "not in", [catalog.COMPANY_NAME, catalog.GUEST_PARTY_NAME])],
                        0, 1, [["id", "ASC"]], ["name", "addresses"], context=context)[0]


# ------------------------------------------------------------------------------------------- lifecycle
def test_health_answers_a_real_login(running: ErpSandbox):
    healthy, message = running.health()
    assert healthy, message
    result = _cli(running, "status")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("healthy:") and len(result.stdout.strip().splitlines()) == 1


def test_info_shows_the_password_only_on_request(running: ErpSandbox):
    password = running.integration_password_file.read_text().strip()
    info = _cli(running, "info")
    assert info.returncode == 0, info.stderr
    data = json.loads(info.stdout)
    assert data["login"] == catalog.INTEGRATION_LOGIN and data["port"] == running.port
    assert data["password_file"] == str(running.integration_password_file)
    assert password not in info.stdout
    assert json.loads(_cli(running, "info", "--show-password").stdout)["password"] == password
    for secret in (running.integration_password_file, running.admin_password_file):
        assert secret.stat().st_mode & 0o777 == 0o600


def test_build_twice_is_a_noop(running: ErpSandbox, rpc: TrytonRpc):
    context = _context(rpc)
    party = _first_customer(rpc, context)
    rpc.model("party.party", "write", [party["id"]], {"name": "Changed Before Build"}, context=context)
    pid = running.info()["running_pid"]
    try:
        for _ in range(2):
            started = time.monotonic()
            result = _cli(running, "build")
            assert result.returncode == 0, result.stderr
            assert "up to date" in result.stdout
            assert time.monotonic() - started < 15
        assert running.info()["running_pid"] == pid
        name = rpc.model("party.party", "read", [party["id"]], ["name"], context=context)[0]["name"]
        assert name == "Changed Before Build"  # the working database was left alone
    finally:
        running.reset()


def test_reset_restores_a_modified_record_in_seconds(running: ErpSandbox, rpc: TrytonRpc):
    context = _context(rpc)
    party = _first_customer(rpc, context)
    rpc.model("party.party", "write", [party["id"]], {"name": "Modified By Test"}, context=context)
    pid = running.info()["running_pid"]
    started = time.monotonic()
    running.reset()
    assert time.monotonic() - started < 30
    assert not is_alive(pid)
    assert running.health()[0]  # restarted because it was running
    client = _login(running)
    name = client.model("party.party", "read", [party["id"]], ["name"], context=context)[0]["name"]
    assert name == party["name"]


def test_stop_leaves_no_process(running: ErpSandbox):
    pid = running.info()["running_pid"]
    assert pid and is_alive(pid)
    running.stop()
    assert not is_alive(pid)
    assert not running.pid_file.exists()
    assert not port_in_use("127.0.0.1", running.port)
    running.stop()  # safe when not running
    result = _cli(running, "status")
    assert result.returncode == 1 and result.stdout.startswith("unhealthy:")


def test_workers_serve_calls_at_once_from_their_own_processes(tmp_path: Path):
    instance = ErpSandbox.from_env().clone(tmp_path / "erp", free_port())
    instance.workers = 2
    instance.start()
    try:
        pid = instance.info()["running_pid"]
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        assert len(children) == 2, f"expected 2 worker processes under gunicorn {pid}, found {children}"
        client = _login(instance)
        context = _context(client)

        def goods(_):
            return client.model("product.product", "search_read", GOODS, 0, None, [("id", "ASC")],
                                ["code", "quantity"], context=context)

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(goods, range(4)))
        assert answers[0] and all(answer == answers[0] for answer in answers)
        instance.reset()  # restarts the workers on the pristine data
        assert instance.health()[0]
        pid = instance.info()["running_pid"]
        children += Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    finally:
        instance.stop()
    assert not any(is_alive(int(child)) for child in children)
    assert not port_in_use("127.0.0.1", instance.port)


# ----------------------------------------------------------------------------------------- seeded data
def test_serve_runs_in_the_foreground_until_terminated(clone: ErpSandbox):
    clone.stop()
    env = {**os.environ, "ERP_HOME": str(clone.home), "ERP_PORT": str(clone.port), "ERP_DB_NAME": clone.db_name}
    server = subprocess.Popen([sys.executable, "-m", "sandbox.tryton", "serve"], cwd=REPO_ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: clone.health()[0], 60), "serve did not become healthy"
        assert server.poll() is None, "serve must stay in the foreground"
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert not port_in_use("127.0.0.1", clone.port)


def test_catalog_has_500_active_variants_with_sku_codes(rpc: TrytonRpc):
    context = _context(rpc)
    variants = rpc.model("product.product", "search_read", GOODS, 0, None, None,
                         ["code", "description", "salable", "default_uom"], context=context)
    assert len(variants) >= 500
    codes = [v["code"] for v in variants]
    assert len(set(codes)) == len(codes)
    assert all(SKU.match(code) for code in codes), [c for c in codes if not SKU.match(c)][:5]
    assert all(v["description"] and "<" not in v["description"] and v["salable"] for v in variants)
    templates = rpc.model("product.template", "search_count", [], context=context)
    assert templates >= 170


def test_archived_templates_and_variants_exist(rpc: TrytonRpc):
    context = _context(rpc)
    archived_templates = rpc.model("product.template", "search", [("active", "=", False)], 0, None, None,
                                   context=context)
    archived = rpc.model("product.product", "search_read", [("active", "=", False)], 0, None, None,
                         ["template"], context=context)
    assert archived_templates
    # Variants archived on their own, under a template that is still active.
    assert any(v["template"] not in archived_templates for v in archived)


def test_two_warehouses_with_stock_in_both(rpc: TrytonRpc):
    context = _context(rpc)
    warehouses = rpc.model("stock.location", "search_read", [("type", "=", "warehouse")], 0, None, None,
                           ["code"], context=context)
    assert sorted(w["code"] for w in warehouses) == ["WH", "WH2"]
    products = rpc.model("product.product", "search", GOODS, 0, None, None, context=context)
    for warehouse in warehouses:
        levels = rpc.model("product.product", "read", products, ["quantity"],
                           context={**context, "locations": [warehouse["id"]]})
        in_stock = sum(1 for level in levels if level["quantity"] > 0)
        assert len(products) * 0.7 < in_stock < len(products), warehouse["code"]


def test_price_list_discounts_one_category(rpc: TrytonRpc):
    context = _context(rpc)
    price_list, = rpc.model("product.price_list", "search", [("name", "=", catalog.PRICE_LIST_NAME)],
                            0, None, None, context=context)
    products = rpc.model("product.product", "search_read", GOODS, 0, None, None,
                         ["code", "list_price_used", "sale_price_uom"],
                         context={**context, "price_list": price_list})
    discounted = [p for p in products if p["sale_price_uom"] < p["list_price_used"]]
    assert discounted
    assert {p["code"][:3] for p in discounted} == {"JKT", "PRK"}  # the Outerwear families
    for product in discounted:
        expected = (product["list_price_used"] * catalog.DISCOUNT_FACTOR).quantize(Decimal("0.01"))
        assert product["sale_price_uom"] == expected
    assert all(p["sale_price_uom"] == p["list_price_used"] for p in products if p not in discounted)


def test_web_shop_publishes_active_variants(rpc: TrytonRpc):
    context = _context(rpc)
    shop, = rpc.model("web.shop", "search_read", [("name", "=", catalog.WEB_SHOP_NAME)], 0, None, None,
                      ["warehouses", "sale_price_list", "guest_party", "products"], context=context)
    price_list, = rpc.model("product.price_list", "search", [("name", "=", catalog.PRICE_LIST_NAME)],
                            0, None, None, context=context)
    warehouses = rpc.model("stock.location", "read", shop["warehouses"], ["code"], context=context)
    assert [w["code"] for w in warehouses] == ["WH", "WH2"]  # the first is the shop's default warehouse
    assert shop["sale_price_list"] == price_list and shop["guest_party"]
    assert sorted(shop["products"]) == sorted(
        rpc.model("product.product", "search", GOODS, 0, None, None, context=context))


def test_each_store_has_a_web_shop_alike(rpc: TrytonRpc):
    # The second store (Vendure) books its orders on a web shop of its own that sells what the first does.
    context = _context(rpc)
    alike = ["company", "currency", "warehouses", "sale_price_list", "guest_party"]
    shops = rpc.model("web.shop", "search_read", [("name", "in", list(catalog.WEB_SHOP_NAMES))], 0, None,
                      [("id", "ASC")], ["name", "products", *alike], context=context)
    assert [s["name"] for s in shops] == list(catalog.WEB_SHOP_NAMES)
    first, vendure = shops
    assert len(first["warehouses"]) == 2 and first["sale_price_list"] and first["guest_party"]
    for field in alike:
        assert vendure[field] == first[field], field
    assert len(vendure["products"]) == len(first["products"]) > 500
    assert sorted(vendure["products"]) == sorted(first["products"])


def _shop_draft(rpc: TrytonRpc, web_id: str) -> SaleDraft:
    context = _context(rpc)
    party = _first_customer(rpc, context)
    product, = rpc.model("product.product", "search_read", [("code", "=", "JKT-0001-M")], 0, None, None,
                         ["default_uom"], context=context)
    return SaleDraft(
        web_id=web_id, party_id=party["id"], invoice_address_id=party["addresses"][0],
        shipment_address_id=party["addresses"][0], sale_date=dt.date.today(),
        lines=(SaleLineDraft(product_id=product["id"], quantity=Decimal(1), unit_price=Decimal("20.00"),
                             unit_id=product["default_uom"]),))


def test_the_same_order_id_on_two_web_shops_is_two_sales(rpc: TrytonRpc):
    # (web_shop, web_id) is unique, not web_id: two stores' order ids may collide without clashing.
    first, vendure = (TrytonClient(rpc.rpc, web_shop=name) for name in catalog.WEB_SHOP_NAMES)
    draft = _shop_draft(rpc, f"order-{uuid.uuid4().hex}")

    (in_first,), (in_vendure,) = first.create_sales([draft]), vendure.create_sales([draft])

    assert in_first.created and in_vendure.created and in_first.sale_id != in_vendure.sale_id
    sales = rpc.model("sale.sale", "search_read", [("web_id", "=", draft.web_id)], 0, None, [("id", "ASC")],
                      ["web_shop"], context=_context(rpc))
    assert len(sales) == 2
    assert [s["web_shop"] for s in sales] == [first.web_shop.id, vendure.web_shop.id]
    assert first.web_shop.id != vendure.web_shop.id
    for client, result in ((first, in_first), (vendure, in_vendure)):  # each client finds its own shop's
        found = client.sales_by_web_id([draft.web_id])
        assert list(found) == [draft.web_id] and found[draft.web_id].id == result.sale_id
        # The integration user confirms sales of the second shop as of the first.
        assert client.quote_sales([result.sale_id]) == {} and client.confirm_sales([result.sale_id]) == {}
        assert client.read_sales([result.sale_id])[0].state in ("confirmed", "processing")


def test_service_products_for_order_adjustments_stay_out_of_the_shop(rpc: TrytonRpc):
    context = _context(rpc)
    services = rpc.model("product.product", "search_read", [("type", "=", "service")], 0, None, None,
                         ["code", "salable"], context=context)
    assert sorted(s["code"] for s in services) == sorted(code for code, _ in catalog.SERVICE_PRODUCTS.values())
    assert all(s["salable"] for s in services)
    shops = rpc.model("web.shop", "search_read", [("name", "in", list(catalog.WEB_SHOP_NAMES))], 0, None,
                      None, ["products"], context=context)
    assert len(shops) == len(catalog.WEB_SHOP_NAMES)
    assert not any({s["id"] for s in services} & set(shop["products"]) for shop in shops)


def test_sale_from_minimal_fields_reaches_processing(rpc: TrytonRpc):
    """The field set README.md documents for a raw JSON-RPC create (no on_change runs)."""
    context = _context(rpc)
    party = _first_customer(rpc, context)
    warehouse, = rpc.model("stock.location", "search", [("code", "=", "WH")], 0, None, None, context=context)
    shop, = rpc.model("web.shop", "search", [("name", "=", catalog.WEB_SHOP_NAME)], 0, None, None,
                      context=context)
    product, = rpc.model("product.product", "search_read", [("code", "=", "JKT-0001-M")], 0, None, None,
                         ["default_uom"], context=context)
    web_id = f"test-{uuid.uuid4().hex}"
    values = {
        "party": party["id"], "invoice_address": party["addresses"][0],
        "shipment_address": party["addresses"][0], "company": context["company"],
        "currency": rpc.model("company.company", "read", [context["company"]], ["currency"],
                              context=context)[0]["currency"],
        "warehouse": warehouse, "web_shop": shop, "web_id": web_id,
        "lines": [["create", [{"type": "line", "product": product["id"], "unit": product["default_uom"],
                               "quantity": 2.0, "unit_price": Decimal("104.98")}]]],
    }
    sale, = rpc.model("sale.sale", "create", [values], context=context)
    rpc.model("sale.sale", "quote", [sale], context=context)
    rpc.model("sale.sale", "confirm", [sale], context=context)
    state, = rpc.model("sale.sale", "read", [sale], ["state", "shipments", "total_amount"], context=context)
    assert state["state"] == "processing" and state["shipments"]
    assert state["total_amount"] == Decimal("209.96")
    with pytest.raises(RpcError, match="unique"):
        rpc.model("sale.sale", "create", [values], context=context)  # (web_shop, web_id) is unique


# ------------------------------------------------------------------------------------------ PostgreSQL
@pytest.mark.postgres
@pytest.mark.long
@pytest.mark.sandbox_build
def test_postgresql_build_start_clone_and_drop(tmp_path: Path):
    name = f"erp_test_{uuid.uuid4().hex[:10]}"
    source = ErpSandbox(home=tmp_path / "pg", port=free_port(), db_name=name, db_url=PG_URL)
    copy = None
    try:
        source.build(force=True)
        source.start()
        assert source.health()[0]
        copy = source.clone(tmp_path / "pg-clone", free_port())
        copy.start()
        client = _login(copy)
        context = _context(client)
        assert client.model("product.product", "search_count", [], context=context) >= 500
        party = _first_customer(client, context)
        client.model("party.party", "write", [party["id"]], {"name": "Changed On Clone"}, context=context)
        copy.reset()
        client = _login(copy)
        assert client.model("party.party", "read", [party["id"]], ["name"], context=context)[0]["name"] \
            == party["name"]
        pid = copy.info()["running_pid"]
        copy.stop()
        assert not is_alive(pid)
    finally:
        if copy is not None:
            copy.destroy()
        source.destroy()
    assert not source.store.exists() and not source.store.has_snapshot() and not copy.store.exists()


def test_grown_then_copied_catalog_is_sold_and_stocked_like_the_original(tmp_path: Path):
    # The benchmarks' large catalogs: templates grown through the ERP's API, then copied with SQL. A copy
    # must be a product like any other to the ERP: in the web shop, priced, stocked, listed once.
    instance = ErpSandbox.from_env().clone(tmp_path / "erp", free_port())
    try:
        grown = instance.grow(templates=3)
        copied = instance.grow(copies=1)
        copied = {k: copied[k] + v for k, v in instance.grow(copies=1).items()}  # numbered on from the first
        assert {k: copied[k] for k in ("templates", "variants", "moves")} == {"templates": 2 * grown["templates"], "variants": 2 * grown["variants"],
                          "moves": 2 * grown["moves"]}
        instance.reset()  # the copies are in the pristine snapshot
        instance.start()
        rpc = _login(instance)
        shops = rpc.model("web.shop", "search_read", [("name", "in", list(catalog.WEB_SHOP_NAMES))], 0, None,
                          [("id", "ASC")], ["products", "warehouses"], context=_context(rpc))
        assert len(shops) == len(catalog.WEB_SHOP_NAMES)
        context = _context(rpc, locations=shops[0]["warehouses"])
        fields = ["code", "list_price", "quantity"]
        originals = rpc.model("product.product", "search_read", [("code", "like", "B%")] + GOODS, 0, None,
                              [("code", "ASC")], ["id", *fields], context=context)
        originals = [p for p in originals if re.match(r"^B\d{5}-", p["code"])]
        assert len(originals) == grown["variants"] and any(p["quantity"] for p in originals)
        assert all({p["id"] for p in originals} <= set(shop["products"]) for shop in shops)
        for copy in (1, 2):
            copies = rpc.model("product.product", "search_read", [("code", "like", f"R{copy}%")], 0, None,
                               [("code", "ASC")], ["id", *fields], context=context)
            assert [c["code"] for c in copies] == [f"R{copy}{p['code'][1:]}" for p in originals]
            assert [(c["list_price"], c["quantity"]) for c in copies] == [
                (p["list_price"], p["quantity"]) for p in originals]
            assert all({c["id"] for c in copies} <= set(shop["products"]) for shop in shops)
        rpc.logout()
    finally:
        instance.destroy()
