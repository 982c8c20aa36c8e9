"""The product's Shopify client against the store emulator (real HTTP, Shopify's schema and limits)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
import requests

from erpsync.common.retry import Backoff
from erpsync.shopify.errors import StoreAuthError, StoreGraphQLError
from erpsync.shopify.pacing import CostBucket
from erpsync.shopify.settings import ShopifySettings
from erpsync.shopify.store import ShopifyStore
from erpsync.store.records import InventoryChange, PriceChange
from sandbox.shopify.clock import ManualClock
from sandbox.shopify.control import ShopifyEmulator

LOCATIONS = ["Main Warehouse", "Outlet"]
FAST_RETRIES = Backoff(attempts=8, base_s=0.01, max_s=0.05, jitter=0.0)


def catalog(products: int = 6, variants: int = 3) -> dict:
    return {
        "locations": LOCATIONS,
        "products": [
            {
                "title": f"Product {p}",
                "variants": [
                    {"sku": f"P{p:03d}-V{v}", "option": f"V{v}", "price": "20.00", "compare_at_price": "25.00",
                     "inventory": {"Main Warehouse": 10, "Outlet": 4}}
                    for v in range(variants)
                ],
            }
            for p in range(products)
        ],
    }


class Emulated:
    def __init__(self, url: str, token: str, clock: ManualClock | None):
        self.url, self.token, self.clock = url, token, clock

    def admin(self, method: str, path: str, body=None):
        response = requests.request(method, f"{self.url}/_emulator{path}", json=body,
                                    headers={"X-Shopify-Access-Token": self.token}, timeout=60)
        assert response.status_code < 300, response.text
        return response.json()

    def available(self, sku: str, location: str = "Main Warehouse") -> int:
        return self.admin("GET", f"/inventory?sku={sku}")["levels"][location]["available"]

    def store(self, *, read_timeout_s: float = 10.0, manual_time: bool = False) -> ShopifyStore:
        bucket = CostBucket(clock=self.clock.monotonic, sleep=self.clock.advance) if manual_time else None
        settings = ShopifySettings(shop_url=self.url, access_token=self.token, read_timeout_s=read_timeout_s)
        return settings.store(bucket=bucket, backoff=FAST_RETRIES)


@contextmanager
def emulator(tmp_path, plan: str, clock: ManualClock | None = None, seed: dict | None = None) -> Iterator[Emulated]:
    with ShopifyEmulator(tmp_path / "shopify", plan=plan).running_in_thread(clock=clock) as running:
        shop = Emulated(running.url, running.token, clock)
        shop.admin("POST", "/seed", seed or catalog())
        yield shop


@pytest.fixture
def shop(tmp_path) -> Iterator[Emulated]:
    with emulator(tmp_path, "ENTERPRISE") as served:
        yield served


def variants_by_sku(store: ShopifyStore, skus=None) -> dict:
    return {v.sku: v for page in store.iter_variants(skus=skus) for v in page}


def location_ids(store: ShopifyStore) -> dict[str, str]:
    return {loc.name: loc.id for loc in store.locations()}


# -- reads ------------------------------------------------------------------------------------------

def test_reads_locations_variants_and_levels(shop):
    store = shop.store()
    locations = location_ids(store)
    assert set(locations) == set(LOCATIONS)

    everything = variants_by_sku(store)
    assert len(everything) == 18
    picked = variants_by_sku(store, skus=["P001-V1", "P004-V2", "NOPE"])
    assert set(picked) == {"P001-V1", "P004-V2"}
    variant = picked["P001-V1"]
    assert variant.price == Decimal("20.00") and variant.compare_at_price == Decimal("25.00")
    assert variant.product_status == "ACTIVE" and variant.updated_at.tzinfo is not None

    levels = store.inventory_levels([variant.inventory_item_id], list(locations.values()))
    assert {(lvl.location_id, lvl.available) for lvl in levels} == {
        (locations["Main Warehouse"], 10), (locations["Outlet"], 4)
    }
    # One location, not the store's first: its level (a stale write there is re-read this way).
    (outlet,) = store.inventory_levels([variant.inventory_item_id], [locations["Outlet"]])
    assert (outlet.location_id, outlet.available) == (locations["Outlet"], 4)


def test_pagination_crosses_pages_without_gaps_or_repeats(tmp_path):
    with emulator(tmp_path, "ENTERPRISE", seed=catalog(products=130, variants=4)) as served:
        pages = list(served.store().iter_variants())
    skus = [v.sku for page in pages for v in page]
    assert len(pages) >= 3
    assert len(skus) == len(set(skus)) == 520


# -- inventory: idempotency and compare-and-swap ----------------------------------------------------

def one_change(store: ShopifyStore, sku: str, quantity: int, expected: int | None) -> InventoryChange:
    variant = variants_by_sku(store, [sku])[sku]
    return InventoryChange(variant.inventory_item_id, location_ids(store)["Main Warehouse"], quantity, expected)


def test_set_inventory_applies_and_a_repeated_key_is_not_applied_twice(shop):
    store = shop.store()
    key = f"run-1:batch-0:{uuid.uuid4().hex}"
    change = one_change(store, "P000-V0", 50, expected=10)

    (first,) = store.set_inventory([change], idempotency_key=key)
    assert first.applied and shop.available("P000-V0") == 50

    # Someone else moves the quantity; our retried call (same key) must not set 50 again.
    store.set_inventory([one_change(store, "P000-V0", 40, expected=50)], idempotency_key=uuid.uuid4().hex)
    (again,) = store.set_inventory([change], idempotency_key=key)
    assert again.applied
    assert shop.available("P000-V0") == 40


def test_a_sale_between_read_and_write_is_never_overwritten(shop):
    store = shop.store()
    locations = location_ids(store)
    variant = variants_by_sku(store, ["P002-V1"])["P002-V1"]
    (seen,) = [lvl for lvl in store.inventory_levels([variant.inventory_item_id], [locations["Main Warehouse"]])]
    assert seen.available == 10

    shop.admin("POST", "/orders", {"lines": [{"sku": "P002-V1", "quantity": 3}]})  # the shopper buys 3

    stale_change = InventoryChange(variant.inventory_item_id, seen.location_id, 25, expected=seen.available)
    other = one_change(store, "P002-V2", 9, expected=10)
    outcomes = store.set_inventory([stale_change, other], idempotency_key=uuid.uuid4().hex)
    assert [o.stale for o in outcomes] == [True, False]
    assert not any(o.applied for o in outcomes), "Shopify applies a batch all or nothing"
    assert shop.available("P002-V1") == 7, "the sale's decrement is intact"
    assert shop.available("P002-V2") == 10

    # Re-read and recompute: the write now goes through.
    (fresh,) = store.inventory_levels([variant.inventory_item_id], [seen.location_id])
    (retry,) = store.set_inventory(
        [InventoryChange(variant.inventory_item_id, seen.location_id, 22, expected=fresh.available)],
        idempotency_key=uuid.uuid4().hex,
    )
    assert retry.applied and shop.available("P002-V1") == 22


def test_more_than_250_changes_per_call_are_refused_before_sending(shop):
    store = shop.store()
    with pytest.raises(ValueError, match="at most 250"):
        store.set_inventory([one_change(store, "P000-V0", 1, 10)] * 251, idempotency_key="k")


# -- prices -----------------------------------------------------------------------------------------

def test_update_prices_per_product_and_a_bad_variant_does_not_block_the_others(shop):
    store = shop.store()
    variants = variants_by_sku(store, ["P003-V0", "P003-V1"])
    good = PriceChange(variants["P003-V0"].variant_id, Decimal("18.50"), Decimal("25.00"))
    cleared = PriceChange(variants["P003-V1"].variant_id, Decimal("19.00"), None)
    bad = PriceChange("gid://shopify/ProductVariant/999999999", Decimal("1.00"), None)

    outcomes = store.update_prices(variants["P003-V0"].product_id, [good, bad, cleared])

    assert [o.applied for o in outcomes] == [True, False, True]
    assert outcomes[1].error
    after = variants_by_sku(store, ["P003-V0", "P003-V1"])
    assert after["P003-V0"].price == Decimal("18.50") and after["P003-V0"].compare_at_price == Decimal("25.00")
    assert after["P003-V1"].price == Decimal("19.00") and after["P003-V1"].compare_at_price is None


# -- auth -------------------------------------------------------------------------------------------

def test_a_wrong_token_is_an_auth_error_that_does_not_leak_it(shop):
    settings = ShopifySettings(shop_url=shop.url, access_token="shpat_wrong")
    with pytest.raises(StoreAuthError) as raised:
        settings.store().locations()
    assert "shpat_wrong" not in str(raised.value) and "shpat_wrong" not in repr(settings)


def test_a_query_over_the_cost_cap_is_a_clear_error(shop):
    from erpsync.shopify.operations import Operation

    nested = "query TooExpensive { products(first: 250) { nodes { variants(first: 250) { nodes { id } } } } }"
    client = shop.store().client
    with pytest.raises(StoreGraphQLError, match="MAX_COST_EXCEEDED"):
        client.execute(Operation("TooExpensive", "query", nested))
    assert client.stats.retries == 0, "a refused document is not retried"


# -- throttling -------------------------------------------------------------------------------------

def test_paced_client_stays_within_the_bucket_and_uses_the_restore_rate(tmp_path):
    """Standard plan (100 points/s). The client and the emulator share a manual clock: the client's
    waits move time, so the figures are exact and the test never sleeps."""
    clock = ManualClock()
    with emulator(tmp_path, "STANDARD", clock=clock) as served:
        store = served.store(manual_time=True)
        change = one_change(store, "P000-V0", 0, expected=None)
        bucket = store.client.bucket

        # Spend the full bucket first (a burst is what the bucket is for), then measure the steady state.
        while bucket.available is None or bucket.available >= 10:
            store.set_inventory([change], idempotency_key=uuid.uuid4().hex)
        points_before, started = store.client.stats.points, clock.monotonic()
        for _ in range(200):
            store.set_inventory([change], idempotency_key=uuid.uuid4().hex)
        elapsed = clock.monotonic() - started
        used = store.client.stats.points - points_before

    assert store.client.stats.throttled == 0
    rate_fraction = used / (bucket.restore_rate * elapsed)
    assert rate_fraction >= 0.9, f"{rate_fraction:.3f} of the restore rate"


def test_a_throttled_call_waits_for_the_bucket_and_succeeds(tmp_path):
    clock = ManualClock()
    with emulator(tmp_path, "STANDARD", clock=clock) as served:
        store = served.store(manual_time=True)
        change = one_change(store, "P001-V0", 3, expected=None)
        served.admin("PUT", "/faults", {"seed": 1, "rules": [
            {"kind": "throttle_storm", "rate": 1.0, "count": 1, "match": "inventorySetQuantities"}]})
        (outcome,) = store.set_inventory([change], idempotency_key=uuid.uuid4().hex)
    assert outcome.applied
    assert store.client.stats.throttled == 1
    assert store.client.bucket.waited_s > 0


PRICEY = "query Pricey { products(first: 20) { nodes { id variants(first: 10) { nodes { id } } } } }"


def background_reader_beside_a_flow(served: Emulated, clock: ManualClock, *, busy_waits: int | None,
                                    patience_s: float):
    """A background reader (reconciliation: half the bucket left to the flows) and the pricey query it
    runs. Each time it waits for the bucket, a flow of the same app (the same token: the same bucket)
    draws all the points that came back meanwhile, as an order burst's read at the plan's rate does, for
    ``busy_waits`` of its waits (None: for ever); returns (reader, operation, the waits the flow drew in)."""
    from erpsync.shopify.operations import Operation

    pricey = Operation("Pricey", "query", PRICEY)
    flow = served.store(manual_time=True).client
    busy: list[float] = []

    def drain() -> None:
        while (left := flow.bucket.predicted()) is None or left >= flow._expected_cost.get("Pricey", 1):
            flow.execute(pricey)

    def the_flow_draws_while_the_reader_waits(seconds: float) -> None:
        clock.advance(seconds)
        if busy_waits is None or len(busy) < busy_waits:
            busy.append(seconds)
            drain()

    drain()
    bucket = CostBucket(clock=clock.monotonic, sleep=the_flow_draws_while_the_reader_waits, reserve_share=0.5)
    reader = ShopifySettings(shop_url=served.url, access_token=served.token).client(
        bucket=bucket, backoff=FAST_RETRIES, throttle_patience_s=patience_s)
    return reader, pricey, busy


def test_a_background_read_waits_its_turn_while_a_flow_drains_the_apps_bucket(tmp_path):
    """The flow holds the bucket for 12 of the reader's waits, more than its 8 attempts: the reader is
    throttled each time, waits its turn (not an attempt used up) and reads once the flow is through."""
    clock = ManualClock()
    with emulator(tmp_path, "STANDARD", clock=clock) as served:
        reader, pricey, busy = background_reader_beside_a_flow(served, clock, busy_waits=12, patience_s=900)
        data = reader.execute(pricey)
    assert len(data["products"]["nodes"]) == 6
    assert len(busy) == 12
    # Its first call went before it knew the bucket (refused too), then one after each wait the flow drew in.
    assert reader.stats.throttled == 1 + 12 > FAST_RETRIES.attempts


def test_a_read_throttled_beyond_its_patience_fails_naming_the_cause(tmp_path):
    from erpsync.shopify.errors import StoreTransportError

    clock = ManualClock()
    with emulator(tmp_path, "STANDARD", clock=clock) as served:
        reader, pricey, busy = background_reader_beside_a_flow(served, clock, busy_waits=None, patience_s=300)
        started = clock.monotonic()
        with pytest.raises(StoreTransportError, match="throttled for 3[0-9][0-9] s: the app's rate limit"):
            reader.execute(pricey)
        waited = clock.monotonic() - started
    assert 300 <= waited < 330, "it gives up once its patience is spent, not before"
    assert reader.stats.throttled == 1 + len(busy) > FAST_RETRIES.attempts


# -- faults -----------------------------------------------------------------------------------------

FAULTS = {
    "latency": {"latency_ms": 300},
    "timeout": {"hold_seconds": 1.5},
    "drop_before": {},
    "drop_after": {},
    "error_5xx": {"status": 503},
    "rate_limit_429": {"retry_after": 1},
    "throttle_storm": {},
}


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_writes_survive_every_fault_kind_without_loss_or_duplication(shop, kind):
    store = shop.store(read_timeout_s=0.8)
    inventory = one_change(store, "P005-V0", 33, expected=10)
    variant = variants_by_sku(store, ["P005-V1"])["P005-V1"]
    price = PriceChange(variant.variant_id, Decimal("11.11"), Decimal("22.22"))
    shop.admin("PUT", "/faults", {"seed": 7, "rules": [
        {"kind": kind, "rate": 1.0, "count": 1, "match": "inventorySetQuantities", **FAULTS[kind]},
        {"kind": kind, "rate": 1.0, "count": 1, "match": "productVariantsBulkUpdate", **FAULTS[kind]},
    ]})

    (inventory_outcome,) = store.set_inventory([inventory], idempotency_key=f"fault-{kind}")
    (price_outcome,) = store.update_prices(variant.product_id, [price])

    assert inventory_outcome.applied and not inventory_outcome.stale, inventory_outcome
    assert shop.available("P005-V0") == 33
    assert price_outcome.applied
    after = variants_by_sku(store, ["P005-V1"])["P005-V1"]
    assert (after.price, after.compare_at_price) == (Decimal("11.11"), Decimal("22.22"))
    rules = shop.admin("GET", "/faults")["rules"]
    assert [rule["count"] for rule in rules] == [0, 0], "each fault fired once"


# -- the Airflow hook -------------------------------------------------------------------------------

def test_the_hook_builds_the_store_from_a_connection_and_tests_it(shop, monkeypatch):
    import json

    from erpsync.shopify.hook import ShopifyHook

    monkeypatch.setenv("AIRFLOW_CONN_STORE_TEST", json.dumps({
        "conn_type": "shopify", "host": shop.url, "password": shop.token,
        "extra": {"api_version": "2026-10", "plan": "ENTERPRISE", "store_name": "demo-store"},
    }))
    hook = ShopifyHook("store_test")
    ok, message = hook.test_connection()
    assert ok, message
    assert "2 location(s)" in message and shop.token not in message
    assert hook.store.name == "demo-store" and hook.settings.restore_rate == 2000.0

    monkeypatch.setenv("AIRFLOW_CONN_STORE_TEST", json.dumps({
        "conn_type": "shopify", "host": shop.url, "password": "shpat_nope"}))
    ok, message = ShopifyHook("store_test").test_connection()
    assert not ok and "StoreAuthError" in message and "shpat_nope" not in message


def graphql(shop: Emulated, query: str, variables: dict | None = None) -> dict:
    """A request of our own to the emulator (as another app or a person would make it)."""
    response = requests.post(f"{shop.url}/admin/api/2026-10/graphql.json",
                             json={"query": query, "variables": variables},
                             headers={"X-Shopify-Access-Token": shop.token}, timeout=60)
    response.raise_for_status()
    assert "errors" not in response.json(), response.json()
    return response.json()["data"]


def test_webhook_subscriptions_are_created_once_kept_after_and_recreated_when_the_store_dropped_one(shop):
    store = shop.store()
    assert store.capabilities().webhooks is True
    uri = "http://127.0.0.1:9/erpsync-webhooks/store_default"
    first = store.subscribe_webhooks(uri)
    assert (first.created, first.kept, first.failed) == (
        ("ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_CANCELLED", "REFUNDS_CREATE"), (), ())
    second = store.subscribe_webhooks(uri)
    assert (second.created, len(second.kept), second.failed) == ((), 4, ())
    # Someone else's subscription to the same topic (another app's address) is left alone, and ours stays one.
    graphql(shop, """mutation($t: WebhookSubscriptionTopic!, $s: WebhookSubscriptionInput!) {
        webhookSubscriptionCreate(topic: $t, webhookSubscription: $s) { userErrors { message } } }""",
                         {"t": "ORDERS_CREATE",
                          "s": {"uri": "https://elsewhere.example.com/hooks", "format": "JSON"}})
    listed = graphql(shop, "{ webhookSubscriptions(first: 50) { nodes { id topic uri } } }")
    ours = [n for n in listed["webhookSubscriptions"]["nodes"] if n["uri"] == uri]
    assert sorted(n["topic"] for n in ours) == ["ORDERS_CANCELLED", "ORDERS_CREATE", "ORDERS_UPDATED",
                                                "REFUNDS_CREATE"]
    dropped = next(n for n in ours if n["topic"] == "ORDERS_UPDATED")
    graphql(shop, "mutation($id: ID!) { webhookSubscriptionDelete(id: $id) { userErrors { message } } }",
                         {"id": dropped["id"]})
    third = store.subscribe_webhooks(uri)
    assert (third.created, len(third.kept)) == (("ORDERS_UPDATED",), 3)
    listed = graphql(shop, "{ webhookSubscriptions(first: 50) { nodes { topic uri } } }")
    assert len(listed["webhookSubscriptions"]["nodes"]) == 5


def test_an_orders_customer_e_mail_is_the_customers_default_e_mail_even_when_the_order_has_none(shop):
    """Read through Customer.defaultEmailAddress (Customer.email is deprecated): a customer's later order
    placed with a phone number alone has no e-mail of its own, and still names the customer's."""
    store = shop.store()
    lines = [{"sku": "P001-V1", "quantity": 1}]
    first = shop.admin("POST", "/orders", {"email": "ada@example.com", "phone": "+4915112345678", "lines": lines})
    by_phone = shop.admin("POST", "/orders", {"email": None, "phone": "+4915112345678", "lines": lines})
    ids = [first["id"], by_phone["id"]]
    read = [o for page in store.iter_orders(None, order_ids=ids) for o in page]
    assert sorted((o.order_id, o.customer.email) for o in read) == sorted(
        (order_id, "ada@example.com") for order_id in ids)
    assert len({o.customer.customer_id for o in read}) == 1  # one customer, found again by the phone
