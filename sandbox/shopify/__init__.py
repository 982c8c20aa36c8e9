"""Shopify Admin GraphQL API (2026-10) emulator: the sandbox store the integration is developed against.

Not part of the product package; the product never imports it. See README.md.
"""

from sandbox.shopify.control import ShopifyEmulator

__all__ = ["ShopifyEmulator"]
