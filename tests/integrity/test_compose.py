"""docker-compose.yaml cannot be started here (no Docker engine): check what can be checked without one.

Structure (the official Airflow 3.3 CeleryExecutor services), every path it references, and parity with
the local setup (same Airflow version and Python, same pinned requirements, same Connection ids and
sizing), so that the file does not silently rot.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO

AIRFLOW_SERVICES = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-worker",
                    "airflow-triggerer", "airflow-init"}
# Airflow's CeleryExecutor, giving back the slots of tasks whose worker died after they ended.
CELERY_EXECUTOR = "erpsync.celery_executor.CeleryExecutor"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yaml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (REPO / "Dockerfile").read_text()


def pinned(requirement: str) -> str:
    text = (REPO / "requirements.txt").read_text()
    match = re.search(rf"^{re.escape(requirement)}==(\S+)$", text, re.MULTILINE)
    assert match, f"{requirement} is not pinned in requirements.txt"
    return match.group(1)


def effective_env(service: dict) -> dict[str, str]:
    """A service's environment as Compose builds it: its env_file(s), then its own ``environment``."""
    from sandbox.airflow_local import read_env_file

    env: dict[str, str] = {}
    for path in service.get("env_file", []):
        env.update(read_env_file(REPO / path))
    env.update({key: str(value) for key, value in (service.get("environment") or {}).items()})
    return env


def test_has_the_official_celery_shape_plus_warehouse_and_sandboxes(compose):
    services = compose["services"]
    assert AIRFLOW_SERVICES | {"postgres", "redis", "erp", "store"} <= set(services)
    for name in AIRFLOW_SERVICES:
        assert effective_env(services[name])["AIRFLOW__CORE__EXECUTOR"] == CELERY_EXECUTOR, name
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        depends = services[name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert "healthcheck" in services[name], name
    commands = {name: services[name]["command"] for name in AIRFLOW_SERVICES - {"airflow-init"}}
    assert commands == {
        "airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
        "airflow-dag-processor": "dag-processor", "airflow-worker": "celery worker",
        "airflow-triggerer": "triggerer",
    }


def test_the_executor_is_a_celery_executor_every_airflow_process_can_import():
    """The scheduler loads ``[core] executor`` by its path, and `airflow celery worker` exists only for an
    executor that offers it: both must hold for ours, in a process of its own (the scheduler's)."""
    check = (
        "from airflow.executors.executor_loader import ExecutorLoader\n"
        "from airflow.providers.celery.executors.celery_executor import CeleryExecutor\n"
        "cls, _ = ExecutorLoader.import_executor_cls(ExecutorLoader.get_executor_names()[0])\n"
        "assert issubclass(cls, CeleryExecutor), cls\n"
        "assert any(group.name == 'celery' for group in cls.get_cli_commands())\n"
        "print(cls.__module__ + '.' + cls.__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "AIRFLOW__CORE__EXECUTOR": CELERY_EXECUTOR})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == CELERY_EXECUTOR


def test_every_referenced_path_exists(compose):
    for name, service in compose["services"].items():
        build = service.get("build")
        if build:
            assert (REPO / build["context"]).is_dir(), name
            assert (REPO / build["context"] / build.get("dockerfile", "Dockerfile")).is_file(), name
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (REPO / source).exists(), f"{name}: {source} does not exist"


def test_ports_are_published_on_loopback_only(compose):
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_no_secret_is_written_in_the_file(compose):
    env = compose["services"]["airflow-worker"]["environment"]
    assert "${ERP_INTEGRATION_PASSWORD:?" in env["AIRFLOW_CONN_ERP_DEFAULT"]
    assert "${STORE_ACCESS_TOKEN:?" in env["AIRFLOW_CONN_STORE_DEFAULT"]
    assert env["AIRFLOW__CORE__FERNET_KEY"].startswith("${")


def test_image_matches_the_local_setup(dockerfile):
    airflow = pinned("apache-airflow")
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert f"FROM apache/airflow:{airflow}-python{python} AS airflow" in dockerfile
    assert "-r requirements.txt -c constraints.txt" in dockerfile, "same pins as `make venv`"
    assert "pip install --no-cache-dir --no-deps -e ." in dockerfile, "the package, as `make venv` installs it"
    assert "sandbox/tryton/requirements.txt" in dockerfile, "the sandbox ERP as `make erp-venv` builds it"
    makefile = (REPO / "Makefile").read_text()
    assert "-r requirements-dev.txt -c constraints.txt" in makefile


def test_connections_and_sizing_match_the_hooks_and_the_demo(compose):
    import json

    from erpsync.shopify.hook import ShopifyHook
    from erpsync.tryton.hook import TrytonHook
    from erpsync.warehouse.hook import WarehouseHook
    from sandbox.airflow_local import AirflowLocal

    env = compose["x-airflow-common"]["environment"]
    for hook in (TrytonHook, WarehouseHook, ShopifyHook):
        assert f"AIRFLOW_CONN_{hook.default_conn_name.upper()}" in env
    erp = json.loads(re.sub(r"\$\{[^}]+\}", "x", env["AIRFLOW_CONN_ERP_DEFAULT"]))
    assert erp["conn_type"] == TrytonHook.conn_type and erp["extra"]["web_shop"]
    local = AirflowLocal(home=REPO / "var" / "unused").env()
    shared = effective_env(compose["x-airflow-common"])
    assert shared["AIRFLOW__CORE__PARALLELISM"] == local["AIRFLOW__CORE__PARALLELISM"]
    assert shared["AIRFLOW__CORE__LOAD_EXAMPLES"].lower() == local["AIRFLOW__CORE__LOAD_EXAMPLES"].lower()


def test_compose_and_the_celery_demo_read_one_settings_file_and_neither_overrides_it(compose, tmp_path):
    from sandbox.airflow_local import CELERY_SETTINGS, AirflowLocal, CeleryDeployment, read_env_file

    shared = read_env_file(CELERY_SETTINGS)
    common = compose["x-airflow-common"]
    assert [REPO / path for path in common["env_file"]] == [CELERY_SETTINGS]
    for name in AIRFLOW_SERVICES:
        service = compose["services"][name]
        overridden = set(shared) & set(service.get("environment") or {})
        assert not overridden, f"{name} sets {sorted(overridden)} itself: set them in {CELERY_SETTINGS.name}"
        assert {key: effective_env(service)[key] for key in shared} == shared, name
    celery = CeleryDeployment(metadata_url="postgresql+psycopg://u@127.0.0.1/a",
                              broker_url="redis://127.0.0.1/1", queue="q")
    demo = AirflowLocal(home=tmp_path, celery=celery).env()
    assert {key: demo[key] for key in shared} == shared
    # As many workers, and as many task slots, on both.
    assert compose["services"]["airflow-worker"]["deploy"]["replicas"] == len(celery.workers) == 2
    # One secret for the tokens of every process (a worker's are checked by the API server).
    assert "AIRFLOW__API_AUTH__JWT_SECRET" in common["environment"]


def test_the_commands_the_services_run_exist():
    # The sandbox CLIs must offer what the compose services call.
    help_text = subprocess.run(
        [sys.executable, "-m", "sandbox.tryton", "--help"], cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout
    commands = set(re.search(r"\{([a-z,-]+)\}", help_text).group(1).split(","))
    assert {"build", "serve", "health"} <= commands, commands
    store_help = subprocess.run(
        [sys.executable, "-m", "sandbox.shopify", "--help"], cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout
    assert "serve" in set(re.search(r"\{([a-z,-]+)\}", store_help).group(1).split(","))
    assert (REPO / "include" / "erpsync" / "tasks" / "pools.py").is_file()
    assert (REPO / "include" / "erpsync" / "warehouse" / "__main__.py").is_file()
