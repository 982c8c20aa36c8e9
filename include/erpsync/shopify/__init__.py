"""Shopify (Admin GraphQL API): transport with cost pacing (:mod:`.client`, :mod:`.pacing`), the
operations as ``.graphql`` files (:mod:`.operations`), the :class:`~erpsync.store.interface.Store`
implementation (:mod:`.store`), settings and the Airflow hook."""
