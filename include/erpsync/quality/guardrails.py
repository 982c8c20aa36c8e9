"""Guardrails on a batch as a whole: changes that look wrong together are held, not pushed.

A single bad price passes row validation (it is positive, below its list price) yet a price list edited
by mistake moves hundreds of them at once; an ERP import gone wrong archives half the catalog. Both are
plausible row by row and obviously wrong as a batch: the publish holds, the data team is alerted, and an
operator either fixes the ERP or approves the change in Airflow (DAG ``review_held``: a "Required
action" that lists what is held, from what to what), or, for a whole run, with its Param ``approve_held``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal


def money(amount: Decimal) -> str:
    """A price as a person reads it: to the cent, unless it has more (then all of it)."""
    cents = amount.quantize(Decimal("0.01"))
    return str(cents if cents == amount else amount)


@dataclass(frozen=True)
class PriceSwing:
    sku: str
    published: Decimal
    desired: Decimal

    @property
    def share(self) -> float:
        return float(abs(self.desired - self.published) / self.published)


@dataclass(frozen=True)
class Hold:
    guardrail: str
    reason: str
    keys: tuple[str, ...]  # what is held (SKUs or product keys)
    # Per key, what is held back: {"from": published, "to": desired} or {"change": "unpublish"}.
    details: dict[str, dict[str, str]] = field(default_factory=dict, compare=False)

    def as_dict(self) -> dict[str, object]:
        return {"guardrail": self.guardrail, "reason": self.reason, "count": len(self.keys),
                "sample": list(self.keys[:10])}


def price_swings(
    changes: Iterable[tuple[str, Decimal | None, Decimal]], max_share: float
) -> Hold | None:
    """Hold the price changes that move a published price by more than ``max_share`` (0.5 = 50 %)."""
    swings = [
        PriceSwing(sku, published, desired)
        for sku, published, desired in changes
        if published and published > 0 and abs(desired - published) / published > Decimal(str(max_share))
    ]
    if not swings:
        return None
    worst = max(swings, key=lambda s: s.share)
    return Hold(
        "price_swing",
        f"{len(swings)} price(s) move by more than {max_share:.0%} of the published price (largest: "
        f"{worst.sku} {worst.published} -> {worst.desired}, {worst.share:.0%}); check the ERP's prices and "
        "price list; approve them in Airflow's Required actions (DAG review_held) if they are right",
        tuple(sorted(s.sku for s in swings)),
        {s.sku: {"from": money(s.published), "to": money(s.desired), "move": f"{s.share:.0%}"} for s in swings},
    )


def catalog_shrink(active_published: int, to_unpublish: list[str], max_share: float) -> Hold | None:
    """Hold unpublishing when it would take more than ``max_share`` of the active catalog at once."""
    if not to_unpublish or active_published == 0:
        return None
    share = len(to_unpublish) / active_published
    if share <= max_share:
        return None
    return Hold(
        "catalog_shrink",
        f"{len(to_unpublish)} of {active_published} published products ({share:.0%}) would be unpublished at once "
        f"(limit {max_share:.0%}); check for a mass archive in the ERP; approve it in Airflow's Required actions "
        "(DAG review_held) if intended",
        tuple(sorted(to_unpublish)),
        {key: {"change": "unpublish"} for key in to_unpublish},
    )
