"""The Redis broker's databases that tests keep for themselves."""

from __future__ import annotations


def flush(url: str) -> None:
    """Empty the Redis database of ``url`` (a test's own: before it starts, and after)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()
