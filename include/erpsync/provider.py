"""Declares our connection types to Airflow (entry point ``apache_airflow_provider``), so the
Connection form in the UI offers them with the right labels and a Test button."""

from __future__ import annotations

from importlib.metadata import version

# The Connection types that are stores (erpsync.store.hook chooses a store's hook by its type).
STORE_CONNECTION_TYPES = ("shopify",)


def get_provider_info() -> dict:
    return {
        "package-name": "erpsync",
        "name": "ERP <-> store sync",
        "description": "Hooks of the ERP <-> eCommerce integration (Tryton ERP, Shopify store).",
        "versions": [version("erpsync")],
        "connection-types": [
            {
                "connection-type": "tryton",
                "hook-class-name": "erpsync.tryton.hook.TrytonHook",
                "hook-name": "Tryton ERP",
                "ui-field-behaviour": {
                    "hidden-fields": [],
                    "relabeling": {"schema": "Database", "login": "Integration user"},
                    "placeholders": {
                        "host": "http://erp.internal",
                        "port": "8000",
                        "schema": "erp",
                        "extra": '{"web_shop": "Online Store"}',
                    },
                },
            },
            {
                "connection-type": "shopify",
                "hook-class-name": "erpsync.shopify.hook.ShopifyHook",
                "hook-name": "Shopify store",
                "ui-field-behaviour": {
                    "hidden-fields": ["login", "schema"],
                    "relabeling": {"host": "Shop", "password": "Admin API access token"},
                    "placeholders": {
                        "host": "my-shop.myshopify.com",
                        "extra": '{"api_version": "2026-10", "plan": "STANDARD"}',
                    },
                },
            },
        ],
    }
