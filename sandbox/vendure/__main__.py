"""`python -m sandbox.vendure start|stop|status|reset|info`"""

from __future__ import annotations

import argparse
import json
import sys

from sandbox.vendure.control import VendureServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox.vendure", description="The sandbox Vendure server")
    parser.add_argument("--home", help="state directory (default $VENDURE_HOME or <DEMO_HOME or repo/var>/vendure)")
    parser.add_argument("--port", type=int, help="port on 127.0.0.1 (default $VENDURE_PORT or 3000)")
    verbs = parser.add_subparsers(dest="verb", required=True)
    verbs.add_parser("start", help="start in the background and wait until healthy")
    verbs.add_parser("stop", help="stop the background server")
    verbs.add_parser("status", help="is it running and healthy (exit 3 if not running)")
    verbs.add_parser("reset", help="wipe the database (a running server restarts on the empty one)")
    info = verbs.add_parser("info", help="URLs, where the superadmin credentials are (JSON)")
    info.add_argument("--show-credentials", action="store_true", help="include the superadmin's password")
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
    else:
        result = server.info(show_credentials=args.show_credentials)
    print(json.dumps(result, indent=2))
    return 3 if args.verb == "status" and not result["running"] else 0


if __name__ == "__main__":
    sys.exit(main())
