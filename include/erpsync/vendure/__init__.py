"""Vendure (an open-source headless commerce server) as a store: its Admin GraphQL API behind the store
interface of :mod:`erpsync.store`."""
