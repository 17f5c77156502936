"""`python -m bot serve` starts the web app; `python -m bot create-admin` makes the first administrator;
`python -m bot purge` deletes conversations past the retention period."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys

from aiohttp import web

from bot.auth import AccountError, create_account
from bot.config import Settings
from bot.middlewares import PrivateAccessLogger
from knowledge.audit import record_change
from knowledge.kb import KnowledgeBase
from knowledge.schema import migrate


def cmd_serve(args) -> int:
    from bot.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(Settings.from_env())
    web.run_app(app, host=args.host, port=args.port, access_log_class=PrivateAccessLogger, print=None)
    return 0


def _read_password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password (at least 12 characters): ")
    if first != getpass.getpass("Type it again: "):
        raise AccountError("password", "The two passwords are not the same")
    return first


def cmd_create_account(args) -> int:
    kb = KnowledgeBase(Settings.from_env().database_url)
    migrate(kb.engine)
    try:
        password = _read_password(args)
        with kb.sessions.begin() as session:
            account = create_account(session, args.username, password, args.role, args.display_name or "")
            record_change(session, "command line", "account", account.username, "create", None,
                          {"username": account.username, "role": account.role}, f"Created {account.role} account")  # fmt: skip
    except AccountError as error:
        print(f"Not created: {error}", file=sys.stderr)
        return 2
    print(f"Created {args.role} account '{account.username}'. Sign in at /sign-in.")
    return 0


def cmd_purge(args) -> int:
    """Delete the conversations past the retention period (also run by the web app on a schedule)."""
    from bot.conversations import ConversationStore
    from bot.retention import Retention
    from knowledge.db import tracker_store_url

    logging.basicConfig(level=logging.WARNING)
    settings = Settings.from_env()
    days = args.days or settings.retention_days
    kb = KnowledgeBase(settings.database_url)
    migrate(kb.engine)
    store = ConversationStore(tracker_store_url(settings.tracker_store_url))
    try:
        retention = Retention(store, kb.engine, days)
        if args.dry_run:
            due = retention.expired()
            print(f"{len(due)} conversation{'s' if len(due) != 1 else ''} older than {days} days would be deleted.")
            return 0
        print(retention.purge(batch=args.batch, pause=args.pause))
    finally:
        store.dispose()
        kb.dispose()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the web app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.set_defaults(func=cmd_serve)
    for name, role in (("create-admin", "administrator"), ("create-account", None)):
        cmd = sub.add_parser(name, help=f"create {'the first administrator' if role else 'an account'} (asks for the password)")
        cmd.add_argument("--username", required=True)
        cmd.add_argument("--display-name")
        if role:
            cmd.set_defaults(role=role)
        else:
            cmd.add_argument("--role", required=True, choices=["administrator", "editor", "staff"])
        cmd.add_argument("--password-stdin", action="store_true", help="read the password from the first line of standard input")
        cmd.set_defaults(func=cmd_create_account)
    purge = sub.add_parser("purge", help="delete conversations older than the retention period")
    purge.add_argument("--days", type=_positive_days, help="override LOCAL_OFFER_RETENTION_DAYS (default 90)")
    purge.add_argument("--dry-run", action="store_true", help="only count the conversations that would be deleted")
    purge.add_argument("--batch", type=int, default=500, help="conversations per transaction (default 500)")
    purge.add_argument("--pause", type=float, default=0.0, help="seconds to rest between batches (default 0)")
    purge.set_defaults(func=cmd_purge)
    return parser


def _positive_days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a whole number of days, for example 90") from None
    if days < 1:
        raise argparse.ArgumentTypeError("at least 1 day")
    return days


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
