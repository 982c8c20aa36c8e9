"""Housekeeping of the warehouse: bounded growth (old raw rows, run logs, closed errors and quarantine
rows deleted in batches) and data protection (personal data blanked in the order payloads kept)."""
