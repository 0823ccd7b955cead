"""The command line the Makefile calls: Alembic's commands with set-up and readable errors.

    python -m app.storage.cli migrate [REV]     upgrade to REV (default: head)
    python -m app.storage.cli rollback [REV]    downgrade one revision, or to REV

A user's mistake ends with one `error:` line and a non-zero exit; a traceback means a bug.
"""

import argparse
import sys
from collections.abc import Callable, Sequence

from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy.engine import URL

from app.settings import SettingsError, get_settings, is_local
from app.storage.errors import UserFacingError, explain_connection_error, root_cause
from app.storage.revisions import alembic_config

# Each command imports what only it needs (autogenerate, checks, starting a server), so that
# `make migrate` loads little beyond its libraries (bench/README.md).

EXIT_ERROR = 1
EXIT_USAGE = 2


def say(message: str) -> None:
    print(message, file=sys.stderr)


def _hint_for_command_error(message: str) -> str:
    lowered = message.lower()
    if "can't locate revision" in lowered or "no such revision" in lowered:
        return f"{message}; run `make migration-history` to list the revisions"
    if "multiple head" in lowered:
        return (
            f"{message}; the history has two heads: run `make migration-merge` "
            "to join them into one"
        )
    if "target database is not up to date" in lowered:
        return "the database is not at head: run `make migrate` first, then generate again"
    return message


def _run_with_local_setup(url: URL, action: Callable[[], object]) -> None:
    """Run, creating what a local database lacks: its server, then the database itself."""
    if is_local(url):
        from app.storage.local_postgres import server_answers

        host, port = url.host or "127.0.0.1", url.port or 5432
        if not server_answers(host, port):
            from app.storage import provision

            provision.ensure_database(url, say)
    try:
        action()
    except Exception as exc:
        import asyncpg

        if is_local(url) and isinstance(root_cause(exc), asyncpg.InvalidCatalogNameError):
            from app.storage import provision

            provision.ensure_database(url, say)
            action()
        else:
            raise


def cmd_migrate(config: Config, args: argparse.Namespace) -> None:
    # Read by app/storage/runner.py under the migration lock.
    config.attributes["accept_edited"] = [r for r in (args.accept_edited or "").split(",") if r]
    _run_with_local_setup(
        get_settings().migration_url, lambda: command.upgrade(config, args.revision)
    )


def _make_command(target: str, *words: str) -> list[str]:
    return ["make", target, *(word for word in words if not word.endswith("="))]


def cmd_rollback(config: Config, args: argparse.Namespace) -> None:
    from app.storage import guard

    target = args.revision or "-1"
    retry = _make_command("rollback", f"rev={args.revision or ''}")
    guard.confirm_undo(config, kind="rollback", target=target, confirm=args.confirm, retry=retry)
    command.downgrade(config, target)


def cmd_revision(config: Config, args: argparse.Namespace) -> None:
    from app.storage.autogen import generate
    from app.storage.autogen.answers import parse_renames
    from app.storage.checks.lint import review_new_revisions

    if args.empty:
        command.revision(config, message=args.message)
        return
    # A malformed rename= fails here, before anything connects or is written.
    answers = generate.answers_for(parse_renames(args.rename or ""))
    _run_with_local_setup(
        get_settings().migration_url,
        lambda: generate.generate(config, args.message, answers, say),
    )
    review_new_revisions()


def cmd_current(config: Config, args: argparse.Namespace) -> None:
    command.current(config, verbose=args.verbose)


def cmd_history(config: Config, args: argparse.Namespace) -> None:
    command.history(config, verbose=args.verbose, indicate_current=args.indicate_current)


def cmd_heads(config: Config, args: argparse.Namespace) -> None:
    command.heads(config, verbose=True)


def cmd_stamp(config: Config, args: argparse.Namespace) -> None:
    from app.storage import guard

    retry = _make_command("migration-stamp", f"rev={args.revision}")
    guard.confirm_undo(
        config, kind="stamp", target=args.revision, confirm=args.confirm, retry=retry
    )
    # purge: the stamp replaces whatever is recorded, even a revision this checkout lacks.
    command.stamp(config, args.revision, purge=True)


def cmd_merge(config: Config, args: argparse.Namespace) -> None:
    command.merge(config, "heads", message=args.message or "merge heads")


def cmd_check(config: Config, args: argparse.Namespace) -> None:
    from app.storage.checks import drift

    drift.check(args.base or None)


def cmd_lint(config: Config, args: argparse.Namespace) -> None:
    from app.storage.checks import lint

    lint.check(args.base or None)


def cmd_sql(config: Config, args: argparse.Namespace) -> None:
    from app.storage.checks import offline_sql

    print(offline_sql.range_sql(args.range or "base:heads"), end="")


def cmd_roundtrip(config: Config, args: argparse.Namespace) -> None:
    from app.storage.checks import roundtrip

    roundtrip.check()


def cmd_start(config: Config, args: argparse.Namespace) -> None:
    from app.storage import provision

    url = get_settings().migration_url
    provision.start_server(url, say)
    provision.ensure_database(url, say)


def cmd_stop(config: Config, args: argparse.Namespace) -> None:
    from app.storage import provision

    provision.stop_servers(say)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="app.storage.cli", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    migrate = sub.add_parser("migrate", help="upgrade the database (default: to head)")
    migrate.add_argument("revision", nargs="?", default="head")
    migrate.add_argument(
        "--accept-edited",
        metavar="REV[,REV]",
        help="record the new checksum of applied revisions whose file was deliberately edited",
    )
    migrate.set_defaults(func=cmd_migrate)

    rollback = sub.add_parser("rollback", help="downgrade one revision, or to REV")
    rollback.add_argument("revision", nargs="?", default=None)
    rollback.add_argument(
        "--confirm", metavar="REV", help="APP_ENV=production: the revision undone"
    )
    rollback.set_defaults(func=cmd_rollback)

    revision = sub.add_parser("revision", help="generate a revision from the models")
    revision.add_argument("message")
    revision.add_argument("--empty", action="store_true", help="write an empty revision")
    revision.add_argument(
        "--rename",
        metavar="LIST",
        help="renames to apply, not ask about: author.name:full_name,author:writer",
    )
    revision.set_defaults(func=cmd_revision)

    current = sub.add_parser("current", help="the database's revision")
    current.add_argument("--verbose", "-v", action="store_true")
    current.set_defaults(func=cmd_current)

    history = sub.add_parser("history", help="every revision, newest first")
    history.add_argument("--verbose", "-v", action="store_true")
    history.add_argument("--indicate-current", "-i", action="store_true")
    history.set_defaults(func=cmd_history)

    heads = sub.add_parser("heads", help="the head revision(s) of versions/")
    heads.set_defaults(func=cmd_heads)

    stamp = sub.add_parser("stamp", help="record REV as applied without running it")
    stamp.add_argument("revision")
    stamp.add_argument("--confirm", metavar="REV", help="APP_ENV=production: the revision replaced")
    stamp.set_defaults(func=cmd_stamp)

    merge = sub.add_parser("merge", help="join several heads into one")
    merge.add_argument("message", nargs="?", default=None)
    merge.set_defaults(func=cmd_merge)

    check = sub.add_parser("check", help="models and migrations agree, one head (throwaway DB)")
    check.add_argument("--base", default=None, help="git ref whose revision files must not change")
    check.set_defaults(func=cmd_check)
    lint = sub.add_parser("lint", help="squawk over each revision's offline SQL")
    lint.add_argument("--base", default=None, help="only revisions after this revision or git ref")
    lint.set_defaults(func=cmd_lint)
    sql = sub.add_parser("sql", help="the offline SQL of an upgrade range (default: all)")
    sql.add_argument("range", nargs="?", default=None, metavar="A:B")
    sql.set_defaults(func=cmd_sql)
    sub.add_parser(
        "roundtrip", help="up, down and up again one revision at a time (throwaway database)"
    ).set_defaults(func=cmd_roundtrip)

    sub.add_parser("start", help="start a local Postgres for the configured database").set_defaults(
        func=cmd_start
    )
    sub.add_parser("stop", help="stop the Postgres `start` started").set_defaults(func=cmd_stop)
    return parser


def explain(exc: BaseException) -> str | None:
    """The one line for a failure a user can fix; None for our own bugs."""
    if isinstance(exc, UserFacingError | SettingsError):
        return str(exc)
    if isinstance(exc, CommandError):
        return _hint_for_command_error(str(exc))
    if isinstance(exc, SyntaxError):
        return f"{exc.filename} line {exc.lineno} has a syntax error ({exc.msg}): fix the file"
    # Matched by name: importing app.models again to get the class would fail again.
    if isinstance(exc, ImportError) and type(exc).__name__ == "ModelImportError":
        return str(exc)
    try:
        url = get_settings().migration_url
    except SettingsError:
        return None
    return explain_connection_error(exc, url)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = alembic_config()
        args.func(config, args)
    except KeyboardInterrupt:
        say("interrupted: the revision in progress was rolled back")
        return EXIT_ERROR
    except Exception as exc:
        message = explain(exc)
        if message is None:
            raise
        say(f"error: {message}")
        return EXIT_USAGE if isinstance(exc, SettingsError) else EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
