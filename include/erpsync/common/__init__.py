"""Infrastructure shared by every external-system client (retries, time windows, logging helpers)."""
