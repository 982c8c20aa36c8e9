"""Where a store delivers its webhooks: the receiver's address as the store reaches it."""

from __future__ import annotations

MOUNT = "/erpsync-webhooks"  # where the plugin mounts the receiver in the API server


def receiver_uri(base_url: str, conn_id: str) -> str:
    """The receiver of store ``conn_id`` under ``base_url`` (``[erpsync] webhook_base_url``: how the
    store reaches Airflow's API server, e.g. ``https://airflow.example.com``)."""
    if not base_url.startswith(("https://", "http://")):
        raise ValueError(f"[erpsync] webhook_base_url {base_url!r} is not an http(s) URL: give the address "
                         "at which the store reaches Airflow's API server, e.g. https://airflow.example.com")
    return f"{base_url.rstrip('/')}{MOUNT}/{conn_id}"
