"""Configuration of the catalog flow: which ERP warehouses feed which store location, safety stock,
guardrail limits. Data, not code: deployments set the Airflow Variable ``erpsync_catalog`` (JSON), read at
run time; every field has a default, so an empty or missing Variable works."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

VARIABLE = "erpsync_catalog"


class LocationMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    store_location: str  # the store location's name
    warehouses: list[str] = Field(min_length=1)  # ERP warehouse codes whose stock it sells


class CatalogConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # None: each ERP warehouse of the web shop feeds the store location bearing the warehouse's name.
    locations: list[LocationMapping] | None = None
    safety_stock: int = Field(default=0, ge=0)  # units kept back from the store, per SKU and location
    safety_stock_by_sku: dict[str, int] = Field(default_factory=dict)
    # With several stores selling the same stock: at this many units or fewer (per SKU and location), one
    # store alone offers them, so that no two can sell the same last ones (desired.channel_share).
    split_stock_at: int = Field(default=5, ge=0)
    max_price_change_share: float = Field(default=0.5, gt=0)  # guardrail: hold larger price moves
    max_catalog_shrink_share: float = Field(default=0.2, gt=0, le=1)  # guardrail: hold mass unpublishing
    option_name: str = "Variant"  # the store option that tells a template's variants apart
    stale_inventory_attempts: int = Field(default=3, ge=1)  # re-read and recompute after a concurrent sale
    # productSet calls in flight at once: one at a time leaves the store's rate limit unused while each
    # call travels and runs (the cost bucket still paces them all).
    content_concurrency: int = Field(default=4, ge=1, le=16)

    def safety(self, sku: str) -> int:
        return self.safety_stock_by_sku.get(sku, self.safety_stock)

    def mapping(self, warehouses: dict[str, str]) -> dict[str, list[str]]:
        """Store location name -> ERP warehouse codes; ``warehouses`` maps ERP codes to names."""
        if self.locations is None:
            return {name: [code] for code, name in warehouses.items()}
        unknown = {code for m in self.locations for code in m.warehouses} - set(warehouses)
        if unknown:
            raise ValueError(f"{VARIABLE}: unknown ERP warehouse code(s) {sorted(unknown)}; the web shop has "
                             f"{sorted(warehouses)}")
        return {m.store_location: list(m.warehouses) for m in self.locations}

    @classmethod
    def parse(cls, raw: str | dict[str, Any] | None) -> CatalogConfig:
        return parse_variable(cls, VARIABLE, raw)


def parse_variable(model: type[BaseModel], variable: str, raw: str | dict[str, Any] | None):
    """A configuration model from an Airflow Variable's JSON; defaults when it is missing or empty."""
    if raw in (None, ""):
        return model()
    try:
        return model.model_validate(json.loads(raw) if isinstance(raw, str) else raw)
    except (ValueError, TypeError) as error:
        raise ValueError(f"Airflow Variable {variable!r} is not a valid configuration: {error}") from error
