"""Which ERP parties become store accounts and which accounts become parties (pure). Expected plans are
written out by hand; the properties simulate a store taking each plan, with answers lost on the way."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from hypothesis import given, settings, strategies as st

from erpsync.store.records import CustomerAccount, CustomerDraft, StoreAddress
from erpsync.sync.customers import plan
from erpsync.sync.orders import customers
from erpsync.tryton.parties import ErpParty, ErpPartyAddress

T = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)


def party(party_id: int, name: str = "Ada Jensen", email: str | None = None, phone: str | None = None,
          address: ErpPartyAddress | None = None) -> ErpParty:
    return ErpParty(party_id, name, email, phone, address, T)


def account(customer_id: str, email: str | None = None, phone: str | None = None, first: str | None = "Ada",
            last: str | None = "Jensen", address: StoreAddress | None = None) -> CustomerAccount:
    return CustomerAccount(customer_id, email, phone, first, last, address, T)


def test_a_new_party_becomes_an_account_with_its_name_split_and_its_address():
    home = ErpPartyAddress("1 Oak Avenue\nFlat 2", "73301", "Austin", "US", "US-TX")
    decided = plan.to_store([party(7, "Ada Maria Jensen", "Ada@Example.com ", "+1 (512) 555-0100", home)],
                            set(), [], {})
    assert decided.create == [(7, CustomerDraft(
        "ada@example.com", "+15125550100", "Ada Maria", "Jensen",
        StoreAddress("Ada Maria", "Jensen", None, "1 Oak Avenue", "Flat 2", "Austin", "73301", "TX", "US",
                     "+15125550100"),
        note="ERP party 7"))]
    assert (decided.link, decided.skip, decided.linked_already) == ([], [], 0)


def test_an_account_with_the_partys_email_is_linked_not_made_twice():
    decided = plan.to_store([party(7, email="ada@example.com")], set(),
                            [account("C2", "ADA@example.com"), account("C1", "ada@example.com")], {})
    assert (decided.link, decided.create) == ([(7, "C1")], [])


def test_without_email_the_phone_finds_the_account_and_without_either_the_party_is_skipped():
    decided = plan.to_store([party(8, phone="0044 20 7946 0958"), party(9)], set(),
                            [account("C5", None, "+44 20 7946 0958")], {})
    assert decided.link == [(8, "C5")]
    assert decided.skip == [(9, plan.NO_CONTACT)] and decided.create == []


def test_linked_parties_are_left_alone_and_an_account_of_another_party_is_not_taken():
    decided = plan.to_store([party(1, email="a@x.io"), party(2, email="b@x.io")], {1},
                            [account("C9", "b@x.io")], {"C9": 5})
    assert decided.linked_already == 1 and decided.link == [] and decided.create == []
    assert [p for p, _ in decided.skip] == [2] and "party 5" in decided.skip[0][1]


def test_two_parties_sharing_an_email_make_one_account_and_the_other_waits_for_a_person():
    decided = plan.to_store([party(4, email="x@y.io"), party(3, email="X@y.io")], set(), [], {})
    assert [p for p, _ in decided.create] == [3]
    assert [p for p, _ in decided.skip] == [4] and "party 3" in decided.skip[0][1]


def test_a_one_word_name_is_the_last_name():
    decided = plan.to_store([party(5, "Cher", email="cher@x.io")], set(), [], {})
    assert (decided.create[0][1].first_name, decided.create[0][1].last_name) == (None, "Cher")


def test_store_accounts_go_to_the_matching_rule_unless_linked_or_without_anything_to_match_by():
    records, skipped, already = plan.to_erp([
        account("C1", "a@x.io"), account("C2", None, "+15125550100"), account("C3", None, None),
        account("C4", None, None, address=StoreAddress("Bo", "Li", None, "2 Elm St", None, "Austin", "73301",
                                                       "TX", "US", None)),
        account("C5", "linked@x.io")], {"C5": 40})
    assert already == 1 and skipped == [("C3", plan.NO_IDENTITY)]
    assert [r["store_order_id"] for r in records] == ["C1", "C2", "C4"]
    assert records[1]["shipping_address"] == {"phone": "+15125550100"}
    assert records[0]["customer"] == {"email": "a@x.io", "first_name": "Ada", "last_name": "Jensen"}


# -- properties ----------------------------------------------------------------------------------------

EMAILS = ["a@x.io", "A@x.io", "b@x.io", None]
PHONES = ["+15125550100", "+1 512 555 0100", "+442079460958", None]


@st.composite
def situations(draw):
    parties = [party(i, f"P {i}", draw(st.sampled_from(EMAILS)), draw(st.sampled_from(PHONES)))
               for i in range(1, draw(st.integers(1, 6)) + 1)]
    existing = [account(f"S{i}", draw(st.sampled_from(EMAILS)), draw(st.sampled_from(PHONES)))
                for i in range(draw(st.integers(0, 3)))]
    lost = draw(st.lists(st.booleans(), min_size=len(parties), max_size=len(parties)))
    return parties, existing, lost


class Store:
    """A store that makes an account per draft and refuses a second account with an e-mail it has (as
    Shopify and Vendure do); ``links`` is what the flow recorded."""

    def __init__(self, accounts: list[CustomerAccount]):
        self.accounts = list(accounts)
        self.links: dict[str, int] = {}

    def by_contact(self, parties: list[ErpParty]) -> list[CustomerAccount]:
        emails = {e for p in parties if (e := plan.contact(p)[0])}
        phones = {ph for p in parties if (ph := plan.contact(p)[1])}
        return [a for a in self.accounts
                if (a.email or "").lower() in emails or customers.normal_phone(a.phone) in phones]

    def run(self, parties: list[ErpParty], lose: list[bool]) -> plan.ToStore:
        linked = set(self.links.values())
        decided = plan.to_store(parties, linked, self.by_contact(parties), self.links)
        for party_id, customer_id in decided.link:
            self.links.setdefault(customer_id, party_id)
        for party_id, draft in decided.create:
            assert draft.email is None or all((a.email or "").lower() != draft.email for a in self.accounts), \
                "a second account with an e-mail the store has"
            created = account(f"N{len(self.accounts)}", draft.email, draft.phone)
            self.accounts.append(created)
            if not lose[party_id - 1]:  # the answer came back: the flow links it at once
                self.links[created.customer_id] = party_id
        return decided


@settings(max_examples=300)
@given(situations())
def test_every_party_with_a_contact_ends_with_one_account_however_many_answers_are_lost(situation):
    parties, existing, lost = situation
    store = Store(existing)
    store.run(parties, lost)
    again = store.run(parties, [False] * len(parties))
    assert again.create == [], "an account made again after its answer was lost"
    third = store.run(parties, [False] * len(parties))
    assert third.create == [] and third.link == []
    per_party = Counter(store.links.values())
    assert all(n == 1 for n in per_party.values()), per_party
    skipped = dict(third.skip)
    for p in parties:
        email, phone = plan.contact(p)
        if not (email or phone):
            assert skipped.get(p.party_id) == plan.NO_CONTACT and p.party_id not in per_party
        else:  # linked, or waiting for a person with the reason (a shared e-mail or phone)
            assert (p.party_id in per_party) != (p.party_id in skipped), p


@settings(max_examples=300)
@given(situations())
def test_no_account_is_ever_linked_to_two_parties(situation):
    parties, existing, lost = situation
    store = Store(existing)
    for _ in range(3):
        store.run(parties, lost)
    assert len(set(store.links.values())) == len(store.links), "a party with two accounts"


def test_a_store_whose_accounts_need_an_email_skips_a_phone_only_party_with_that_reason():
    decided = plan.to_store([party(8, phone="+15125550100"), party(9, email="a@x.io")], set(), [], {},
                            needs_email=True)
    assert decided.skip == [(8, plan.NO_EMAIL)] and [p for p, _ in decided.create] == [9]
