"""What the flows need from a store, whatever its kind (Shopify today, Vendure later).

The flows speak to :class:`~erpsync.store.interface.Store` with the records of
:mod:`erpsync.store.records`; each store kind is one subpackage (``erpsync.shopify``) that implements it.
"""
