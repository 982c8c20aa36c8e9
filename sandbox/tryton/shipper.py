"""The sandbox ERP's warehouse worker: ships what was sold, so that the demo shows shipments flowing back
to the store. Every few seconds it takes the outgoing shipments waiting longer than a delay and does
what a warehouse does in Tryton (assign, pick, pack, done), with a carrier tracking number; and it
receives the goods customers sent back (customer return shipments: receive, done), which puts them back
into the warehouse's stock. With ``--partial-every N`` every Nth shipment holding several units of a
product ships half of them first, as a warehouse short of goods does (Tryton's sale makes a shipment for
the rest, shipped on a later round), so the demo shows partial fulfillments.

``python -m sandbox.tryton.shipper --every 20 --after 30`` (the demo starts it in the background);
``ErpShipper(home)`` starts and stops it by pid file, like the other sandbox processes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import sys
import time
from collections.abc import Mapping

from erpsync.tryton.client import TrytonClient
from erpsync.tryton.errors import ErpError, ErpUserError
from erpsync.tryton.rpc import TrytonRpc
from sandbox.background import BackgroundModule
from sandbox.tryton import catalog
from sandbox.tryton.control import ErpSandbox

log = logging.getLogger("sandbox.shipper")


def confirming(client: TrytonClient, model: str, method: str, *args):
    """Call a model method as a person would, confirming the warnings Tryton asks about (archiving a
    product with stock, forcing an assignment)."""
    for _ in range(5):
        try:
            return client.model(model, method, *args)
        except ErpUserError as error:
            if not error.warning:
                raise
            client.model("res.user.warning", "create", [{"user": client.rpc.user_id, "name": error.warning,
                                                          "always": False}])
    raise ErpError(f"{model}.{method} kept asking for confirmations")


def ship(client: TrytonClient, shipment_ids: list[int]) -> None:
    """Ship outgoing shipments: a tracking number, then assign, pick, pack, done."""
    for shipment in client.model("stock.shipment.out", "read", shipment_ids, ["number", "reference"]):
        if not shipment["reference"]:
            client.model("stock.shipment.out", "write", [shipment["id"]], {"reference": f"1ZDEMO{shipment['number']:0>10}"})
    confirming(client, "stock.shipment.out", "assign_force", shipment_ids)
    for step in ("pick", "pack", "do"):
        confirming(client, "stock.shipment.out", step, shipment_ids)


def ship_part(client: TrytonClient, shipment_id: int, units: Mapping[str, int]) -> None:
    """Ship only ``units`` of a waiting shipment (product code -> units; a product not named ships none),
    as a warehouse that has only part of the goods does: it picks less than asked, and Tryton's sale makes
    a new shipment for the rest."""
    (shipment,) = client.model("stock.shipment.out", "read", [shipment_id],
                               ["state", "inventory_moves.quantity", "inventory_moves.product.code"])
    if shipment["state"] != "waiting":
        raise ErpError(f"shipment {shipment_id} is {shipment['state']}: only a waiting one is shipped in part")
    left = dict(units)
    for move in shipment["inventory_moves."]:
        code = move["product."]["code"]
        quantity = min(move["quantity"], left.get(code, 0))
        left[code] = left.get(code, 0) - quantity
        if quantity != move["quantity"]:
            client.model("stock.move", "write", [move["id"]], {"quantity": quantity})
    ship(client, [shipment_id])


def ship_waiting(client: TrytonClient, older_than: dt.timedelta, *, partial_every: int = 0) -> int:
    """Ship the shipments waiting longer than ``older_than``. With ``partial_every`` N, every Nth shipment
    (by id) holding more than one unit of a product ships half of those units first (the warehouse is
    short); the sale's new shipment for the rest is shipped on a later round."""
    before = dt.datetime.now(dt.UTC) - older_than
    waiting = client.model("stock.shipment.out", "search",
                           [("state", "in", ["waiting", "assigned", "picked", "packed"]), ("create_date", "<", before)],
                           0, 50, [("id", "ASC")])
    whole = []
    for shipment in client.model("stock.shipment.out", "read", waiting,
                                 ["state", "inventory_moves.quantity", "inventory_moves.product.code"]):
        halves = {m["product."]["code"]: m["quantity"] // 2 if m["quantity"] > 1 else m["quantity"]
                  for m in shipment.get("inventory_moves.") or ()}
        if partial_every and shipment["id"] % partial_every == 0 and shipment["state"] == "waiting" and any(
                m["quantity"] > 1 for m in shipment.get("inventory_moves.") or ()):
            ship_part(client, shipment["id"], halves)
            log.info("shipment %s shipped in part: %s", shipment["id"], halves)
        else:
            whole.append(shipment["id"])
    if whole:
        ship(client, whole)
    return len(waiting)


def receive_waiting(client: TrytonClient, older_than: dt.timedelta) -> int:
    """Receive the customer returns (of refunds and returns booked in the ERP) waiting longer than that."""
    before = dt.datetime.now(dt.UTC) - older_than
    waiting = client.model("stock.shipment.out.return", "search",
                           [("state", "in", ["draft", "received"]), ("create_date", "<", before)],
                           0, 50, [("id", "ASC")])
    drafts = client.model("stock.shipment.out.return", "search", [("id", "in", waiting), ("state", "=", "draft")])
    if drafts:
        confirming(client, "stock.shipment.out.return", "receive", drafts)
    if waiting:
        confirming(client, "stock.shipment.out.return", "do", waiting)
    return len(waiting)


def admin_client(erp: ErpSandbox) -> TrytonClient:
    rpc = TrytonRpc(erp.url, erp.db_name, "admin", erp.admin_password_file.read_text().strip())
    return TrytonClient(rpc, web_shop=catalog.WEB_SHOP_NAME)


class ErpShipper:
    """The shipper of ``erp``, run in the background (the demo starts and stops it)."""

    def __init__(self, erp: ErpSandbox):
        self.erp = erp
        self.pid_file = erp.home / "shipper.pid"
        self.log_file = erp.home / "logs" / "shipper.log"

    def _process(self, every_s: int = 20, after_s: int = 30, partial_every: int = 0) -> BackgroundModule:
        return BackgroundModule(
            "sandbox.tryton.shipper", ["--every", str(every_s), "--after", str(after_s),
                                       "--partial-every", str(partial_every)], self.pid_file,
            self.log_file, env={"ERP_HOME": str(self.erp.home), "ERP_PORT": str(self.erp.port),
                                "ERP_DB_NAME": self.erp.db_name})

    def start(self, every_s: int = 20, after_s: int = 30, partial_every: int = 0) -> None:
        self._process(every_s, after_s, partial_every).start()

    def stop(self) -> None:
        self._process().stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=float, default=20, help="seconds between two rounds")
    parser.add_argument("--after", type=float, default=30, help="ship what waits longer than this (seconds)")
    parser.add_argument("--partial-every", type=int, default=0,
                        help="every Nth shipment with several units of a product ships half of them first")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    client = admin_client(ErpSandbox.from_env())
    while not stopping:
        try:
            shipped = ship_waiting(client, dt.timedelta(seconds=args.after), partial_every=args.partial_every)
            received = receive_waiting(client, dt.timedelta(seconds=args.after))
            if shipped or received:
                log.info("shipped %d shipment(s), received %d return(s)", shipped, received)
        except ErpError as error:  # the ERP restarting, a lock: try again next round
            log.warning("round failed: %s", error)
        deadline = time.monotonic() + args.every
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
