"""The sync state the flows and reconciliation share: published state, the order ledger, the row-level
error queue."""
