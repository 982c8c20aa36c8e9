"""The optional customers flow against the real ERP and the store emulator, on both warehouse engines:
ERP parties become store accounts and store accounts ERP parties, each once (run twice; killed with
SIGKILL right after the store made an account), one refused record stopping no other, and nothing done
while it is off (the default). What the test checks is read from the ERP and the store directly."""

from __future__ import annotations

import datetime as dt
import signal
import uuid
from collections import Counter
from dataclasses import asdict

import pytest
import requests
from sqlalchemy import select

from erpsync.sync.customers.run import sync_customers
from erpsync.warehouse import db
from erpsync.warehouse.schema import customer_link, row_error
from tests.support.crash import Crash, kill_at

pytestmark = pytest.mark.erp



class Contacts:
    """E-mails and phones of one test run: the ERP is shared by a worker's tests (the two engines' runs of
    a test too), so each run's are its own."""

    def __init__(self):
        self.tag, self.digits = uuid.uuid4().hex[:8], f"{uuid.uuid4().int % 10**6:06d}"

    def mail(self, name: str) -> str:
        return f"{name}.{self.tag}@example.com"

    def phone(self, prefix: str) -> str:
        return f"{prefix}{self.digits}"


@pytest.fixture
def c() -> Contacts:
    return Contacts()

ACCOUNTS = """query($query: String) { customers(first: 50, query: $query) {
  nodes { id firstName lastName note defaultEmailAddress { emailAddress } defaultPhoneNumber { phoneNumber }
          defaultAddress { address1 city zip countryCodeV2 provinceCode } } } }"""


def accounts(store, query: str) -> list[dict]:
    """The store's accounts matching a search, read over GraphQL without the product's code."""
    response = requests.post(store.graphql_url, headers={"X-Shopify-Access-Token": store.token()}, timeout=30,
                             json={"query": ACCOUNTS, "variables": {"query": query}})
    response.raise_for_status()
    return response.json()["data"]["customers"]["nodes"]


def new_party(admin, name: str, *contacts: tuple[str, str], address: dict | None = None) -> int:
    mechanisms = [{"type": kind, "value": value} for kind, value in contacts]
    values = {"name": name, "contact_mechanisms": [("create", mechanisms)]}
    if address:
        values["addresses"] = [("create", [address])]
    return admin.model("party.party", "create", [values])[0]


def parties_with(admin, value: str) -> list[int]:
    """Every party that has this e-mail or phone (a list: two parties must show as two)."""
    return [row["party"] for row in admin.model("party.contact_mechanism", "search_read",
                                                [("value", "=", value)], 0, None, [("id", "ASC")], ["party"])]


def links(warehouse) -> list[tuple[str, int, str]]:
    with warehouse.connect() as conn:
        return sorted(conn.execute(select(customer_link.c.customer_id, customer_link.c.party_id,
                                          customer_link.c.origin)).all())


@pytest.fixture
def since(warehouse, shop):
    """Both cursors so that the first window starts now (the ERP runs on this machine's clock): the run sees
    this test's parties and accounts only (the ERP is shared by the tests of a worker, and its orders'
    parties are older)."""
    now = dt.datetime.now(dt.UTC)
    with warehouse.begin() as conn:
        for source in ("erp", "store"):
            db.advance_cursor(conn, source, "customer", now + LAG, run_id="setup", now=now, store=shop.name)
    return now


# A run's window ends a second ahead (what the test made before it is in it, whatever the store's
# rounding to seconds) and starts LAG before the last one's end: what a run made is read by the next one.
LAG = dt.timedelta(seconds=5)


def run(erp_settings, shop, warehouse, direction: str, run_id: str = "run-1",
        later: dt.timedelta = dt.timedelta(0)):
    """One run; ``later``: as if it ran that much later by the error queue's clock (retries come due)."""
    return sync_customers(erp_settings.client(), shop, warehouse, direction=direction,
                          window_end=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1), run_id=run_id,
                          now=dt.datetime.now(dt.UTC) + later, lag=LAG)


def test_erp_parties_become_store_accounts_once_and_one_refused_stops_no_other(
        c, since, admin, store, shop, erp_settings, warehouse):
    store.admin("POST", "/customers", {"email": c.mail("old"), "first_name": "Old", "last_name": "Hand"})
    store.admin("POST", "/customers", {"email": c.mail("taken"), "phone": c.phone("+4420794")})
    texas = admin.model("country.country", "search", [("code", "=", "US")], 0, 1, None)[0]
    ada = new_party(admin, "Ada Maria Jensen", ("email", c.mail("Ada.Jensen")),
                    address={"street_unstructured": "1 Oak Avenue", "postal_code": "73301", "city": "Austin",
                             "country": texas})
    ben = new_party(admin, "Ben Silva", ("phone", c.phone("+4420795")))
    old = new_party(admin, "Old Hand", ("email", c.mail("old")))
    bad = new_party(admin, "Cy Taken", ("email", c.mail("cy")), ("phone", c.phone("+4420794")))
    new_party(admin, "Nobody Reachable")

    first = run(erp_settings, shop, warehouse, "to_store")
    counts = (first.to_store.created, first.to_store.matched, first.to_store.failed, first.to_store.skipped)
    assert counts == (2, 1, 1, 1)
    made = accounts(store, f"email:{c.mail('ada.jensen')}")
    assert [(a["firstName"], a["lastName"], a["note"], a["defaultAddress"]["city"]) for a in made] == [
        ("Ada Maria", "Jensen", f"ERP party {ada}", "Austin")]
    assert [a["defaultEmailAddress"] for a in accounts(store, f"phone:{c.phone('+4420795')}")] == [None]
    assert len(accounts(store, f"email:{c.mail('old')}")) == 1, "the store's own is linked, not made again"
    assert accounts(store, f"email:{c.mail('cy')}") == []
    by_party = {party: origin for _, party, origin in links(warehouse)}
    assert by_party == {ada: "erp", ben: "erp", old: "matched"}
    with warehouse.connect() as conn:
        refused = conn.execute(select(row_error.c.record_key, row_error.c.error_kind,
                                      row_error.c.error_message)
                               .where(row_error.c.flow == "customers")).all()
    assert [(key, kind) for key, kind, _ in refused] == [(str(bad), "StoreRefused")]
    assert "Phone has already been taken" in refused[0][2] and f"ERP party {bad}" in refused[0][2]

    again = run(erp_settings, shop, warehouse, "to_store", run_id="run-2")
    assert (again.to_store.created, again.to_store.matched) == (0, 0)
    assert len(accounts(store, f"email:{c.mail('ada.jensen')}")) == 1
    assert len(accounts(store, f"phone:{c.phone('+4420795')}")) == 1
    assert Counter(party for _, party, _ in links(warehouse)) == Counter({ada: 1, ben: 1, old: 1})

    # The refused party's phone corrected in the ERP: its retry makes the account and resolves the error.
    (phone_id,) = admin.model("party.contact_mechanism", "search",
                              [("party", "=", bad), ("type", "=", "phone")], 0, None, None)
    admin.model("party.contact_mechanism", "write", [phone_id], {"value": c.phone("+4420796")})
    fixed = run(erp_settings, shop, warehouse, "to_store", run_id="run-3", later=dt.timedelta(minutes=5))
    assert (fixed.to_store.created, fixed.to_store.failed) == (1, 0)
    assert len(accounts(store, f"email:{c.mail('cy')}")) == 1
    with warehouse.connect() as conn:
        statuses = conn.execute(select(row_error.c.status).where(row_error.c.flow == "customers")).scalars()
        assert statuses.all() == ["resolved"]


def test_store_accounts_become_erp_parties_once(c, since, admin, store, shop, erp_settings, warehouse):
    known = new_party(admin, "Dee Known", ("email", c.mail("dee")))
    store.admin("POST", "/customers", {"email": c.mail("DEE"), "first_name": "Dee", "last_name": "Known"})
    store.admin("POST", "/customers", {"email": c.mail("eve"), "first_name": "Eve", "last_name": "New"})
    store.admin("POST", "/customers", {"phone": c.phone("+3314268"), "first_name": "Fay",
                                       "last_name": "Phone"})
    store.admin("POST", "/customers", {"first_name": "Gus", "last_name": "Nothing"})

    first = run(erp_settings, shop, warehouse, "to_erp")
    side = first.to_erp
    assert (side.read, side.created, side.matched, side.skipped) == (4, 2, 1, 1)
    assert parties_with(admin, c.mail("dee")) == [known]
    eve, fay = parties_with(admin, c.mail("eve")), parties_with(admin, c.phone("+3314268"))
    assert len(eve) == 1 and len(fay) == 1
    assert sorted((party, origin) for _, party, origin in links(warehouse)) == sorted(
        [(known, "matched"), (eve[0], "store"), (fay[0], "store")])

    again = run(erp_settings, shop, warehouse, "to_erp", run_id="run-2")
    assert (again.to_erp.created, again.to_erp.matched) == (0, 0)
    assert parties_with(admin, c.mail("eve")) == eve and parties_with(admin, c.phone("+3314268")) == fay


def test_both_ways_nothing_comes_back_as_new(c, since, admin, store, shop, erp_settings, warehouse):
    hal = new_party(admin, "Hal Erp", ("email", c.mail("hal")))
    store.admin("POST", "/customers", {"email": c.mail("ivy"), "first_name": "Ivy", "last_name": "Store"})
    first = run(erp_settings, shop, warehouse, "both")
    assert (first.to_store.created, first.to_erp.created) == (1, 1)
    # The next run sees the other side's new records (the account made from Hal, the party made from Ivy):
    # linked already, so nothing is made again either way.
    second = run(erp_settings, shop, warehouse, "both", run_id="run-2")
    made = (second.to_store.created, second.to_store.matched, second.to_erp.created, second.to_erp.matched)
    assert made == (0, 0, 0, 0)
    assert second.to_store.linked_already >= 1 and second.to_erp.linked_already >= 1
    assert len(accounts(store, f"email:{c.mail('hal')}")) == 1
    assert len(parties_with(admin, c.mail("ivy"))) == 1
    assert parties_with(admin, c.mail("hal")) == [hal]


def test_killed_right_after_the_store_made_an_account_links_it_on_the_rerun_and_makes_no_second(
        c, since, admin, store, shop, erp_settings, warehouse, warehouse_url):
    made = [new_party(admin, f"Kit {i}", ("email", c.mail(f"kit{i}"))) for i in range(3)]
    died = kill_at(Crash("store_created_customer", "customers", erp=asdict(erp_settings),
                         store={"url": store.url, "token": store.token()}, warehouse_url=warehouse_url,
                         run_id="run-1", after_calls=2,
                         staged={"direction": "to_store", "lag_s": LAG.total_seconds()}))
    assert died.returncode == -signal.SIGKILL, died.stderr[-3000:]
    assert len(links(warehouse)) == 1, "the first account is linked, the second made but not linked"

    retry = run(erp_settings, shop, warehouse, "to_store")
    assert (retry.to_store.matched, retry.to_store.created) == (1, 1)
    for i in range(3):
        assert len(accounts(store, f"email:{c.mail(f'kit{i}')}")) == 1
    assert sorted(party for _, party, _ in links(warehouse)) == sorted(made)


def test_off_makes_nothing(c, since, admin, store, shop, erp_settings, warehouse):
    new_party(admin, "Jo Off", ("email", c.mail("jo")))
    store.admin("POST", "/customers", {"email": c.mail("kay"), "first_name": "Kay", "last_name": "Off"})
    result = run(erp_settings, shop, warehouse, "off")
    assert (result.to_store.read, result.to_erp.read) == (0, 0)
    assert accounts(store, f"email:{c.mail('jo')}") == [] and parties_with(admin, c.mail("kay")) == []
    assert links(warehouse) == []
