"""Sync health: what the warehouse's sync tables say about each flow (for the watch DAG and the UI page)."""
