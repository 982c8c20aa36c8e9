"""Resolvers over the emulator's store, attached to Shopify's schema. Importing the domain modules
registers their resolvers."""

from graphql import GraphQLSchema

from sandbox.shopify.resolvers import base, catalog, inventory, orders, shop  # noqa: F401 (registration)


def attach_resolvers(schema: GraphQLSchema) -> None:
    base.attach(schema)
