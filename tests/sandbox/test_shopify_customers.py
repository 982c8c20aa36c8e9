"""Customers: customerCreate/customerUpdate with Shopify's userErrors, the `customers` connection (search by
updated_at window, e-mail and phone, paging), checkouts attached to a customer the merchant made, the
customers/create and customers/update webhooks, the shopper's registration endpoint and the cost model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.sandbox.conftest_shopify import *  # noqa: F403 (fixtures)
from tests.sandbox.conftest_shopify import Shop
from tests.sandbox.test_shopify_webhooks import Receiver, flush, subscribe

CUSTOMER_FIELDS = """id legacyResourceId firstName lastName displayName note tags state numberOfOrders
  createdAt updatedAt defaultEmailAddress { emailAddress } defaultPhoneNumber { phoneNumber }
  defaultAddress { address1 city zip countryCodeV2 provinceCode }
  addressesV2(first: 5) { nodes { address1 city } }"""

CREATE = f"""mutation($input: CustomerInput!) {{ customerCreate(input: $input) {{
  customer {{ {CUSTOMER_FIELDS} }} userErrors {{ field message }} }} }}"""

UPDATE = f"""mutation($input: CustomerInput!) {{ customerUpdate(input: $input) {{
  customer {{ {CUSTOMER_FIELDS} }} userErrors {{ field message }} }} }}"""

CUSTOMERS = """query($first: Int, $after: String, $query: String, $sortKey: CustomerSortKeys,
    $reverse: Boolean) {
  customers(first: $first, after: $after, query: $query, sortKey: $sortKey, reverse: $reverse) {
    nodes { id displayName updatedAt defaultEmailAddress { emailAddress } }
    pageInfo { hasNextPage endCursor } } }"""

ADDRESS = {"address1": "1 Dock St", "city": "Leeds", "zip": "LS1 4AP", "countryCode": "GB",
           "firstName": "Ada", "lastName": "Byron"}


def create(shop: Shop, **fields: Any) -> dict[str, Any]:
    return shop.data(CREATE, {"input": fields})["customerCreate"]


def emails(shop: Shop, **variables: Any) -> list[str | None]:
    nodes = shop.data(CUSTOMERS, {"first": 50, **variables})["customers"]["nodes"]
    return [(n["defaultEmailAddress"] or {}).get("emailAddress") for n in nodes]


def test_customer_create_answers_the_customer_with_the_emulator_s_clock(shop: Shop) -> None:
    shop.clock.advance(60)
    created = create(shop, firstName="Ada", lastName="Byron", email="Ada@Example.com",
                     phone="+44 113 496 0000", note="ERP 10042", tags=["erp", " wholesale ", "ERP"],
                     addresses=[ADDRESS])
    assert created["userErrors"] == []
    customer = created["customer"]
    assert customer["id"] == f"gid://shopify/Customer/{customer['legacyResourceId']}"
    assert customer["displayName"] == "Ada Byron"
    assert customer["defaultEmailAddress"] == {"emailAddress": "Ada@Example.com"}
    assert customer["defaultPhoneNumber"] == {"phoneNumber": "+441134960000"}
    assert (customer["note"], customer["tags"], customer["state"]) == (
        "ERP 10042", ["erp", "wholesale"], "DISABLED")
    assert customer["createdAt"] == customer["updatedAt"] == "2026-10-01T12:01:00Z"
    assert customer["numberOfOrders"] == "0"
    assert customer["defaultAddress"] == {"address1": "1 Dock St", "city": "Leeds", "zip": "LS1 4AP",
                                          "countryCodeV2": "GB", "provinceCode": None}
    assert customer["addressesV2"]["nodes"] == [{"address1": "1 Dock St", "city": "Leeds"}]
    read = shop.data("query($id: ID!) { customer(id: $id) { email firstName } }", {"id": customer["id"]})
    assert read["customer"] == {"email": "Ada@Example.com", "firstName": "Ada"}


def test_customer_create_refuses_what_shopify_refuses_and_saves_nothing(shop: Shop) -> None:
    create(shop, email="ada@example.com", phone="+15550001111")
    taken = create(shop, firstName="Other", email="ADA@example.com")
    assert taken == {"customer": None,
                     "userErrors": [{"field": ["email"], "message": "Email has already been taken"}]}
    phone = create(shop, firstName="Other", phone="+1 555-000-1111")
    assert phone["userErrors"] == [{"field": ["phone"], "message": "Phone has already been taken"}]
    invalid = create(shop, email="not-an-address", phone="12")
    assert invalid["userErrors"] == [{"field": ["email"], "message": "Email is invalid"},
                                     {"field": ["phone"], "message": "Phone is invalid"}]
    nameless = create(shop, note="who?")
    assert nameless["userErrors"] == [
        {"field": None, "message": "Customer must have a name, phone number or email address"}]
    assert emails(shop) == ["ada@example.com"]


def test_customer_input_fields_not_modelled_are_refused_loudly(shop: Shop) -> None:
    body = shop.gql(CREATE, {"input": {"email": "x@example.com", "taxExempt": True}})
    assert body["errors"][0]["extensions"]["code"] == "NOT_MODELLED_BY_EMULATOR"
    assert emails(shop) == []


def test_search_by_updated_at_window_email_and_phone(shop: Shop) -> None:
    create(shop, email="early@example.com")
    shop.clock.advance(3600)  # 13:00
    create(shop, email="middle@example.com", phone="+15550002222")
    shop.clock.advance(3600)  # 14:00
    create(shop, email="late@example.com")
    window = "updated_at:>='2026-10-01T12:30:00Z' updated_at:<'2026-10-01T14:00:00Z'"
    assert emails(shop, query=window) == ["middle@example.com"]
    assert emails(shop, query="updated_at:>='2026-10-01T13:00:00Z'", sortKey="UPDATED_AT") == [
        "middle@example.com", "late@example.com"]
    assert emails(shop, query="created_at:<'2026-10-01T13:00:00Z'") == ["early@example.com"]
    assert emails(shop, query="email:LATE@example.com") == ["late@example.com"]
    assert emails(shop, query="phone:+15550002222") == ["middle@example.com"]
    assert emails(shop, query="email:nobody@example.com") == []
    assert emails(shop, reverse=True) == ["late@example.com", "middle@example.com", "early@example.com"]
    count = shop.data("query($q: String) { customersCount(query: $q) { count precision } }", {"q": window})
    assert count["customersCount"] == {"count": 1, "precision": "EXACT"}


def test_paging_with_equal_updated_at_is_complete_and_stable(shop: Shop) -> None:
    made = [create(shop, email=f"c{i}@example.com")["customer"]["id"] for i in range(5)]
    seen, after = [], None
    while True:
        page = shop.data(CUSTOMERS, {"first": 2, "after": after, "sortKey": "UPDATED_AT",
                                     "query": "updated_at:>='2026-10-01T12:00:00Z'"})["customers"]
        seen += [n["id"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == made


def test_customer_update_changes_the_given_fields_and_moves_updated_at(shop: Shop) -> None:
    first = create(shop, firstName="Ada", email="ada@example.com", tags=["erp"])["customer"]
    other = create(shop, email="bob@example.com")["customer"]
    shop.clock.advance(120)
    updated = shop.data(UPDATE, {"input": {"id": first["id"], "lastName": "Lovelace", "note": "VIP",
                                           "addresses": [ADDRESS]}})["customerUpdate"]
    assert updated["userErrors"] == []
    customer = updated["customer"]
    assert (customer["firstName"], customer["lastName"], customer["note"], customer["tags"]) == (
        "Ada", "Lovelace", "VIP", ["erp"])
    assert customer["updatedAt"] == "2026-10-01T12:02:00Z" != customer["createdAt"]
    assert customer["defaultAddress"]["city"] == "Leeds"
    assert emails(shop, query="updated_at:>='2026-10-01T12:01:00Z'") == ["ada@example.com"]
    taken = shop.data(UPDATE, {"input": {"id": other["id"], "email": "ada@example.com"}})["customerUpdate"]
    assert taken["userErrors"] == [{"field": ["email"], "message": "Email has already been taken"}]
    missing = shop.data(UPDATE, {"input": {"id": "gid://shopify/Customer/999999", "note": "x"}})
    assert missing["customerUpdate"] == {
        "customer": None, "userErrors": [{"field": ["id"], "message": "Customer does not exist"}]}


def test_a_checkout_with_the_created_customer_s_email_is_attached_to_it(shop: Shop) -> None:
    made = create(shop, firstName="Ada", lastName="Byron", email="ada@example.com")["customer"]
    shop.clock.advance(30)
    order = shop.admin("POST", "/orders",
                       {"email": "ADA@example.com", "lines": [{"sku": "HAT-1", "quantity": 1}]})
    read = shop.data("query($id: ID!) { order(id: $id) { customer { id numberOfOrders updatedAt } } }",
                     {"id": order["id"]})
    assert read["order"]["customer"] == {"id": made["id"], "numberOfOrders": "1",
                                         "updatedAt": "2026-10-01T12:00:30Z"}
    # A checkout's new customer is listed too, after the one the merchant made.
    shop.admin("POST", "/orders", {"email": "guest@example.com", "lines": [{"sku": "HAT-1", "quantity": 1}]})
    assert emails(shop) == ["ada@example.com", "guest@example.com"]


def test_a_phone_only_checkout_finds_the_created_customer_by_phone(shop: Shop) -> None:
    made = create(shop, firstName="Pia", phone="+15550003333")["customer"]
    order = shop.admin("POST", "/orders", {"email": None, "phone": "+1 555 000 3333",
                                           "lines": [{"sku": "HAT-1", "quantity": 1}]})
    read = shop.data("query($id: ID!) { order(id: $id) { customer { id } } }", {"id": order["id"]})
    assert read["order"]["customer"]["id"] == made["id"]


def test_the_shopper_registration_endpoint_makes_an_enabled_customer(shop: Shop) -> None:
    registered = shop.admin("POST", "/customers", {"email": "reg@example.com", "first_name": "Reg",
                                                   "address": {"city": "Austin", "zip": "73301"}})
    assert registered["state"] == "ENABLED"
    read = shop.data("query($id: ID!) { customer(id: $id) { state defaultAddress { city } } }",
                     {"id": registered["id"]})
    assert read["customer"] == {"state": "ENABLED", "defaultAddress": {"city": "Austin"}}
    refused = shop.admin("POST", "/customers", {"email": "reg@example.com"}, expect=422)
    assert refused["userErrors"][0]["message"] == "Email has already been taken"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    served = Receiver()
    yield served
    served.close()


def test_customers_create_and_update_webhooks(shop: Shop, receiver: Receiver) -> None:
    for topic in ("CUSTOMERS_CREATE", "CUSTOMERS_UPDATE"):
        assert subscribe(shop, topic, receiver.uri(f"/{topic.lower()}"))["userErrors"] == []
    customer = create(shop, firstName="Ada", email="ada@example.com", tags=["a", "b"])["customer"]
    number = int(customer["legacyResourceId"])
    shop.data(UPDATE, {"input": {"id": customer["id"], "note": "changed"}})
    create(shop, email="ada@example.com")  # refused: nothing fires
    flush(shop)
    assert receiver.topics() == [("customers/create", number), ("customers/update", number)]
    created, updated = (r.payload for r in receiver.received)
    assert (created["email"], created["tags"], created["state"], created["note"]) == (
        "ada@example.com", "a, b", "disabled", None)
    assert created["admin_graphql_api_id"] == customer["id"]
    assert updated["note"] == "changed"


def test_customers_connection_is_priced_by_first(shop: Shop) -> None:
    body = shop.gql("{ customers(first: 10) { nodes { id addressesV2(first: 3) { nodes { city } } } } }")
    # 2 for the connection + 10 x (1 node + addressesV2: 2 + 3 x 1)
    assert body["extensions"]["cost"]["requestedQueryCost"] == 2 + 10 * (1 + 2 + 3)


def test_an_unknown_field_is_refused_by_the_schema(shop: Shop) -> None:
    body = shop.gql("{ customers(first: 1) { nodes { id erpNumber } } }")
    assert body["errors"][0]["extensions"]["code"] == "undefinedField"
