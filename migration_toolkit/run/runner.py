"""How env.py runs revisions online: one at a time, bounded, checked, guarded and reported.

- one run at a time: a session advisory lock taken on the very connection that migrates, so
  the lock cannot be lost while the run goes on (if that session dies, so does the run);
- before the first revision, the session gets lock_timeout and statement_timeout (and, on
  Postgres 14+, notices a vanished client within a second);
- a revision that times out on a lock is retried with backoff, then fails naming the table and
  the session holding it (sampled from pg_locks while waiting);
- checksums of applied revision files are verified before an upgrade and kept current after
  each step (checksums.py);
- in production, a downgrade or a stamp runs only when confirmed (guard.py);
- a database with tables but no migration history is never upgraded blindly;
- at the end, one line says what happened.
"""

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from alembic import context as alembic_context
from alembic.runtime.migration import MigrationContext, MigrationInfo, StampStep
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from migration_toolkit import history
from migration_toolkit.errors import RevisionFailed, UserFacingError, is_lock_timeout
from migration_toolkit.revisions import VERSION_TABLE, bookkeeping_schema
from migration_toolkit.run import bookkeeping, checksums, guard, locking, simple_query
from migration_toolkit.run.blockers import BlockerWatch, held_by
from migration_toolkit.run.options import RunOptions, run_options
from migration_toolkit.settings import RunSettings

if TYPE_CHECKING:
    from migration_toolkit.run.event_log import EventLog

APPLICATION_NAME = "migration-toolkit"
# Seconds before the first retry after a lock timeout; doubles for each further try.
BACKOFF = 1.0
_RUN = "migration_run"
# Tables in a schema of the user's: a database that has them but no alembic_version was built
# some other way, and upgrading it from base would collide with what is there.
_USER_TABLES = text(
    "SELECT n.nspname || '.' || c.relname FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg\\_%' AND c.relname NOT IN (:checksums, :versions) "
    "ORDER BY 1 LIMIT 4"
)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def tell(message: str) -> None:
    """The run's one line, unless its caller asked for quiet (a check's throwaway runs)."""
    if not alembic_context.config.attributes.get("quiet"):
        say(message)


def changes_database() -> bool:
    """True for upgrade, downgrade and stamp: the commands given a destination revision."""
    try:
        # None is a destination too: "base".
        alembic_context.get_revision_argument()
    except KeyError:  # commands like `revision --autogenerate` or `current` give none at all
        return False
    return True


@dataclass
class Run:
    """One command's run, shared by env.py's callbacks and the retry loop."""

    settings: RunSettings
    where: str
    options: RunOptions
    ask: guard.Ask = guard.ask_at_terminal
    owns_transactions: bool = False
    ledger: checksums.Ledger | None = None
    steps: list[Any] = field(default_factory=list)
    done: int = 0
    start: tuple[str, ...] = ()
    heads: tuple[str, ...] = ()
    confirmed: guard.Plan | None = None
    # The connection was in a transaction of the caller's when env.py configured Alembic.
    external_transaction: bool = False
    event_log: "EventLog | None" = None

    def after_step(
        self, *, ctx: MigrationContext, step: MigrationInfo, heads: set[str], run_args: Any
    ) -> None:
        """on_version_apply: inside the step's transaction, after alembic_version moved."""
        self.done += 1
        self.heads = tuple(sorted(heads))
        if self.event_log is not None:
            self.event_log.revision_applied(step)
        if self.ledger is not None and ctx.connection is not None:
            fresh = step.up_revision_ids if step.is_upgrade and not step.is_stamp else ()
            self.ledger.sync(ctx.connection, heads, fresh, step)

    def failure(self, error: BaseException) -> RevisionFailed | None:
        if self.done >= len(self.steps):
            return None
        script = getattr(self.steps[self.done], "revision", None)
        if script is None or isinstance(self.steps[self.done], StampStep):
            return None
        return RevisionFailed(
            revision=script.revision,
            doc=script.doc,
            path=checksums.shown_path(script.path) if script.path else None,
            at=self.heads,
            error=error,
            lock_timeout=self.settings.MIGRATION_LOCK_TIMEOUT,
            upgrading=self.steps[self.done].is_upgrade,
        )


def run_for(config: Any, settings: RunSettings, where: str) -> Run:
    """The Run of this env.py execution (kept in config.attributes across retries)."""
    run = config.attributes.get(_RUN)
    if not isinstance(run, Run):
        run = Run(settings=settings, where=where, options=run_options(alembic_context))
        ask = config.attributes.get("ask")
        if callable(ask):
            run.ask = ask
        config.attributes[_RUN] = run
    return run


def current_run() -> Run | None:
    run = alembic_context.config.attributes.get(_RUN)
    return run if isinstance(run, Run) else None


def online_options() -> dict[str, Any]:
    """Extra context.configure() options for online runs."""
    run = current_run()
    return {"on_version_apply": [run.after_step]} if run is not None else {}


def _set_session_limits(connection: Connection, settings: RunSettings) -> None:
    limits = {
        "lock_timeout": f"{round(settings.MIGRATION_LOCK_TIMEOUT * 1000)}ms",
        "statement_timeout": f"{round(settings.MIGRATION_STATEMENT_TIMEOUT * 1000)}ms",
    }
    if (connection.dialect.server_version_info or (0,)) >= (14,):
        limits["client_connection_check_interval"] = "1s"
    calls = ", ".join(f"set_config('{name}', :{name}, false)" for name in limits)
    connection.execute(text(f"SELECT {calls}"), limits)


def _steps(context: MigrationContext, run: Run, heads: tuple[str, ...]) -> list[Any]:
    """The steps Alembic is about to run (its own `fn`, which only computes them).

    On a history with branches and merges a relative step (`rollback rev=-1` from a merge point)
    is ours to compute (history.relative_steps): Alembic finds it ambiguous.
    """
    destination = alembic_context.get_revision_argument()
    count = history.relative(destination if isinstance(destination, str) else None)
    script = alembic_context.script
    if count is not None and "purge" not in context.opts and not history.is_linear(script):
        return _branched_steps(context, run, script, heads, count)
    function = context.opts["fn"]
    try:
        return list(function(() if context.opts.get("purge") else heads, context))
    except (RevisionError, CommandError) as exc:
        if not heads and str(destination).startswith("-"):
            raise UserFacingError(
                f"at base: nothing to roll back on {run.where} (no revision is applied)"
            ) from None
        if "didn't produce" in str(exc) or "relative" in str(exc).lower():
            raise UserFacingError(
                f"{exc}: {run.where} is at {', '.join(heads) or 'base'}; "
                "`make migration-history` shows what can be rolled back"
            ) from None
        raise


def _branched_steps(
    context: MigrationContext,
    run: Run,
    script: ScriptDirectory,
    heads: tuple[str, ...],
    count: int,
) -> list[Any]:
    """`-N`/`+N` on a branched history: our steps, handed to Alembic to run."""
    if count < 0 and not heads:
        raise UserFacingError(
            f"at base: nothing to roll back on {run.where} (no revision is applied)"
        )
    try:
        steps: list[Any] = list(history.relative_steps(script, heads, count))
    except history.NotEnoughRevisions as exc:
        verb = "roll back" if count < 0 else "apply"
        raise UserFacingError(
            f"rev={count:+d}: {run.where} has only {exc.found} revision(s) to {verb} from "
            f"{history.describe(script, heads) or 'base'}; `make migration-history` lists them"
        ) from None
    if not steps:
        return steps
    connection = context.connection
    if not run.external_transaction and connection is not None and connection.in_transaction():
        connection.commit()  # our reads only: each revision gets its own transaction
    # Alembic runs the steps its `fn` returns, and takes `fn` only from configure(): configure
    # again with the same options and an `fn` that returns these.
    options = {key: value for key, value in context.opts.items() if key != "fn"}
    alembic_context.configure(connection=connection, fn=lambda _heads, _context: steps, **options)
    return steps


def _create_bookkeeping_schema(connection: Connection) -> None:
    """alembic_version and the ledger go to version_table_schema, which may not exist yet."""
    schema = bookkeeping_schema()
    if schema:
        quoted = schema.replace('"', '""')
        connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{quoted}"')


def _refuse_revision_on_several_heads(context: MigrationContext) -> None:
    """`make migration` on a forked history: say so before Alembic compares anything (it would
    call the database "not up to date", or fail after comparing with "Multiple heads")."""
    revision_context = context.opts.get("revision_context")
    if revision_context is None:
        return
    if revision_context.command_args.get("head") not in (None, "head"):
        return  # --head <rev> given: the new revision's parent is chosen
    problem = history.heads_problem(alembic_context.script)
    if problem is not None:
        raise UserFacingError(problem)


def _refuse_unmanaged(connection: Connection, run: Run) -> None:
    tables = connection.execute(
        _USER_TABLES, {"checksums": checksums.CHECKSUM_TABLE, "versions": VERSION_TABLE}
    ).all()
    if tables:
        listed = ", ".join(row[0] for row in tables[:3]) + (", ..." if len(tables) > 3 else "")
        raise UserFacingError(
            f"{run.where} has tables ({listed}) but no migration history: it was not built "
            "by these migrations. If its schema is what the revisions build, record that with "
            "`make migration-stamp rev=head`; otherwise point DATABASE_URL at another database"
        )


def _describe_revisions(script: ScriptDirectory, revisions: tuple[str, ...]) -> str:
    if not revisions:
        return "base"
    shown = []
    for revision in revisions:
        found = script.get_revision(revision)
        doc = f" ({found.doc})" if found is not None and found.doc else ""
        shown.append(f"{revision}{doc}")
    return ", ".join(shown)


def _past(script: ScriptDirectory, destination: str, heads: tuple[str, ...]) -> str | None:
    """The destination revision when it lies before heads (an upgrade to it has nothing to do)."""
    try:
        found = script.get_revision(destination)
    except (RevisionError, CommandError):
        return None
    if found is None or found.revision in heads:
        return None
    older = {rev.revision for head in heads for rev in script.iterate_revisions(head, "base")}
    return found.revision if found.revision in older else None


def summary(run: Run, script: ScriptDirectory, kind: str) -> str:
    """One line: what the run did (from which revision to which), or that it had nothing to do."""
    before = _describe_revisions(script, run.start)
    after = _describe_revisions(script, run.heads)
    # A stamp of where the database already is rewrites alembic_version to the same value.
    if (run.done == 0 or kind == "stamp") and run.start == run.heads:
        # Alembic resolves "head" to the revision id(s) it stands for.
        argument = alembic_context.get_revision_argument()
        targets = set(argument) if isinstance(argument, tuple) else {argument} - {None}
        heads = set(script.get_heads())
        if kind == "downgrade" and not run.heads:
            return f"{run.where}: at base: nothing to roll back"
        if kind == "upgrade" and run.heads and set(run.heads) == heads and targets <= heads:
            return f"{run.where}: already at head: {after}"
        if kind == "upgrade" and len(targets) == 1:
            past = _past(script, str(argument), run.heads)
            if past is not None:
                return f"{run.where}: already past {past}: nothing to do (at {after})"
        return f"{run.where}: already at {after}: nothing to do"
    verb = {"upgrade": "upgraded", "downgrade": "rolled back", "stamp": "stamped"}[kind]
    count = f"{max(run.done, 1)} step{'s' if run.done > 1 else ''}"
    line = f"{run.where}: {verb} from {before} to {after} ({count})"
    if len(run.heads) > 1 and kind == "downgrade":
        # Undoing a merge revision leaves the branches it joined as heads of their own.
        line += f"; the database is at {len(run.heads)} heads (branches, not merged)"
        if len(script.get_heads()) == 1:
            line += ": `make migrate` merges them again"
    return line


def _kind(steps: list[Any], purge: bool, destination: object) -> str:
    """upgrade, downgrade or stamp; with no step to look at, a destination of base or -N
    means a downgrade."""
    if purge or any(isinstance(step, StampStep) for step in steps):
        return "stamp"
    if any(not step.is_upgrade for step in steps) or (
        not steps and (destination is None or str(destination).startswith("-"))
    ):
        return "downgrade"
    return "upgrade"


def _purge() -> bool:
    return bool(alembic_context.get_context().opts.get("purge"))


def _guard(run: Run, script: ScriptDirectory, connection: Connection, kind: str) -> None:
    if not run.settings.production:
        return
    plan = guard.plan(script, run.start, run.steps, purge=kind == "stamp" and _purge())
    if not (plan.needs_confirmation or kind == "stamp"):
        return
    if run.confirmed is not None and run.confirmed.confirmation == plan.confirmation:
        return  # confirmed on an earlier try of this run
    # Nothing of ours stays open while a person reads: the state was read, nothing written.
    if connection.in_transaction() and run.owns_transactions:
        connection.rollback()
    ini = alembic_context.config.config_file_name
    sql = guard.offline_sql(ini, plan) if ini else ""  # type: ignore[arg-type]
    print(
        guard.describe_plan(plan, where=run.where, sql=sql, shown_path=checksums.shown_path),
        flush=True,
    )
    destination = alembic_context.get_revision_argument() or "base"
    retry = (
        f"make migration-stamp rev={destination}"
        if kind == "stamp"
        else f"make rollback rev={destination}"
    )
    guard.confirm(plan, given=run.options.confirm, where=run.where, retry=retry, ask=run.ask)
    run.confirmed = plan


def run_migrations() -> None:
    """context.run_migrations(), with the checks and bookkeeping above, for env.py."""
    context = alembic_context.get_context()
    _refuse_revision_on_several_heads(context)
    run = current_run()
    connection = context.connection
    if run is None or connection is None or not changes_database():
        alembic_context.run_migrations()
        # current, history -i: Alembic prints nothing for a database at base.
        reading = bool(context.opts.get("dont_mutate")) and connection is not None
        if reading and not context.get_current_heads():
            where = run.where if run is not None else "the database"
            tell(f"{where}: at base (no revision applied)")
        return
    state = checksums.read_state(connection)
    run.start = run.heads = state.heads
    script = alembic_context.script
    if not context.opts.get("purge"):
        checksums.check_heads_exist(script, state, run.where)
    purge = bool(context.opts.get("purge"))
    run.steps, run.done = _steps(context, run, state.heads), 0
    kind = _kind(run.steps, purge, alembic_context.get_revision_argument())
    accepted: list[str] = []
    unrecorded: set[str] = set()
    run.ledger = checksums.Ledger(script, state)
    if kind == "upgrade":
        if not state.heads and run.steps:
            _refuse_unmanaged(connection, run)
        accepted = checksums.verify(script, state, run.options.accept_edited, run.where)
        # A revision now squashed: its checksum becomes the squash file's.
        unrecorded = run.ledger.unrecorded(state.heads) | set(checksums.squashed(script, state))
    _guard(run, script, connection, kind)
    for revision in accepted:
        say(f"accepted the edited file of applied revision {revision}: its checksum is updated")
    if not run.steps and not purge:
        if accepted or unrecorded:
            run.ledger.write(connection, {*accepted, *unrecorded})
            if run.owns_transactions:
                connection.commit()
        tell(summary(run, script, kind))
        return
    # Part of the first revision's transaction: Alembic adopts the one begun here.
    _set_session_limits(connection, run.settings)
    if not state.heads and not state.has_checksum_table:
        _create_bookkeeping_schema(connection)
    run.ledger.write(connection, {*accepted, *unrecorded})
    if purge:
        run.heads = ()  # Alembic empties alembic_version first
    if run.settings.MIGRATION_EVENT_LOG is not None:
        from migration_toolkit.run.event_log import EventLog  # only when asked for

        run.event_log = EventLog(run.settings.MIGRATION_EVENT_LOG, connection)
    try:
        alembic_context.run_migrations()
    except (Exception, SystemExit, KeyboardInterrupt) as exc:
        failure = run.failure(exc)
        if failure is None:
            if isinstance(exc, Exception):
                raise
            raise UserFacingError(
                f"interrupted ({type(exc).__name__}): the step in progress was rolled back; "
                f"{run.where} is at {', '.join(run.heads) or 'base'}"
            ) from None
        raise failure from exc
    finally:
        if run.event_log is not None:
            run.event_log.close()
            run.event_log = None
    # A stamp --purge with no step leaves its DELETE in the transaction begun above.
    run.ledger.sync(connection, run.heads, ())
    bookkeeping.protect(connection)
    if run.owns_transactions and connection.in_transaction():
        connection.commit()
    tell(summary(run, script, kind))


async def run_serialized(
    engine: AsyncEngine, run: Run, migrate: Callable[[Connection], None]
) -> None:
    """Lock (on the migrating connection), then run env.py's do_run_migrations, with retries."""
    simple_query.install(engine)
    if not changes_database():
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
        return
    async with engine.connect() as connection:
        await locking.acquire(
            connection, wait_timeout=run.settings.MIGRATION_WAIT_TIMEOUT, where=run.where
        )
        # Bounded from here on: reading and writing the bookkeeping waits no longer than a step.
        await connection.run_sync(_set_session_limits, run.settings)
        await connection.commit()
        run.owns_transactions = True
        try:
            await _with_retries(run, engine, connection, migrate)
        finally:
            run.owns_transactions = False


async def _with_retries(
    run: Run,
    engine: AsyncEngine,
    connection: AsyncConnection,
    migrate: Callable[[Connection], None],
) -> None:
    settings = run.settings
    raw = await connection.get_raw_connection()
    pid = raw.driver_connection.get_server_pid()  # type: ignore[union-attr]
    interval = min(0.5, settings.MIGRATION_LOCK_TIMEOUT / 4)
    attempt, blocker = 1, None
    while True:
        try:
            async with BlockerWatch(engine, pid, interval) as watch:
                try:
                    await connection.run_sync(migrate)
                finally:
                    blocker = watch.last
            return
        except DBAPIError as exc:
            # Not a revision: the bookkeeping (alembic_version, alembic_checksum) was locked.
            if not is_lock_timeout(exc) or attempt >= settings.MIGRATION_LOCK_RETRIES:
                if is_lock_timeout(exc):
                    raise UserFacingError(
                        f"the migration bookkeeping on {run.where} stayed locked "
                        f"{held_by(blocker) or 'by another session'} for {attempt} tries of "
                        f"{settings.MIGRATION_LOCK_TIMEOUT:g} s: nothing was changed; let that "
                        "transaction finish, then run the command again"
                    ) from exc
                raise
            await connection.rollback()
            await asyncio.sleep(BACKOFF * 2 ** (attempt - 1))
            attempt += 1
        except RevisionFailed as failure:
            failure.tries, failure.blocker = attempt, blocker
            if not failure.is_lock_timeout or attempt >= settings.MIGRATION_LOCK_RETRIES:
                raise
            delay = BACKOFF * 2 ** (attempt - 1)
            say(
                f"revision {failure.revision} waited {settings.MIGRATION_LOCK_TIMEOUT:g} s "
                f"for a lock{held_by(blocker)}; trying again in {delay:g} s "
                f"(try {attempt + 1} of {settings.MIGRATION_LOCK_RETRIES})"
            )
            await connection.rollback()
            await asyncio.sleep(delay)
            attempt += 1
