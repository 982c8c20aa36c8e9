"""Crash injection: run one step of a flow in a process of its own and kill it (SIGKILL, as the kernel's
OOM killer or a lost worker does) right after a side effect reached the other system, before the step
could record it.

The boundary is a method of the product's clients: after its ``after_calls``-th call returns (the ERP
created the sales, the store applied the write), the process kills itself. The caller then reruns the step
as Airflow would (a retry of the same task: the same run id) and checks what the other system holds.

Run as ``python -m tests.support.crash '<json>'`` (what :func:`kill_at` does).
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

from tests.conftest import REPO

BOUNDARIES = {
    "erp_created_sales": "erpsync.tryton.client:TrytonClient.create_sales",
    "store_set_inventory": "erpsync.shopify.store:ShopifyStore.set_inventory",
    "store_set_product": "erpsync.shopify.store:ShopifyStore.set_product",
    "store_created_fulfillment": "erpsync.shopify.store:ShopifyStore.create_fulfillment",
    "store_created_customer": "erpsync.shopify.store:ShopifyStore.create_customer",
}


@dataclass
class Crash:
    boundary: str  # a key of BOUNDARIES
    step: str  # "book", "fulfill" (orders), "customers" or a catalog publish step ("publish_inventory", ...)
    erp: dict[str, Any]  # TrytonSettings fields
    store: dict[str, str]  # {"url": ..., "token": ...}
    warehouse_url: str
    run_id: str
    after_calls: int = 1
    # catalog steps: {"run_id"}; customers: {"direction"}
    staged: dict[str, Any] = field(default_factory=dict)
    erp_options: dict[str, Any] = field(default_factory=dict)  # e.g. {"sale_batch_size": 10}


def kill_at(crash: Crash) -> subprocess.CompletedProcess:
    """Run the step in a child process that SIGKILLs itself at the boundary; return how it ended."""
    return subprocess.run([sys.executable, "-m", "tests.support.crash", json.dumps(asdict(crash))], cwd=REPO,
                          env=os.environ, capture_output=True, text=True, timeout=300)


def _die_after(target: str, calls: int) -> None:
    module_name, qualified = target.split(":")
    owner_name, method_name = qualified.split(".")
    owner = getattr(importlib.import_module(module_name), owner_name)
    original = getattr(owner, method_name)
    seen = []

    def then_die(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        seen.append(1)
        if len(seen) >= calls:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(owner, method_name, then_die)


def main() -> None:
    crash = Crash(**json.loads(sys.argv[1]))
    from erpsync.shopify.settings import ShopifySettings
    from erpsync.tryton.settings import TrytonSettings
    from erpsync.warehouse.engine import make_engine
    from tests.support.flows import CatalogSteps, OrderSteps

    erp = TrytonSettings(**{**crash.erp, **crash.erp_options}).client()
    store = ShopifySettings(shop_url=crash.store["url"], access_token=crash.store["token"]).store()
    engine = make_engine(crash.warehouse_url)
    _die_after(BOUNDARIES[crash.boundary], crash.after_calls)
    if crash.step == "book":
        OrderSteps(erp=erp, store=store, engine=engine).book(run_id=crash.run_id)
    elif crash.step == "fulfill":
        OrderSteps(erp=erp, store=store, engine=engine).fulfill(run_id=crash.run_id)
    elif crash.step == "customers":
        import datetime as dt

        from erpsync.sync.customers.run import sync_customers

        now = dt.datetime.now(dt.UTC)
        sync_customers(erp, store, engine, direction=crash.staged["direction"],
                       window_end=now + dt.timedelta(seconds=1), run_id=crash.run_id, now=now,
                       lag=dt.timedelta(seconds=crash.staged.get("lag_s", 0)))
    else:
        CatalogSteps(erp=erp, store=store, engine=engine).publish(crash.staged, crash.step)
    sys.exit(3)  # the boundary was never reached: the test is wrong, not the product


if __name__ == "__main__":
    main()
