"""The sandbox Vendure server as a process: start, status, stop, reset, and a failed start explained."""

from __future__ import annotations

import os
import stat

import pytest

from sandbox.tryton import process
from sandbox.vendure import VendureServer
from sandbox.vendure.errors import VendureSandboxError
from tests.conftest import free_port

pytestmark = pytest.mark.vendure


def _group_members(pgid: int) -> list[int]:
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and process.is_alive(int(entry)):
            try:
                if os.getpgid(int(entry)) == pgid:
                    members.append(int(entry))
            except ProcessLookupError:
                continue
    return members


def test_start_stop_leaves_no_process(tmp_path):
    server = VendureServer(tmp_path / "vendure", port=free_port())
    info = server.start()
    pid = server.status()["pid"]
    try:
        assert info["admin_api_url"] == f"http://127.0.0.1:{server.port}/admin-api"
        assert info["shop_api_url"] == f"http://127.0.0.1:{server.port}/shop-api"
        assert "credentials" not in info
        assert server.status() == {"running": True, "pid": pid, "healthy": True, "url": server.url}
        assert os.getpgid(pid) == pid  # its own process group: stop() signals all of it
        assert server.start()["url"] == server.url  # a second start finds it running
        credentials = server.info(show_credentials=True)["credentials"]
        assert credentials["username"] == "superadmin" and len(credentials["password"]) >= 24
        assert stat.S_IMODE(server.credentials_file.stat().st_mode) == 0o600
        me = server.admin().data("{ me { identifier } }")["me"]
        assert me == {"identifier": "superadmin"}
    finally:
        assert server.stop() is True
    assert _group_members(pid) == []
    assert not process.port_in_use("127.0.0.1", server.port)
    assert server.status() == {"running": False, "pid": None, "healthy": False, "url": server.url}
    assert server.stop() is False


def test_reset_wipes_the_database_and_keeps_the_credentials(tmp_path):
    server = VendureServer(tmp_path / "vendure", port=free_port())
    server.start()
    try:
        admin = server.admin()
        admin.data('mutation { createStockLocation(input: {name: "Gone"}) { id } }')
        password = server.credentials()["password"]
        assert server.reset() == {"reset": True, "running": True}
        names = [
            loc["name"]
            for loc in server.admin().data("{ stockLocations { items { name } } }")["stockLocations"]["items"]
        ]
        assert names == ["Default Stock Location"]
        assert server.credentials()["password"] == password
    finally:
        server.stop()


def test_a_taken_port_is_refused_before_starting(tmp_path):
    busy = VendureServer(tmp_path / "first", port=free_port())
    busy.start()
    try:
        with pytest.raises(VendureSandboxError, match=f"port {busy.port} is in use"):
            VendureServer(tmp_path / "second", port=busy.port).start()
    finally:
        busy.stop()


def test_a_server_that_dies_on_boot_is_reported_with_its_log_tail(tmp_path):
    server = VendureServer(tmp_path / "vendure", port=free_port())
    server.home.mkdir(parents=True)
    (server.home / "vendure.sqlite").write_bytes(b"not a database" * 100)
    with pytest.raises(VendureSandboxError, match=r"(?s)vendure exited .*its tail:.*not a database"):
        server.start()
    assert server.status()["running"] is False
