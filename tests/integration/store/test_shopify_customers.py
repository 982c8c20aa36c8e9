"""The Shopify store's customer accounts against the store emulator (real HTTP, Shopify's schema, search
and userErrors): created once, found again by e-mail or phone, read by change window a page at a time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from erpsync.common.window import Window
from erpsync.shopify import customers
from erpsync.shopify.operations import Operation
from erpsync.shopify.store import ShopifyStore
from erpsync.store.records import CustomerDraft, CustomerOutcome, StoreAddress
from sandbox.shopify.clock import ManualClock
from tests.integration.store.test_shopify_store import Emulated, emulator

NOON = dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)  # where the emulator's manual clock starts


@pytest.fixture
def shop(tmp_path) -> Iterator[Emulated]:
    with emulator(tmp_path, "ENTERPRISE", clock=ManualClock(NOON)) as served:
        yield served


def draft(email: str | None = None, phone: str | None = None, first_name: str | None = "Ada",
          address: StoreAddress | None = None, note: str | None = None) -> CustomerDraft:
    return CustomerDraft(email=email, phone=phone, first_name=first_name, last_name="Byron", address=address,
                         note=note)


def created(store: ShopifyStore, **fields) -> str:
    outcome = store.create_customer(draft(**fields))
    assert outcome.error is None, outcome.error
    return outcome.customer_id


def at(hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return NOON.replace(hour=hour, minute=minute, second=second)


def test_the_same_email_twice_gives_an_account_then_the_store_s_refusal(shop):
    store = shop.store()
    assert store.capabilities().customers is True
    first = store.create_customer(draft(email="ada@example.com"))
    assert first.error is None and first.customer_id.startswith("gid://shopify/Customer/")
    again = store.create_customer(draft(email="ADA@example.com", first_name="Other"))
    assert again == CustomerOutcome(None, error="Email has already been taken")
    (only,) = store.customers_by_contact(["ada@example.com"], [])
    assert (only.customer_id, only.first_name) == (first.customer_id, "Ada")


def test_a_refusal_for_several_reasons_names_them_all(shop):
    outcome = shop.store().create_customer(draft(email="not-an-address", phone="12"))
    assert outcome == CustomerOutcome(None, error="Email is invalid; Phone is invalid")


def test_customers_by_contact_finds_by_email_whatever_its_case_and_by_phone(shop, monkeypatch):
    store = shop.store()
    ada = created(store, email="Ada.Byron@Example.com")
    bob = created(store, first_name="Bob", phone="+1 555 000 1111")
    created(store, first_name="Cy", email="cy@example.com", phone="+15550002222")

    found = store.customers_by_contact(["ada.byron@example.com"], ["+15550001111"])
    assert sorted((a.customer_id, a.email, a.phone) for a in found) == sorted([
        (ada, "Ada.Byron@Example.com", None), (bob, None, "+15550001111")])
    assert store.customers_by_contact(["nobody@example.com"], ["+15559999999"]) == []

    # One search a contact: each search finds its own account, and an account found twice is listed once.
    monkeypatch.setattr(customers, "CONTACTS_PER_QUERY", 1)
    requests_before = store.client.stats.requests
    found = store.customers_by_contact(["cy@example.com", "ada.byron@example.com"], ["+15550002222"])
    assert store.client.stats.requests - requests_before == 3
    assert sorted(a.first_name for a in found) == ["Ada", "Cy"]


UPDATE = Operation("UpdateCustomerNote", "mutation", """mutation UpdateCustomerNote($id: ID!) {
  customerUpdate(input: {id: $id, note: "changed"}) { userErrors { message } } }""")


def test_iter_customers_reads_exactly_the_window_a_page_at_a_time(shop, monkeypatch):
    monkeypatch.setattr(customers, "CUSTOMER_PAGE", 2)
    store = shop.store()
    old = created(store, email="old@example.com")  # 12:00, never changed
    changed = created(store, email="changed@example.com")  # 12:00, changed at 13:03
    shop.clock.advance(3600)
    made = []
    for i in range(3):  # 13:00, 13:01, 13:02
        made.append(created(store, email=f"c{i}@example.com"))
        shop.clock.advance(60)
    assert store.client.execute(UPDATE, {"id": changed})["customerUpdate"]["userErrors"] == []  # 13:03
    shop.clock.advance(57 * 60)
    created(store, email="later@example.com")  # 14:00: the window's end, not in it

    pages = list(store.iter_customers(Window(at(13), at(14))))
    assert [len(page) for page in pages] == [2, 2]
    accounts = [a for page in pages for a in page]
    assert [a.customer_id for a in accounts] == made + [changed]
    assert [a.updated_at for a in accounts] == [at(13, 0), at(13, 1), at(13, 2), at(13, 3)]
    assert [a.email for a in accounts] == ["c0@example.com", "c1@example.com", "c2@example.com",
                                           "changed@example.com"]

    # No start: everything changed before the end (13:00 itself is not before it).
    (everything_before,) = store.iter_customers(Window(None, at(13)))
    assert [a.customer_id for a in everything_before] == [old]
    # An end within a second is rounded up to it (Shopify's precision): 13:01:00 is read with it.
    edge = Window(at(13, 0, 30), at(13, 1) + dt.timedelta(microseconds=1))
    assert [a.customer_id for page in store.iter_customers(edge) for a in page] == [made[1]]


def test_an_address_and_a_note_round_trip(shop):
    store = shop.store()
    address = StoreAddress(first_name="Ada", last_name="Byron", company="Analytical Engines Ltd",
                           address1="12 St James's Square", address2="Flat 3", city="Toronto", zip="M5V 2T6",
                           province_code="ON", country_code="CA", phone="+14165550100")
    customer_id = created(store, email="ada@example.com", phone="+14165550199", address=address,
                          note="ERP party 42")

    (account,) = store.customers_by_contact(["ada@example.com"], [])
    assert account.customer_id == customer_id
    assert (account.email, account.phone, account.first_name, account.last_name) == (
        "ada@example.com", "+14165550199", "Ada", "Byron")
    assert account.address == address
    ((listed,),) = store.iter_customers(Window(None, at(12, 0, 1)))
    assert listed == account
    note = store.client.execute(Operation("CustomerNote", "query",
                                          "query CustomerNote($id: ID!) { customer(id: $id) { note } }"),
                                {"id": customer_id})
    assert note == {"customer": {"note": "ERP party 42"}}


def test_an_account_without_contact_or_address_reads_as_none(shop):
    store = shop.store()
    customer_id = created(store, first_name="Nameonly")
    ((account,),) = store.iter_customers(Window(None, at(12, 0, 1)))
    assert (account.customer_id, account.email, account.phone, account.address) == (
        customer_id, None, None, None)
