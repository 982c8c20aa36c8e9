"""Command line: ``python -m sandbox.tryton {build,reset,start,stop,serve,status,health,info,clone,destroy}``.

The instance comes from the environment: ERP_HOME (default <repo>/var/erp), ERP_PORT (8000),
ERP_DB_NAME (erp), ERP_DB_URL (unset: SQLite; postgresql://user@host:port/: PostgreSQL), ERP_LISTEN
(127.0.0.1; a container sets 0.0.0.0), ERP_INTEGRATION_PASSWORD (generated when unset).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sandbox.tryton.control import ErpSandbox
from sandbox.tryton.errors import ErpSandboxError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox.tryton", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="create, seed and snapshot the database (no-op when built)")
    build.add_argument("--force", action="store_true", help="rebuild from scratch even if a snapshot exists")
    commands.add_parser("reset", help="restore the pristine data (restarts a running server)")
    commands.add_parser("start", help="start the server in the background and wait until healthy")
    commands.add_parser("stop", help="stop the server (safe when not running)")
    commands.add_parser("serve", help="run the server in the foreground (containers)")
    commands.add_parser("status", help="exit 0 if the integration user can log in over JSON-RPC")
    commands.add_parser("health", help="same as status")
    info = commands.add_parser("info", help="print connection details as JSON")
    info.add_argument("--show-password", action="store_true", help="include the integration user's password")
    clone = commands.add_parser("clone", help="create a stopped copy from the pristine snapshot")
    clone.add_argument("--to", required=True, type=Path, help="home directory of the copy")
    clone.add_argument("--port", required=True, type=int)
    clone.add_argument("--db-name", help="database name of the copy (PostgreSQL default: <db>_clone<port>)")
    destroy = commands.add_parser("destroy", help="stop and drop this instance's databases")
    destroy.add_argument("--yes", action="store_true", required=True, help="confirm")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(ErpSandbox.from_env(), args)
    except ErpSandboxError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _run(sandbox: ErpSandbox, args: argparse.Namespace) -> int:
    if args.command == "build":
        sandbox.build(force=args.force)
    elif args.command == "reset":
        sandbox.reset()
    elif args.command == "start":
        sandbox.start()
    elif args.command == "stop":
        sandbox.stop()
    elif args.command == "serve":
        sandbox.serve()
    elif args.command in ("status", "health"):
        healthy, message = sandbox.health()
        print(message)
        return 0 if healthy else 1
    elif args.command == "info":
        print(json.dumps(sandbox.info(show_password=args.show_password), indent=2))
    elif args.command == "clone":
        copy = sandbox.clone(args.to, args.port, db_name=args.db_name)
        env = f"ERP_HOME={copy.home} ERP_PORT={copy.port} ERP_DB_NAME={copy.db_name}"
        if copy.db_url:
            env += f" ERP_DB_URL={copy.db_url}"
        print(f"clone: {copy.home} (database {copy.db_name!r}, port {copy.port}); "
              f"start it with {env} python -m sandbox.tryton start")
    elif args.command == "destroy":
        sandbox.destroy()
        print(f"destroy: databases of {sandbox.home} dropped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
