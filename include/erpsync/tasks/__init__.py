"""Airflow task callables, imported by the DAG files.

Modules here import only ``airflow.sdk`` at module level: DAG parsing stays fast. Everything else
(clients, SQLAlchemy, pandas, Great Expectations) is imported inside the task bodies, at run time.
"""
