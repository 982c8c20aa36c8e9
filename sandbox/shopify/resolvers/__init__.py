"""Resolvers over the emulator's store, attached to Shopify's schema. Importing the domain modules
registers their resolvers."""

from graphql import GraphQLSchema

from sandbox.shopify.resolvers import (  # noqa: F401 (registration)
    base,
    catalog,
    customers,
    edits,
    inventory,
    orders,
    returns,
    shop,
    webhooks,
)


def attach_resolvers(schema: GraphQLSchema) -> None:
    base.attach(schema)
