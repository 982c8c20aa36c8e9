"""Reconciliation: read the whole store, compare it with what it should have, repair, report."""
