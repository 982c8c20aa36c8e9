"""Fixtures for the Vendure sandbox tests: one real Vendure server per test module, on a free port in a
temporary home. Test modules import what they use from here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.vendure import VendureServer
from tests.conftest import free_port

# The fixtures, for `from tests.sandbox.conftest_vendure import *` in the test modules.
__all__ = ["vendure", "erp_seeded"]


@pytest.fixture(scope="module")
def vendure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VendureServer]:
    server = VendureServer(Path(tmp_path_factory.mktemp("vendure")), port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def erp_seeded(vendure, erp_settings):
    """The module's Vendure server seeded from the test ERP's catalog, as a merchant's existing shop."""
    from sandbox.demo import store_seed
    from sandbox.vendure.seed import configure_store, seed_catalog

    admin = vendure.admin()
    configure_store(admin)
    seed_catalog(admin, store_seed(erp_settings.client()))
    return vendure


def product_store(server: VendureServer, name: str = "vendure-outlet", **options):
    """The product's store client on ``server``, logged in as its administrator."""
    from erpsync.vendure.settings import VendureSettings

    return VendureSettings(base_url=server.url, store_name=name, **server.credentials(), **options).store()
