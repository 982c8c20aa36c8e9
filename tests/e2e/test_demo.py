"""The demo command, end to end, as a user runs it: `make demo` twice, then `make stop`.

It runs in its own DEMO_HOME and on free ports, so it never touches the user's own demo. The sandbox ERP
is cloned from the pristine snapshot `make test` built (building it again from scratch would add minutes
and test nothing more: `make test` just ran that build).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time

import pytest
import requests

from tests.conftest import REPO, free_port
from tests.support.demo import demo_processes, run_make

# How long both cross-channel drops may take, from the two orders' placing (see cross_channel).
CROSS_CHANNEL_S = 600
# Two full `make demo` runs with both stores (some 12-14 minutes): `make test-long`, which CI runs too.
pytestmark = [pytest.mark.e2e, pytest.mark.erp, pytest.mark.long, pytest.mark.timeout(2100)]


@pytest.fixture
def demo_env(tmp_path):
    from sandbox.tryton.control import ErpSandbox

    home = tmp_path / "demo"
    ports = {"AIRFLOW_PORT": str(free_port()), "ERP_PORT": str(free_port()), "STORE_PORT": str(free_port()),
             "VENDURE_PORT": str(free_port())}
    ErpSandbox.from_env().clone(home / "erp", int(ports["ERP_PORT"]))
    # The user's environment, minus the test session's own Airflow settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW") and k != "DEMO_VENDURE"}
    env.update(ports, DEMO_HOME=str(home))
    yield env
    subprocess.run(["make", "stop"], cwd=REPO, env=env, capture_output=True, timeout=300)
    # Whatever happened above, no process of this demo outlives the test: a demo left trading in the
    # background would slow every test after it.
    for entry in demo_processes(str(home)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(entry.split(":", 1)[0]), signal.SIGKILL)


def test_demo_runs_end_to_end_twice_and_stop_leaves_nothing(demo_env):
    first, first_s = run_make("demo", demo_env, timeout_s=1500)
    assert "Demo ready" in first
    moved = re.search(r"catalog_sync: \d+ run\(s\) \([^)]*\d+ success[^)]*\): "
                      r"products extracted: (\d+), stock extracted: (\d+)"
                      r".* content published: (\d+)", first)
    assert moved and int(moved.group(1)) >= 500 and int(moved.group(2)) >= 500, first[-3000:]
    assert int(moved.group(3)) >= 150, "the store's products were adopted and their content published"
    booked = re.search(r"orders_sync: \d+ run\(s\) \([^)]*\d+ success[^)]*\): "
                       r".*sales created in the ERP: (\d+)", first)
    assert booked and int(booked.group(1)) >= 1, f"the shopper's orders flowed into the ERP:\n{first[-3000:]}"
    fulfilled = re.search(r"Orders ledger: .*?(\d+) fulfilled", first)
    assert fulfilled and int(fulfilled.group(1)) >= 1, f"and shipments flowed back to the store:\n{first[-3000:]}"
    url = f"http://127.0.0.1:{demo_env['AIRFLOW_PORT']}"
    assert requests.get(f"{url}/api/v2/monitor/health", timeout=10).status_code == 200
    assert "password:" in first  # the one-time summary for the local demo
    orders = re.search(r"Store: .* (\d+) products, (\d+) variants, (\d+) orders so far", first)
    assert orders, first[-3000:]
    assert int(orders.group(1)) >= 100 and int(orders.group(2)) >= 500 and int(orders.group(3)) >= 1
    vendure = re.search(r"Vendure: .* (\d+) products, (\d+) variants, (\d+) orders so far", first)
    assert vendure and int(vendure.group(2)) >= 500 and int(vendure.group(3)) >= 1, first[-3000:]
    published = re.search(r"catalog_publish__store_vendure: \d+ run\(s\) \([^)]*\d+ success", first)
    assert published, f"the second store's catalog publish ran:\n{first[-3000:]}"
    booked = re.search(r"orders_sync__store_vendure: \d+ run\(s\) \([^)]*\d+ success[^)]*\): "
                       r".*sales created in the ERP: (\d+)", first)
    assert booked and int(booked.group(1)) >= 1, f"Vendure's orders flowed into the ERP:\n{first[-3000:]}"
    cross_channel(demo_env)

    second, second_s = run_make("demo", demo_env, timeout_s=900)
    assert "Demo ready" in second and re.search(r"catalog_sync: \d+ run\(s\) \([^)]*\d+ success", second)
    assert "Airflow already running" in second
    print(f"make demo: first run {first_s:.0f}s, second run {second_s:.0f}s")

    _, stop_s = run_make("stop", demo_env, timeout_s=300)
    print(f"make stop: {stop_s:.0f}s")
    assert demo_processes(demo_env["DEMO_HOME"]) == []
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/api/v2/monitor/health", timeout=5)


def cross_channel(env: dict[str, str]) -> None:
    """With the demo running under the scheduler: an order placed in each store becomes one ERP sale of that
    store's web shop, and lowers the other store's availability of its SKU. Vendure's shopper keeps buying;
    the Shopify emulator's shopper is paused meanwhile: its staff cancel any of the last 20 orders, ours
    too, and an order cancelled before it is booked rightly never becomes a sale."""
    from pathlib import Path

    from erpsync.shopify.settings import ShopifySettings
    from erpsync.tryton.client import TrytonClient
    from erpsync.tryton.rpc import TrytonRpc
    from sandbox.airflow_local import AirflowLocal, wait_for
    from sandbox.demo import SHOPPER
    from sandbox.shopify.control import ShopifyEmulator
    from sandbox.tryton import catalog
    from sandbox.tryton.control import ErpSandbox
    from sandbox.vendure.control import VendureServer
    from sandbox.vendure.shopper import Guest, guest_checkout
    from tests.sandbox.conftest_vendure import product_store
    from tests.support.offers import deep_in_every_warehouse, offered, well_stocked

    home = Path(env["DEMO_HOME"])
    emulator = ShopifyEmulator(home / "shopify", port=int(env["STORE_PORT"]))
    shop = ShopifySettings(shop_url=emulator.url, access_token=emulator.token()).store()
    server = VendureServer(home / "vendure", int(env["VENDURE_PORT"]))
    outlet = product_store(server)
    erp = ErpSandbox(home=home / "erp", port=int(env["ERP_PORT"]))
    admin = TrytonClient(TrytonRpc(erp.url, erp.info()["db_name"], "admin", erp.admin_password_file.read_text().strip()),
                         web_shop=catalog.WEB_SHOP_NAME)

    # Deep in every ERP warehouse: whichever warehouse the ERP books a sale from, both stores offer its units.
    warehouse_url = env.get("WAREHOUSE_URL") or f"sqlite:///{home / 'warehouse.sqlite'}"
    emulator.admin("POST", "/shopper/stop", {})
    try:
        on_vendure, on_shopify = well_stocked(shop, outlet, 2, at_least=30,
                                              among=deep_in_every_warehouse(warehouse_url, 30))
        in_shop, in_outlet = offered(shop, [on_vendure, on_shopify]), offered(outlet, [on_vendure, on_shopify])
        variant = next(v for page in outlet.iter_variants(skus=[on_vendure]) for v in page)
        started = time.monotonic()
        sold = guest_checkout(server.shop(), [(variant.variant_id, 2)],
                              Guest("Ada", "Jensen", "ada@example.com", "1 Oak Avenue", "Austin", "73301", "TX", "US"))
        placed = emulator.admin("POST", "/orders", {"lines": [{"sku": on_shopify, "quantity": 3}],
                                                    "email": "ben@example.com", "first_name": "Ben", "last_name": "Silva"})

        def flows_at(dag_ids: list[str]) -> str:
            """What the flows of one direction were doing when a wait on it ran out."""
            airflow = AirflowLocal(home=home / "airflow", port=int(env["AIRFLOW_PORT"]))
            http = airflow.session()
            return "\n".join(airflow.runs_report(http, dag_id, scheduler_lines=0) for dag_id in dag_ids)

        # Vendure's shopper may buy the same SKUs meanwhile: the figure drops by at least our units. The two
        # directions run at once, so they are waited for together, each timed when its drop shows. On CI's
        # two cores, beside the Celery demo, with this demo's SQLite metadata database taking one writer at
        # a time, a flow's run took up to 210 s and a task waited minutes as `scheduled`: a chain of two
        # runs (the order flow, then the other store's publish) once took longer than 300 s.
        seen: dict[str, float] = {}

        def dropped() -> bool:
            now, v, s = time.monotonic() - started, on_vendure, on_shopify
            if "vendure_to_shopify" not in seen and offered(shop, [v])[v] + 2 <= in_shop[v]:
                seen["vendure_to_shopify"] = now
            if "shopify_to_vendure" not in seen and offered(outlet, [s])[s] + 3 <= in_outlet[s]:
                seen["shopify_to_vendure"] = now
            return len(seen) == 2

        try:
            wait_for(dropped, timeout_s=CROSS_CHANNEL_S, interval_s=2,
                     what=f"Shopify's {on_vendure} to drop by the 2 sold in Vendure and "
                          f"Vendure's {on_shopify} by the 3 sold in Shopify")
        except TimeoutError as error:
            flows = ["orders_sync", "catalog_publish__store_vendure", "orders_sync__store_vendure",
                     "catalog_sync"]
            raise AssertionError(f"{error}; seen: {seen}\n{flows_at(flows)}") from None
        vendure_to_shopify, either = seen["vendure_to_shopify"], max(seen.values())

        def sales(web_id: str) -> list[dict]:
            return admin.model("sale.sale", "search_read", [("web_id", "=", web_id)], 0, None, None, ["web_shop.name"])

        wait_for(lambda: sales(sold["id"]) and sales(placed["id"]), timeout_s=300, interval_s=2,
                 what="both orders booked in the ERP")
        assert [s["web_shop."]["name"] for s in sales(sold["id"])] == [catalog.VENDURE_WEB_SHOP_NAME]
        assert [s["web_shop."]["name"] for s in sales(placed["id"])] == [catalog.WEB_SHOP_NAME]
        print(f"cross-channel under the scheduler: Vendure -> Shopify {vendure_to_shopify:.0f}s, "
              f"Shopify -> Vendure {seen['shopify_to_vendure']:.0f}s, both ways within {either:.0f}s")
    finally:
        emulator.admin("POST", "/shopper/start", SHOPPER)
