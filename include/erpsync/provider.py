"""Declares our connection types to Airflow (entry point ``apache_airflow_provider``), so the
Connection form in the UI offers them with the right labels and a Test button."""

from __future__ import annotations

from importlib.metadata import version

# The Connection types that are stores (erpsync.store.hook chooses a store's hook by its type).
STORE_CONNECTION_TYPES = ("shopify", "vendure")


def get_provider_info() -> dict:
    return {
        "package-name": "erpsync",
        "name": "ERP <-> store sync",
        "description": "Hooks of the ERP <-> eCommerce integration (Tryton ERP; Shopify and Vendure stores).",
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
            {
                "connection-type": "vendure",
                "hook-class-name": "erpsync.vendure.hook.VendureHook",
                "hook-name": "Vendure store",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema"],
                    "relabeling": {"host": "Server", "login": "Administrator (empty: API key)",
                                   "password": "Password or API key"},
                    "placeholders": {
                        "host": "https://shop.example.com",
                        "extra": '{"store_name": "outlet", "channel_token": "", "requests_per_second": 20}',
                    },
                },
            },
        ],
    }
