"""Fixtures for the Vendure sandbox tests: one real Vendure server per test module, on a free port in a
temporary home. Test modules import what they use from here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.vendure import VendureServer
from tests.conftest import free_port

# The fixture, for `from tests.sandbox.conftest_vendure import *` in the test modules.
__all__ = ["vendure"]


@pytest.fixture(scope="module")
def vendure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VendureServer]:
    server = VendureServer(Path(tmp_path_factory.mktemp("vendure")), port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
