"""Fixtures of the tests that run DAGs through Airflow itself (dag.test)."""

from __future__ import annotations

import datetime as dt

import pytest


@pytest.fixture
def catalog_dag(airflow_db):
    from airflow.models import DagBag

    from tests.conftest import REPO

    return DagBag(dag_folder=str(REPO / "dags" / "catalog_sync.py")).dags["catalog_sync"]


def run_dag(dag, **conf):
    from airflow.utils.state import DagRunState

    params = {"full_refresh": False, "skus": [], "dry_run": False, "approve_held": False, **conf}
    # dag.test runs every task in this process, where the DAG's params keep the last run's conf: each
    # run states all its params.
    run = dag.test(logical_date=None, run_after=dt.datetime.now(dt.UTC), run_conf=params)
    assert run.state == DagRunState.SUCCESS, f"{run.run_id} ended {run.state}"
    return run


@pytest.fixture
def orders_dag(airflow_db):
    from airflow.models import DagBag

    from tests.conftest import REPO

    return DagBag(dag_folder=str(REPO / "dags" / "orders_sync.py")).dags["orders_sync"]
