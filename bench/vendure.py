"""Publishing stock to Vendure (`publish_vendure_ratio`): inventory levels written per second by the product's
VendureStore.set_inventory, against the same Vendure server taking the same writes directly.

A Vendure of its own (a temporary home, a free port) is seeded with the demo ERP's catalog (the payload the
store emulator gets, sandbox.demo.store_seed); the batch is every variant at every stock location. Each
round writes new quantities to every level three times: through the product at its default pacing (40
requests/s), through the product without pacing, and directly (the product's own ``UpdateVariants``
document over a raw Admin API session, the same 100 levels per call, no pre-read, no pacing). The order
of the three alternates from round to round so that drift hits them all; the figure is the median of the
rounds' ratios at the default pacing.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.systems import BENCH_HOME, erp_instance
from erpsync.store.records import InventoryChange
from erpsync.tryton.settings import TrytonSettings
from erpsync.vendure.operations import load
from erpsync.vendure.settings import VendureSettings
from erpsync.vendure.store import INVENTORY_BATCH, VendureStore
from sandbox.demo import store_seed
from sandbox.tryton import catalog
from sandbox.vendure import VendureServer
from sandbox.vendure.client import VendureApi
from sandbox.vendure.seed import seed_catalog
from tests.conftest import free_port

log = logging.getLogger("bench.vendure")

DEFAULT_PACING = VendureSettings.__dataclass_fields__["requests_per_second"].default  # 40 requests/s
ROUNDS = 7
QUICK_ROUNDS = 3

Level = tuple[str, str]  # (variant id, stock location id)


def _store(server: VendureServer, requests_per_second: float) -> VendureStore:
    credentials = server.credentials()
    store = VendureSettings(base_url=server.url, username=credentials["username"], password=credentials["password"],
                            requests_per_second=requests_per_second).store()
    store.locations()  # logged in before any clock starts
    return store


def _quantities(levels: list[Level], write: int) -> dict[Level, int]:
    """New on-hand figures for every level, different from the previous write's."""
    return {level: 10 * write + index % 10 for index, level in enumerate(levels)}


def _through_store(store: VendureStore, levels: list[Level], wanted: dict[Level, int],
                   current: dict[Level, int]) -> int:
    """set_inventory as the catalog flow calls it: 100 levels a call, each guarded by what was last written."""
    for start in range(0, len(levels), INVENTORY_BATCH):
        chunk = levels[start:start + INVENTORY_BATCH]
        outcomes = store.set_inventory([InventoryChange(v, loc, wanted[(v, loc)], current[(v, loc)])
                                        for v, loc in chunk], idempotency_key=f"bench-{start}")
        if not all(o.applied for o in outcomes):
            raise AssertionError(f"the store refused levels: {[o.error for o in outcomes if not o.applied][:3]}")
    return len(levels)


def _direct(admin: VendureApi, levels: list[Level], wanted: dict[Level, int]) -> int:
    """The same calls, straight: the same document and batches, no read first, no pacing."""
    document = load("UpdateVariants").document
    for start in range(0, len(levels), INVENTORY_BATCH):
        by_variant: dict[str, list[dict]] = {}
        for variant, location in levels[start:start + INVENTORY_BATCH]:
            by_variant.setdefault(variant, []).append(
                {"stockLocationId": location, "stockOnHand": wanted[(variant, location)]})
        admin.data(document, {"input": [{"id": v, "stockLevels": s} for v, s in by_variant.items()]})
    return len(levels)


def _on_hand(store: VendureStore, levels: list[Level]) -> dict[Level, int | None]:
    available = {(lvl.inventory_item_id, lvl.location_id): lvl.available for lvl in store.inventory_levels(
        sorted({v for v, _ in levels}), sorted({loc for _, loc in levels}))}
    return {level: available.get(level) for level in levels}


def _measure(server: VendureServer, rounds: int) -> dict:
    paced, unpaced = _store(server, DEFAULT_PACING), _store(server, 0)
    admin = server.admin()
    locations = [loc.id for loc in unpaced.locations()]
    variants = [v.variant_id for page in unpaced.iter_variants() for v in page]
    levels = [(v, loc) for v in sorted(variants, key=int) for loc in sorted(locations, key=int)]
    write = 0
    # Untimed: every level exists (the default location's are created here) and the server is warm.
    _direct(admin, levels, _quantities(levels, write))
    current = _quantities(levels, write)
    ways: dict[str, Callable[[dict[Level, int]], int]] = {
        "paced": lambda wanted: _through_store(paced, levels, wanted, current),
        "unpaced": lambda wanted: _through_store(unpaced, levels, wanted, current),
        "direct": lambda wanted: _direct(admin, levels, wanted),
    }
    runs = []
    for number in range(rounds):
        order = list(ways) if number % 2 == 0 else list(reversed(ways))
        rates: dict[str, float] = {}
        waited = paced.client.pacer.waited_s
        for way in order:
            write += 1
            wanted = _quantities(levels, write)
            started = time.monotonic()
            written = ways[way](wanted)
            rates[way] = written / (time.monotonic() - started)
            if _on_hand(unpaced, levels) != wanted:
                raise AssertionError(f"{way}: the levels read back are not the ones written")
            current.update(wanted)
        runs.append({"order": order, **{f"{way}_levels_per_s": round(rate, 1) for way, rate in rates.items()},
                     "paced_waited_s": round(paced.client.pacer.waited_s - waited, 3),
                     "ratio": round(rates["paced"] / rates["direct"], 3),
                     "ratio_unpaced": round(rates["unpaced"] / rates["direct"], 3)})
        log.info("round %d: %s", number + 1, runs[-1])
    return {"levels": len(levels), "variants": len(variants), "locations": len(locations),
            "calls_per_write": -(-len(levels) // INVENTORY_BATCH), "pacing_requests_per_s": DEFAULT_PACING,
            "runs": runs,
            "paced_levels_per_s": statistics.median(r["paced_levels_per_s"] for r in runs),
            "unpaced_levels_per_s": statistics.median(r["unpaced_levels_per_s"] for r in runs),
            "direct_levels_per_s": statistics.median(r["direct_levels_per_s"] for r in runs),
            "ratio": statistics.median(r["ratio"] for r in runs),
            "ratio_unpaced": statistics.median(r["ratio_unpaced"] for r in runs)}


def run(quick: bool = False) -> dict:
    """``publish_vendure_ratio`` (at the default pacing) and ``publish_vendure_ratio_unpaced``, with both
    rates and every round under details.vendure."""
    BENCH_HOME.mkdir(parents=True, exist_ok=True)
    erp = erp_instance("demo")
    try:
        info = erp.info(show_password=True)
        client = TrytonSettings(base_url=erp.url, database=info["db_name"], login=info["login"],
                                password=info["password"], web_shop=catalog.WEB_SHOP_NAME).client()
        payload = store_seed(client)
    finally:
        erp.stop()
    with tempfile.TemporaryDirectory(prefix="vendure-", dir=BENCH_HOME) as home:
        server = VendureServer(Path(home), port=free_port())
        server.start()
        try:
            seeded = seed_catalog(server.admin(), payload)
            log.info("vendure seeded: %s", seeded)
            figures = _measure(server, QUICK_ROUNDS if quick else ROUNDS)
        finally:
            server.stop()
    log.info("vendure: %d levels, product %.0f/s (paced %s/s), %.0f/s (unpaced), direct %.0f/s: ratio %.3f, "
             "unpaced %.3f", figures["levels"], figures["paced_levels_per_s"], DEFAULT_PACING,
             figures["unpaced_levels_per_s"], figures["direct_levels_per_s"], figures["ratio"],
             figures["ratio_unpaced"])
    return {"publish_vendure_ratio": figures["ratio"], "publish_vendure_ratio_unpaced": figures["ratio_unpaced"],
            "details": {"vendure": figures}}


if __name__ == "__main__":
    import json
    import sys

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("urllib3", "erpsync", "great_expectations", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
