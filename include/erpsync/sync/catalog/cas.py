"""The compare-and-swap recompute: what to write to a stock level that changed in the store since we
last looked (pure: no I/O; publish_inventory calls it after the store refused a stale compare)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Recomputed:
    desired: int  # what to write now
    expected: int  # the store's current figure: the compare of the next write


def recompute(desired: int, expected: int, current: int, known_sales: int) -> Recomputed:
    """``desired``: what the ERP allows (already net of the store orders the order flow staged);
    ``expected``: what the store held after our last write; ``current``: what it holds now;
    ``known_sales``: units of staged orders placed after our last write, which ``desired`` already holds
    back.

    - The store has less than we left it (it sold): the sales ``desired`` does not hold back yet are
      taken off; the known ones are not taken off twice.
    - The store has as much or more (someone restocked in the store's admin, or our own write landed
      though its answer was lost): the ERP is the master of stock, so ``desired`` as it is, never more.

    Never more than ``desired``, never below zero.
    """
    unknown_sales = max(0, expected - current - max(0, known_sales))
    return Recomputed(max(0, desired - unknown_sales), current)
