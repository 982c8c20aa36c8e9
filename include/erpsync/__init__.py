"""ERP <-> eCommerce integration: the package the Airflow DAGs import.

Subpackages: one per external system (``tryton``, the warehouse), plus ``sync`` (the flows as plain
functions) and ``quality`` (expectation suites, quarantine, guardrails). Nothing here imports Airflow
at module level except the hooks, so the flows are testable without a running Airflow.
"""
