"""The real sandbox systems a benchmark runs against: the ERP (demo size, or grown to ~10,000 or ~100,000
SKUs once and reset from its own snapshot afterwards), a fresh store emulator and a fresh SQLite
warehouse."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass

from erpsync.shopify.settings import ShopifySettings
from erpsync.tryton.client import TrytonClient
from erpsync.tryton.rpc import TrytonRpc
from erpsync.tryton.settings import TrytonSettings
from erpsync.warehouse.engine import make_engine
from erpsync.warehouse.migrate import upgrade
from sandbox.airflow_local import REPO
from sandbox.shopify.control import ShopifyEmulator
from sandbox.tryton import catalog
from sandbox.tryton.control import ErpSandbox
from tests.conftest import STORE_LOCATIONS, free_port
from tests.support.flows import CatalogSteps

log = logging.getLogger("bench")

BENCH_HOME = REPO / "var" / "bench"
# How each size is made from the next smaller one: 315 templates of ~3 variants through the ERP's own API
# and 9 SQL copies of them (with the demo's 540 SKUs, 9,990), then 100 more copies (104,490).
PARENT = {"10k": "demo", "100k": "10k"}
GROWTH = {"10k": [{"templates": 315}, {"copies": 9}], "100k": [{"copies": 100}]}


@dataclass
class Systems:
    erp: ErpSandbox
    store: ShopifyEmulator
    steps: CatalogSteps
    admin: TrytonClient

    def fresh_store(self):
        """A new client on the store (its usage figures start at zero), at the plan the store is on."""
        self.steps.store = ShopifySettings(shop_url=self.store.url, access_token=self.store.token()).store()
        return self.steps.store


def _prepared(size: str) -> ErpSandbox:
    """A stopped ERP of the size whose pristine snapshot holds its catalog: cloned from the next smaller
    size and grown, once, then kept under var/bench until its recipe (demo data, growth) changes."""
    if size == "demo":
        parent = ErpSandbox.from_env()
        parent.build()
    else:
        parent = _prepared(PARENT[size])
    home = BENCH_HOME / f"erp-{size}"
    built_from = home / "built-from"
    recipe = _recipe(size)
    if home.exists() and (not built_from.exists() or built_from.read_text() != recipe):
        shutil.rmtree(home)  # made from another recipe: clone (and grow) again
    if not (home / "sandbox.json").exists():
        shutil.rmtree(home, ignore_errors=True)
        instance = parent.clone(home, free_port())
        for step in GROWTH.get(size, []):
            log.info("growing the ERP towards %s SKUs (once): %s", size, instance.grow(**step))
        built_from.write_text(recipe)
    return ErpSandbox(home=home, port=free_port())


def _recipe(size: str) -> str:
    """What a size is made of: the demo data's fingerprint and each growth step down to it."""
    if size == "demo":
        return json.loads(ErpSandbox.from_env().state_file.read_text())["fingerprint"]
    return f"{_recipe(PARENT[size])} + {json.dumps(GROWTH[size])}"


def erp_instance(size: str, workers: int = 1) -> ErpSandbox:
    """A started ERP for the size, reset to its pristine data, with ``workers`` server processes."""
    instance = _prepared(size)
    instance.workers = workers
    instance.reset()
    instance.start()
    return instance


def systems_for(size: str, plan: str = "PLUS", erp_workers: int = 1) -> Systems:
    """The ERP of the size (with ``erp_workers`` > 1: that many server processes, and the catalog steps
    extract products and stock at once, as the DAG's two extract tasks do), a fresh store on ``plan`` and
    a fresh SQLite warehouse."""
    erp = erp_instance(size, erp_workers)
    store = ShopifyEmulator(BENCH_HOME / f"store-{size}", port=free_port(), plan=plan)
    shutil.rmtree(store.home, ignore_errors=True)
    store.start()
    store.admin("POST", "/seed", {"locations": STORE_LOCATIONS, "products": []})
    warehouse_file = BENCH_HOME / f"warehouse-{size}.sqlite"
    for path in BENCH_HOME.glob(f"warehouse-{size}.sqlite*"):
        path.unlink()
    engine = make_engine(f"sqlite:///{warehouse_file}")
    upgrade(engine)
    info = erp.info(show_password=True)
    client = TrytonSettings(base_url=erp.url, database=info["db_name"], login=info["login"],
                            password=info["password"], web_shop=catalog.WEB_SHOP_NAME).client()
    admin_rpc = TrytonRpc(erp.url, erp.db_name, "admin", erp.admin_password_file.read_text().strip())
    shop = ShopifySettings(shop_url=store.url, access_token=store.token()).store()
    steps = CatalogSteps(erp=client, store=shop, engine=engine, parallel_extract=erp_workers > 1)
    return Systems(erp, store, steps, TrytonClient(admin_rpc, web_shop=catalog.WEB_SHOP_NAME))
