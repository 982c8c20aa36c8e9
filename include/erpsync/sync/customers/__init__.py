"""The optional customers flow: ERP parties <-> store customer accounts (off by default)."""
