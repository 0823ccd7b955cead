"""Production guard: rollback and stamp show what they will undo, then run only when confirmed.

With APP_ENV=production, `make rollback` (any rev=) and `make migration-stamp` print the
revisions they undo (id, message, file) and the downgrade SQL from offline mode, then go on
only after `yes` typed at a terminal, or with confirm=<the database's current revision>
where there is no terminal (CI, a deploy job). Elsewhere they stay one command.
"""

import asyncio
import io
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from alembic import command
from alembic.config import Config
from alembic.script import Script, ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.settings import AppEnv, Settings, describe, get_settings
from app.storage.checksums import shown_path
from app.storage.errors import UserFacingError
from app.storage.revisions import alembic_config, database_revisions

Ask = Callable[[str], str | None]


class NotConfirmed(UserFacingError):
    """A guarded command was not confirmed; nothing was changed."""


@dataclass(frozen=True)
class Plan:
    """What a guarded command will do to the database."""

    heads: tuple[str, ...]
    undone: tuple[Script, ...]
    unknown: tuple[str, ...]
    sql: str
    # A stamp upwards: revisions recorded as applied without their SQL being run.
    marked: tuple[Script, ...] = ()

    @property
    def confirmation(self) -> str:
        """The id to type as confirm=: the revision being undone (the database's current)."""
        return ",".join(self.heads) or "base"


async def _read_heads(url: URL, settings: Settings) -> tuple[str, ...]:
    engine = create_async_engine(
        url, poolclass=NullPool, connect_args={"timeout": settings.MIGRATION_CONNECT_TIMEOUT}
    )
    try:
        async with engine.connect() as connection:
            return await database_revisions(connection)
    finally:
        await engine.dispose()


def _offline_sql(action: Callable[[Config], None]) -> str:
    buffer = io.StringIO()
    config = alembic_config()
    config.output_buffer = buffer
    config.attributes["configure_logger"] = False
    action(config)
    return buffer.getvalue()


def plan(script: ScriptDirectory, heads: tuple[str, ...], target: str, kind: str) -> Plan:
    """The revisions a rollback to target (or a stamp of target) takes off the database."""
    unknown = tuple(head for head in heads if head not in _known(script))
    if kind == "rollback" and not heads:
        raise UserFacingError("nothing to roll back: the database is at base (no revision applied)")
    if not heads and kind == "stamp" and target != "base":
        sql = _offline_sql(lambda config: command.stamp(config, target, sql=True))
        return Plan(heads, (), unknown, sql, _marked(script, target, "base"))
    if unknown or not heads:
        return Plan(heads, (), unknown, "")
    try:
        undone = (
            tuple(script.iterate_revisions(heads, target, select_for_downgrade=True))
            if _below(script, heads, target)
            else ()
        )
    except (RevisionError, CommandError) as exc:
        raise UserFacingError(
            f"{exc}: the database is at {', '.join(heads)}; "
            "`make migration-history` shows what can be rolled back"
        ) from None
    if kind == "rollback" and undone:
        lowest = undone[-1].down_revision
        end = lowest if isinstance(lowest, str) else ("base" if lowest is None else target)
        start = ",".join(heads)
        sql = _offline_sql(lambda config: command.downgrade(config, f"{start}:{end}", sql=True))
    elif kind == "stamp" and len(heads) == 1:
        start = heads[0]
        sql = _offline_sql(lambda config: command.stamp(config, f"{start}:{target}", sql=True))
    else:
        sql = ""
    if kind == "stamp" and not undone and target != "base":
        return Plan(heads, undone, unknown, sql, _marked(script, target, heads))
    return Plan(heads, undone, unknown, sql)


def _marked(
    script: ScriptDirectory, target: str, below: str | tuple[str, ...]
) -> tuple[Script, ...]:
    try:
        return tuple(script.iterate_revisions(target, below))
    except (RevisionError, CommandError):
        return ()


def _known(script: ScriptDirectory) -> set[str]:
    return {revision.revision for revision in script.walk_revisions()}


def _below(script: ScriptDirectory, heads: tuple[str, ...], target: str) -> bool:
    """True when target is at or under the heads (a rollback, or a stamp going down)."""
    if target == "base" or target.startswith("-"):
        return True
    try:
        found = script.get_revision(target)
    except Exception:
        return False
    if found is None:
        return False
    return found.revision in {
        revision.revision for revision in script.iterate_revisions(heads, "base")
    }


def describe_plan(plan: Plan, *, what: str, where: str) -> str:
    lines = [f"APP_ENV=production: {what} {where}"]
    if plan.unknown:
        lines.append(
            f"  the database is at {', '.join(plan.unknown)}, which versions/ does not have"
        )
    elif not plan.heads:
        lines.append("  the database is at base: nothing is applied")
    if plan.undone:
        lines.append("undoes:")
        for script in plan.undone:
            path = f"  ({shown_path(script.path)})" if script.path else ""
            lines.append(f"  {script.revision}  {script.doc}{path}")
    elif plan.marked:
        lines.append("records as applied, without running them:")
        lines.extend(f"  {script.revision}  {script.doc}" for script in plan.marked)
    if plan.heads and not plan.unknown and not plan.undone and not plan.marked:
        lines.append(f"  undoes no revision (the database is at {', '.join(plan.heads)})")
    if plan.sql:
        lines.append("SQL (offline mode, for review):")
        lines.extend("  " + line for line in plan.sql.splitlines() if line.strip())
    return "\n".join(lines)


def _ask_at_terminal(prompt: str) -> str | None:
    if not sys.stdin.isatty():
        return None
    print(prompt, end="", file=sys.stderr, flush=True)
    try:
        answer = sys.stdin.readline().strip()
    except (EOFError, OSError):
        answer = ""
    if not sys.stderr.isatty():
        # The terminal echoed the Enter; a log of stderr ends the prompt's line itself.
        print(file=sys.stderr)
    return answer


def confirm_undo(
    config: Config,
    *,
    kind: str,
    target: str,
    confirm: str | None,
    retry: Sequence[str],
    ask: Ask = _ask_at_terminal,
) -> None:
    """In production: show, then demand confirmation; record what was confirmed.

    retry: the make command to suggest, e.g. ["make", "rollback", "rev=base"].
    """
    settings = get_settings()
    if settings.APP_ENV is not AppEnv.PRODUCTION:
        return
    url = settings.migration_url
    where = describe(url)
    heads = asyncio.run(_read_heads(url, settings))
    script = ScriptDirectory.from_config(config)
    the_plan = plan(script, heads, target, kind)
    what = f"`{' '.join(retry)}` will change"
    print(describe_plan(the_plan, what=what, where=where), flush=True)
    expected = the_plan.confirmation
    if confirm is not None:
        if confirm != expected:
            raise NotConfirmed(
                f"confirm={confirm} does not match the revision being undone on {where} "
                f"({expected}): nothing was changed; review the above, then use "
                f"confirm={expected}"
            )
    else:
        answer = ask(f"Type yes to {kind} {where} (now at {expected}): ")
        if answer is None:
            raise NotConfirmed(
                f"APP_ENV=production: {kind} needs confirmation and there is no terminal to "
                f"ask at: review the above, then run `{' '.join(retry)} confirm={expected}`"
            )
        if answer != "yes":
            raise NotConfirmed("not confirmed (answer was not `yes`): nothing was changed")
    # The run re-checks this under the migration lock: what was shown is what gets undone.
    config.attributes["expect_heads"] = heads
