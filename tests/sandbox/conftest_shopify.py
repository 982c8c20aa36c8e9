"""Fixtures for the Shopify emulator tests: an emulator served from a thread, on a manual clock, with a
small catalog. Test modules import what they use from here."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from sandbox.shopify import ShopifyEmulator
from sandbox.shopify.clock import ManualClock
from sandbox.shopify.settings import GRAPHQL_PATH, TOKEN_HEADER

# The fixtures, for `from tests.sandbox.conftest_shopify import *` in the test modules; helpers are
# imported by name.
__all__ = ["clock", "emulator_home", "shop", "standard_shop"]

CATALOG = {
    "locations": ["Main Warehouse", "Outlet"],
    "products": [
        {
            "title": "Trail Shoe",
            "description": "<p>Grippy</p>",
            "images": ["https://img.example/shoe.jpg"],
            "option_name": "Size",
            "variants": [
                {
                    "sku": "SHOE-40",
                    "option": "40",
                    "price": "89.90",
                    "compare_at_price": "99.00",
                    "inventory": {"Main Warehouse": 10, "Outlet": 2},
                },
                {"sku": "SHOE-41", "option": "41", "price": "89.90", "inventory": {"Main Warehouse": 5}},
            ],
        },
        {
            "title": "Wool Hat",
            "variants": [{"sku": "HAT-1", "price": "25.00", "inventory": {"Main Warehouse": 3}}],
        },
        {
            "title": "Old Poster",
            "status": "ARCHIVED",
            "variants": [{"sku": "POSTER-1", "price": "5.00", "inventory": {"Outlet": 1}}],
        },
    ],
}


class Shop:
    """A client for one emulator: GraphQL the way an app calls Shopify, plus the admin endpoints."""

    def __init__(self, url: str, token: str, app: Any = None, clock: ManualClock | None = None) -> None:
        self.url = url
        self.token = token
        self.app = app
        self.clock = clock
        self.http = requests.Session()

    def post(self, body: Any, token: str | None = None, **kwargs: Any) -> requests.Response:
        headers = {} if token == "" else {TOKEN_HEADER: token or self.token}
        return self.http.post(
            self.url + GRAPHQL_PATH, json=body, headers=headers, timeout=kwargs.pop("timeout", 30), **kwargs
        )

    def gql(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
        response = self.post({"query": query, "variables": variables or {}}, **kwargs)
        assert response.status_code == 200, response.text
        return response.json()

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self.gql(query, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]

    def admin(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        response = self.http.request(
            method, f"{self.url}/_emulator{path}", json=body, headers={TOKEN_HEADER: self.token}, timeout=60
        )
        assert response.status_code == expect, response.text
        return response.json()

    def level(self, sku: str, location: str = "Main Warehouse") -> dict[str, int]:
        return self.admin("GET", f"/inventory?sku={sku}")["levels"][location]

    def ids(self, sku: str) -> dict[str, str]:
        """Product, variant, inventory item and location gids of a SKU."""
        product = self.admin("GET", f"/products?sku={sku}")
        variant = next(v for v in product["variants"] if v["sku"] == sku)
        locations = self.data("{ locations(first: 10) { nodes { id name } } }")["locations"]["nodes"]
        return {
            "product": product["id"],
            "variant": variant["id"],
            "item": variant["inventory_item_id"],
            **{loc["name"]: loc["id"] for loc in locations},
        }


SET_QUANTITIES = """
mutation SetQuantities($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id reason changes { name delta quantityAfterChange } }
    userErrors { field message code }
  }
}"""


def quantities_input(
    entries: list[tuple[str, str, int, int | None]], name: str = "available"
) -> dict[str, Any]:
    return {
        "name": name,
        "reason": "correction",
        "referenceDocumentUri": "gid://erp-connector/SyncJob/1",
        "quantities": [
            {
                "inventoryItemId": item,
                "locationId": location,
                "quantity": quantity,
                "changeFromQuantity": change_from,
            }
            for item, location, quantity, change_from in entries
        ],
    }


def new_key() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def emulator_home(tmp_path: Path) -> Path:
    return tmp_path / "shopify"


@contextmanager
def serve(home: Path, plan: str, clock: ManualClock | None) -> Iterator[Shop]:
    with ShopifyEmulator(home, plan=plan).running_in_thread(clock=clock) as running:
        yield Shop(running.url, running.token, running.app, clock)


@pytest.fixture
def shop(emulator_home: Path, clock: ManualClock) -> Iterator[Shop]:
    """A seeded emulator on the Enterprise plan (tests not about throttling never wait for the bucket)."""
    with serve(emulator_home, "ENTERPRISE", clock) as served:
        served.admin("POST", "/seed", CATALOG)
        yield served


@pytest.fixture
def standard_shop(emulator_home: Path, clock: ManualClock) -> Iterator[Shop]:
    with serve(emulator_home, "STANDARD", clock) as served:
        yield served
