"""Constants and environment defaults of the emulator, in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

API_VERSION = "2026-10"
GRAPHQL_PATH = f"/admin/api/{API_VERSION}/graphql.json"
ADMIN_PREFIX = "/_emulator"
TOKEN_HEADER = "X-Shopify-Access-Token"

SCHEMA_FILE = Path(__file__).parent / "schema" / f"admin_{API_VERSION}.json.gz"
REPO_ROOT = Path(__file__).resolve().parents[2]

SHOP_NAME = "Demo Store"
SHOP_DOMAIN = "demo-store.myshopify.com"
SHOP_CURRENCY = "USD"

# shopify.dev "GraphQL Admin API rate limits": restore rate per plan. The bucket sizes are not printed on
# that page; real responses report maximumAvailable 2000 at restoreRate 100 (Standard) and 20000 at 1000
# (Plus), i.e. twenty seconds of restore, which is applied to every plan.
BUCKET_SECONDS = 20
PLAN_RESTORE_RATES = {"STANDARD": 100, "ADVANCED": 200, "PLUS": 1000, "ENTERPRISE": 2000}
SINGLE_QUERY_MAX_COST = 1000  # same page: enforced on the requested cost, before execution

MAX_INPUT_ARRAY = 250  # shopify.dev "API limits": input arrays, unless a mutation documents more
MAX_PAGE_SIZE = 250  # shopify.dev "Paginating results with GraphQL"


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    restore_rate: float
    bucket_size: float

    @classmethod
    def named(cls, name: str, restore_rate: float | None = None) -> Plan:
        """The plan's documented rate, or ``restore_rate`` instead: not a Shopify figure, for seeding a large
        store through the real API in a benchmark's set-up, where the limit would only add waiting."""
        key = name.upper()
        if key not in PLAN_RESTORE_RATES:
            raise ValueError(f"unknown plan {name!r}; expected one of {sorted(PLAN_RESTORE_RATES)}")
        number = isinstance(restore_rate, int | float) and not isinstance(restore_rate, bool)
        if restore_rate is not None and not (number and restore_rate > 0):
            raise ValueError(f"restore_rate must be a positive number of points/s, not {restore_rate!r}")
        rate = float(restore_rate or PLAN_RESTORE_RATES[key])
        return cls(key, rate, rate * BUCKET_SECONDS)


def default_home() -> Path:
    return Path(os.environ.get("SHOPIFY_EMULATOR_HOME", REPO_ROOT / "var" / "shopify"))


def default_port() -> int:
    return int(os.environ.get("SHOPIFY_EMULATOR_PORT", "8100"))


def default_plan() -> str:
    return os.environ.get("SHOPIFY_EMULATOR_PLAN", "STANDARD")
