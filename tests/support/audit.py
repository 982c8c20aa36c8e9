"""An audit of the ERP and the store that shares no code with the product.

It reads the ERP over raw JSON-RPC (as its admin) and the store over its GraphQL Admin API (locations) and
the emulator's own admin routes (orders, variants and their levels: whole-store reads), works out what
the store should hold from the ERP's figures with its own arithmetic, and reports:

- orders: store orders with no ERP sale (live ones older than the grace period), and store orders with
  more than one ERP sale (counted, never collapsed into a dict keyed by the order);
- levels: store availability per (SKU, location) that is not what the ERP allows — on hand and not
  promised (``min(quantity, forecast)``) in the warehouse of the location's name, minus the units of store
  orders the ERP does not count yet (no sale, or a sale not confirmed; or, for an order it counts, the
  units an edit added or an exchange gave that it does not count: no confirmed sale or validated
  amendment of that edit or exchange, while the order is not all fulfilled) at the location the store
  took them from, minus the safety stock, floored at 0 (and 0 for the last units another store sells, when
  several stores sell the same stock: their documented rule, worked out here on its own);
- assortment: variants the store sells (product ACTIVE) that the web shop does not sell (not listed, not
  active, not salable, unknown), and variants the web shop sells that the store does not have;
- money (a day of trading): per live store order not changed within the grace period, the total of all
  its ERP sales that are not cancelled (its own, and those of its edits, returns, exchanges and refunds:
  web ids "<order id>#...") against what the store says the order is worth now (its current total, after
  edits, returns and refunds, with refunds whose money did not move added back: they are not booked);
  and what was traded, counted on each side (store: orders, cancellations, edits, refunds by whether
  their money moved, returns, exchanges; ERP: sales per kind, cancelled ones apart). A difference is
  listed in ``money_off`` but does not make the report unclean: a change the ERP can no longer follow
  (an edit or a cancellation after the goods left) leaves one on purpose, recorded and alerted by the
  product, and the caller decides which are expected;
- shipping: per live store order and SKU, the units the store has fulfilled against the units the ERP's
  done customer shipments of the order's own, edit and exchange sales carried. The store fulfilling more
  than the ERP shipped (``fulfilled_beyond_erp``), or fulfilling less than the ERP shipped by more than
  the units the store took off the order's lines since (refunded, returned: ``shipped_not_told``), makes
  the report unclean; the units taken off after they left are counted (``traded["shipped_then_taken_off"]``).

A live system always has something in flight (a sale the catalog flow has not yet seen, a stock move
not yet extracted). So the audit reads ``passes`` times over ``settle_s`` seconds and reports only what
was wrong in every pass: what a running integration would have fixed by then is in flight, not a defect.

``python -m tests.support.audit`` (``make audit``) audits the running demo; exit status 1 when it finds
anything. Tests use :func:`audit` directly.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import math
import sys
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import requests

from sandbox.airflow_local import wait_for

API_VERSION = "2026-10"
LOCATIONS = "{ locations(first: 50) { nodes { id name } } }"
NOT_COUNTED = ("draft", "quotation")  # sale states whose goods the ERP's forecast does not count yet


@dataclass(frozen=True)
class Target:
    erp_url: str  # e.g. http://127.0.0.1:8000
    erp_db: str
    erp_login: str
    erp_password: str
    web_shop: str
    store_url: str
    store_token: str
    safety_stock: int = 0
    # When several stores sell the same stock, the documented last-units rule: at split_stock_at units or
    # fewer, only the store at position crc32(SKU) % stores offers them (the audited store is position 0).
    stores: int = 1
    split_stock_at: int = 5


@dataclass
class Report:
    orders_in_store: int = 0
    orders_missing: list[str] = field(default_factory=list)  # order names
    orders_booked_twice: list[str] = field(default_factory=list)
    levels_checked: int = 0
    levels_off: list[dict[str, Any]] = field(default_factory=list)  # {"sku", "location", "store", "desired"}
    outside_assortment: list[str] = field(default_factory=list)  # SKUs
    missing_in_store: list[str] = field(default_factory=list)  # SKUs the web shop sells, not in the store
    passes: int = 0
    money_checked: int = 0
    money_off: list[dict[str, Any]] = field(default_factory=list)  # {"order", "name", "erp", "store"}
    traded: dict[str, int] = field(default_factory=dict)  # what each side counts (see the module's doc)
    shipped_checked: int = 0  # (order, SKU) pairs
    fulfilled_beyond_erp: list[dict[str, Any]] = field(default_factory=list)  # {"order", "sku", "erp", "store"}
    shipped_not_told: list[dict[str, Any]] = field(default_factory=list)  # the same

    @property
    def clean(self) -> bool:
        return not (self.orders_missing or self.orders_booked_twice or self.levels_off or self.outside_assortment
                    or self.missing_in_store or self.fulfilled_beyond_erp or self.shipped_not_told)

    def summary(self) -> dict[str, Any]:
        return {"orders_in_store": self.orders_in_store, "orders_missing": len(self.orders_missing),
                "orders_booked_twice": len(self.orders_booked_twice), "levels_checked": self.levels_checked,
                "levels_off": len(self.levels_off), "outside_assortment": len(self.outside_assortment),
                "missing_in_store": len(self.missing_in_store), "passes": self.passes,
                "money_checked": self.money_checked, "money_off": len(self.money_off), "traded": self.traded,
                "shipped_checked": self.shipped_checked, "fulfilled_beyond_erp": len(self.fulfilled_beyond_erp),
                "shipped_not_told": len(self.shipped_not_told),
                "samples": {"orders_missing": self.orders_missing[:5], "orders_booked_twice": self.orders_booked_twice[:5],
                            "levels_off": self.levels_off[:5], "outside_assortment": self.outside_assortment[:5],
                            "missing_in_store": self.missing_in_store[:5], "money_off": self.money_off[:5],
                            "fulfilled_beyond_erp": self.fulfilled_beyond_erp[:5],
                            "shipped_not_told": self.shipped_not_told[:5]}}


class _Erp:
    """Raw JSON-RPC to Tryton: login, then ``model.<name>.<method>`` calls; Decimals decoded as Decimal."""

    def __init__(self, target: Target):
        self.url = f"{target.erp_url.rstrip('/')}/{target.erp_db}/rpc/"
        self.http = requests.Session()
        uid, session = self._post("common.db.login", [target.erp_login, {"password": target.erp_password}, "en"])[:2]
        token = base64.b64encode(f"{target.erp_login}:{uid}:{session}".encode()).decode()
        self.http.headers["Authorization"] = f"Session {token}"

    def _post(self, method: str, params: list) -> Any:
        response = self.http.post(self.url, json={"id": 1, "method": method, "params": params}, timeout=120)
        response.raise_for_status()
        body = json.loads(response.text, object_hook=_decode)
        if body.get("error"):
            raise RuntimeError(f"ERP {method}: {body['error']}")
        return body["result"]

    def call(self, model: str, method: str, *args: Any, context: dict | None = None) -> Any:
        return self._post(f"model.{model}.{method}", [*args, context or {}])


def _decode(obj: dict) -> Any:
    if obj.get("__class__") == "Decimal":
        return Decimal(obj["decimal"])
    return obj


class _Store:
    def __init__(self, target: Target):
        self.url = target.store_url.rstrip("/")
        self.http = requests.Session()
        self.http.headers["X-Shopify-Access-Token"] = target.store_token

    def graphql(self, query: str, variables: dict) -> dict:
        """The data of a query; the audit shares the app's rate limit with the flows (a reconciliation
        reading the whole store can hold it for minutes): throttled, it asks again, for ten minutes."""

        def answered() -> dict | None:
            response = self.http.post(f"{self.url}/admin/api/{API_VERSION}/graphql.json", timeout=120,
                                      json={"query": query, "variables": variables})
            response.raise_for_status()
            body = response.json()
            if any(e.get("extensions", {}).get("code") == "THROTTLED" for e in body.get("errors") or ()):
                return None
            if body.get("errors"):
                raise RuntimeError(f"store GraphQL: {body['errors']}")
            return body["data"]

        return wait_for(answered, timeout_s=600, what="the store's rate limit", interval_s=1)

    def variants(self) -> list[dict]:
        """Every variant with its product's status and availability per location, from the emulator's own
        admin route (read over GraphQL, a catalog of thousands of variants takes minutes of cost points)."""
        response = self.http.get(f"{self.url}/_emulator/variants", timeout=120)
        response.raise_for_status()
        return response.json()["variants"]

    def orders(self) -> list[dict]:
        """Every order, from the emulator's own admin route (a whole-store read the GraphQL cost limit
        would spread over minutes)."""
        response = self.http.get(f"{self.url}/_emulator/orders", params={"limit": 10**7}, timeout=120)
        response.raise_for_status()
        return response.json()["orders"]


def _one_pass(erp: _Erp, store: _Store, target: Target, grace_s: float) -> Report:
    report = Report(passes=1)
    orders = store.orders()
    report.orders_in_store = len(orders)
    shop = erp.call("web.shop", "search_read", [("name", "=", target.web_shop)], 0, 1, None,
                    ["products", "warehouses"])[0]
    # An order's sales: by the external key, or, for a sale without one (booked by hand, or by a bug that
    # lost the key), by its number as the reference; each sale counted once, cancelled ones too.
    by_id: dict[int, dict] = {}
    for start in range(0, len(orders), 500):
        chunk = orders[start:start + 500]
        for domain in ([("web_shop", "=", shop["id"]), ("web_id", "in", [o["id"] for o in chunk])],
                       [("reference", "in", [o["name"] for o in chunk])]):
            by_id.update((s["id"], s) for s in erp.call("sale.sale", "search_read", domain, 0, None, None,
                                                        ["web_id", "reference", "state"]))
    order_of_name = {o["name"]: o["id"] for o in orders}
    order_ids = set(order_of_name.values())
    per_order: Counter[str] = Counter()
    for sale in by_id.values():
        if sale["web_id"] in order_ids:
            per_order[sale["web_id"]] += 1
        elif not sale["web_id"]:
            per_order[order_of_name[sale["reference"]]] += 1
    counted = {s["web_id"] for s in by_id.values() if s["state"] not in NOT_COUNTED}
    now = time.time()
    location_names = {loc["id"]: loc["name"] for loc in store.graphql(LOCATIONS, {})["locations"]["nodes"]}
    pending: Counter[tuple[str, str]] = Counter()  # (SKU, store location name) -> units
    later_counted = _LaterCounted()
    for order in orders:
        live = order["cancelled_at"] is None
        if per_order[order["id"]] > 1:
            report.orders_booked_twice.append(order["name"])
        elif live and per_order[order["id"]] == 0 and now - _epoch(order["created_at"]) > grace_s:
            report.orders_missing.append(order["name"])
        if not live:
            continue
        # Held back where the store committed it (an order split over locations: at each of them).
        names = {location_names[fo["location_id"]] for fo in order["fulfillment_orders"]}
        if order["id"] not in counted:
            held = {line["id"]: line["current_quantity"] for line in order["lines"]}
        elif order["fulfillment_status"] not in ("FULFILLED", "RESTOCKED"):
            held = _later_units(order, later_counted(erp, shop["id"], orders))
        else:
            held = {}
        sku_of = {line["id"]: line["sku"] for line in order["lines"]}
        for name in names:
            for line_id, units in held.items():
                pending[(sku_of[line_id], name)] += units

    products = erp.call("product.product", "read", shop["products"],
                        ["code", "active", "template.active", "template.salable"])
    sold = {p["code"] for p in products if p["active"] and p["template."]["active"] and p["template."]["salable"]}
    warehouses = {w["id"]: w["name"] for w in erp.call("stock.location", "read", shop["warehouses"], ["name"])}
    code_of = {p["id"]: p["code"] for p in products if p["code"] in sold}
    desired: dict[tuple[str, str], int] = {}
    for warehouse_id, name in warehouses.items():
        for row in erp.call("product.product", "read", list(code_of), ["quantity", "forecast_quantity"],
                            context={"locations": [warehouse_id]}):
            sku = code_of[row["id"]]
            allowed = math.floor(max(0, min(row["quantity"], row["forecast_quantity"])))
            units = max(0, allowed - pending[(sku, name)] - target.safety_stock)
            if target.stores > 1 and units <= target.split_stock_at and zlib.crc32(sku.encode()) % target.stores:
                units = 0  # another store sells the last units
            desired[(sku, name)] = units

    in_store = set()
    for variant in store.variants():
        in_store.add(variant["sku"])
        if variant["status"] != "ACTIVE":
            continue
        if variant["sku"] not in sold:
            report.outside_assortment.append(variant["sku"])
            continue
        for location, have in variant["available"].items():
            key = (variant["sku"], location)
            if key not in desired:
                continue
            report.levels_checked += 1
            if have != desired[key]:
                report.levels_off.append({"sku": key[0], "location": key[1], "store": have, "desired": desired[key]})
    report.missing_in_store = sorted(sold - in_store)
    _money(erp, shop["id"], orders, [s for s in by_id.values() if s["web_id"] in order_ids], report, now, grace_s)
    return report


def _later_units(order: dict, counted: set[str]) -> dict[str, int]:
    """Line id -> units of an order the ERP counts that the store committed after it was placed (an edit's
    added units, a return's exchange items) and the ERP does not count yet: the edit (its own sale or its
    amendment, keyed "<order id>#edit:<edit id>") or the exchange's sale ("<order id>#exchange:<return
    id>") is not in ``counted``. An edit the ERP cannot follow (goods shipped) is never counted. Per line:
    netted, never below 0, never more than the line holds now."""
    net: Counter[str] = Counter()
    for change in order.get("edit_lines") or ():
        if f"{order['id']}#edit:{change['edit_id']}" not in counted:
            net[change["line_id"]] += change["quantity"]
    current = {line["id"]: line["current_quantity"] for line in order["lines"]}
    for ret in order["returns"]:
        if f"{order['id']}#exchange:{ret['id']}" not in counted:
            for line_id in set(ret.get("exchange_line_ids") or ()):
                net[line_id] += current[line_id]
    held = {line_id: min(units, current[line_id]) for line_id, units in net.items()}
    return {line_id: units for line_id, units in held.items() if units > 0}


class _LaterCounted:
    """The keys of the edits and exchanges the ERP counts, read once per pass and only when asked: the
    sales of the shop keyed "<order id>#..." in a state the forecast counts, and validated amendments."""

    def __init__(self) -> None:
        self.keys: set[str] | None = None

    def __call__(self, erp: _Erp, shop_id: int, orders: list[dict]) -> set[str]:
        if self.keys is None:
            sales = erp.call("sale.sale", "search_read", [("web_shop", "=", shop_id), ("web_id", "like", "%#%")],
                             0, None, None, ["web_id", "state"])
            self.keys = {s["web_id"] for s in sales if s["state"] not in NOT_COUNTED}
            if any(order.get("edit_lines") for order in orders):
                self.keys.update(a["description"] for a in erp.call(
                    "sale.amendment", "search_read", [("state", "=", "validated"), ("description", "like", "%#edit:%")],
                    0, None, None, ["description"]))
        return self.keys


SALE_KINDS = ("edit", "return", "exchange", "refund")


def _money(erp: _Erp, shop_id: int, orders: list[dict], own: list[dict], report: Report, now: float,
           grace_s: float) -> None:
    """The day of trading's money and counts (see the module's doc)."""
    totals: dict[str, Decimal] = {}
    traded: Counter[str] = Counter()
    ids = {o["id"] for o in orders}
    related = erp.call("sale.sale", "search_read", [("web_shop", "=", shop_id), ("web_id", "like", "%#%")], 0, None,
                       None, ["web_id", "state"])
    sales = own + related
    amounts = {row["id"]: row["total_amount"] for start in range(0, len(sales), 500)
               for row in erp.call("sale.sale", "read", [s["id"] for s in sales[start:start + 500]], ["total_amount"])}
    for sale in sales:
        order_id, _, rest = sale["web_id"].partition("#")
        if order_id not in ids:
            continue
        kind = rest.split(":", 1)[0] if rest else "order"
        traded[f"erp_{kind}_sales" if sale["state"] != "cancelled" else f"erp_{kind}_sales_cancelled"] += 1
        if sale["state"] != "cancelled":
            totals[order_id] = totals.get(order_id, Decimal(0)) + Decimal(amounts[sale["id"]])
    for order in orders:
        traded["store_orders"] += 1
        traded["store_cancelled"] += order["cancelled_at"] is not None
        traded["store_edits"] += int(order.get("edits") or 0)
        for refund in order.get("refunds") or ():
            status = {"SUCCESS": "settled", "PENDING": "pending"}.get(refund["status"], "failed")
            traded[f"store_refunds_{status}" if not refund.get("return_id") else "store_return_refunds"] += 1
        for ret in order.get("returns") or ():
            traded[f"store_returns_{ret['status'].lower()}"] += 1
            traded["store_exchanges"] += bool(ret.get("exchanged"))
        if order["cancelled_at"] is not None or order["id"] not in totals \
                or now - _epoch(order["updated_at"]) <= grace_s:
            continue
        unmoved = sum((Decimal(r["total"]) for r in order.get("refunds") or ()
                       if r["status"] != "SUCCESS" and not r.get("return_id")), Decimal(0))
        worth = Decimal(order["current_total"]) + unmoved
        report.money_checked += 1
        if totals[order["id"]] != worth:
            report.money_off.append({"order": order["id"], "name": order["name"], "erp": str(totals[order["id"]]),
                                     "store": str(worth)})
    _shipping(erp, orders, sales, report, traded)
    report.traded = dict(sorted(traded.items()))


def _shipping(erp: _Erp, orders: list[dict], sales: list[dict], report: Report, traded: Counter[str]) -> None:
    """Units fulfilled in the store against units the ERP shipped, per live order and SKU."""
    live = {o["id"] for o in orders if o["cancelled_at"] is None}
    order_of: dict[int, str] = {}
    for sale in sales:
        order_id, _, rest = sale["web_id"].partition("#")
        if order_id in live and rest.split(":", 1)[0] in ("", "edit", "exchange"):
            order_of[sale["id"]] = order_id
    shipped: Counter[tuple[str, str]] = Counter()
    ids = list(order_of)
    for start in range(0, len(ids), 500):
        rows = erp.call("sale.sale", "read", ids[start:start + 500], ["shipments"])
        shipment_order = {shipment: order_of[row["id"]] for row in rows for shipment in row["shipments"]}
        # The shipments and their moves by id, as searches: the ERP reads without one snapshot (SQLite's
        # read-only calls), so a shipment or a move not done yet can be gone by the time it is read
        # (measured in chaos runs: the shipments' dotted read failed on moves that no longer existed, and
        # a read of the sales' shipments on a shipment deleted meanwhile). A done one is never deleted.
        move_order = {move: shipment_order[shipment["id"]]
                      for shipment in erp.call("stock.shipment.out", "search_read",
                                               [("id", "in", list(shipment_order)), ("state", "=", "done")],
                                               0, None, None, ["outgoing_moves"])
                      for move in shipment["outgoing_moves"]}
        for chunk in range(0, len(move_order), 500):
            for move in erp.call("stock.move", "search_read",
                                 [("id", "in", list(move_order)[chunk:chunk + 500]), ("state", "=", "done")],
                                 0, None, None, ["quantity", "product.code"]):
                shipped[(move_order[move["id"]], move["product."]["code"])] += int(move["quantity"])
    fulfilled: Counter[tuple[str, str]] = Counter()
    taken_off: Counter[tuple[str, str]] = Counter()
    for order in orders:
        if order["id"] in live:
            for line in order["lines"]:
                fulfilled[(order["id"], line["sku"])] += line["fulfilled_quantity"]
                taken_off[(order["id"], line["sku"])] += line["quantity"] - line["current_quantity"]
    for key in sorted(set(shipped) | {k for k, units in fulfilled.items() if units}):
        report.shipped_checked += 1
        traded["erp_units_shipped"] += shipped[key]
        traded["store_units_fulfilled"] += fulfilled[key]
        if fulfilled[key] > shipped[key]:
            report.fulfilled_beyond_erp.append({"order": key[0], "sku": key[1], "erp": shipped[key],
                                                "store": fulfilled[key]})
        elif shipped[key] > fulfilled[key]:
            gap = shipped[key] - fulfilled[key]
            traded["shipped_then_taken_off"] += min(gap, taken_off[key])
            if gap > taken_off[key]:
                report.shipped_not_told.append({"order": key[0], "sku": key[1], "erp": shipped[key],
                                                "store": fulfilled[key]})


def _epoch(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def audit(target: Target, *, settle_s: float = 120, passes: int = 4, grace_s: float = 120) -> Report:
    """What was wrong in every one of ``passes`` reads spread over ``settle_s`` seconds."""
    erp, store = _Erp(target), _Store(target)
    reports: list[Report] = []

    def done() -> bool:
        reports.append(_one_pass(erp, store, target, grace_s))
        return reports[-1].clean or len(reports) >= passes

    # Each pass takes time of its own: the deadline only bounds the waits between them.
    wait_for(done, timeout_s=settle_s + passes * 600, what="the audit's passes",
             interval_s=settle_s / max(1, passes - 1))
    last = reports[-1]

    def everywhere(name: str, key=lambda item: item) -> list:
        keep = set.intersection(*({key(item) for item in getattr(r, name)} for r in reports))
        return [item for item in getattr(last, name) if key(item) in keep]

    return Report(
        orders_in_store=last.orders_in_store, orders_missing=everywhere("orders_missing"),
        orders_booked_twice=everywhere("orders_booked_twice"), levels_checked=last.levels_checked,
        levels_off=everywhere("levels_off", lambda lvl: (lvl["sku"], lvl["location"])),
        outside_assortment=everywhere("outside_assortment"), missing_in_store=everywhere("missing_in_store"),
        passes=len(reports), money_checked=last.money_checked,
        money_off=everywhere("money_off", lambda off: off["order"]), traded=last.traded,
        shipped_checked=last.shipped_checked,
        fulfilled_beyond_erp=everywhere("fulfilled_beyond_erp", lambda off: (off["order"], off["sku"])),
        shipped_not_told=everywhere("shipped_not_told", lambda off: (off["order"], off["sku"])),
    )


def demo_target() -> Target:
    """The running demo's ERP (as its admin) and store."""
    from sandbox.demo import Demo
    from sandbox.tryton import catalog

    demo = Demo.from_env()
    erp = demo.erp
    return Target(erp_url=erp.url, erp_db=erp.info()["db_name"], erp_login="admin",
                  erp_password=erp.admin_password_file.read_text().strip(), web_shop=catalog.WEB_SHOP_NAME,
                  store_url=demo.store.url, store_token=demo.store.token(), stores=len(demo.store_conn_ids))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Audit the demo's ERP and store, independently of the product.")
    parser.add_argument("--settle-s", type=float, default=120, help="how long something may stay in flight")
    parser.add_argument("--passes", type=int, default=4)
    args = parser.parse_args(argv)
    report = audit(demo_target(), settle_s=args.settle_s, passes=args.passes)
    print(json.dumps({"clean": report.clean, **report.summary()}, indent=2, default=str))
    return 0 if report.clean else 1


if __name__ == "__main__":
    sys.exit(main())

