"""`python -m sandbox.vendure start|stop|status|reset|info|seed PAYLOAD.json|shopper`"""

from __future__ import annotations

import argparse
import json
import sys
import time

from sandbox.vendure.control import VendureServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.vendure", description="The sandbox Vendure server"
    )
    parser.add_argument(
        "--home", help="state directory (default $VENDURE_HOME or <DEMO_HOME or repo/var>/vendure)"
    )
    parser.add_argument("--port", type=int, help="port on 127.0.0.1 (default $VENDURE_PORT or 3000)")
    verbs = parser.add_subparsers(dest="verb", required=True)
    verbs.add_parser("start", help="start in the background and wait until healthy")
    verbs.add_parser("stop", help="stop the background server")
    verbs.add_parser("status", help="is it running and healthy (exit 3 if not running)")
    verbs.add_parser("reset", help="wipe the database (a running server restarts on the empty one)")
    info = verbs.add_parser("info", help="URLs, where the superadmin credentials are (JSON)")
    info.add_argument("--show-credentials", action="store_true", help="include the superadmin's password")
    seed = verbs.add_parser(
        "seed", help="create a catalog (sandbox.demo.store_seed's JSON payload) in the running server"
    )
    seed.add_argument("payload", help="JSON file: {locations: [...], products: [...]}")
    shopper = verbs.add_parser(
        "shopper", help="guests buying in the running server, in the foreground until Ctrl-C"
    )
    shopper.add_argument("--rate", type=float, default=1.0, help="actions per second")
    shopper.add_argument("--seed", type=int, default=1)
    shopper.add_argument("--cancel-rate", type=float, default=0.05)
    shopper.add_argument("--refund-rate", type=float, default=0.05)
    args = parser.parse_args(argv)

    server = VendureServer(args.home, args.port)
    if args.verb == "start":
        result = server.start()
    elif args.verb == "stop":
        result = {"stopped": server.stop()}
    elif args.verb == "status":
        result = server.status()
    elif args.verb == "reset":
        result = server.reset()
    elif args.verb == "seed":
        from sandbox.vendure.seed import seed_catalog

        with open(args.payload) as handle:
            result = seed_catalog(server.admin(), json.load(handle))
    elif args.verb == "shopper":
        return _shop(server, args)
    else:
        result = server.info(show_credentials=args.show_credentials)
    print(json.dumps(result, indent=2))
    return 3 if args.verb == "status" and not result["running"] else 0


def _shop(server: VendureServer, args: argparse.Namespace) -> int:
    from sandbox.vendure.shopper import ShopperConfig, ShopperRunner

    runner = ShopperRunner(server.shop_api_url, server.admin())
    runner.start(
        ShopperConfig(
            rate=args.rate, seed=args.seed, cancel_rate=args.cancel_rate, refund_rate=args.refund_rate
        )
    )
    try:
        while True:
            time.sleep(10)
            print(json.dumps(runner.status()["stats"]), flush=True)
    except KeyboardInterrupt:
        runner.stop()
    print(json.dumps(runner.status(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
