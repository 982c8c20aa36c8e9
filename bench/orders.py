"""Order flow benchmark against the real sandbox systems: orders booked per second by the flow's ingest
step, next to the ERP's own batched create-quote-confirm rate for the same orders, measured directly over
JSON-RPC in the same run (the flow's extra work: customers, addresses, lines from staging, the ledger)."""

from __future__ import annotations

import logging
import random
import statistics
import time
from dataclasses import replace

from bench.systems import systems_for
from erpsync.tryton.client import TrytonClient
from tests.support.flows import OrderSteps

log = logging.getLogger("bench.orders")


class RecordingClient(TrytonClient):
    """The real client, keeping the sales it was asked to create."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.drafts = []

    def create_sales(self, drafts):
        self.drafts.extend(drafts)
        return super().create_sales(drafts)


def _place(systems, count: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    shop = systems.steps.store
    variants = [v.sku for page in shop.iter_variants() for v in page if v.product_status == "ACTIVE"]
    placed = 0
    while placed < count:
        lines = [{"sku": rng.choice(variants), "quantity": rng.randint(1, 2)} for _ in range(rng.randint(1, 3))]
        try:
            systems.store.admin("POST", "/orders", {
                "lines": lines, "email": f"bench{rng.randint(1, count // 2)}@example.com",
                "first_name": "Bench", "last_name": f"Buyer{placed}", "shipping_price": "4.90", "tax_rate": "0.08"})
            placed += 1
        except Exception:  # noqa: BLE001 - out of stock for a line: pick others
            continue


def _measure(systems, count: int, seed: int) -> dict:
    _place(systems, count, seed=seed)
    erp = systems.steps.erp
    recording = RecordingClient(erp.rpc, web_shop=erp.web_shop_name)
    steps = OrderSteps(erp=recording, store=systems.fresh_store(), engine=systems.steps.engine)
    staged = steps.extract_and_stage()
    started = time.monotonic()
    result = steps.book(staged["run_id"])
    flow_s = time.monotonic() - started
    if result.confirmed != count:
        raise AssertionError(f"the flow booked {result.confirmed} of {count} orders: {result}")
    # The same sales again (new external ids), straight to the ERP: create, quote, confirm, as many a
    # call as the flow sends.
    direct = [replace(d, web_id=f"{d.web_id}/direct") for d in recording.drafts]
    started = time.monotonic()
    for start in range(0, len(direct), erp.sale_batch_size):
        created = erp.create_sales(direct[start:start + erp.sale_batch_size])
        ids = [c.sale_id for c in created]
        erp.quote_sales(ids)
        erp.confirm_sales(ids)
    direct_s = time.monotonic() - started
    flow_rate = result.confirmed / flow_s
    direct_rate = len(direct) / direct_s
    log.info("%d orders: flow %.1f/s, ERP directly %.1f/s (ratio %.3f)", count, flow_rate, direct_rate,
             flow_rate / direct_rate)
    return {"orders": result.confirmed, "flow_s": round(flow_s, 2), "flow_orders_per_s": round(flow_rate, 2),
            "direct_s": round(direct_s, 2), "direct_orders_per_s": round(direct_rate, 2),
            "ratio": round(flow_rate / direct_rate, 3)}


def run(quick: bool = False) -> dict:
    """``order_ingest_ratio``: the median over repeats, each a new set of orders booked by the flow and
    then straight to the ERP."""
    count, repeats = (50, 1) if quick else (100, 3)
    systems = systems_for("demo")
    try:
        systems.steps.run(full=True)  # the catalog in the store, SKUs staged
        runs = [_measure(systems, count, seed=5 + repeat) for repeat in range(repeats)]
        return {"order_ingest_ratio": statistics.median(r["ratio"] for r in runs),
                "details": {"orders": {"runs": runs, "sale_batch_size": systems.steps.erp.sale_batch_size}}}
    finally:
        systems.store.stop()
        systems.erp.stop()
        systems.steps.engine.dispose()


if __name__ == "__main__":
    import json
    import sys

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("urllib3", "erpsync", "great_expectations", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
