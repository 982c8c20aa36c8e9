"""Constants and environment defaults of the sandbox Vendure server, in one place."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parents[1]
SERVER_JS = PACKAGE_DIR / "server.js"
INSTALLED_STAMP = PACKAGE_DIR / "node_modules" / ".installed"  # written by `make vendure`

ADMIN_API_PATH = "/admin-api"
SHOP_API_PATH = "/shop-api"
HEALTH_PATH = "/health"
# authOptions.authTokenHeaderKey (Vendure's default): a new session's token comes back in this response
# header; the client sends it back as `Authorization: Bearer <token>` (tokenMethod 'bearer').
AUTH_TOKEN_HEADER = "vendure-auth-token"
CURRENCY = "USD"  # the default channel's, as Vendure creates it

SUPERADMIN_USERNAME = "superadmin"
START_TIMEOUT = 60.0  # boots in 4-8 s here (schema synchronised on first boot)
STOP_GRACE = 15.0
LOG_TAIL_LINES = 30


def default_home() -> Path:
    """$VENDURE_HOME, else <DEMO_HOME>/vendure, else <repo>/var/vendure."""
    if os.environ.get("VENDURE_HOME"):
        return Path(os.environ["VENDURE_HOME"])
    return Path(os.environ.get("DEMO_HOME") or REPO_ROOT / "var") / "vendure"


def default_port() -> int:
    port = os.environ.get("VENDURE_PORT") or "3000"
    if not port.isdigit():
        raise ValueError(f"VENDURE_PORT must be a port number, got {port!r}")
    return int(port)


def default_db_url() -> str | None:
    """A postgresql:// URL (VENDURE_DB_URL) or None for SQLite under the home directory."""
    return os.environ.get("VENDURE_DB_URL") or None
