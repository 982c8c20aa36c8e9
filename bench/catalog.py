"""Catalog flow benchmark against the real sandbox systems: run times of a no-change and of a 1%-change
run (the flow's own steps, without Airflow's scheduling overhead), and publish throughput as a fraction
of the store's documented rate-limit ceiling.

Sizes: the demo catalog (540 SKUs, ``--quick``), 9,990 and 104,490 SKUs (the demo ERP grown with
``ErpSandbox.grow``, built once under var/bench and reset from its own snapshot afterwards; see
bench.systems). The 1%-change run's mutations are checked against the store values that changed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import statistics
import time
from decimal import Decimal
from urllib.parse import quote

from bench.systems import BENCH_HOME, Systems, systems_for
from erpsync.sync.catalog import publish as catalog_publish
from erpsync.sync.catalog.config import CatalogConfig
from tests.support.erp import receive_many

log = logging.getLogger("bench.catalog")

INVENTORY_CALL_LEVELS = 250
STANDARD_RESTORE = 100.0  # points per second
SET_UP_RESTORE = 1_000_000  # points per second: the first publish never waits for the bucket
# The ERP as Tryton is deployed, one worker process per core: the DAG's two extracts (products, stock) run
# at once, each on a core; one process serves one call at a time on one core (measured at 10k: 55.6 s for
# the two extracts one after the other on one process, 31.9 s at once on two).
ERP_WORKERS = 2
NOOP_REPEATS = 7  # a no-op run takes ~0.1 s: enough repeats that its median is not one noisy run
THROUGHPUT_REPEATS = 3
RECEIVE_BATCH = 50  # stock moves received per ERP call in the 1% change (one at a time: minutes at 100k)


def _timed_run(systems: Systems, full: bool = False) -> tuple[float, dict]:
    """One catalog run (CatalogSteps.run), with the time of each phase."""
    steps = systems.steps
    systems.fresh_store()
    phases: dict[str, float] = {}
    started = time.monotonic()
    result = steps.run(full=full, phases=phases)
    seconds = time.monotonic() - started
    return seconds, {
        "store_requests": steps.store.usage()["requests"],
        "mutations": sum(result[s].applied + result[s].failed for s in catalog_publish.STEPS),
        "changed": {s: result[s].changed for s in catalog_publish.STEPS},
        "skus": result["staged_products"].rows,
        "phases_s": {phase: round(s, 2) for phase, s in phases.items()},
    }


def _change_one_percent(systems: Systems) -> dict:
    """Reprice 1% of the templates and receive stock for 1% of the variants, in the ERP; return what was
    changed and the SKUs whose store values may change."""
    admin = systems.admin
    templates = admin.model("product.template", "search", [("active", "=", True), ("salable", "=", True)],
                            0, None, [("id", "ASC")])
    variants = admin.model("product.product", "search", [("active", "=", True), ("salable", "=", True)],
                           0, None, [("id", "ASC")])
    repriced = templates[:: 100]
    rows = admin.model("product.template", "read", repriced, ["list_price", "products"])
    for row in rows:
        admin.model("product.template", "write", [row["id"]],
                    {"list_price": (row["list_price"] * Decimal("1.05")).quantize(Decimal("0.01"))})
    restocked = variants[:: 100]
    for start in range(0, len(restocked), RECEIVE_BATCH):
        receive_many(admin, restocked[start:start + RECEIVE_BATCH], admin.web_shop.warehouses[0].id,
                     Decimal(5))
    touched = [p for row in rows for p in row["products"][:1]] + restocked
    skus = [row["code"] for row in admin.model("product.product", "read", touched, ["code"])]
    return {"templates_repriced": len(repriced), "variants_restocked": len(restocked), "skus": skus}


def _store_values(systems: Systems, skus: list[str]) -> dict[tuple[str, str], str]:
    """What the store shows for these SKUs' products: every variant's price and level, read through the
    emulator's inspection endpoint (outside the rate limit, so the timed run starts with a full bucket)."""
    values: dict[tuple[str, str], str] = {}
    for sku in skus:
        product = systems.store.admin("GET", f"/products?sku={quote(sku)}")
        for variant in product["variants"]:
            values[(variant["sku"], "price")] = variant["price"]
            for location, level in variant["inventory"].items():
                values[(variant["sku"], location)] = json.dumps(level, sort_keys=True)
    return values


def _inventory_throughput(systems: Systems, repeats: int = THROUGHPUT_REPEATS) -> dict:
    """The run with the median ratio of ``repeats`` runs (each ~8 s: a few hundred milliseconds of noise
    move one run's ratio by several percent), with every run's ratio."""
    runs = [_inventory_run(systems, safety_stock) for safety_stock in range(1, repeats + 1)]
    median = sorted(runs, key=lambda run: run["ratio"])[len(runs) // 2]
    return {**median, "ratios": [run["ratio"] for run in runs]}


def _inventory_run(systems: Systems, safety_stock: int) -> dict:
    """Every level changes (the safety stock goes up by one); the bucket is emptied first so that the
    figure is the steady state, not the initial burst the bucket allows."""
    systems.store.admin("PUT", "/plan", {"plan": "STANDARD"})
    systems.store.admin("PUT", "/faults", {"seed": 1, "rules": [
        {"kind": "throttle_storm", "rate": 1.0, "count": 1, "match": "inventorySetQuantities"}]})
    steps = systems.steps
    systems.fresh_store()
    steps.config = CatalogConfig(safety_stock=safety_stock)
    staged = steps.extract_and_stage()
    started = time.monotonic()
    result = steps.publish(staged, "publish_inventory", full=True)
    seconds = time.monotonic() - started
    systems.store.admin("DELETE", "/faults")
    steps.config = CatalogConfig()
    usage = steps.store.usage()
    calls = -(-result.applied // INVENTORY_CALL_LEVELS)
    cost_per_call = usage["points"] / calls  # what the store charged per 250-level call (the reads cost ~0)
    rate = result.applied / seconds
    # The ceiling the plan allows: restore rate / cost of a 250-level call x 250 (issue 7's definition);
    # the documented floor of 10 points per call gives a stricter one.
    ceiling = STANDARD_RESTORE / cost_per_call * INVENTORY_CALL_LEVELS
    floor_ceiling = STANDARD_RESTORE / 10.0 * INVENTORY_CALL_LEVELS
    return {"levels": result.applied, "seconds": round(seconds, 2), "levels_per_s": round(rate, 1),
            "points_per_call": round(cost_per_call, 2), "ceiling_levels_per_s": round(ceiling, 1),
            "ratio": round(rate / ceiling, 3), "ratio_vs_10_point_calls": round(rate / floor_ceiling, 3),
            "throttled": usage["throttled"]}


def _price_throughput(systems: Systems, variants: int = 900) -> dict:
    """Reprice ~``variants`` variants in the ERP; publish at the Standard plan; compare with the ceiling
    for this catalog's shape (productVariantsBulkUpdate: one product per call, 10 + 0.2 per variant)."""
    systems.store.admin("PUT", "/plan", {"plan": "STANDARD"})
    admin = systems.admin
    templates = admin.model("product.template", "search_read", [("active", "=", True), ("salable", "=", True)],
                            0, variants // 3, [("id", "DESC")], ["list_price", "products"])
    for row in templates:
        admin.model("product.template", "write", [row["id"]],
                    {"list_price": (row["list_price"] * Decimal("1.1")).quantize(Decimal("0.01"))})
    steps = systems.steps
    systems.fresh_store()
    systems.store.admin("PUT", "/faults", {"seed": 1, "rules": [
        {"kind": "throttle_storm", "rate": 1.0, "count": 1, "match": "productVariantsBulkUpdate"}]})
    staged = steps.extract_and_stage()
    started = time.monotonic()
    result = steps.publish(staged, "publish_prices")
    seconds = time.monotonic() - started
    systems.store.admin("DELETE", "/faults")
    usage = steps.store.usage()
    calls = max(1, usage["requests"] - usage["throttled"])
    per_product = result.applied / calls
    # Documented cost of productVariantsBulkUpdate: 10 + 0.2 per variant (dynamic complexity).
    ceiling = STANDARD_RESTORE / (10 + 0.2 * per_product) * per_product
    rate = result.applied / seconds
    return {"variants": result.applied, "products": calls, "seconds": round(seconds, 2),
            "points_per_call": round(usage["points"] / calls, 2), "variants_per_s": round(rate, 1),
            "ceiling_variants_per_s": round(ceiling, 1), "ratio": round(rate / ceiling, 3)}


def bench_size(size: str, repeats: int = NOOP_REPEATS) -> dict:
    # The first full publish is set-up, not a figure: through the real API, with the store's rate replaced
    # by one that never makes it wait (at the largest plan, 2,000 points/s, ~34,800 productSet calls of ~22
    # points would wait ~6.5 min at 100k); then the Standard plan for everything measured.
    systems = systems_for(size, plan="ENTERPRISE", erp_workers=ERP_WORKERS)
    try:
        systems.store.admin("PUT", "/plan", {"plan": "ENTERPRISE", "restore_rate": SET_UP_RESTORE})
        # Always published anew: a store and warehouse saved after the first publish and restored later did
        # not match (the 1% run then sent 3,484 writes where 2,091 values changed), so every size pays its
        # first publish (the ERP's reads, ~7 minutes at 100k, bound it).
        initial, counts = _timed_run(systems, full=True)
        skus = counts["skus"]
        log.info("%s: initial publish of %d SKUs in %.1fs (%s)", size, skus, initial, counts["phases_s"])
        systems.store.admin("PUT", "/plan", {"plan": "STANDARD"})
        noop = []
        for _ in range(repeats):
            seconds, noop_counts = _timed_run(systems)
            noop.append(seconds)
            if noop_counts["store_requests"]:
                raise AssertionError(f"a run with nothing changed sent {noop_counts['store_requests']} store requests")
        changes = _change_one_percent(systems)
        before = _store_values(systems, changes["skus"])
        delta_s, delta_counts = _timed_run(systems)
        after = _store_values(systems, changes["skus"])
        store_changed = sum(1 for key, value in after.items() if before.get(key) != value)
        figures = {
            "skus": skus, "initial_publish_s": round(initial, 1),
            "initial_publish_phases_s": counts["phases_s"], "noop_runs_s": [round(s, 3) for s in noop],
            "noop_run_s": round(statistics.median(noop), 3), "noop_store_requests": 0,
            "delta_run_s": round(delta_s, 2), "delta_phases_s": delta_counts["phases_s"],
            "delta_mutations": delta_counts["mutations"],
            "delta_store_values_changed": store_changed, "delta_store_requests": delta_counts["store_requests"],
            "delta_changed": delta_counts["changed"],
            "delta_erp_changes": {k: v for k, v in changes.items() if k != "skus"},
        }
        log.info("%s: no-op %.3fs, 1%% change %.2fs (%d mutations, %d store values changed)", size,
                 figures["noop_run_s"], delta_s, figures["delta_mutations"], store_changed)
        if size == "10k":
            figures["inventory_throughput"] = _inventory_throughput(systems)
            figures["price_throughput"] = _price_throughput(systems)
        return figures
    finally:
        systems.store.stop()
        systems.erp.stop()
        systems.steps.engine.dispose()


def run(quick: bool = False) -> dict:
    """Flat metrics (see bench/README): demo size only with ``quick``, else ~10,000 and ~100,000 SKUs."""
    BENCH_HOME.mkdir(parents=True, exist_ok=True)
    if quick:
        demo = bench_size("demo")
        return {"noop_run_s_demo": demo["noop_run_s"], "delta_run_s_demo": demo["delta_run_s"],
                "details": {"catalog": {"demo": demo}}}
    sizes = {size: bench_size(size) for size in ("10k", "100k")}
    small, large = sizes["10k"], sizes["100k"]
    return {
        "publish_inventory_ratio": small["inventory_throughput"]["ratio"],
        "publish_price_ratio": small["price_throughput"]["ratio"],
        "noop_run_s_10k": small["noop_run_s"], "noop_run_s_100k": large["noop_run_s"],
        "noop_growth": round(large["noop_run_s"] / small["noop_run_s"], 2),
        "noop_store_requests_100k": large["noop_store_requests"],
        "delta_run_s_10k": small["delta_run_s"], "delta_run_s_100k": large["delta_run_s"],
        "delta_mutations_100k": large["delta_mutations"],
        "delta_required_100k": large["delta_store_values_changed"],
        "skus_10k": small["skus"], "skus_100k": large["skus"],
        "details": {"catalog": sizes},
    }


if __name__ == "__main__":
    import sys

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("urllib3", "erpsync", "great_expectations"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2, default=str))
    print(f"at {dt.datetime.now(dt.UTC).isoformat()}")
