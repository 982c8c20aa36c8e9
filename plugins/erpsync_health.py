"""Airflow plugin: the *Sync health* page (``/erpsync/health``) in the UI's navigation. The page lives in
the installed package (``erpsync.health``); this file only registers it."""

from airflow.plugins_manager import AirflowPlugin

from erpsync.health.app import MOUNT, create_app


class ErpSyncHealthPlugin(AirflowPlugin):
    name = "erpsync_health"
    fastapi_apps = [{"app": create_app(), "url_prefix": MOUNT, "name": "Sync health"}]
    external_views = [{
        "name": "Sync health",
        "href": f"{MOUNT.lstrip('/')}/health",
        "destination": "nav",
        "url_route": "sync-health",
        "category": "browse",
    }]
