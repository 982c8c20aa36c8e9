"""``python -m erpsync.warehouse migrate [--url URL]``: bring the warehouse schema to head."""

from __future__ import annotations

import argparse
import logging

from sqlalchemy.engine import make_url

from erpsync.warehouse.engine import default_url
from erpsync.warehouse.migrate import upgrade_url


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m erpsync.warehouse")
    parser.add_argument("command", choices=["migrate"])
    parser.add_argument("--url", default=None, help="SQLAlchemy URL (default: $WAREHOUSE_URL or var/warehouse.sqlite)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    url = args.url or default_url()
    revision = upgrade_url(url)
    print(f"warehouse {make_url(url).render_as_string(hide_password=True)} at revision {revision}")


if __name__ == "__main__":
    main()
