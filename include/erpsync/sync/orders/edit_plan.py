"""What the store's edits of an order mean for its ERP sales: pure decisions, no I/O.

The order's sale is booked as the order was placed; each edit then changes the ERP once:
- a line the edit put on the order goes into a sale of the edit's own (``"<order id>#edit:<edit id>"``),
  because Tryton adds no line to a confirmed sale;
- units added to or removed from a line already booked change that line, in the sale that holds it
  (the order's sale, or the sale of the edit that added the line): through an amendment of Tryton's
  ``sale_amendment`` on a confirmed sale;
- what the edit adds to (or, removing units, takes off) the order's discounts and taxes goes into the
  edit's own sale as discount and tax lines, so that all the order's sales together total the store's.
  The order's sale is booked with the discounts and taxes it was placed with (:func:`placed_money`).

An edit is applied whole or not at all. It is not possible once goods of a sale it changes left the
warehouse (or were picked for it), or when it would take a line below zero.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

MAIN = ""  # the home of a line booked with the order's own sale


@dataclass(frozen=True, slots=True)
class EditPlan:
    edit_id: str
    new_lines: tuple[tuple[str, int], ...]  # (line id, units) for the edit's own sale
    changes: dict[str, tuple[tuple[str, int], ...]]  # home (MAIN or an edit id) -> (line id, units +/-)
    discount: Decimal = Decimal(0)  # what the edit adds to the order's discounts (negative: takes off)
    tax: Decimal = Decimal(0)  # and to its taxes

    @property
    def own_sale(self) -> bool:
        """Whether the edit needs a sale of its own: new lines, or money the changed lines move."""
        return bool(self.new_lines or self.discount or self.tax)


def homes(edits: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The edit that put each line on the order; lines missing here were booked with the order's sale."""
    found: dict[str, str] = {}
    for edit in edits:
        for line in edit["lines"]:
            if line["added"] and line["line_id"] not in found:
                found[line["line_id"]] = edit["edit_id"]
    return found


def placed_quantities(lines: Iterable[Mapping[str, Any]], edits: Iterable[Mapping[str, Any]],
                      returns: Iterable[Mapping[str, Any]] = ()) -> dict[str, int]:
    """How many units of each line the order was placed with: its ``quantity`` counts every unit ever
    ordered (removed ones too, as Shopify counts), so the units edits added come off; a line an edit put
    on the order, or a return gave in exchange, was not placed with it (0)."""
    edits = list(edits)
    exchanged = {item["line_id"] for ret in returns for item in ret.get("exchanged") or ()}
    added: dict[str, int] = defaultdict(int)
    for edit in edits:
        for line in edit["lines"]:
            if line["quantity"] > 0:
                added[line["line_id"]] += line["quantity"]
    new = homes(edits)
    return {line["store_line_id"]: 0 if line["store_line_id"] in new or line["store_line_id"] in exchanged
            else max(int(line["quantity"]) - added[line["store_line_id"]], 0) for line in lines}


def plan(edit: Mapping[str, Any], line_homes: Mapping[str, str]) -> EditPlan:
    """What applying ``edit`` changes, given the home of each line (from :func:`homes` of all edits)."""
    new_lines: list[tuple[str, int]] = []
    changes: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for line in edit["lines"]:
        home = line_homes.get(line["line_id"], MAIN)
        if home == edit["edit_id"]:
            if line["quantity"] > 0:
                new_lines.append((line["line_id"], line["quantity"]))
        elif line["quantity"]:
            changes[home].append((line["line_id"], line["quantity"]))
    def total(field: str) -> Decimal:
        return sum((Decimal(str(line.get(field) or 0)) for line in edit["lines"]), Decimal(0))

    return EditPlan(edit["edit_id"], tuple(new_lines), {home: tuple(c) for home, c in changes.items()},
                    discount=total("discount"), tax=total("tax"))


def placed_money(order: Mapping[str, Any]) -> tuple[Decimal, Decimal]:
    """The discounts and taxes the order was placed with: the store's totals count its edits' too."""
    edits = [plan(edit, {}) for edit in order.get("edits") or ()]
    return (Decimal(order["discount_total"]) - sum((e.discount for e in edits), Decimal(0)),
            Decimal(order["tax_total"]) - sum((e.tax for e in edits), Decimal(0)))


def amended(current: Mapping[str, float],
            changes: Iterable[tuple[str, int]]) -> tuple[dict[str, float], str | None]:
    """The new quantity of each changed line from its current one in the ERP, or why it cannot change."""
    new: dict[str, float] = {}
    for line_id, units in changes:
        if line_id not in current:
            return {}, f"line {line_id} is not on the ERP sale"
        new[line_id] = new.get(line_id, current[line_id]) + units
        if new[line_id] < 0:
            return {}, (f"line {line_id} would go below zero ({current[line_id]:g} in the ERP, {units:+d} in "
                        "the edit)")
    return new, None


# Shipments whose goods have not been picked: an amendment replans them; any other means goods are (being)
# shipped and the sale can no longer follow the edit.
UNTOUCHED_SHIPMENTS = ("draft", "waiting", "cancelled")
EDITABLE_SALES = ("draft", "quotation", "confirmed", "processing")


def why_not(sale_state: str, shipment_states: Iterable[str]) -> str | None:
    """Why a sale in ``sale_state`` with shipments in ``shipment_states`` cannot follow an edit, or None."""
    if sale_state not in EDITABLE_SALES:
        return f"the ERP sale is {sale_state}"
    moving = sorted({s for s in shipment_states if s not in UNTOUCHED_SHIPMENTS})
    if moving:
        return f"goods already shipped or picked (shipment {', '.join(moving)})"
    return None
