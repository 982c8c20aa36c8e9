"""Fixtures of the tests that run DAGs through Airflow itself (dag.test)."""

from __future__ import annotations

import datetime as dt

import pytest


PARAM_DEFAULTS: dict[str, dict] = {}


def load_dag(dag_id: str):
    from airflow.models import DagBag

    from tests.conftest import REPO

    dag = DagBag(dag_folder=str(REPO / "dags" / f"{dag_id}.py")).dags[dag_id]
    PARAM_DEFAULTS[dag_id] = {name: param.value for name, param in dag.params.items()}
    return dag


@pytest.fixture
def catalog_dag(airflow_db):
    return load_dag("catalog_sync")


def run_dag(dag, expect: str = "success", **conf):
    # dag.test runs every task in this process, where the DAG's params keep the last run's conf: each
    # run states all its params (the defaults as loaded, and ``conf``).
    run = dag.test(logical_date=None, run_after=dt.datetime.now(dt.UTC),
                   run_conf={**PARAM_DEFAULTS[dag.dag_id], **conf})
    assert run.state == expect, f"{run.run_id} ended {run.state}"
    return run


@pytest.fixture
def orders_dag(airflow_db):
    return load_dag("orders_sync")
