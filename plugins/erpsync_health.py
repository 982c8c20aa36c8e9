"""Airflow plugin: the *Sync health* page (``/erpsync/health``) in the UI's navigation, and the stores'
webhook endpoint (``/erpsync-webhooks/<store connection id>``). Both live in the installed package
(``erpsync.health``, ``erpsync.events``); this file only registers them."""

from airflow.plugins_manager import AirflowPlugin

from erpsync.events import app as webhooks
from erpsync.health.app import MOUNT, create_app


class ErpSyncHealthPlugin(AirflowPlugin):
    name = "erpsync_health"
    fastapi_apps = [
        {"app": create_app(), "url_prefix": MOUNT, "name": "Sync health"},
        {"app": webhooks.create_app(), "url_prefix": webhooks.MOUNT, "name": "Store webhooks"},
    ]
    external_views = [{
        "name": "Sync health",
        "href": f"{MOUNT.lstrip('/')}/health",
        "destination": "nav",
        "url_route": "sync-health",
        "category": "browse",
    }]
