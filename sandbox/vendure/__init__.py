"""A stock Vendure server (npm @vendure/core, pinned in package-lock.json): the second real store sandbox,
with its Admin and Shop GraphQL APIs. Not part of the product package; the product never imports it.
See README.md."""

from sandbox.vendure.control import VendureServer

__all__ = ["VendureServer"]
