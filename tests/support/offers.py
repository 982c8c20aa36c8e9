"""What a store offers, read from the store itself through the product's store interface (tests only)."""

from __future__ import annotations


def offered(store, skus: list[str] | None = None) -> dict[str, int]:
    """SKU -> units the store offers over all its locations (its active variants; ``skus``: only these)."""
    variants = {v.inventory_item_id: v.sku for page in store.iter_variants(skus=skus) for v in page
                if v.product_status == "ACTIVE"}
    totals = dict.fromkeys(variants.values(), 0)
    for level in store.inventory_levels(list(variants), [loc.id for loc in store.locations()]):
        totals[variants[level.inventory_item_id]] += level.available
    return totals


def offered_at(store, sku: str) -> dict[str, int]:
    """Location name -> units the store offers of ``sku`` there."""
    (variant,) = [v for page in store.iter_variants(skus=[sku]) for v in page]
    locations = {loc.id: loc.name for loc in store.locations()}
    return {locations[level.location_id]: level.available
            for level in store.inventory_levels([variant.inventory_item_id], list(locations))}


def deep_in_every_warehouse(warehouse_url: str, units: int) -> set[str]:
    """The SKUs with at least ``units`` in every ERP warehouse, as last staged. A warehouse at its last units
    (``split_stock_at``) is offered by one store alone: a sale the ERP books from it rightly leaves the
    other store's figure as it was, so a check that the other store's figure drops must not sell those."""
    from sqlalchemy import func, select

    from erpsync.warehouse.engine import make_engine
    from erpsync.warehouse.schema import stg_stock_level as level

    engine = make_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            warehouses = conn.execute(select(func.count(func.distinct(level.c.warehouse_code)))).scalar_one()
            return set(conn.execute(
                select(level.c.sku).group_by(level.c.sku)
                .having(func.count() == warehouses, func.min(level.c.quantity) >= units,
                        func.min(level.c.forecast_quantity) >= units)).scalars())
    finally:
        engine.dispose()


def well_stocked(first, second, count: int, at_least: int = 20, among: set[str] | None = None) -> list[str]:
    """``count`` SKUs both stores offer at least ``at_least`` units of (far above the last-units rule);
    ``among``: only these (e.g. :func:`deep_in_every_warehouse`)."""
    a, b = offered(first), offered(second)
    found = sorted(sku for sku in a if a[sku] >= at_least and b.get(sku, 0) >= at_least
                   and (among is None or sku in among))[:count]
    assert len(found) == count, f"only {len(found)} SKUs well stocked in both stores"
    return found
