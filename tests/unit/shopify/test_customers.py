"""Customer accounts: the drafts sent to Shopify, the searches asked of it, what is kept of its answers."""

from __future__ import annotations

import datetime as dt

from erpsync.shopify.customers import ShopifyCustomers, account, customer_input
from erpsync.store.records import CustomerDraft, StoreAddress


def node(number: int, email: str | None = None, phone: str | None = None) -> dict:
    return {"id": f"gid://shopify/Customer/{number}", "firstName": None, "lastName": "L",
            "updatedAt": "2026-10-01T12:00:00Z",
            "defaultEmailAddress": {"emailAddress": email} if email else None,
            "defaultPhoneNumber": {"phoneNumber": phone} if phone else None, "defaultAddress": None}


class Searched:
    """A client that answers every search with the same accounts, and remembers the searches."""

    def __init__(self, nodes: list[dict]):
        self.nodes, self.queries = nodes, []

    def paginate(self, operation, variables, connection):
        assert (operation.name, connection) == ("Customers", "customers")
        self.queries.append(variables["query"])
        yield self.nodes


def test_a_draft_sends_what_it_has_and_leaves_out_what_it_does_not():
    address = StoreAddress(first_name="Ada", last_name=None, company=None, address1="1 Dock St",
                           address2=None, city="Leeds", zip="LS1 4AP", province_code=None, country_code="GB",
                           phone=None)
    draft = CustomerDraft(email="ada@example.com", phone=None, first_name="Ada", last_name=None,
                          address=address, note="ERP party 42")
    assert customer_input(draft) == {
        "email": "ada@example.com", "firstName": "Ada", "note": "ERP party 42",
        "addresses": [{"firstName": "Ada", "address1": "1 Dock St", "city": "Leeds", "zip": "LS1 4AP",
                       "countryCode": "GB"}]}
    bare = CustomerDraft(email=None, phone="+15550001111", first_name=None, last_name=None, address=None)
    assert customer_input(bare) == {"phone": "+15550001111"}


def test_an_account_without_default_contact_or_address_reads_as_none():
    read = account(node(7))
    assert (read.customer_id, read.email, read.phone, read.first_name, read.last_name, read.address) == (
        "gid://shopify/Customer/7", None, None, None, "L", None)
    assert read.updated_at == dt.datetime(2026, 10, 1, 12, 0, tzinfo=dt.UTC)


def test_contacts_are_searched_quoted_and_only_the_accounts_that_have_them_are_answered():
    """Shopify ignores a search term it cannot use and then lists every account: an answer is kept only
    for an account that has an e-mail (any case) or phone (any punctuation) that was asked for."""
    client = Searched([node(1, email="Ada@Example.com"), node(2, phone="+1 555-000-1111"),
                       node(3, email="someone@example.com", phone="+15550009999")])
    found = ShopifyCustomers(client).customers_by_contact([" ADA@example.com", "o'hara@example.com"],
                                                          ["+15550001111"])
    assert [a.customer_id for a in found] == ["gid://shopify/Customer/1", "gid://shopify/Customer/2"]
    assert client.queries == [
        'email:"ada@example.com" OR email:"o\'hara@example.com" OR phone:"+15550001111"']


def test_no_contact_asks_nothing():
    client = Searched([node(1, email="a@example.com")])
    assert ShopifyCustomers(client).customers_by_contact(["  "], [""]) == []
    assert client.queries == []
