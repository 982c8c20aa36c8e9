"""Order reads from the store, the first bound of a sale event: order versions read per second through the
flow's own read (``ShopifyStore.iter_orders`` over a window, paced by its cost bucket) on the Standard
plan, from the bucket emptied first (the steady state), next to the ceiling the plan allows at the points
each order actually cost in that run (restore rate ÷ actual points per order), and the cheap stamps
(``order_stamps``: id and updatedAt) read the same way. A store emulator of its own, its orders placed
through its admin API (1-3 lines each; some refunded, some cancelled: they carry refunds and cost more)."""

from __future__ import annotations

import datetime as dt
import logging
import random
import time

from bench.systems import BENCH_HOME
from erpsync.common.window import Window
from erpsync.shopify.settings import ShopifySettings
from sandbox.shopify.control import ShopifyEmulator
from sandbox.shopify.settings import PLAN_RESTORE_RATES
from tests.conftest import STORE_LOCATIONS, free_port

log = logging.getLogger("bench.order_reads")

PRODUCTS = 40  # x 3 variants, stock deep enough that no order is refused
STANDARD_RESTORE = float(PLAN_RESTORE_RATES["STANDARD"])  # points/s


def _seed(emulator: ShopifyEmulator) -> list[str]:
    products = [{"title": f"Read Bench {n}", "option_name": "Size", "variants": [
        {"sku": f"RB-{n:03d}-{size}", "option": size, "price": "19.90",
         "inventory": {location: 100_000 for location in STORE_LOCATIONS}} for size in ("S", "M", "L")]}
        for n in range(PRODUCTS)]
    emulator.admin("POST", "/seed", {"locations": STORE_LOCATIONS, "products": products})
    return [variant["sku"] for product in products for variant in product["variants"]]


def _place(emulator: ShopifyEmulator, skus: list[str], count: int, seed: int) -> dict[str, int]:
    """``count`` orders of 1-3 lines; one in ten then refunded (one unit of its first line), one in twenty
    cancelled: what a sale event's orders look like a few minutes later."""
    rng = random.Random(seed)
    made = {"orders": 0, "lines": 0, "refunded": 0, "cancelled": 0}
    for n in range(count):
        lines = [{"sku": sku, "quantity": rng.randint(1, 2)} for sku in rng.sample(skus, rng.randint(1, 3))]
        order = emulator.admin("POST", "/orders", {"lines": lines, "first_name": "Read", "last_name": f"B{n}",
                                                  "email": f"read{n}@example.com"})
        number = order["id"].rsplit("/", 1)[-1]
        made["orders"] += 1
        made["lines"] += len(lines)
        if n % 10 == 3:
            refunded = {"lines": [{"sku": lines[0]["sku"], "quantity": 1}]}
            emulator.admin("POST", f"/orders/{number}/refund", refunded)
            made["refunded"] += 1
        elif n % 20 == 7:
            emulator.admin("POST", f"/orders/{number}/cancel", {})
            made["cancelled"] += 1
    return made


def _read(emulator: ShopifyEmulator, what: str) -> dict:
    """One timed read of every order, from an emptied bucket, with a new client (its usage from zero)."""
    emulator.admin("PUT", "/faults", {"seed": 1, "rules": [
        {"kind": "throttle_storm", "rate": 1.0, "count": 1, "match": "orders("}]})
    store = ShopifySettings(shop_url=emulator.url, access_token=emulator.token()).store()
    window = Window(None, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    sizes, ends = [], []
    started = time.monotonic()
    for page in (store.iter_orders(window) if what == "orders" else store.order_stamps(window)):
        sizes.append(len(page))
        ends.append(time.monotonic())
    emulator.admin("DELETE", "/faults")
    usage = store.usage()
    read = sum(sizes)
    points = usage["points"] / max(1, read)
    ceiling = STANDARD_RESTORE / points
    # The steady state: from the first page's answer on (before it, the bucket fills from empty to the
    # first page's requested cost); a read of one page has none.
    steady = (read - sizes[0]) / (ends[-1] - ends[0]) if len(sizes) > 1 else None
    return {"read": read, "pages": len(sizes), "seconds": round(ends[-1] - started, 2),
            "first_page_s": round(ends[0] - started, 2), "per_s": steady and round(steady, 2),
            "points_per_order": round(points, 2), "ceiling_per_s": round(ceiling, 2),
            "ratio": steady and round(steady / ceiling, 3), "usage": usage}


def run(quick: bool = False) -> dict:
    """``order_read_per_s`` and its ``order_read_ratio`` to the plan's ceiling; ``order_read_points`` per
    order; ``order_stamps_ceiling_per_s``: what the plan allows for the stamps (one page of 250 in quick)."""
    count = 60 if quick else 600
    emulator = ShopifyEmulator(BENCH_HOME / "order-reads-store", port=free_port(), plan="STANDARD")
    emulator.start()
    try:
        emulator.admin("POST", "/reset")
        emulator.admin("DELETE", "/faults")
        made = _place(emulator, _seed(emulator), count, seed=11)
        orders, stamps = _read(emulator, "orders"), _read(emulator, "stamps")
        for figures in (orders, stamps):
            if figures["read"] != made["orders"]:
                raise RuntimeError(f"read {figures['read']} orders of the {made['orders']} placed")
        log.info("orders: %s; stamps: %s", orders, stamps)
        return {"order_read_per_s": orders["per_s"], "order_read_points": orders["points_per_order"],
                "order_read_ratio": orders["ratio"], "order_stamps_ceiling_per_s": stamps["ceiling_per_s"],
                "details": {"order_reads": {"placed": made, "orders": orders, "stamps": stamps}}}
    finally:
        emulator.stop()


if __name__ == "__main__":
    import json
    import sys

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("urllib3", "erpsync"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
