"""The product's Vendure store, customer accounts (include/erpsync/vendure/customers.py), against a real,
stock Vendure 3.7.3 server: creating, finding by contact, and the changed accounts of a window."""

from __future__ import annotations

import datetime as dt

import pytest

from erpsync.common.window import Window
from erpsync.store.errors import StoreTransportError
from erpsync.store.records import CustomerDraft, CustomerOutcome, StoreAddress
from erpsync.vendure import customers
from sandbox.vendure.shopper import Guest, guest_checkout
from tests.integration.vendure import test_vendure_store
from tests.sandbox import conftest_vendure
from tests.support.clock import next_second

# The fixtures: a Vendure server of this module, with the store tests' catalog, and the product's store on it.
vendure, seeded, store = conftest_vendure.vendure, test_vendure_store.seeded, test_vendure_store.store

pytestmark = pytest.mark.vendure

COUNT = "{ customers { totalItems } }"
EVERY_ID = "{ customers(options: {take: 1000}) { items { id } } }"
SECOND_ADDRESS = """mutation($id: ID!, $input: CreateAddressInput!) {
  createCustomerAddress(customerId: $id, input: $input) { id } }"""
ADDRESS = StoreAddress(first_name="Cleo", last_name="Park", company="Park GmbH", address1="Hauptstr. 5",
                       address2="Hinterhaus", city="Berlin", zip="10115", province_code=None,
                       country_code="DE", phone="+49 30 123456")


def _draft(email: str | None, **fields) -> CustomerDraft:
    values = {"phone": None, "first_name": "Ann", "last_name": "Lee", "address": None, **fields}
    return CustomerDraft(email=email, **values)


def _count(server) -> int:
    return server.admin().data(COUNT)["customers"]["totalItems"]


def test_creating_twice_with_the_same_email_makes_one_customer_then_refuses(seeded, store):
    before = _count(seeded)
    first = store.create_customer(_draft("Ann.Lee@Example.com", phone="+1 555 0100"))
    second = store.create_customer(_draft("  ann.lee@EXAMPLE.com ", note="ERP party 8"))

    assert first.error is None and first.customer_id
    assert second == CustomerOutcome(None, error=(
        "Vendure refused the customer of ERP party 8: CreateCustomer: EMAIL_ADDRESS_CONFLICT_ERROR: "
        "The email address is not available."))
    assert _count(seeded) == before + 1
    (account,) = store.customers_by_contact(["ann.lee@example.com"], [])
    assert (account.customer_id, account.email, account.phone, account.first_name, account.last_name,
            account.address) == (first.customer_id, "ann.lee@example.com", "+1 555 0100", "Ann", "Lee", None)


@pytest.mark.parametrize("email", [None, "", "   "])
def test_a_draft_without_email_is_refused_without_a_call(seeded, store, email):
    before, requests = _count(seeded), store.client.stats.requests

    outcome = store.create_customer(_draft(email, note="ERP party 7"))

    assert outcome == CustomerOutcome(
        None, error="Vendure needs an e-mail address for a customer: ERP party 7 has none")
    assert store.client.stats.requests == requests
    assert _count(seeded) == before


def test_customers_are_found_by_email_in_any_case_and_by_phone_however_written(seeded, store):
    bob = store.create_customer(_draft("bob.stone@example.com", first_name="Bob", phone="+44 (20) 7946-0018"))
    eve = store.create_customer(_draft("eve.north@example.com", first_name="Eve", phone="+1 202 555 0199"))
    store.create_customer(_draft("someone.else@example.com", phone="+1 202 555 0198"))
    shoe = test_vendure_store._by_sku(store)["SHOE-40"]
    guest = Guest("Gus", "Guest", "Gus.Guest@Example.com", "1 Main St", "Springfield", "12345", None, "US")
    assert guest_checkout(seeded.shop(), [(shoe.variant_id, 1)], guest)["state"] == "PaymentSettled"

    by_email = store.customers_by_contact(
        ["  BOB.STONE@Example.COM ", "gus.guest@EXAMPLE.com", "nobody@example.com"], [])
    by_phone = store.customers_by_contact([], ["+442079460018", "+12025550199", "+999"])
    both = store.customers_by_contact(["eve.north@example.com"], ["+12025550199"])

    (gus,) = [account for account in by_email if account.email == "gus.guest@example.com"]
    assert [a.customer_id for a in by_email] == [bob.customer_id, gus.customer_id]
    assert (gus.first_name, gus.last_name, gus.phone) == ("Gus", "Guest", None)
    assert [(a.customer_id, a.phone) for a in by_phone] == [(bob.customer_id, "+44 (20) 7946-0018"),
                                                            (eve.customer_id, "+1 202 555 0199")]
    assert [a.customer_id for a in both] == [eve.customer_id]
    assert store.customers_by_contact([], []) == []
    # The guest's e-mail is taken: the flow links the guest's customer instead of making an account.
    refused = store.create_customer(_draft("gus.guest@example.com"))
    assert refused.customer_id is None and "EMAIL_ADDRESS_CONFLICT_ERROR" in refused.error


def test_an_address_round_trips_as_the_default_one(seeded, store):
    made = store.create_customer(_draft("cleo.park@example.com", first_name="Cleo", last_name="Park",
                                        address=ADDRESS))
    bare = store.create_customer(_draft("no.street@example.com", address=StoreAddress(
        None, None, None, None, None, "Berlin", None, None, "DE", None)))

    assert made == CustomerOutcome(made.customer_id) and made.customer_id
    assert bare == CustomerOutcome(bare.customer_id, error=(
        f"customer {bare.customer_id} was made without its address: Vendure needs a street line and a "
        "country code"))
    cleo, no_street = store.customers_by_contact(["cleo.park@example.com", "no.street@example.com"], [])
    assert cleo.address == ADDRESS
    assert (no_street.customer_id, no_street.address) == (bare.customer_id, None)

    # A later address the merchant makes the default shipping one is the account's address.
    seeded.admin().data(SECOND_ADDRESS, {"id": made.customer_id, "input": {
        "fullName": "Cleo Park", "streetLine1": "2 Harbour Rd", "city": "Toronto", "province": "ON",
        "postalCode": "M5V 1A1", "countryCode": "CA", "defaultShippingAddress": True}})
    (moved,) = store.customers_by_contact(["cleo.park@example.com"], [])
    assert moved.address == StoreAddress("Cleo", "Park", None, "2 Harbour Rd", None, "Toronto", "M5V 1A1",
                                         "ON", "CA", None)


def test_an_address_whose_answer_is_lost_is_noted_not_retried(seeded, store, monkeypatch):
    mutate = store.client.mutate
    calls = []

    def lose_the_address_answer(operation, variables, **options):
        result = mutate(operation, variables, **options)
        calls.append(operation.name)
        if operation.name == "CreateCustomerAddress":
            raise StoreTransportError("store CreateCustomerAddress failed after retries: read timed out")
        return result

    monkeypatch.setattr(store.client, "mutate", lose_the_address_answer)
    outcome = store.create_customer(_draft("lost.answer@example.com", address=ADDRESS))

    assert calls == ["CreateCustomer", "CreateCustomerAddress"]
    assert outcome == CustomerOutcome(outcome.customer_id, error=(
        f"customer {outcome.customer_id} was made; its address was not confirmed, and is not retried: "
        "store CreateCustomerAddress failed after retries: read timed out"))
    (account,) = store.customers_by_contact(["lost.answer@example.com"], [])
    assert (account.customer_id, account.address) == (outcome.customer_id, ADDRESS)


def test_iter_customers_reads_exactly_the_window_a_page_at_a_time(seeded, store, monkeypatch):
    monkeypatch.setattr(customers, "CUSTOMER_PAGE", 2)
    early = [store.create_customer(_draft(f"early{n}@window.example")).customer_id for n in range(2)]
    next_second()
    inside = [store.create_customer(_draft(f"inside{n}@window.example")).customer_id for n in range(3)]
    next_second()
    late = store.create_customer(_draft("late@window.example")).customer_id
    names = ("early0", "early1", "inside0", "inside1", "inside2", "late")
    stamps = {a.customer_id: a.updated_at
              for a in store.customers_by_contact([f"{name}@window.example" for name in names], [])}
    start, end = min(stamps[i] for i in inside), stamps[late]
    assert max(stamps[i] for i in early) < start and max(stamps[i] for i in inside) < end

    # The bounds are the stamps of the first customer in and of the first one out: [start, end) exactly.
    pages = list(store.iter_customers(Window(start, end)))
    everyone = seeded.admin().data(EVERY_ID)["customers"]["items"]
    from_the_start = [a.customer_id for page in store.iter_customers(Window(None, end)) for a in page]

    assert [[a.customer_id for a in page] for page in pages] == [inside[:2], inside[2:]]
    assert [a.email for page in pages for a in page] == [f"inside{n}@window.example" for n in range(3)]
    assert sorted(from_the_start, key=int) == sorted((c["id"] for c in everyone if c["id"] != late), key=int)
    assert set(early) < set(from_the_start)
    later = [a.customer_id for page in store.iter_customers(Window(end, end + dt.timedelta(seconds=1)))
             for a in page]
    assert later == [late]
