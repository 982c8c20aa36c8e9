"""The product's Vendure store (include/erpsync/vendure) against a real, stock Vendure server: the
catalog side of the store interface, and the GraphQL documents against the server's own schema."""

from __future__ import annotations

from decimal import Decimal

import pytest
from graphql import DirectiveLocation, build_client_schema, get_introspection_query, parse, validate

from erpsync.store.errors import StoreAuthError, StoreRequestError
from erpsync.store.records import InventoryChange, PriceChange
from erpsync.vendure import operations
from erpsync.vendure.settings import VendureSettings
from erpsync.vendure.store import VendureStore
from sandbox.vendure.seed import configure_store, seed_catalog
from sandbox.vendure.shopper import Guest, guest_checkout
from tests.sandbox.conftest_vendure import *  # noqa: F403 - the `vendure` fixture

pytestmark = pytest.mark.vendure

CATALOG = {
    "locations": ["Main Warehouse", "Outlet"],
    "products": [{
        "title": "Trail Shoe", "description": "<p>Grippy</p>", "option_name": "Size",
        "variants": [
            {"sku": "SHOE-40", "option": "40", "price": "89.90", "compare_at_price": None,
             "inventory": {"Main Warehouse": 10, "Outlet": 2}},
            {"sku": "SHOE-41", "option": "41", "price": "91.50", "compare_at_price": None,
             "inventory": {"Main Warehouse": 5, "Outlet": 0}},
        ],
    }],
}
GUEST = Guest("Ava", "Martin", "ava@example.com", "1 Main St", "Springfield", "12345", None, "US")


@pytest.fixture(scope="module")
def seeded(vendure):
    admin = vendure.admin()
    configure_store(admin)
    seed_catalog(admin, CATALOG)
    return vendure


@pytest.fixture
def store(seeded) -> VendureStore:
    credentials = seeded.credentials()
    return VendureSettings(base_url=seeded.url, username=credentials["username"], password=credentials["password"],
                           store_name="vendure-test").store()


def _by_sku(store: VendureStore) -> dict:
    variants = [v for page in store.iter_variants(skus=["SHOE-40", "SHOE-41"]) for v in page]
    assert len(variants) == 2, variants
    return {v.sku: v for v in variants}


def _available(store: VendureStore, variant_id: str) -> dict[str, int]:
    names = {loc.id: loc.name for loc in store.locations()}
    return {names[lvl.location_id]: lvl.available
            for lvl in store.inventory_levels([variant_id], list(names))}


def test_every_operation_validates_against_the_running_servers_schema(seeded):
    introspection = seeded.admin().data(get_introspection_query())
    for directive in introspection["__schema"]["directives"]:
        # Vendure's @deprecated also applies to directive definitions, a newer location than this
        # GraphQL library knows; the documents never use it.
        directive["locations"] = [loc for loc in directive["locations"] if loc in DirectiveLocation.__members__]
    schema = build_client_schema(introspection)
    documents = operations.all_operations()
    assert len(documents) >= 6
    for operation in documents:
        assert validate(schema, parse(operation.document)) == [], operation.name
    wrong = operations.load("ProductVariants").document.replace("stockAllocated", "stockCommitted")
    assert any("stockCommitted" in e.message for e in validate(schema, parse(wrong)))


def test_capabilities_locations_and_variants_as_the_server_has_them(store):
    capabilities = store.capabilities()
    assert (capabilities.kind, capabilities.currency, capabilities.compare_and_swap) == ("vendure", "USD", False)
    assert capabilities.webhooks is False  # its orders are polled
    with pytest.raises(StoreRequestError, match="no webhooks"):
        store.subscribe_webhooks("http://127.0.0.1:1/erpsync-webhooks/store_vendure")
    assert sorted(loc.name for loc in store.locations()) == ["Default Stock Location", "Main Warehouse", "Outlet"]
    variants = _by_sku(store)
    assert variants["SHOE-40"].price == Decimal("89.90") and variants["SHOE-41"].price == Decimal("91.50")
    assert variants["SHOE-40"].inventory_item_id == variants["SHOE-40"].variant_id
    assert variants["SHOE-40"].product_id == variants["SHOE-41"].product_id
    assert {v.product_status for v in variants.values()} == {"ACTIVE"}
    everything = [v.sku for page in store.iter_variants() for v in page]
    assert sorted(everything) == ["SHOE-40", "SHOE-41"]


def test_a_sale_lowers_availability_and_set_inventory_refuses_a_stale_expected(seeded, store):
    shoe = _by_sku(store)["SHOE-41"]
    before = _available(store, shoe.variant_id)
    guest_checkout(seeded.shop(), [(shoe.variant_id, 2)], GUEST)
    after = _available(store, shoe.variant_id)
    assert sum(before.values()) - sum(after.values()) == 2  # allocated, from one location

    main = next(loc.id for loc in store.locations() if loc.name == "Main Warehouse")
    outlet = next(loc.id for loc in store.locations() if loc.name == "Outlet")
    stale = store.set_inventory([
        InventoryChange(shoe.variant_id, outlet, 1, after["Outlet"]),
        InventoryChange(shoe.variant_id, main, 9, before["Main Warehouse"]),  # as before the sale: stale
    ], idempotency_key="k1")
    assert [(o.applied, o.stale) for o in stale] == [(False, False), (False, True)]
    assert _available(store, shoe.variant_id) == after, "all or nothing: nothing written"

    applied = store.set_inventory([
        InventoryChange(shoe.variant_id, outlet, 1, after["Outlet"]),
        InventoryChange(shoe.variant_id, main, 9, after["Main Warehouse"]),
    ], idempotency_key="k2")
    assert [o.applied for o in applied] == [True, True] and applied[0].confirmed_at is not None
    assert _available(store, shoe.variant_id) == {"Default Stock Location": 0, "Main Warehouse": 9, "Outlet": 1}


def test_a_sale_between_our_read_and_our_write_stays_subtracted(seeded, store, monkeypatch):
    """Vendure has no compare-and-swap: a shopper buys after set_inventory read the levels and before it
    wrote them. What the store then offers is the level we wanted minus that sale, never more."""
    shoe = _by_sku(store)["SHOE-40"]
    main = next(loc.id for loc in store.locations() if loc.name == "Main Warehouse")
    level = _available(store, shoe.variant_id)["Main Warehouse"]
    read = store._stock
    sold = []

    def read_then_a_sale(variant_ids):
        stock = read(variant_ids)
        if not sold:
            sold.append(guest_checkout(seeded.shop(), [(shoe.variant_id, 3)], GUEST))
        return stock

    monkeypatch.setattr(store, "_stock", read_then_a_sale)
    (outcome,) = store.set_inventory([InventoryChange(shoe.variant_id, main, 7, level)], idempotency_key="k3")
    assert outcome.applied and len(sold) == 1 and sold[0]["state"] == "PaymentSettled"
    monkeypatch.undo()
    assert _available(store, shoe.variant_id)["Main Warehouse"] == 7 - 3


def test_prices_are_set_in_cents_and_a_finer_price_is_refused_for_its_variant_only(store):
    variants = _by_sku(store)
    outcomes = store.update_prices(variants["SHOE-40"].product_id, [
        PriceChange(variants["SHOE-40"].variant_id, Decimal("79.95"), None),
        PriceChange(variants["SHOE-41"].variant_id, Decimal("80.125"), None),
    ])
    assert [o.applied for o in outcomes] == [True, False] and "two decimal places" in outcomes[1].error
    after = _by_sku(store)
    assert (after["SHOE-40"].price, after["SHOE-41"].price) == (Decimal("79.95"), Decimal("91.50"))


def test_a_wrong_password_names_the_connection_to_fix(seeded):
    store = VendureSettings(base_url=seeded.url, username=seeded.credentials()["username"],
                            password="not-the-password").store()
    with pytest.raises(StoreAuthError, match="fix the store Connection"):
        store.locations()


def test_an_expired_session_is_renewed_once_and_the_call_goes_through(store):
    store.locations()
    assert store.client.stats.logins == 1
    store.client._token = "expired-session-token"  # as after the server forgot the session
    assert len(store.locations()) == 3
    assert store.client.stats.logins == 2
