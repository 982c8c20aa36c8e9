"""The flows as plain functions over clients and the warehouse: one sub-package per flow (catalog, orders,
reconcile), the sync state they share (state), and the landing and staging rules every extract follows."""
