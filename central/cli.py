"""``atelier-central run | migrate | create-token``."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from pydantic import ValidationError

from central.settings import CONFIG_ENV, CentralSettings, load_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="atelier-central", description=__doc__)
    parser.add_argument(
        "--config",
        default=os.environ.get(CONFIG_ENV),
        help=f"YAML settings file (env {CONFIG_ENV}); ATELIER_CENTRAL_* variables override it",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve the API (uvicorn)")
    run.add_argument("--host", help="default: ATELIER_CENTRAL_HOST or 127.0.0.1")
    run.add_argument("--port", type=int, help="default: ATELIER_CENTRAL_PORT or 8000")
    run.add_argument(
        "--workers", type=int, help="worker processes (default: ATELIER_CENTRAL_WORKERS or 1)"
    )
    run.add_argument("--no-migrate", action="store_true", help="do not migrate at start")
    sub.add_parser("migrate", help="create or upgrade the database schema")
    token = sub.add_parser("create-token", help="create an API token and print it once")
    token.add_argument("--role", required=True, choices=["planner", "viewer", "admin", "edge"])
    token.add_argument("--name", required=True)
    token.add_argument("--edge", help="edge id (edge tokens only)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except (FileNotFoundError, ValidationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.config:  # the uvicorn workers build their app from the same file
        os.environ[CONFIG_ENV] = str(args.config)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    if args.command == "migrate":
        from central.db.migrate import migrate

        migrate(settings.database_url)
        print("database schema is up to date")
        return 0
    if args.command == "create-token":
        return _create_token(settings, args.role, args.name, args.edge)
    return _run(settings, args)


def _create_token(settings: CentralSettings, role: str, name: str, edge: str | None) -> int:
    from central.db.engine import make_engine, make_sessionmaker
    from central.db.migrate import migrate
    from central.security import create_token

    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            token = create_token(session=session, name=name, role=role, edge_id=edge)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(token)
    return 0


def _run(settings: CentralSettings, args: argparse.Namespace) -> int:
    from central.db.migrate import migrate
    from central.serve import serve

    if not args.no_migrate:
        migrate(settings.database_url)  # once, before the workers start
    return serve(
        host=args.host or settings.host,
        port=args.port if args.port is not None else settings.port,
        workers=args.workers or settings.workers,
        log_level=settings.log_level.lower(),
    )


if __name__ == "__main__":
    sys.exit(main())
