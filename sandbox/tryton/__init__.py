"""The sandbox ERP: a real Tryton 8.2 server standing in for the customer's ERP in the demo and the tests.

Not part of the product (include/erpsync never imports it). Control it with ``python -m sandbox.tryton``
or ``sandbox.tryton.control.ErpSandbox``; see README.md beside this file.

This package's ``__init__`` imports nothing: ``seed`` and ``pgadmin`` run inside the ERP's own
environment (.venv-erp), where the product and its dependencies are not installed.
"""
