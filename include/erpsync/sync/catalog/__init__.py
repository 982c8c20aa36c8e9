"""ERP -> store: extract the catalog incrementally, stage it, work out the desired store state, publish
only the difference (content, prices, inventory)."""
