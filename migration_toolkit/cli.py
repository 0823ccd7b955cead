"""The toolkit's own commands, the ones Alembic does not have:

    python -m migration_toolkit check [--base REF]   models and migrations agree (throwaway DB)
    python -m migration_toolkit lint [--base REF]    squawk over each revision's SQL
    python -m migration_toolkit sql [A:B]            the offline SQL of a range, for review
    python -m migration_toolkit roundtrip            up, down, up again: the schema must match
    python -m migration_toolkit snapshot             write the schema snapshot and its diagrams
    python -m migration_toolkit diagrams             write docs/schema.md only (no database)
    python -m migration_toolkit squash REV           base..REV as one revision, proven equal
    python -m migration_toolkit start | stop         the project's own local Postgres
    python -m migration_toolkit plan [--threshold S] [--out FILE]       locks and durations
    python -m migration_toolkit rehearse [--max-rows N] [--out FILE]    the same, measured on a copy

Alembic's commands (upgrade, downgrade, revision, ...) run as `alembic ...`: env.py gives them
the same safety. A user's mistake ends with one `error:` line and a non-zero exit.
"""

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from migration_toolkit.config import current_project
from migration_toolkit.environment import explain
from migration_toolkit.errors import UserFacingError

if TYPE_CHECKING:
    from migration_toolkit.plan.command import Options

EXIT_ERROR = 1
EXIT_USAGE = 2


class UsageError(UserFacingError):
    """A command was given arguments it cannot take."""


def say(message: str) -> None:
    print(message, file=sys.stderr)


def cmd_check(args: argparse.Namespace) -> None:
    from migration_toolkit.checks import drift

    drift.check(args.base or None)


def cmd_lint(args: argparse.Namespace) -> None:
    from migration_toolkit.checks import lint

    lint.check(args.base or None)


def cmd_sql(args: argparse.Namespace) -> None:
    from migration_toolkit.checks import offline_sql

    print(offline_sql.range_sql(args.range or "base:heads"), end="")


def cmd_roundtrip(args: argparse.Namespace) -> None:
    from migration_toolkit.checks import roundtrip

    roundtrip.check()


def cmd_plan(args: argparse.Namespace) -> None:
    from migration_toolkit.plan import command

    command.run(_options(args, fresh_probe=args.probe))


def cmd_rehearse(args: argparse.Namespace) -> None:
    from migration_toolkit.plan import rehearse

    max_rows = None
    if args.max_rows is not None:
        try:
            max_rows = int(args.max_rows)
        except ValueError:
            max_rows = 0
        if max_rows < 1:
            raise UsageError(f"max-rows={args.max_rows} must be a whole number of rows >= 1")
    rehearse.run(_options(args), max_rows=max_rows)


def _options(args: argparse.Namespace, fresh_probe: bool = False) -> "Options":
    from pathlib import Path

    from migration_toolkit.plan.command import Options

    values: dict[str, float] = {}
    for name in ("threshold", "traffic"):
        raw = getattr(args, name)
        try:
            values[name] = float(raw)
        except ValueError:
            raise UsageError(f"{name}={raw} is not a number of seconds, e.g. {name}=1") from None
    out = Path(args.out) if args.out else None
    return Options(values["threshold"], out, values["traffic"], fresh_probe)


def _plan_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threshold", default="1", help="seconds of blocked writes that fail")
    parser.add_argument("--out", default=None, help="also write the report as Markdown here")
    parser.add_argument("--traffic", default="2", help="seconds to sample traffic (0: skip)")


def cmd_snapshot(args: argparse.Namespace) -> None:
    from migration_toolkit.schema import diagrams, snapshot

    project = current_project()
    if args.if_new_head and not snapshot.new_head(project.schema_file):
        return  # `make migration` wrote nothing: the snapshot is as it was
    snapshot.write(snapshot.build(say), project.schema_file, say)
    snapshot.write(diagrams.current(), project.schema_docs, say)


def cmd_diagrams(args: argparse.Namespace) -> None:
    from migration_toolkit.schema import diagrams, snapshot

    snapshot.write(diagrams.current(), current_project().schema_docs, say)


def cmd_squash(args: argparse.Namespace) -> None:
    from migration_toolkit.schema import squash

    squash.squash(args.rev, say=say)


def cmd_start(args: argparse.Namespace) -> None:
    import asyncio

    from migration_toolkit.local import provision

    project = current_project()
    url = project.url()
    provision.start_server(project, url, say)
    asyncio.run(provision.create_database(project, url, say))


def cmd_alembic(args: argparse.Namespace) -> None:
    """`make alembic args="..."`: split like a shell would (quotes kept), never evaluated."""
    import shlex

    from alembic.config import main as alembic_main

    try:
        argv = shlex.split(args.words)
    except ValueError as exc:
        raise UsageError(
            f"args={args.words!r} cannot be split into words ({exc}): fix the quoting"
        ) from None
    alembic_main(argv=argv, prog="alembic")


def cmd_stop(args: argparse.Namespace) -> None:
    from migration_toolkit.local import provision

    provision.stop_servers(current_project(), say)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m migration_toolkit", description=(__doc__ or "").splitlines()[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
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
    snap = sub.add_parser(
        "snapshot", help="write the schema snapshot and docs/schema.md (throwaway database)"
    )
    snap.add_argument(
        "--if-new-head", action="store_true", help="only when the head differs from the snapshot's"
    )
    snap.set_defaults(func=cmd_snapshot)
    diagrams = sub.add_parser("diagrams", help="write docs/schema.md: ER diagram, revision graph")
    diagrams.set_defaults(func=cmd_diagrams)
    squash = sub.add_parser("squash", help="replace base..REV with one revision, proven equal")
    squash.add_argument("rev")
    squash.set_defaults(func=cmd_squash)
    sub.add_parser("start", help="start the project's own local Postgres").set_defaults(
        func=cmd_start
    )
    sub.add_parser("stop", help="stop the Postgres `start` started").set_defaults(func=cmd_stop)
    plan = sub.add_parser("plan", help="locks, work and durations of the pending revisions")
    _plan_options(plan)
    plan.add_argument(
        "--probe", action="store_true", help="probe this server even if a rehearsal gave rates"
    )
    plan.set_defaults(func=cmd_plan)
    rehearse = sub.add_parser("rehearse", help="run the pending revisions on a copy, measured")
    _plan_options(rehearse)
    rehearse.add_argument("--max-rows", default=None, help="copy at most N rows per table")
    rehearse.set_defaults(func=cmd_rehearse)
    alembic = sub.add_parser("alembic", help="any Alembic command, its words in one argument")
    alembic.add_argument("words")
    alembic.set_defaults(func=cmd_alembic)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except KeyboardInterrupt:
        say("interrupted: nothing more was done")
        return EXIT_ERROR
    except Exception as exc:
        try:
            url = current_project().url()
        except Exception:
            url = None
        message = explain(exc, url)
        if message is None:
            raise
        say(f"error: {message}")
        return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
