"""What a benchmark ran on: the machine and the versions of everything measured."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata

from erpsync.shopify.client import API_VERSION
from sandbox.airflow_local import REPO
from sandbox.tryton.control import ErpSandbox

PACKAGES = ["apache-airflow", "great-expectations", "SQLAlchemy", "pandas", "psycopg", "requests"]


def describe() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                  if line.startswith("model name")), platform.processor())
    memory_kb = next((int(line.split()[1]) for line in _read("/proc/meminfo").splitlines()
                      if line.startswith("MemTotal")), 0)
    return {"cpus": os.cpu_count(), "cpu": model, "memory_gib": round(memory_kb / 2**20, 1),
            "kernel": platform.release(), "python": platform.python_version()}


def versions() -> dict:
    found = {name: _version(name) for name in PACKAGES}
    erp_python = ErpSandbox.from_env().erp_python
    found["trytond"] = _run([str(erp_python), "-c", "import trytond; print(trytond.__version__)"])
    found["postgresql"] = _run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-Atc",
                                "show server_version"])
    dlt_python = REPO / ".venv-dlt" / "bin" / "python"
    if dlt_python.exists():
        found["dlt"] = _run([str(dlt_python), "-c", "import dlt; print(dlt.__version__)"])
    found["store_api"] = f"Shopify Admin GraphQL {API_VERSION} (the emulator)"
    return found


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _run(command: list[str]) -> str | None:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def _read(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return ""
