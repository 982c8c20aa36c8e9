"""The demo command, end to end, as a user runs it: `make demo` twice, then `make stop`.

It runs in its own DEMO_HOME and on free ports, so it never touches the user's own demo. The sandbox ERP
is cloned from the pristine snapshot `make test` built (building it again from scratch would add minutes
and test nothing more: `make test` just ran that build).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time

import pytest
import requests

from tests.conftest import REPO, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.erp, pytest.mark.timeout(1800)]


def run_make(target: str, env: dict[str, str], timeout_s: float) -> tuple[str, float]:
    started = time.monotonic()
    result = subprocess.run(
        ["make", target], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout_s,
    )
    elapsed = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"make {target} failed ({result.returncode}):\n{output[-6000:]}"
    return output, elapsed


@pytest.fixture
def demo_env(tmp_path):
    from sandbox.tryton.control import ErpSandbox

    home = tmp_path / "demo"
    ports = {"AIRFLOW_PORT": str(free_port()), "ERP_PORT": str(free_port()), "STORE_PORT": str(free_port())}
    ErpSandbox.from_env().clone(home / "erp", int(ports["ERP_PORT"]))
    # The user's environment, minus the test session's own Airflow settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(ports, DEMO_HOME=str(home))
    yield env
    subprocess.run(["make", "stop"], cwd=REPO, env=env, capture_output=True, timeout=300)
    # Whatever happened above, no process of this demo outlives the test: a demo left trading in the
    # background would slow every test after it.
    for entry in demo_processes(str(home)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(entry.split(":", 1)[0]), signal.SIGKILL)


def demo_processes(home: str) -> list[str]:
    """Command lines of live processes that belong to this demo (by its home in their environment)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            environ = open(f"/proc/{entry}/environ", "rb").read()
            cmdline = open(f"/proc/{entry}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
            state = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and (home.encode() in environ or home in cmdline):
            found.append(f"{entry}: {cmdline[:120]}")
    return found


def test_demo_runs_end_to_end_twice_and_stop_leaves_nothing(demo_env):
    first, first_s = run_make("demo", demo_env, timeout_s=1500)
    assert "Demo ready" in first
    moved = re.search(r"catalog_sync: \d+ run\(s\) \([^)]*\d+ success[^)]*\): "
                      r"products extracted: (\d+), stock extracted: (\d+)"
                      r".* content published: (\d+)", first)
    assert moved and int(moved.group(1)) >= 500 and int(moved.group(2)) >= 500, first[-3000:]
    assert int(moved.group(3)) >= 150, "the store's products were adopted and their content published"
    booked = re.search(r"orders_sync: \d+ run\(s\) \([^)]*\d+ success[^)]*\): "
                       r".*sales created in the ERP: (\d+)", first)
    assert booked and int(booked.group(1)) >= 1, f"the shopper's orders flowed into the ERP:\n{first[-3000:]}"
    fulfilled = re.search(r"Orders ledger: .*?(\d+) fulfilled", first)
    assert fulfilled and int(fulfilled.group(1)) >= 1, f"and shipments flowed back to the store:\n{first[-3000:]}"
    url = f"http://127.0.0.1:{demo_env['AIRFLOW_PORT']}"
    assert requests.get(f"{url}/api/v2/monitor/health", timeout=10).status_code == 200
    assert "password:" in first  # the one-time summary for the local demo
    orders = re.search(r"Store: .* (\d+) products, (\d+) variants, (\d+) orders so far", first)
    assert orders, first[-3000:]
    assert int(orders.group(1)) >= 100 and int(orders.group(2)) >= 500 and int(orders.group(3)) >= 1

    second, second_s = run_make("demo", demo_env, timeout_s=900)
    assert "Demo ready" in second and re.search(r"catalog_sync: \d+ run\(s\) \([^)]*\d+ success", second)
    assert "Airflow already running" in second
    print(f"make demo: first run {first_s:.0f}s, second run {second_s:.0f}s")

    _, stop_s = run_make("stop", demo_env, timeout_s=300)
    print(f"make stop: {stop_s:.0f}s")
    assert demo_processes(demo_env["DEMO_HOME"]) == []
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/api/v2/monitor/health", timeout=5)
