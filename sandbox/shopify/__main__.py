"""`python -m sandbox.shopify start|stop|status|reset|info|serve|shopper ...`"""

from __future__ import annotations

import argparse
import json
import sys

from sandbox.shopify.control import ShopifyEmulator


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.shopify", description="Shopify Admin API emulator"
    )
    parser.add_argument(
        "--home", help="state directory (default $SHOPIFY_EMULATOR_HOME or <repo>/var/shopify)"
    )
    parser.add_argument("--port", type=int, help="port on 127.0.0.1 (default $SHOPIFY_EMULATOR_PORT or 8100)")
    parser.add_argument(
        "--plan", help="STANDARD, ADVANCED, PLUS or ENTERPRISE (default $SHOPIFY_EMULATOR_PLAN)"
    )
    verbs = parser.add_subparsers(dest="verb", required=True)
    verbs.add_parser("start", help="start in the background and wait until healthy")
    verbs.add_parser("stop", help="stop the background emulator")
    verbs.add_parser("status", help="is it running and healthy")
    verbs.add_parser("reset", help="empty the store")
    info = verbs.add_parser("info", help="url, api version, where the access token and client secret are")
    info.add_argument(
        "--show-token", action="store_true", help="include the access token and the client secret themselves"
    )
    verbs.add_parser("serve", help="serve in the foreground (what start runs)")
    shopper = verbs.add_parser("shopper", help="drive the shopper simulator of the running emulator")
    shopper.add_argument("action", choices=("start", "stop", "step", "status"))
    shopper.add_argument("--rate", type=float, default=1.0, help="actions per second (start)")
    shopper.add_argument("--seed", type=int, default=1)
    shopper.add_argument("--steps", type=int, default=1, help="actions to run now (step)")
    shopper.add_argument("--cancel-rate", type=float, default=0.05)
    shopper.add_argument("--refund-rate", type=float, default=0.05)
    shopper.add_argument("--pending-refund-rate", type=float, default=0.0,
                         help="share of refunds whose transaction waits for the gateway's answer")
    shopper.add_argument("--edit-rate", type=float, default=0.0,
                         help="share of steps that edit an open, unfulfilled order")
    shopper.add_argument("--return-rate", type=float, default=0.0,
                         help="share of steps that return a fulfilled unit (half of them exchanged)")
    args = parser.parse_args(argv)

    emulator = ShopifyEmulator(args.home, args.port, args.plan)
    if args.verb == "serve":
        emulator.serve()
        return 0
    if args.verb == "start":
        result = emulator.start()
    elif args.verb == "stop":
        result = {"stopped": emulator.stop()}
    elif args.verb == "status":
        result = emulator.status()
    elif args.verb == "reset":
        result = emulator.reset()
    elif args.verb == "info":
        result = emulator.info(show_token=args.show_token)
    else:
        config = {
            "rate": args.rate,
            "seed": args.seed,
            "cancel_rate": args.cancel_rate,
            "refund_rate": args.refund_rate,
            "pending_refund_rate": args.pending_refund_rate,
            "edit_rate": args.edit_rate,
            "return_rate": args.return_rate,
        }
        if args.action == "start":
            result = emulator.admin("POST", "/shopper/start", config)
        elif args.action == "stop":
            result = emulator.admin("POST", "/shopper/stop", {})
        elif args.action == "step":
            config.pop("rate")
            result = emulator.admin("POST", "/shopper/step", {**config, "steps": args.steps})
        else:
            result = emulator.admin("GET", "/state")["shopper"]
    print(json.dumps(result, indent=2))
    return 0 if not (args.verb == "status" and not result["running"]) else 3


if __name__ == "__main__":
    sys.exit(main())
