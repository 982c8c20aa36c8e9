"""Store -> ERP: extract orders incrementally, stage them, book each in the ERP exactly once, follow its
cancellations and refunds, and send the ERP's shipments back to the store."""
