"""The compare-and-swap recompute: what to write to a stock level that changed in the store since we
last looked, and what of that change stays held back afterwards (pure: no I/O; publish_inventory calls
them after the store refused a stale compare, and before each write of a level with a hold)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Recomputed:
    desired: int  # what to write now
    expected: int  # the store's current figure: the compare of the next write


def unknown_sales(expected: int, current: int, known_sales: int) -> int:
    """Units the store's level dropped by since our last write (``expected`` then, ``current`` now) that no
    staged order placed since accounts for (``known_sales``); none when it did not drop."""
    return max(0, expected - current - max(0, known_sales))


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
    return Recomputed(max(0, desired - unknown_sales(expected, current, known_sales)), current)


@dataclass(frozen=True, slots=True)
class Hold:
    """Units a stale compare took off a level that no staged order accounted for then (sales the order
    flow had not staged yet), found between our write of ``since`` (the store's time of it; None: the
    store did not stamp it) and the store's read of ``until``; ``known``: the units of staged orders of
    that window the desired level held back then.

    The write that follows records the store's figure as ours, so the next publish would compare with a
    figure that already lacks those units, against a desired level that does not hold them back yet, and
    give them back. The hold keeps them off until orders of that window are staged beyond ``known`` (the
    desired level then holds them back itself) or the order staging has read past ``until`` (whatever is
    still unaccounted for then was no sale, or a sale in doubt: stock taken off in the store's admin, which
    the ERP overrides, or an order of the second of our write, which the desired level holds back)."""

    units: int
    since: dt.datetime | None
    until: dt.datetime
    known: int = 0


def widen(hold: Hold | None, held: int, unknown: int, since: dt.datetime | None, until: dt.datetime,
          explained: int) -> Hold | None:
    """The hold after a stale compare read at ``until`` found ``unknown`` units no staged order accounts
    for since our last write (of ``since``). ``hold``: the level's hold in force, keeping ``held`` units
    off until then (None, 0: none). The window is widened to cover both, so that what accounts for either
    counts; ``explained``: the units of staged orders of that whole window now (they become its ``known``).
    None when nothing is left to hold."""
    units = max(0, held) + max(0, unknown)
    if units == 0:
        return None
    if hold is None:
        return Hold(units, since, until, max(0, explained))
    return Hold(units, hold.since, max(hold.until, until), max(0, explained))


def lifted(hold: Hold, staged_through: dt.datetime | None) -> bool:
    """Whether the order staging has read every order the store stamped up to ``staged_through`` (None:
    nothing staged yet) and that is past the hold's window."""
    return staged_through is not None and staged_through > hold.until


def held_back(hold: Hold | None, explained: int, staged_through: dt.datetime | None) -> int:
    """Units of ``hold`` still to keep off what the ERP allows: none once it is :func:`lifted`; else its
    units less those of the staged orders of its window (``explained`` now) beyond what it knew of."""
    if hold is None or lifted(hold, staged_through):
        return 0
    return min(hold.units, max(0, hold.units - (max(0, explained) - hold.known)))
