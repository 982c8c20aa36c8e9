"""Process control: background start/stop by pid, token handling, persistence across restarts."""

from __future__ import annotations

import json
import socket
import stat
import subprocess
import sys
from pathlib import Path

import requests

from sandbox.shopify import ShopifyEmulator
from sandbox.shopify.settings import GRAPHQL_PATH, TOKEN_HEADER
from tests.sandbox.conftest_shopify import *  # noqa: F403 (fixtures)
from tests.sandbox.conftest_shopify import CATALOG, serve

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cli(home: Path, port: int, *args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox.shopify", "--home", str(home), "--port", str(port), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return json.loads(result.stdout)


def test_background_start_status_restart_and_stop(tmp_path: Path) -> None:
    home, port = tmp_path / "shopify", _free_port()
    emulator = ShopifyEmulator(home, port)
    try:
        info = _cli(home, port, "start")
        assert info["url"] == f"http://127.0.0.1:{port}" and info["api_version"] == "2026-10"
        assert "access_token" not in info
        assert stat.S_IMODE(Path(info["access_token_file"]).stat().st_mode) == 0o600
        assert _cli(home, port, "info", "--show-token")["access_token"].startswith("shpat_")
        status = _cli(home, port, "status")
        assert status["running"] and status["healthy"]
        emulator.admin("POST", "/seed", CATALOG)

        pid = status["pid"]
        assert _cli(home, port, "stop") == {"stopped": True}
        assert (
            not Path(f"/proc/{pid}").exists()
            or "Z" in Path(f"/proc/{pid}/stat").read_text().split(") ")[1][:1]
        )
        emulator.start()
        response = requests.post(
            emulator.graphql_url,
            headers={TOKEN_HEADER: emulator.token()},
            timeout=10,
            json={"query": '{ products(first: 5, query: "sku:HAT-1") { nodes { title } } }'},
        )
        assert response.json()["data"]["products"]["nodes"] == [{"title": "Wool Hat"}]
        assert _cli(home, port, "reset")["counts"]["products"] == 0
    finally:
        emulator.stop()
    assert not emulator.status()["running"]


def test_state_and_idempotency_keys_survive_a_restart(emulator_home: Path, clock) -> None:
    with serve(emulator_home, "ENTERPRISE", clock) as shop:
        shop.admin("POST", "/seed", CATALOG)
        order = shop.admin("POST", "/orders", {"lines": [{"sku": "SHOE-40", "quantity": 2}]})
        shop.admin("PUT", "/plan", {"plan": "PLUS"})
    with serve(emulator_home, "STANDARD", clock) as shop:
        assert shop.level("SHOE-40") == {"available": 8, "committed": 2, "on_hand": 10}
        body = shop.gql(
            "query($id: ID!) { order(id: $id) { name lineItems(first: 5) { nodes { sku } } } }",
            {"id": order["id"]},
        )
        assert body["data"]["order"] == {"name": "#1001", "lineItems": {"nodes": [{"sku": "SHOE-40"}]}}
        assert body["extensions"]["cost"]["throttleStatus"]["restoreRate"] == 1000.0  # the plan persisted


def test_graphql_path_is_the_versioned_admin_endpoint(emulator_home: Path, clock) -> None:
    with serve(emulator_home, "STANDARD", clock) as shop:
        other = requests.post(
            shop.url + GRAPHQL_PATH.replace("2026-10", "2024-01"),
            json={"query": "{ shop { name } }"},
            headers={TOKEN_HEADER: shop.token},
            timeout=10,
        )
        assert other.status_code == 404
        assert shop.post({"variables": {}}).status_code == 400
