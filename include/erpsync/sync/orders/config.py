"""Configuration of the order flow: which ERP products book what an order brings besides its goods.
Data, not code: the Airflow Variable ``erpsync_orders`` (JSON, optional), read at run time."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from erpsync.sync.catalog.config import parse_variable

VARIABLE = "erpsync_orders"


class OrdersConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # ERP product codes (services) for the parts of an order total that are not goods: with them the ERP
    # sale's total equals the store order's total to the cent.
    shipping_product: str = "SHIPPING"
    tax_product: str = "SALES-TAX"
    discount_product: str = "DISCOUNT"
    refund_product: str = "REFUND"
    tracking_company: str | None = None  # the carrier named with tracking numbers sent to the store

    @property
    def service_codes(self) -> dict[str, str]:
        return {"shipping": self.shipping_product, "tax": self.tax_product, "discount": self.discount_product,
                "refund": self.refund_product}

    @classmethod
    def parse(cls, raw) -> OrdersConfig:
        return parse_variable(cls, VARIABLE, raw)
