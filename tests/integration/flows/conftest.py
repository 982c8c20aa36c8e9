"""Fixtures of the flow tests: the product's clients on the test ERP and store, each flow's steps."""

from __future__ import annotations

import pytest

from erpsync.shopify.settings import ShopifySettings
from erpsync.tryton.client import TrytonClient
from sandbox.tryton import catalog
from tests.support.audit import Target
from tests.support.flows import CatalogSteps, OrderSteps


@pytest.fixture
def shop(store):
    """The product's store client on the (emptied) store emulator."""
    return ShopifySettings(shop_url=store.url, access_token=store.token()).store()


@pytest.fixture
def admin(erp_admin) -> TrytonClient:
    """The product's ERP client with the ERP's admin rights, to arrange and read what a test checks."""
    return TrytonClient(erp_admin, web_shop=catalog.WEB_SHOP_NAME)


@pytest.fixture
def catalog_steps(erp_settings, shop, warehouse) -> CatalogSteps:
    """The catalog flow's steps (nothing published yet)."""
    return CatalogSteps(erp=erp_settings.client(), store=shop, engine=warehouse)


@pytest.fixture
def order_steps(erp_settings, shop, warehouse) -> OrderSteps:
    """The order flow's steps, after a full catalog publish (the SKUs orders buy exist in the store)."""
    CatalogSteps(erp=erp_settings.client(), store=shop, engine=warehouse).run(full=True)
    return OrderSteps(erp=erp_settings.client(), store=shop, engine=warehouse)


@pytest.fixture
def target(erp_sandbox, store) -> Target:
    """What the independent audit (tests/support/audit.py) reads: the test ERP and store, bypassing the product."""
    return Target(erp_url=erp_sandbox.url, erp_db=erp_sandbox.db_name, erp_login="admin",
                  erp_password=erp_sandbox.admin_password_file.read_text().strip(), web_shop=catalog.WEB_SHOP_NAME,
                  store_url=store.url, store_token=store.token())
